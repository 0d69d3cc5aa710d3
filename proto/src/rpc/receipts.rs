//! The receipts domain: delivered and read watermarks.

use serde::{Deserialize, Serialize};

use crate::types::ConversationId;

/// Receipt requests.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum Request {
    /// This device has every message up to `up_to_seq`. Answered by
    /// [`Response::Recorded`].
    Delivered {
        /// Conversation.
        conversation_id: ConversationId,
        /// Watermark.
        up_to_seq: u64,
    },
    /// The user has read every message up to `up_to_seq`. Answered by
    /// [`Response::Recorded`].
    MarkRead {
        /// Conversation.
        conversation_id: ConversationId,
        /// Watermark.
        up_to_seq: u64,
    },
    /// Who has received and read message `seq` of a conversation the
    /// caller is in (members who joined after it are not counted).
    /// Answered by [`Response::WhoRead`].
    WhoRead {
        /// Conversation.
        conversation_id: ConversationId,
        /// The message.
        seq: u64,
    },
}

/// Receipt responses.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum Response {
    /// The watermark is stored (or was already at least this far).
    Recorded,
    /// Receipt state of one message, by member (the sender excluded).
    WhoRead {
        /// Members who read it.
        read: Vec<String>,
        /// Members whose devices have it but who have not read it.
        delivered: Vec<String>,
        /// Members who have not received it yet.
        waiting: Vec<String>,
    },
}
