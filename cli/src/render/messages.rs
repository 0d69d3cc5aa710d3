//! Lines about messages and conversations: acks, history, the
//! conversation list, read positions set by `read`.

use quichat_proto::media::{MediaInfo, MediaKind};
use quichat_proto::notify::Mute;
use quichat_proto::types::{
    ConversationEntry, ConversationId, Message, MessageBody, MessageId, Quote, Recipient, Reply,
    SendAck, Transcript,
};
use serde::Serialize;
use uuid::Uuid;

use super::groups::{brief_human, notice_human, notice_text, GroupBriefJson, NoticeJson};
use super::media::{
    media_label, transcript_human, transcript_preview, voice_duration, MediaJson, TranscriptJson,
};
use super::{recipient_name, Nested, PREVIEW_CHARS};
use crate::output::{local_time, preview, rfc3339, sanitize};

/// `{"type":"ack"}`: the server stored a sent message.
#[derive(Debug, Serialize)]
pub struct AckLine {
    to: String,
    client_id: Uuid,
    message_id: MessageId,
    conversation_id: ConversationId,
    seq: u64,
    sent_at: String,
    duplicate: bool,
}

impl AckLine {
    /// From the server's ack for a message to `to`.
    pub fn new(to: &str, ack: &SendAck) -> Self {
        AckLine {
            to: to.to_string(),
            client_id: ack.client_id,
            message_id: ack.message_id,
            conversation_id: ack.conversation_id,
            seq: ack.seq,
            sent_at: rfc3339(ack.sent_at_ms),
            duplicate: ack.duplicate,
        }
    }

    /// `sent to bob: #3 in conversation 1 at 2026-11-22 20:31:05`.
    pub fn human(to: &str, ack: &SendAck) -> String {
        format!("sent {}", Self::details(to, ack))
    }

    /// `to bob: #3 in conversation 1 at 2026-11-22 20:31:05`.
    pub(super) fn details(to: &str, ack: &SendAck) -> String {
        format!(
            "to {to}: #{} in conversation {} at {}{}",
            ack.seq,
            ack.conversation_id,
            local_time(ack.sent_at_ms),
            if ack.duplicate {
                " (already stored)"
            } else {
                ""
            }
        )
    }
}

/// `{"type":"message"}`: a stored message.
#[derive(Debug, Serialize)]
pub struct MessageLine {
    #[serde(skip_serializing_if = "Option::is_none")]
    event_seq: Option<u64>,
    conversation_id: ConversationId,
    seq: u64,
    message_id: MessageId,
    from: String,
    to: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    group_id: Option<ConversationId>,
    client_id: Uuid,
    sent_at: String,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    edited_at_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_to: Option<ReplyJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recalled_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recalled_at_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    media: Option<MediaJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    caption: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notice: Option<NoticeJson>,
    transcript: Option<TranscriptJson>,
}

impl MessageLine {
    /// From a message; `event_seq` when it came from the event feed.
    pub fn new(m: &Message, event_seq: Option<u64>) -> Self {
        let mut line = MessageLine {
            event_seq,
            conversation_id: m.conversation_id,
            seq: m.seq,
            message_id: m.id,
            from: m.sender.clone(),
            to: recipient_name(&m.to),
            group_id: match m.to {
                Recipient::Group(id) => Some(id),
                Recipient::User(_) => None,
            },
            client_id: m.client_id,
            sent_at: rfc3339(m.sent_at_ms),
            kind: m.body.kind(),
            text: None,
            edited_at_ms: None,
            reply_to: None,
            recalled_by: None,
            recalled_at_ms: None,
            media: None,
            caption: None,
            notice: None,
            transcript: m.transcript.as_ref().map(TranscriptJson::new),
        };
        // What each kind of body carries (the other fields stay out).
        match &m.body {
            MessageBody::Text(t) => line.text = Some(t.clone()),
            MessageBody::Edited { text, edited_at_ms } => {
                line.text = Some(text.clone());
                line.edited_at_ms = Some(*edited_at_ms);
            }
            MessageBody::Reply(r) => {
                line.text = Some(r.text.clone());
                line.edited_at_ms = r.edited_at_ms;
                line.reply_to = Some(ReplyJson::new(r));
            }
            MessageBody::Recalled { by, at_ms } => {
                line.recalled_by = Some(by.clone());
                line.recalled_at_ms = Some(*at_ms);
            }
            MessageBody::Media { media, caption } => {
                line.media = Some(MediaJson::new(media));
                line.caption = Some(caption.clone());
            }
            MessageBody::System(n) => line.notice = Some(NoticeJson::new(n)),
        }
        line
    }

    /// `[2026-11-22 20:31:05] #3 alice: hello`, or for media
    /// `... alice: [image photo.jpg, 1.2 MiB, 800×600, id 0190...] caption`;
    /// a voice note ends with its transcript (`“please call me back”`,
    /// `(transcribing…)` or `(transcription failed: ...)`). A group's
    /// notice is a system line: `[2026-11-22 20:31:05] * alice added bob`.
    /// An edited text ends with ` (edited)`; a recalled message reads
    /// `(message recalled)` (`(message recalled by bob)` when bob is not
    /// its sender); a reply starts with what it answers,
    /// `[reply to #2 bob: “see you”]`.
    pub fn human(m: &Message) -> String {
        let mut content = match &m.body {
            MessageBody::System(n) => {
                return format!("[{}] {}", local_time(m.sent_at_ms), notice_human(n));
            }
            MessageBody::Text(t) => sanitize(t),
            MessageBody::Edited { text, .. } => format!("{} (edited)", sanitize(text)),
            MessageBody::Recalled { by, .. } => recalled_human(by, &m.sender),
            MessageBody::Reply(r) => {
                let mut s = format!(
                    "[{}] {}",
                    quote_human(r.to_seq, &r.quote),
                    sanitize(&r.text)
                );
                if r.edited_at_ms.is_some() {
                    s.push_str(" (edited)");
                }
                s
            }
            MessageBody::Media { media, caption } if caption.is_empty() => {
                format!("[{}]", media_label(media))
            }
            MessageBody::Media { media, caption } => {
                format!("[{}] {}", media_label(media), sanitize(caption))
            }
        };
        if let Some(t) = &m.transcript {
            content.push(' ');
            content.push_str(&transcript_human(t));
        }
        format!(
            "[{}] #{} {}: {content}",
            local_time(m.sent_at_ms),
            m.seq,
            m.sender
        )
    }
}

/// `{"type":"chat"}`: one conversation in the list.
#[derive(Debug, Serialize)]
pub struct ChatLine {
    conversation_id: ConversationId,
    peer: String,
    group: Option<GroupBriefJson>,
    unread: u64,
    last_seq: u64,
    read_seq: u64,
    last_message: Option<Nested>,
    /// Unread messages that mention the user ("you were mentioned").
    mentions: usize,
    /// Muted until this time (RFC 3339), or `"forever"`; null: not muted.
    muted_until: Option<String>,
}

impl ChatLine {
    /// Counts `mentions` unread mentions of the user in it.
    pub fn with_mentions(mut self, mentions: usize) -> Self {
        self.mentions = mentions;
        self
    }

    /// Marks it muted, until `until_ms` or (`None`) until unmuted.
    pub fn with_mute(mut self, mute: Option<&Mute>) -> Self {
        self.muted_until = mute.map(|m| m.until_ms.map_or("forever".into(), rfc3339));
        self
    }

    /// [`ChatLine::human`], marked `🔕` when muted and `@ you were
    /// mentioned` when some of the unread messages mention the user.
    pub fn human_marked(e: &ConversationEntry, mentions: usize, muted: bool) -> String {
        let line = ChatLine::human(e);
        let mut marks = String::new();
        if muted {
            marks.push_str(" 🔕");
        }
        if mentions > 0 {
            marks.push_str(" @ you were mentioned");
        }
        if marks.is_empty() {
            return line;
        }
        match line.split_once("  ") {
            Some((name, rest)) => format!("{name}{marks}  {rest}"),
            None => format!("{line}{marks}"),
        }
    }

    /// From an entry of the conversation list.
    pub fn new(e: &ConversationEntry) -> Self {
        let c = &e.summary;
        ChatLine {
            conversation_id: c.id,
            peer: recipient_name(&c.peer),
            group: e.group.as_ref().map(GroupBriefJson::new),
            unread: c.unread,
            last_seq: c.last_seq,
            read_seq: c.read_seq,
            last_message: c
                .last_message
                .as_ref()
                .map(|m| Nested::Message(Box::new(MessageLine::new(m, None)))),
            mentions: 0,
            muted_until: None,
        }
    }

    /// `bob (2 unread)  [2026-11-22 20:31:05] bob: see you…`, or for a
    /// group `#12 “fam” (3 members, 2 unread)  [...] alice: hi` (a
    /// notice: `[...] * alice added bob`).
    pub fn human(e: &ConversationEntry) -> String {
        let c = &e.summary;
        let name = match &e.group {
            Some(g) => brief_human(c.id, g, c.unread),
            None if c.unread > 0 => format!("{} ({} unread)", recipient_name(&c.peer), c.unread),
            None => recipient_name(&c.peer),
        };
        let last = match &c.last_message {
            Some(m) => {
                let text = match &m.body {
                    MessageBody::System(n) => {
                        let line = format!(
                            "[{}] * {}",
                            local_time(m.sent_at_ms),
                            preview(&notice_text(n), PREVIEW_CHARS)
                        );
                        return format!("{name}  {line}");
                    }
                    MessageBody::Text(t) => preview(t, PREVIEW_CHARS),
                    MessageBody::Edited { text, .. } => {
                        format!("{} (edited)", preview(text, PREVIEW_CHARS))
                    }
                    MessageBody::Recalled { by, .. } => recalled_human(by, &m.sender),
                    MessageBody::Reply(r) => format!("↪ {}", preview(&r.text, PREVIEW_CHARS)),
                    MessageBody::Media { media, caption } if media.kind == MediaKind::Voice => {
                        voice_preview(media, caption, m.transcript.as_ref())
                    }
                    MessageBody::Media { media, caption } => {
                        let tag = format!("[{} {}]", media.kind.as_str(), media.filename);
                        if caption.is_empty() {
                            preview(&tag, PREVIEW_CHARS)
                        } else {
                            preview(&format!("{tag} {caption}"), PREVIEW_CHARS)
                        }
                    }
                };
                format!("[{}] {}: {text}", local_time(m.sent_at_ms), m.sender)
            }
            None => "(no messages)".to_string(),
        };
        format!("{name}  {last}")
    }
}

/// `(message recalled)`, or `(message recalled by bob)` when bob, a group
/// admin, is not the sender.
fn recalled_human(by: &str, sender: &str) -> String {
    if by == sender {
        "(message recalled)".to_string()
    } else {
        format!("(message recalled by {by})")
    }
}

/// How long a reply's quote may be in human output.
const QUOTE_PREVIEW_CHARS: usize = 40;

/// `reply to #2 bob: “see you”` (the snippet is the server's: the start of
/// the text, or a media message's caption or file name), or `reply to #2:
/// original recalled`.
fn quote_human(to_seq: u64, q: &Quote) -> String {
    if q.recalled {
        return format!("reply to #{to_seq}: original recalled");
    }
    format!(
        "reply to #{to_seq} {}: “{}”",
        q.sender,
        preview(&q.snippet, QUOTE_PREVIEW_CHARS)
    )
}

/// `reply_to` of a reply's JSON line: the answered message as it is now.
#[derive(Debug, Serialize)]
struct ReplyJson {
    seq: u64,
    sender: String,
    kind: String,
    snippet: String,
    recalled: bool,
}

impl ReplyJson {
    fn new(r: &Reply) -> Self {
        ReplyJson {
            seq: r.to_seq,
            sender: r.quote.sender.clone(),
            kind: r.quote.kind.clone(),
            snippet: r.quote.snippet.clone(),
            recalled: r.quote.recalled,
        }
    }
}

/// `[voice 4.2 s] “first words…”`: a voice note in the conversation list,
/// with its caption (if any) before the transcript.
fn voice_preview(media: &MediaInfo, caption: &str, transcript: Option<&Transcript>) -> String {
    let mut head = match media.duration_ms {
        Some(ms) => format!("[voice {}]", voice_duration(ms)),
        None => "[voice]".to_string(),
    };
    if !caption.is_empty() {
        head.push(' ');
        head.push_str(caption);
    }
    let head = preview(&head, PREVIEW_CHARS);
    match transcript {
        Some(t) => {
            // The quotes take two characters, the separator one.
            let left = PREVIEW_CHARS
                .saturating_sub(head.chars().count() + 3)
                .max(12);
            format!("{head} {}", transcript_preview(t, left))
        }
        None => head,
    }
}

/// `{"type":"read"}`: `read` moved the read position.
#[derive(Debug, Serialize)]
pub struct ReadLine {
    conversation_id: Option<ConversationId>,
    up_to_seq: Option<u64>,
}

impl ReadLine {
    /// `None`s when there is no conversation yet.
    pub fn new(conversation_id: Option<ConversationId>, up_to_seq: Option<u64>) -> Self {
        ReadLine {
            conversation_id,
            up_to_seq,
        }
    }
}
