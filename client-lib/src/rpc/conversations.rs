//! The conversation list.

use quichat_proto::rpc::conversations::{Request, Response};
use quichat_proto::types::{ConversationEntry, ConversationSummary, Mention};

use super::reply;
use crate::{Client, ClientError};

impl Client {
    /// The conversation list, most recent first.
    pub async fn conversations(&self) -> Result<Vec<ConversationSummary>, ClientError> {
        reply!(self.call(Request::List).await?, Response::List(list) => list)
    }

    /// Your unread mentions ("you were mentioned"), oldest first: group
    /// messages after your read position that mention you.
    pub async fn mentions(&self) -> Result<Vec<Mention>, ClientError> {
        reply!(self.call(Request::Mentions).await?, Response::Mentions(list) => list)
    }

    /// The conversation list with each group's name, size and your role.
    pub async fn conversation_overview(&self) -> Result<Vec<ConversationEntry>, ClientError> {
        reply!(self.call(Request::Overview).await?, Response::Overview(list) => list)
    }
}
