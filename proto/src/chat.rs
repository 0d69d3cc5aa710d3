//! The chat stream: sends with acks, and pushed message events.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::event::Event;
use crate::types::{SendAck, SendMessage};
use crate::WireError;

/// A frame from client to server on the chat stream.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum ClientChat {
    /// Store and deliver a message. Answered by [`ServerChat::Ack`] or
    /// [`ServerChat::Rejected`].
    Send(SendMessage),
}

/// A frame from server to client on the chat stream.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum ServerChat {
    /// A stream-level error; the server closes the connection after it.
    Error(WireError),
    /// The message is committed to storage.
    Ack(SendAck),
    /// The message was not stored.
    Rejected {
        /// Echo of the send's client id.
        client_id: Uuid,
        /// Why.
        error: WireError,
    },
    /// A pushed message event (protocol 1).
    Event(Event),
    /// A pushed message event with its recipient's flags (protocol 2,
    /// instead of [`ServerChat::Event`]).
    Flagged(crate::notify::Flagged),
}
