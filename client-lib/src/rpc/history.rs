//! Paged conversation history.

use quichat_proto::rpc::history::{Request, Response};
use quichat_proto::types::{ConversationId, ConversationRef, Message};

use crate::{Client, ClientError};

/// One page of history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPage {
    /// The conversation, if it exists yet.
    pub conversation_id: Option<ConversationId>,
    /// Messages, newest first.
    pub messages: Vec<Message>,
    /// Older messages exist.
    pub has_more: bool,
}

impl Client {
    /// A page of history, newest first.
    pub async fn history(
        &self,
        conversation: ConversationRef,
        before_seq: Option<u64>,
        limit: u32,
    ) -> Result<HistoryPage, ClientError> {
        let request = Request::Page {
            conversation,
            before_seq,
            limit,
        };
        let Response::Page {
            conversation_id,
            messages,
            has_more,
        } = self.call(request).await?;
        Ok(HistoryPage {
            conversation_id,
            messages,
            has_more,
        })
    }
}
