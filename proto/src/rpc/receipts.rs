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
}

/// Receipt responses.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum Response {
    /// The watermark is stored (or was already at least this far).
    Recorded,
}
