//! Server broadcasts: an announcement from a server administrator to
//! every user. It is stored once and reaches each user's event log (and
//! their online devices) as [`crate::event::EventBody::Broadcast`].

use serde::{Deserialize, Serialize};

use crate::types::BroadcastId;

/// Broadcast requests.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum Request {
    /// Send a broadcast (server administrators only; others get
    /// `forbidden`). Answered by [`Response::Sent`] as soon as it is
    /// stored; delivery to every user follows in the background.
    Send {
        /// The text, at most [`crate::types::MAX_TEXT_BYTES`].
        text: String,
    },
}

/// Broadcast responses.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum Response {
    /// The broadcast is stored and being delivered.
    Sent {
        /// Its id.
        id: BroadcastId,
        /// How many users it goes to (every account that exists now).
        recipients: u64,
    },
}
