//! The control stream: requests with ids, responses, and pushed events.
//!
//! Every request is matched to exactly one response by `req_id`. Events
//! (receipts, read positions) and connection-level errors are interleaved.
//! The requests themselves live in [`crate::rpc`], one module per domain.

use serde::{Deserialize, Serialize};

use crate::event::Event;
use crate::social::{Presence, TypingNotice};
use crate::WireError;

pub use crate::rpc::{Request, Response, MAX_PAGE};

/// A frame from client to server on the control stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientControl {
    /// Chosen by the client; echoed in the response.
    pub req_id: u32,
    /// The request.
    pub request: Request,
}

/// A frame from server to client on the control stream.
///
/// Invariant: variant 0 of every server frame enum is `Error(WireError)`,
/// so an error can be decoded from any stream.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum ServerControl {
    /// A connection-level error; the server closes the connection after it.
    Error(WireError),
    /// The answer to request `req_id`.
    Response {
        /// Echo of [`ClientControl::req_id`].
        req_id: u32,
        /// Outcome.
        result: Result<Response, WireError>,
    },
    /// A pushed event (receipts, read positions; messages when no chat
    /// stream is open).
    Event(Event),
    /// Live pushes were dropped because this device fell behind; the user's
    /// log head is at least `head`. The client should sync.
    SyncHint {
        /// Latest known event seq.
        head: u64,
    },
    /// A friend came online or went offline (ephemeral, not in the log).
    Presence(Presence),
    /// Someone is typing to the user (ephemeral, not in the log).
    Typing(TypingNotice),
    /// A pushed event with its recipient's flags (protocol 2, instead of
    /// [`ServerControl::Event`]).
    Flagged(crate::notify::Flagged),
}
