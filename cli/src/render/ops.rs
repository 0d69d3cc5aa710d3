//! Lines about changes to sent messages: edits, recalls (deleted for
//! everyone), deletions for the user only, reactions. Each line is both
//! what the command that made the change prints and, with `event_seq`,
//! what `listen` prints when the change arrives; [`ReactionsLine`], a
//! message's reactions, is what `react` and `reactions` print.

use quichat_proto::types::{
    ConversationId, MessageEdit, MessageRecall, MessageRef, ReactionChange, ReactionCount,
    Reactions, Recipient,
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

/// `{"type":"reactions"}`: a message's reactions, one entry per emoji,
/// most used first (what `react` and `reactions` print).
#[derive(Debug, Serialize)]
pub struct ReactionsLine {
    conversation_id: ConversationId,
    seq: u64,
    reactions: Vec<ReactionJson>,
}

/// One emoji of a [`ReactionsLine`]: how many reacted with it, and who
/// (the server lists at most 100; `count` is the total).
#[derive(Debug, Serialize)]
struct ReactionJson {
    emoji: String,
    count: u32,
    users: Vec<String>,
}

impl ReactionsLine {
    /// From the server's answer to `react` or `reactions`.
    pub fn new(r: &Reactions) -> Self {
        ReactionsLine {
            conversation_id: r.conversation_id,
            seq: r.seq,
            reactions: r
                .reactions
                .iter()
                .map(|c| ReactionJson {
                    emoji: c.emoji.clone(),
                    count: c.count,
                    users: c.users.clone(),
                })
                .collect(),
        }
    }

    /// `#3 in bob: 👍 2 (bob, carol)  ❤️ 1 (carol)`, or `#3 in bob: no
    /// reactions`.
    pub fn human(to: &str, r: &Reactions) -> String {
        let list = if r.reactions.is_empty() {
            "no reactions".to_string()
        } else {
            r.reactions
                .iter()
                .map(reaction_human)
                .collect::<Vec<_>>()
                .join("  ")
        };
        format!("#{} in {to}: {list}", r.seq)
    }
}

/// `👍 2 (bob, carol)`; `👍 130 (alice, …, zoe and 30 more)` when the
/// server listed only some of them (just `👍 130` when it listed none).
fn reaction_human(c: &ReactionCount) -> String {
    let head = format!("{} {}", sanitize(&c.emoji), c.count);
    if c.users.is_empty() {
        return head;
    }
    let mut who = c.users.join(", ");
    let unlisted = u64::from(c.count).saturating_sub(c.users.len() as u64);
    if unlisted > 0 {
        who.push_str(&format!(" and {unlisted} more"));
    }
    format!("{head} ({who})")
}
