//! Message bodies that carry their own send time, so a receiver in the
//! same process measures send → receive without a shared table.
//!
//! A body is `<tag>:<index>:<nanos>:` padded with `x` to the requested
//! size, where `nanos` counts from a process-wide [`epoch`].

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The smallest body that holds the stamp (tag, index and time in full).
pub const MIN_BODY: usize = 48;

/// The instant body times count from.
pub fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// A body of `size` bytes (at least [`MIN_BODY`]) stamped with `tag`,
/// `index` and the time `at`.
pub fn stamp(tag: u32, index: u64, at: Instant, size: usize) -> String {
    let nanos = at.saturating_duration_since(epoch()).as_nanos();
    let mut text = format!("{tag}:{index}:{nanos}:");
    let size = size.max(MIN_BODY);
    if text.len() < size {
        text.extend(std::iter::repeat_n('x', size - text.len()));
    }
    text
}

/// What a stamped body says: `(tag, index, sent at)`.
pub fn parse(text: &str) -> Option<(u32, u64, Instant)> {
    let mut parts = text.splitn(4, ':');
    let tag = parts.next()?.parse().ok()?;
    let index = parts.next()?.parse().ok()?;
    let nanos: u64 = parts.next()?.parse().ok()?;
    parts.next()?;
    Some((tag, index, epoch() + Duration::from_nanos(nanos)))
}

/// The effective body size for a requested one.
pub fn body_size(requested: usize) -> usize {
    requested.max(MIN_BODY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_round_trip_at_the_requested_size() {
        let at = epoch() + Duration::from_millis(1234);
        let body = stamp(7, 42, at, 100);
        assert_eq!(body.len(), 100);
        let (tag, index, when) = parse(&body).expect("parses");
        assert_eq!((tag, index), (7, 42));
        assert_eq!(when, at);
        assert_eq!(stamp(1, 1, at, 1).len(), MIN_BODY);
        assert_eq!(parse("hello"), None);
    }
}
