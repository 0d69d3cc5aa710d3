//! The history domain: paged messages of one conversation.

use serde::{Deserialize, Serialize};

use crate::types::{ConversationId, ConversationRef, Message};

/// History requests.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum Request {
    /// Messages before `before_seq` (or the newest), newest first.
    /// Answered by [`Response::Page`].
    Page {
        /// Which conversation.
        conversation: ConversationRef,
        /// Exclusive upper bound; `None` for the newest.
        before_seq: Option<u64>,
        /// Page size, at most [`super::MAX_PAGE`].
        limit: u32,
    },
}

/// History responses.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum Response {
    /// A page of history.
    Page {
        /// The conversation, if it exists yet.
        conversation_id: Option<ConversationId>,
        /// Messages, newest first.
        messages: Vec<Message>,
        /// Older messages exist.
        has_more: bool,
    },
}
