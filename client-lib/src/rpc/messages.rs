//! Operations on sent messages: edit, recall, delete for me, forward,
//! reactions.

use quichat_proto::rpc::messages::{Request, Response};
use quichat_proto::types::{
    ConversationId, MessageEdit, MessageRecall, MessageRef, Reactions, Recipient, SendAck,
};
use uuid::Uuid;

use super::reply;
use crate::{Client, ClientError};

impl Client {
    /// Replaces the text of your own text message `seq`, within the
    /// server's edit window. Every participant and device gets the edit.
    pub async fn edit_message(
        &self,
        conversation_id: ConversationId,
        seq: u64,
        text: &str,
    ) -> Result<MessageEdit, ClientError> {
        reply!(
            self.call(Request::Edit {
                conversation_id,
                seq,
                text: text.to_string(),
            })
            .await?,
            Response::Edited(edit) => edit
        )
    }

    /// Deletes message `seq` for everyone: yours within the recall window,
    /// or, as a group admin, a member's at any time. Its content is erased
    /// from the server.
    pub async fn recall_message(
        &self,
        conversation_id: ConversationId,
        seq: u64,
    ) -> Result<MessageRecall, ClientError> {
        reply!(
            self.call(Request::Recall {
                conversation_id,
                seq,
            })
            .await?,
            Response::Recalled(recall) => recall
        )
    }

    /// Hides message `seq` on all of your devices (others still see it).
    pub async fn delete_for_me(
        &self,
        conversation_id: ConversationId,
        seq: u64,
    ) -> Result<MessageRef, ClientError> {
        reply!(
            self.call(Request::DeleteForMe {
                conversation_id,
                seq,
            })
            .await?,
            Response::Hidden(place) => place
        )
    }

    /// Forwards message `seq` to `to` as your own message; media is shared
    /// with the new conversation, not uploaded again. A retry with the
    /// same `client_id` is answered with the same ack (see
    /// [`Client::forward`] for a fresh id).
    pub async fn forward_with_id(
        &self,
        conversation_id: ConversationId,
        seq: u64,
        to: impl Into<Recipient>,
        client_id: Uuid,
    ) -> Result<SendAck, ClientError> {
        reply!(
            self.call(Request::Forward {
                conversation_id,
                seq,
                to: to.into(),
                client_id,
            })
            .await?,
            Response::Forwarded(ack) => ack
        )
    }

    /// [`Client::forward_with_id`] with a new client id.
    pub async fn forward(
        &self,
        conversation_id: ConversationId,
        seq: u64,
        to: impl Into<Recipient>,
    ) -> Result<SendAck, ClientError> {
        self.forward_with_id(conversation_id, seq, to, Uuid::now_v7())
            .await
    }

    /// Adds (`add`) or removes your reaction `emoji` on message `seq`;
    /// returns the message's reactions now.
    pub async fn react(
        &self,
        conversation_id: ConversationId,
        seq: u64,
        emoji: &str,
        add: bool,
    ) -> Result<Reactions, ClientError> {
        reply!(
            self.call(Request::React {
                conversation_id,
                seq,
                emoji: emoji.to_string(),
                add,
            })
            .await?,
            Response::Reactions(reactions) => reactions
        )
    }

    /// Who reacted with what on message `seq`.
    pub async fn reactions(
        &self,
        conversation_id: ConversationId,
        seq: u64,
    ) -> Result<Reactions, ClientError> {
        reply!(
            self.call(Request::Reactions {
                conversation_id,
                seq,
            })
            .await?,
            Response::Reactions(reactions) => reactions
        )
    }
}
