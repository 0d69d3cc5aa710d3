//! The control stream: requests with ids, responses, and pushed events.
//!
//! Every request is matched to exactly one response by `req_id`. Events
//! (receipts, read positions) and connection-level errors are interleaved.

use serde::{Deserialize, Serialize};

use crate::event::Event;
use crate::types::{
    ConversationId, ConversationRef, ConversationSummary, DeviceId, DeviceInfo, Message,
    SessionInfo,
};
use crate::WireError;

/// Largest page the server returns for sync and history.
pub const MAX_PAGE: u32 = 500;

/// A frame from client to server on the control stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientControl {
    /// Chosen by the client; echoed in the response.
    pub req_id: u32,
    /// The request.
    pub request: Request,
}

/// Control requests. The matching response variant is noted on each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Must be first. Answered by [`Response::Welcome`].
    Hello {
        /// [`crate::PROTOCOL_VERSION`] of the client.
        version: u16,
        /// Free-form client name, for logs.
        client: String,
    },
    /// Create an account and a first device. Answered by
    /// [`Response::Authenticated`] with a token.
    Register {
        /// 3–32 chars of `a-z`, `0-9`, `_`, `.`, `-`; starts with a letter.
        username: String,
        /// At least 8 characters.
        password: String,
        /// Label for the new device.
        device_name: String,
    },
    /// Log in and create a device. Answered by [`Response::Authenticated`]
    /// with a token.
    Login {
        /// Username.
        username: String,
        /// Password.
        password: String,
        /// Label for the new device.
        device_name: String,
    },
    /// Authenticate with a device token. Answered by
    /// [`Response::Authenticated`] without a token.
    Authenticate {
        /// The token returned at login.
        token: String,
    },
    /// Revoke this device's token. Answered by [`Response::Ok`].
    Logout,
    /// Answered by [`Response::Devices`].
    ListDevices,
    /// Revoke another (or this) device. Answered by [`Response::Ok`].
    RevokeDevice {
        /// Device to revoke; must belong to the caller.
        device_id: DeviceId,
    },
    /// Events after `after`, oldest first. Answered by [`Response::SyncPage`].
    Sync {
        /// The device's cursor (0 for a new device).
        after: u64,
        /// Page size, at most [`MAX_PAGE`].
        limit: u32,
    },
    /// This device has every message up to `up_to_seq`. Answered by
    /// [`Response::Ok`].
    Delivered {
        /// Conversation.
        conversation_id: ConversationId,
        /// Watermark.
        up_to_seq: u64,
    },
    /// The user has read every message up to `up_to_seq`. Answered by
    /// [`Response::Ok`].
    MarkRead {
        /// Conversation.
        conversation_id: ConversationId,
        /// Watermark.
        up_to_seq: u64,
    },
    /// Messages before `before_seq` (or the newest), newest first. Answered
    /// by [`Response::History`].
    History {
        /// Which conversation.
        conversation: ConversationRef,
        /// Exclusive upper bound; `None` for the newest.
        before_seq: Option<u64>,
        /// Page size, at most [`MAX_PAGE`].
        limit: u32,
    },
    /// Answered by [`Response::Conversations`].
    Conversations,
    /// Answered by [`Response::Pong`].
    Ping,
}

/// Successful responses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    /// Hello accepted.
    Welcome {
        /// Server protocol version.
        version: u16,
        /// Server software version.
        server: String,
    },
    /// The connection is now authenticated.
    Authenticated {
        /// Who and which device.
        session: SessionInfo,
        /// A new device token (register and login only). Store it safely.
        token: Option<String>,
    },
    /// Done.
    Ok,
    /// The caller's devices.
    Devices(Vec<DeviceInfo>),
    /// A page of events.
    SyncPage {
        /// Events in seq order.
        events: Vec<Event>,
        /// More events exist after the last one.
        has_more: bool,
    },
    /// A page of history.
    History {
        /// The conversation, if it exists yet.
        conversation_id: Option<ConversationId>,
        /// Messages, newest first.
        messages: Vec<Message>,
        /// Older messages exist.
        has_more: bool,
    },
    /// The conversation list, most recent first.
    Conversations(Vec<ConversationSummary>),
    /// Reply to ping.
    Pong,
}

/// A frame from server to client on the control stream.
///
/// Invariant: variant 0 of every server frame enum is `Error(WireError)`,
/// so an error can be decoded from any stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
}
