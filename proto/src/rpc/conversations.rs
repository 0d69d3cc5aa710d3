//! The conversations domain: the caller's conversation list.

use serde::{Deserialize, Serialize};

use crate::types::{ConversationEntry, ConversationSummary, Mention};

/// Conversation requests.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum Request {
    /// Answered by [`Response::List`]. Groups appear with
    /// [`crate::types::Recipient::Group`] as their peer; prefer
    /// [`Request::Overview`], which names them.
    List,
    /// The conversation list with each group's name, size and the
    /// caller's role. Answered by [`Response::Overview`].
    Overview,
    /// The caller's unread mentions ("you were mentioned"): mentions in
    /// messages after the caller's read position, not recalled or deleted
    /// for the caller, oldest first, at most [`crate::rpc::MAX_PAGE`].
    /// Answered by [`Response::Mentions`].
    Mentions,
}

/// Conversation responses.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum Response {
    /// The conversation list, most recent first.
    List(Vec<ConversationSummary>),
    /// The conversation list, most recent first.
    Overview(Vec<ConversationEntry>),
    /// Unread mentions, oldest first.
    Mentions(Vec<Mention>),
}
