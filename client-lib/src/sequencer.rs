//! Turns at-least-once, possibly out-of-order event arrivals (live pushes
//! on two streams plus sync pages) into an exactly-once, in-order feed.
//!
//! It relies on the server invariant that a user's event seqs are dense:
//! an event is released only when every lower seq has been released, and
//! anything at or below the cursor is a duplicate.

use std::collections::BTreeMap;

use quichat_proto::notify::Flagged;

/// In-order release of events by seq.
#[derive(Debug, Default)]
pub struct Sequencer {
    cursor: u64,
    pending: BTreeMap<u64, Flagged>,
}

impl Sequencer {
    /// Starts after `cursor` (the last seq the application processed).
    pub fn new(cursor: u64) -> Self {
        Sequencer {
            cursor,
            pending: BTreeMap::new(),
        }
    }

    /// The last released seq.
    pub fn cursor(&self) -> u64 {
        self.cursor
    }

    /// True when events wait behind a gap.
    pub fn has_gap(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Offers an event; returns the events that are now releasable, in order.
    pub fn offer(&mut self, event: Flagged) -> Vec<Flagged> {
        let seq = event.event.seq;
        if seq <= self.cursor {
            return Vec::new();
        }
        self.pending.insert(seq, event);
        let mut out = Vec::new();
        while let Some(next) = self.pending.remove(&(self.cursor + 1)) {
            self.cursor = next.event.seq;
            out.push(next);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quichat_proto::event::{Event, EventBody};
    use quichat_proto::notify::PushFlags;
    use quichat_proto::types::ReadPosition;

    fn ev(seq: u64) -> Flagged {
        Flagged {
            flags: PushFlags::default(),
            event: Event {
                seq,
                body: EventBody::ReadPosition(ReadPosition {
                    conversation_id: 1,
                    up_to_seq: seq,
                }),
            },
        }
    }

    #[test]
    fn releases_in_order_without_duplicates() {
        let mut s = Sequencer::new(2);
        assert!(s.offer(ev(2)).is_empty(), "at cursor: duplicate");
        assert!(s.offer(ev(4)).is_empty(), "gap at 3");
        assert!(s.has_gap());
        assert!(s.offer(ev(4)).is_empty(), "duplicate while pending");
        let out: Vec<u64> = s.offer(ev(3)).iter().map(|e| e.event.seq).collect();
        assert_eq!(out, vec![3, 4]);
        assert!(!s.has_gap());
        assert_eq!(s.cursor(), 4);
        assert!(s.offer(ev(3)).is_empty());
    }
}
