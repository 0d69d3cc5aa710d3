//! The conversation list.

use quichat_proto::rpc::conversations::{Request, Response};
use quichat_proto::types::ConversationSummary;

use crate::{Client, ClientError};

impl Client {
    /// The conversation list, most recent first.
    pub async fn conversations(&self) -> Result<Vec<ConversationSummary>, ClientError> {
        let Response::List(list) = self.call(Request::List).await?;
        Ok(list)
    }
}
