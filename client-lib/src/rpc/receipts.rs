//! Delivered and read receipts.

use quichat_proto::rpc::receipts::{Request, Response};
use quichat_proto::types::ConversationId;

use crate::{Client, ClientError};

impl Client {
    /// Tells the server this device has every message up to `up_to_seq`.
    pub async fn delivered(
        &self,
        conversation_id: ConversationId,
        up_to_seq: u64,
    ) -> Result<(), ClientError> {
        let Response::Recorded = self
            .call(Request::Delivered {
                conversation_id,
                up_to_seq,
            })
            .await?;
        Ok(())
    }

    /// Marks a conversation read up to `up_to_seq`.
    pub async fn mark_read(
        &self,
        conversation_id: ConversationId,
        up_to_seq: u64,
    ) -> Result<(), ClientError> {
        let Response::Recorded = self
            .call(Request::MarkRead {
                conversation_id,
                up_to_seq,
            })
            .await?;
        Ok(())
    }
}
