//! Lines for the event feed (`listen`): receipts, read positions, message
//! updates, and [`event`], which turns any event into its line (edits,
//! recalls, deletions and reactions are in [`super::ops`]).

use quichat_proto::event::{Event, EventBody};
use quichat_proto::types::{
    ConversationId, Mention, Message, MessageId, MessageUpdate, ReadPosition, Receipt, ReceiptKind,
    Recipient,
};
use serde::Serialize;

use super::media::{transcript_human, TranscriptJson};
use super::messages::MessageLine;
use quichat_client::Notice;

use super::broadcast::BroadcastLine;
use super::contacts::{ContactsLine, FriendRequestLine, PresenceLine, ProfileLine, TypingLine};
use super::ops::{EditedLine, HiddenLine, ReactionLine, RecalledLine};
use super::{recipient_name, Line};
use crate::output::rfc3339;

/// `{"type":"receipt"}`: the peer received or read the user's messages.
#[derive(Debug, Serialize)]
pub struct ReceiptLine {
    event_seq: u64,
    conversation_id: ConversationId,
    by: String,
    kind: &'static str,
    up_to_seq: u64,
    at: String,
}

impl ReceiptLine {
    /// From a receipt event.
    pub fn new(r: &Receipt, event_seq: u64) -> Self {
        ReceiptLine {
            event_seq,
            conversation_id: r.conversation_id,
            by: r.by.clone(),
            kind: match r.kind {
                ReceiptKind::Delivered => "delivered",
                ReceiptKind::Read => "read",
            },
            up_to_seq: r.up_to_seq,
            at: rfc3339(r.at_ms),
        }
    }

    /// `✓ delivered to bob up to #4` or `✓✓ read by bob up to #4`.
    pub fn human(r: &Receipt) -> String {
        match r.kind {
            ReceiptKind::Delivered => format!("✓ delivered to {} up to #{}", r.by, r.up_to_seq),
            ReceiptKind::Read => format!("✓✓ read by {} up to #{}", r.by, r.up_to_seq),
        }
    }
}

/// `{"type":"read_position"}`: one of the user's devices read a
/// conversation.
#[derive(Debug, Serialize)]
pub struct ReadPositionLine {
    event_seq: u64,
    conversation_id: ConversationId,
    up_to_seq: u64,
}

impl ReadPositionLine {
    /// From a read-position event.
    pub fn new(p: &ReadPosition, event_seq: u64) -> Self {
        ReadPositionLine {
            event_seq,
            conversation_id: p.conversation_id,
            up_to_seq: p.up_to_seq,
        }
    }

    /// `(you read conversation 1 up to #4 on another device)`.
    pub fn human(p: &ReadPosition) -> String {
        format!(
            "(you read conversation {} up to #{} on another device)",
            p.conversation_id, p.up_to_seq
        )
    }
}

/// `{"type":"message_updated"}`: a message changed (a voice note's
/// transcript is ready or failed).
#[derive(Debug, Serialize)]
pub struct MessageUpdatedLine {
    event_seq: u64,
    conversation_id: ConversationId,
    message_id: MessageId,
    seq: u64,
    transcript: TranscriptJson,
}

impl MessageUpdatedLine {
    /// From an update event.
    pub fn new(u: &MessageUpdate, event_seq: u64) -> Self {
        MessageUpdatedLine {
            event_seq,
            conversation_id: u.conversation_id,
            message_id: u.message_id,
            seq: u.seq,
            transcript: TranscriptJson::new(&u.transcript),
        }
    }

    /// `✎ transcript of #7 with bob: “please call me back”` (or
    /// `(transcription failed: ...)`, or `... of #7 in #12: ...` in a
    /// group); `peer` is the conversation's other user or group when
    /// known, else the conversation id is shown.
    pub fn human(u: &MessageUpdate, peer: Option<&Recipient>) -> String {
        let with = match peer {
            Some(Recipient::User(name)) => format!("with {name}"),
            Some(Recipient::Group(id)) => format!("in #{id}"),
            None => format!("in conversation {}", u.conversation_id),
        };
        format!(
            "✎ transcript of #{} {with}: {}",
            u.seq,
            transcript_human(&u.transcript)
        )
    }
}

/// Whom a message's conversation is with, seen from `me`: the other user
/// of a direct conversation, or the group.
pub fn peer_of(m: &Message, me: &str) -> Recipient {
    match &m.to {
        Recipient::Group(id) => Recipient::Group(*id),
        Recipient::User(_) if m.sender == me => m.to.clone(),
        Recipient::User(_) => Recipient::User(m.sender.clone()),
    }
}

/// How `listen` names a conversation at the start of a line: `@bob` for
/// the direct conversation with bob, `#12` for a group.
fn peer_prefix(peer: &Recipient) -> String {
    match peer {
        Recipient::User(name) => format!("@{name}"),
        Recipient::Group(_) => recipient_name(peer),
    }
}

/// [`peer_prefix`] for events that carry only the conversation id:
/// `conversation 1` when its peer is not known.
pub(super) fn conversation_prefix(id: ConversationId, peer: Option<&Recipient>) -> String {
    match peer {
        Some(peer) => peer_prefix(peer),
        None => format!("conversation {id}"),
    }
}

/// `{"type":"mention"}`: a group message mentioned the user.
#[derive(Debug, Serialize)]
pub struct MentionLine {
    event_seq: u64,
    conversation_id: ConversationId,
    seq: u64,
    by: String,
    all: bool,
}

impl MentionLine {
    /// From a mention event.
    pub fn new(m: &Mention, event_seq: u64) -> Self {
        MentionLine {
            event_seq,
            conversation_id: m.conversation_id,
            seq: m.seq,
            by: m.by.clone(),
            all: m.all,
        }
    }

    /// `🔔 #12 #5: alice mentioned you` (`… mentioned @all`).
    pub fn human(m: &Mention) -> String {
        format!(
            "🔔 #{} #{}: {} mentioned {}",
            m.conversation_id,
            m.seq,
            m.by,
            if m.all { "@all" } else { "you" }
        )
    }
}

/// An event as a human line and as a JSON line. `me` is the user's own
/// name, to tell the conversation's peer; `peers` names the peer (user or
/// group) of a conversation for events that only carry its id.
pub fn event(
    event: &Event,
    me: &str,
    peers: impl Fn(ConversationId) -> Option<Recipient>,
) -> (String, Line<'static>) {
    let seq = event.seq;
    match &event.body {
        EventBody::Message(m) => {
            // `@bob [...]` for a direct conversation, `#12 [...]` for a group.
            (
                format!("{} {}", peer_prefix(&peer_of(m, me)), MessageLine::human(m)),
                MessageLine::new(m, Some(seq)).into(),
            )
        }
        EventBody::Receipt(r) => (ReceiptLine::human(r), ReceiptLine::new(r, seq).into()),
        EventBody::ReadPosition(p) => (
            ReadPositionLine::human(p),
            ReadPositionLine::new(p, seq).into(),
        ),
        EventBody::ProfileUpdated(p) => (
            format!(
                "{} changed their profile: {}",
                p.username,
                ProfileLine::human(p)
            ),
            Line::ProfileUpdated(ProfileLine::new(p, Some(seq))),
        ),
        EventBody::FriendRequest(r) => (
            FriendRequestLine::human(r, me),
            FriendRequestLine::new(r, Some(seq)).into(),
        ),
        EventBody::Contacts(c) => (ContactsLine::human(c), ContactsLine::new(c, seq).into()),
        EventBody::MessageUpdated(u) => (
            MessageUpdatedLine::human(u, peers(u.conversation_id).as_ref()),
            MessageUpdatedLine::new(u, seq).into(),
        ),
        EventBody::MessageEdited(e) => (
            EditedLine::human(e, peers(e.conversation_id).as_ref()),
            EditedLine::new(e, Some(seq)).into(),
        ),
        EventBody::MessageRecalled(r) => (
            RecalledLine::human(r, peers(r.conversation_id).as_ref()),
            RecalledLine::new(r, Some(seq)).into(),
        ),
        EventBody::MessageHidden(h) => (
            HiddenLine::human(h, peers(h.conversation_id).as_ref()),
            HiddenLine::new(h, Some(seq)).into(),
        ),
        EventBody::Reaction(r) => (
            ReactionLine::human(r, peers(r.conversation_id).as_ref()),
            ReactionLine::new(r, seq).into(),
        ),
        EventBody::Broadcast(b) => (BroadcastLine::human(b), BroadcastLine::new(b, seq).into()),
        EventBody::Mention(m) => (MentionLine::human(m), MentionLine::new(m, seq).into()),
    }
}

/// An ephemeral notice (presence, typing) as a human and a JSON line.
pub fn notice(notice: &Notice) -> (String, Line<'static>) {
    match notice {
        Notice::Presence(p) => (PresenceLine::human(p), PresenceLine::new(p).into()),
        Notice::Typing(t) => (TypingLine::human(t), TypingLine::new(t).into()),
    }
}
