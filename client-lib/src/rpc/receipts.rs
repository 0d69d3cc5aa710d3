//! Delivered and read receipts.

use quichat_proto::rpc::receipts::{Request, Response};
use quichat_proto::types::ConversationId;

use super::reply;
use crate::{Client, ClientError};

impl Client {
    /// Tells the server this device has every message up to `up_to_seq`.
    pub async fn delivered(
        &self,
        conversation_id: ConversationId,
        up_to_seq: u64,
    ) -> Result<(), ClientError> {
        reply!(
            self.call(Request::Delivered {
                conversation_id,
                up_to_seq,
            })
            .await?,
            Response::Recorded => ()
        )
    }

    /// Marks a conversation read up to `up_to_seq`.
    pub async fn mark_read(
        &self,
        conversation_id: ConversationId,
        up_to_seq: u64,
    ) -> Result<(), ClientError> {
        reply!(
            self.call(Request::MarkRead {
                conversation_id,
                up_to_seq,
            })
            .await?,
            Response::Recorded => ()
        )
    }

    /// Who has read, received, or not yet received your message `seq`.
    pub async fn who_read(
        &self,
        conversation_id: ConversationId,
        seq: u64,
    ) -> Result<WhoRead, ClientError> {
        reply!(
            self.call(Request::WhoRead {
                conversation_id,
                seq,
            })
            .await?,
            Response::WhoRead {
                read,
                delivered,
                waiting,
            } => WhoRead {
                read,
                delivered,
                waiting,
            }
        )
    }
}

/// Receipt state of one message, by member.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WhoRead {
    /// Members who read it.
    pub read: Vec<String>,
    /// Members whose devices have it, unread.
    pub delivered: Vec<String>,
    /// Members who have not received it.
    pub waiting: Vec<String>,
}
