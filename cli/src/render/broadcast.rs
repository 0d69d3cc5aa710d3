//! Lines about server broadcasts: one arriving in the feed, and the ack of
//! `broadcast`.

use quichat_proto::types::{Broadcast, BroadcastId};
use serde::Serialize;

use crate::output::{local_time, rfc3339, sanitize};

/// `{"type":"broadcast"}`: an announcement from the server's
/// administrators (`from` is null when the operator sent it).
#[derive(Debug, Serialize)]
pub struct BroadcastLine {
    event_seq: u64,
    id: BroadcastId,
    from: Option<String>,
    text: String,
    sent_at: String,
}

impl BroadcastLine {
    /// From a broadcast event.
    pub fn new(b: &Broadcast, event_seq: u64) -> Self {
        BroadcastLine {
            event_seq,
            id: b.id,
            from: b.from.clone(),
            text: b.text.clone(),
            sent_at: rfc3339(b.sent_at_ms),
        }
    }

    /// `📢 [2026-12-03 18:00:00] server broadcast from alice: TEXT`.
    pub fn human(b: &Broadcast) -> String {
        let from = match &b.from {
            Some(name) => format!(" from {name}"),
            None => String::new(),
        };
        format!(
            "📢 [{}] server broadcast{from}: {}",
            local_time(b.sent_at_ms),
            sanitize(&b.text)
        )
    }
}

/// `{"type":"broadcast_sent"}`: `broadcast` stored one.
#[derive(Debug, Serialize)]
pub struct BroadcastSentLine {
    /// Its id.
    pub id: BroadcastId,
    /// How many users it goes to.
    pub recipients: u64,
}

impl BroadcastSentLine {
    /// `broadcast 3 sent to 120 users (delivered in the background)`.
    pub fn human(&self) -> String {
        format!(
            "broadcast {} sent to {} users (delivered in the background)",
            self.id, self.recipients
        )
    }
}
