//! The conversations domain: the caller's conversation list.

use serde::{Deserialize, Serialize};

use crate::types::ConversationSummary;

/// Conversation requests.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum Request {
    /// Answered by [`Response::List`].
    List,
}

/// Conversation responses.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum Response {
    /// The conversation list, most recent first.
    List(Vec<ConversationSummary>),
}
