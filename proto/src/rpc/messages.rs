//! The messages domain: operations on messages already sent — edit,
//! recall (delete for everyone), delete for me, forward, reactions.
//! Sending itself goes over the chat stream.

use serde::{Deserialize, Serialize};

use uuid::Uuid;

use crate::types::{
    ConversationId, MessageEdit, MessageRecall, MessageRef, Reactions, Recipient, SendAck,
};

/// Message operation requests. Every one names the message by its
/// conversation and seq.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum Request {
    /// Replace the text of the caller's own text message, within the
    /// server's edit window. Answered by [`Response::Edited`].
    Edit {
        /// Conversation.
        conversation_id: ConversationId,
        /// The message.
        seq: u64,
        /// The new text.
        text: String,
    },
    /// Delete a message for everyone: the author within the recall window,
    /// a group's admins (and owner) at any time for members' messages.
    /// Answered by [`Response::Recalled`].
    Recall {
        /// Conversation.
        conversation_id: ConversationId,
        /// The message.
        seq: u64,
    },
    /// Hide a message on all of the caller's devices only. Answered by
    /// [`Response::Hidden`].
    DeleteForMe {
        /// Conversation.
        conversation_id: ConversationId,
        /// The message.
        seq: u64,
    },
    /// Send a copy of a message the caller can see to another
    /// conversation, as the caller's own message. Media is shared, not
    /// uploaded again: the new conversation's members may download it.
    /// Answered by [`Response::Forwarded`].
    Forward {
        /// Conversation of the original.
        conversation_id: ConversationId,
        /// The original.
        seq: u64,
        /// Where the copy goes.
        to: Recipient,
        /// Client id of the copy: a retry with the same id is answered
        /// with the same ack, never stored twice.
        client_id: Uuid,
    },
    /// Add (`add: true`) or remove the caller's reaction `emoji` (one
    /// emoji: a single grapheme) on a message. Answered by
    /// [`Response::Reactions`].
    React {
        /// Conversation.
        conversation_id: ConversationId,
        /// The message.
        seq: u64,
        /// The emoji.
        emoji: String,
        /// Add, or remove.
        add: bool,
    },
    /// Who reacted with what on a message. Answered by
    /// [`Response::Reactions`].
    Reactions {
        /// Conversation.
        conversation_id: ConversationId,
        /// The message.
        seq: u64,
    },
}

/// Message operation responses.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum Response {
    /// The edit is stored and sent to every participant.
    Edited(MessageEdit),
    /// The message is recalled and its content erased.
    Recalled(MessageRecall),
    /// The message is hidden for the caller.
    Hidden(MessageRef),
    /// The copy is stored: its ack.
    Forwarded(SendAck),
    /// The reactions on the message now.
    Reactions(Reactions),
}
