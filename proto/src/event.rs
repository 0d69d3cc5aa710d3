//! Per-user events: everything a device must see, in one ordered log.
//!
//! Every user has a dense event sequence (1, 2, 3, ...). A device keeps the
//! highest seq it has processed as its sync cursor; on connect it asks for
//! everything after it. Live pushes carry the same seqs, so a client can
//! deduplicate and detect gaps.

use serde::{Deserialize, Serialize};

use crate::social::{ContactsChange, FriendRequest, Profile};
use crate::types::{
    Message, MessageEdit, MessageRecall, MessageRef, MessageUpdate, ReactionChange, ReadPosition,
    Receipt,
};

/// One entry in a user's event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the user's event log.
    pub seq: u64,
    /// What happened.
    pub body: EventBody,
}

/// What an event reports. New kinds are appended at the end.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum EventBody {
    /// A message in one of the user's conversations (including the user's
    /// own, sent from another device or this one).
    Message(Message),
    /// Another participant received or read the user's messages.
    Receipt(Receipt),
    /// One of the user's devices moved the read position.
    ReadPosition(ReadPosition),
    /// A message changed (a voice message's transcript arrived or failed).
    MessageUpdated(MessageUpdate),
    /// A friend (or the user, from another device) changed their profile.
    ProfileUpdated(Profile),
    /// A friend request to or from the user was sent, accepted, declined
    /// or cancelled (both sides get it, on every device).
    FriendRequest(FriendRequest),
    /// The user's contacts changed: a friendship ended, a block, a
    /// category (synced to the user's devices).
    Contacts(ContactsChange),
    /// A message's author edited its text.
    MessageEdited(MessageEdit),
    /// A message was recalled (deleted for everyone).
    MessageRecalled(MessageRecall),
    /// The user deleted a message for themselves (from another device or
    /// this one): hide it.
    MessageHidden(MessageRef),
    /// A participant added or removed a reaction on a message.
    Reaction(ReactionChange),
    /// An announcement from the server's administrators to every user.
    Broadcast(crate::types::Broadcast),
    /// A group message mentioned the user (it comes right after that
    /// message).
    Mention(crate::types::Mention),
}

impl EventBody {
    /// The conversation the event is about, for the kinds that belong to
    /// one (messages, receipts, read positions, edits, recalls, deletions,
    /// reactions); `None` for profile, friend-request and contacts events.
    pub fn conversation_id(&self) -> Option<crate::types::ConversationId> {
        match self {
            EventBody::Message(m) => Some(m.conversation_id),
            EventBody::Receipt(r) => Some(r.conversation_id),
            EventBody::ReadPosition(r) => Some(r.conversation_id),
            EventBody::MessageUpdated(u) => Some(u.conversation_id),
            EventBody::MessageEdited(e) => Some(e.conversation_id),
            EventBody::MessageRecalled(r) => Some(r.conversation_id),
            EventBody::MessageHidden(r) => Some(r.conversation_id),
            EventBody::Reaction(r) => Some(r.conversation_id),
            EventBody::Mention(m) => Some(m.conversation_id),
            EventBody::ProfileUpdated(_)
            | EventBody::FriendRequest(_)
            | EventBody::Contacts(_)
            | EventBody::Broadcast(_) => None,
        }
    }
}
