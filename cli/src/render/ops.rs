//! Lines about changes to sent messages: edits, recalls (deleted for
//! everyone), deletions for the user only, reactions. Each line is both
//! what the command that made the change prints and, with `event_seq`,
//! what `listen` prints when the change arrives.

use quichat_proto::types::{
    ConversationId, MessageEdit, MessageRecall, MessageRef, ReactionChange, Recipient,
};
use serde::Serialize;

use super::events::conversation_prefix;
use crate::output::sanitize;

/// `{"type":"edited"}`: a message's new text.
#[derive(Debug, Serialize)]
pub struct EditedLine {
    #[serde(skip_serializing_if = "Option::is_none")]
    event_seq: Option<u64>,
    conversation_id: ConversationId,
    seq: u64,
    text: String,
    edited_at_ms: i64,
}

impl EditedLine {
    /// From the server's answer to `edit` (`event_seq: None`) or an edit
    /// event.
    pub fn new(e: &MessageEdit, event_seq: Option<u64>) -> Self {
        EditedLine {
            event_seq,
            conversation_id: e.conversation_id,
            seq: e.seq,
            text: e.text.clone(),
            edited_at_ms: e.edited_at_ms,
        }
    }

    /// `edited #3 in bob` (or `in #12`): what `edit` prints.
    pub fn done(to: &str, e: &MessageEdit) -> String {
        format!("edited #{} in {to}", e.seq)
    }

    /// `@bob #3 edited: fixed text` (`#12 #3 ...` in a group,
    /// `conversation 1 #3 ...` when the peer is not known): what `listen`
    /// prints.
    pub fn human(e: &MessageEdit, peer: Option<&Recipient>) -> String {
        format!(
            "{} #{} edited: {}",
            conversation_prefix(e.conversation_id, peer),
            e.seq,
            sanitize(&e.text)
        )
    }
}

/// `{"type":"recalled"}`: a message was deleted for everyone.
#[derive(Debug, Serialize)]
pub struct RecalledLine {
    #[serde(skip_serializing_if = "Option::is_none")]
    event_seq: Option<u64>,
    conversation_id: ConversationId,
    seq: u64,
    by: String,
    at_ms: i64,
}

impl RecalledLine {
    /// From the server's answer to `recall` or a recall event.
    pub fn new(r: &MessageRecall, event_seq: Option<u64>) -> Self {
        RecalledLine {
            event_seq,
            conversation_id: r.conversation_id,
            seq: r.seq,
            by: r.by.clone(),
            at_ms: r.at_ms,
        }
    }

    /// `recalled #3 in bob`: what `recall` prints.
    pub fn done(to: &str, r: &MessageRecall) -> String {
        format!("recalled #{} in {to}", r.seq)
    }

    /// `@bob #3 recalled by alice`: what `listen` prints.
    pub fn human(r: &MessageRecall, peer: Option<&Recipient>) -> String {
        format!(
            "{} #{} recalled by {}",
            conversation_prefix(r.conversation_id, peer),
            r.seq,
            r.by
        )
    }
}

/// `{"type":"hidden"}`: the user deleted a message for themselves (on
/// this device or another of theirs).
#[derive(Debug, Serialize)]
pub struct HiddenLine {
    #[serde(skip_serializing_if = "Option::is_none")]
    event_seq: Option<u64>,
    conversation_id: ConversationId,
    seq: u64,
}

impl HiddenLine {
    /// From the server's answer to `delete` or a hide event.
    pub fn new(h: &MessageRef, event_seq: Option<u64>) -> Self {
        HiddenLine {
            event_seq,
            conversation_id: h.conversation_id,
            seq: h.seq,
        }
    }

    /// `deleted #3 for you`: what `delete` prints.
    pub fn done(h: &MessageRef) -> String {
        format!("deleted #{} for you", h.seq)
    }

    /// `@bob #3 deleted for you`: what `listen` prints.
    pub fn human(h: &MessageRef, peer: Option<&Recipient>) -> String {
        format!(
            "{} #{} deleted for you",
            conversation_prefix(h.conversation_id, peer),
            h.seq
        )
    }
}

/// `{"type":"reaction"}`: someone added or removed a reaction.
#[derive(Debug, Serialize)]
pub struct ReactionLine {
    event_seq: u64,
    conversation_id: ConversationId,
    seq: u64,
    user: String,
    emoji: String,
    added: bool,
    count: u32,
}

impl ReactionLine {
    /// From a reaction event.
    pub fn new(r: &ReactionChange, event_seq: u64) -> Self {
        ReactionLine {
            event_seq,
            conversation_id: r.conversation_id,
            seq: r.seq,
            user: r.user.clone(),
            emoji: r.emoji.clone(),
            added: r.added,
            count: r.count,
        }
    }

    /// `@bob #3: alice reacted 👍` or `@bob #3: alice removed their 👍`.
    pub fn human(r: &ReactionChange, peer: Option<&Recipient>) -> String {
        let prefix = conversation_prefix(r.conversation_id, peer);
        let emoji = sanitize(&r.emoji);
        if r.added {
            format!("{prefix} #{}: {} reacted {emoji}", r.seq, r.user)
        } else {
            format!("{prefix} #{}: {} removed their {emoji}", r.seq, r.user)
        }
    }
}
