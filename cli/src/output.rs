//! Writing results to stdout: a human line or one JSON object per line,
//! flushed after every line (the output is read from pipes), plus the
//! time formats and sanitising shared by the renderers.

use std::io::Write;

use anyhow::{Context, Result};
use chrono::{DateTime, Local, SecondsFormat, Utc};

use crate::render::Line;

/// Where results go, in the chosen format.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    json: bool,
}

impl Printer {
    /// A printer for human (`json == false`) or JSON output.
    pub fn new(json: bool) -> Self {
        Printer { json }
    }

    /// Prints one result: `human` as is, or `line` as one compact JSON
    /// line (its `type` first).
    pub fn emit<'a>(&self, human: &str, line: impl Into<Line<'a>>) -> Result<()> {
        if self.json {
            let line = serde_json::to_string(&line.into()).context("cannot encode JSON output")?;
            write_line(&line)
        } else {
            write_line(human)
        }
    }

    /// Prints a line for people only (nothing with `--json`).
    pub fn note(&self, human: &str) -> Result<()> {
        if self.json {
            Ok(())
        } else {
            write_line(human)
        }
    }
}

/// Writes one line to stdout and flushes. Errors (a closed pipe) are
/// returned rather than panicking like `println!`.
pub fn write_line(line: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .context("cannot write to stdout")
}

/// Unix milliseconds as local `YYYY-MM-DD HH:MM:SS`.
pub fn local_time(ms: i64) -> String {
    match DateTime::<Utc>::from_timestamp_millis(ms) {
        Some(t) => t
            .with_timezone(&Local)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
        None => format!("@{ms}ms"),
    }
}

/// Unix milliseconds as RFC 3339 UTC with milliseconds.
pub fn rfc3339(ms: i64) -> String {
    match DateTime::<Utc>::from_timestamp_millis(ms) {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Millis, true),
        None => DateTime::<Utc>::UNIX_EPOCH.to_rfc3339_opts(SecondsFormat::Millis, true),
    }
}

/// Makes text from other people safe for a terminal: control characters
/// (escape sequences could rewrite the screen) become `\u{..}` escapes and
/// line breaks are indented so that each message stays visually one block.
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\n    "),
            '\t' => out.push('\t'),
            c if c.is_control() => out.push_str(&c.escape_unicode().to_string()),
            c => out.push(c),
        }
    }
    out
}

/// `sanitize`, on one line, cut to `max` characters with an ellipsis.
pub fn preview(text: &str, max: usize) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c == '\n' || c == '\t' { ' ' } else { c })
        .collect();
    let mut cut: String = one_line.chars().take(max).collect();
    if one_line.chars().count() > max {
        cut.push('…');
    }
    sanitize(&cut)
}

/// `text` padded with spaces to `width` terminal columns (wide
/// characters count twice), for aligned columns.
pub fn pad(text: &str, width: usize) -> String {
    let used = unicode_width::UnicodeWidthStr::width(text);
    format!("{text}{}", " ".repeat(width.saturating_sub(used)))
}

/// A byte count for people: `512 B`, `1.2 KiB`, `2.0 MiB`, `1.5 GiB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1023.95 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A duration for people: `0:07`, `3:25`, `1:02:03`.
pub fn human_duration(ms: u64) -> String {
    let secs = ms / 1000;
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_format() {
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        let local = local_time(1_700_000_000_123);
        assert_eq!(local.len(), "2023-11-14 22:13:20".len());
        assert!(local.starts_with("2023-11-1"));
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(sanitize("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(sanitize("one\ntwo"), "one\n    two");
        assert_eq!(preview("hello\nworld", 5), "hello…");
        assert_eq!(preview("héllo", 10), "héllo");
    }

    #[test]
    fn sizes_and_durations() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1024), "1.0 KiB");
        assert_eq!(human_size(1_258_291), "1.2 MiB");
        assert_eq!(human_size(2 * 1024 * 1024), "2.0 MiB");
        assert_eq!(human_size(1024 * 1024 - 1), "1.0 MiB");
        assert_eq!(human_size(2 * 1024 * 1024 * 1024), "2.0 GiB");
        assert_eq!(human_duration(7_400), "0:07");
        assert_eq!(human_duration(205_000), "3:25");
        assert_eq!(human_duration(3_723_000), "1:02:03");
    }
}
