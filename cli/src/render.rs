//! The shapes of every output line: one serde struct per JSON `type`, and
//! the matching human-readable text.
//!
//! JSON lines always start with `"type"`; times are RFC 3339 UTC. Human
//! lines use local time and escape control characters in text that other
//! people wrote.

use std::path::Path;

use quichat_client::{DownloadOutcome, UploadOutcome};
use quichat_proto::event::{Event, EventBody};
use quichat_proto::media::{MediaId, MediaInfo, MediaKind};
use quichat_proto::types::{
    ConversationId, ConversationSummary, DeviceId, DeviceInfo, Message, MessageBody, MessageId,
    MessageUpdate, ReadPosition, Receipt, ReceiptKind, Recipient, SendAck, SessionInfo, Transcript,
    TranscriptStatus, UserId,
};
use serde::Serialize;
use uuid::Uuid;

use crate::output::{human_duration, human_size, local_time, preview, rfc3339, sanitize};

/// Width of message previews in `chats`.
const PREVIEW_CHARS: usize = 60;

/// Longest file name shown in human output.
const FILENAME_CHARS: usize = 80;

/// The username a recipient names.
pub fn recipient_name(to: &Recipient) -> &str {
    match to {
        Recipient::User(name) => name,
    }
}

/// `{"type":"session"}`: who a profile is logged in as.
#[derive(Debug, Serialize)]
pub struct SessionLine {
    #[serde(rename = "type")]
    ty: &'static str,
    username: String,
    user_id: UserId,
    device_id: DeviceId,
    server: String,
}

impl SessionLine {
    /// From the server's session info.
    pub fn new(session: &SessionInfo, server: &str) -> Self {
        SessionLine {
            ty: "session",
            username: session.username.clone(),
            user_id: session.user_id,
            device_id: session.device_id,
            server: server.to_string(),
        }
    }
}

/// `{"type":"logout"}`: the profile's device token was revoked.
#[derive(Debug, Serialize)]
pub struct LogoutLine {
    #[serde(rename = "type")]
    ty: &'static str,
    username: Option<String>,
    device_id: Option<DeviceId>,
}

impl LogoutLine {
    /// For the device that was logged out.
    pub fn new(username: Option<String>, device_id: Option<DeviceId>) -> Self {
        LogoutLine {
            ty: "logout",
            username,
            device_id,
        }
    }
}

/// `{"type":"device"}`: one device of the account.
#[derive(Debug, Serialize)]
pub struct DeviceLine {
    #[serde(rename = "type")]
    ty: &'static str,
    id: DeviceId,
    name: String,
    created_at: String,
    last_seen: String,
    current: bool,
}

impl DeviceLine {
    /// From the server's device info.
    pub fn new(d: &DeviceInfo) -> Self {
        DeviceLine {
            ty: "device",
            id: d.id,
            name: d.name.clone(),
            created_at: rfc3339(d.created_at_ms),
            last_seen: rfc3339(d.last_seen_ms),
            current: d.current,
        }
    }

    /// `3  laptop  created ...  last seen ...  (this device)`.
    pub fn human(d: &DeviceInfo) -> String {
        format!(
            "{:>4}  {}  created {}  last seen {}{}",
            d.id,
            preview(&d.name, 40),
            local_time(d.created_at_ms),
            local_time(d.last_seen_ms),
            if d.current { "  (this device)" } else { "" }
        )
    }
}

/// `{"type":"revoked"}`: a device was revoked.
#[derive(Debug, Serialize)]
pub struct RevokedLine {
    #[serde(rename = "type")]
    ty: &'static str,
    device_id: DeviceId,
}

impl RevokedLine {
    /// For the revoked device.
    pub fn new(device_id: DeviceId) -> Self {
        RevokedLine {
            ty: "revoked",
            device_id,
        }
    }
}

/// `{"type":"ack"}`: the server stored a sent message.
#[derive(Debug, Serialize)]
pub struct AckLine {
    #[serde(rename = "type")]
    ty: &'static str,
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
            ty: "ack",
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
    fn details(to: &str, ack: &SendAck) -> String {
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

/// The `media` object of JSON lines: a media object's metadata.
#[derive(Debug, Serialize)]
pub struct MediaJson {
    id: MediaId,
    kind: &'static str,
    size: u64,
    sha256: String,
    mime: String,
    filename: String,
    width: Option<u32>,
    height: Option<u32>,
    duration_ms: Option<u64>,
    has_thumbnail: bool,
}

impl MediaJson {
    /// From the server's media info.
    pub fn new(m: &MediaInfo) -> Self {
        MediaJson {
            id: m.id,
            kind: m.kind.as_str(),
            size: m.size,
            sha256: hex::encode(m.sha256),
            mime: m.mime.clone(),
            filename: m.filename.clone(),
            width: m.width,
            height: m.height,
            duration_ms: m.duration_ms,
            has_thumbnail: m.has_thumbnail,
        }
    }
}

/// `image photo.jpg, 1.2 MiB, 800×600, id 0190...`: what a media message
/// shows, with the full id so that it can be copied into `download`.
pub fn media_label(m: &MediaInfo) -> String {
    if m.kind == MediaKind::Voice {
        return voice_label(m);
    }
    let mut label = format!(
        "{} {}, {}",
        m.kind.as_str(),
        preview(&m.filename, FILENAME_CHARS),
        human_size(m.size)
    );
    if let (Some(w), Some(h)) = (m.width, m.height) {
        label.push_str(&format!(", {w}×{h}"));
    }
    if let Some(ms) = m.duration_ms {
        label.push_str(&format!(", {}", human_duration(ms)));
    }
    label.push_str(&format!(", id {}", m.id));
    label
}

/// `voice note.ogg, 4.2 s, id 0190...`: a voice note's label (its length
/// matters more than its size).
fn voice_label(m: &MediaInfo) -> String {
    let mut label = format!("voice {}", preview(&m.filename, FILENAME_CHARS));
    if let Some(ms) = m.duration_ms {
        label.push_str(&format!(", {}", voice_duration(ms)));
    }
    label.push_str(&format!(", id {}", m.id));
    label
}

/// A voice note's length: `4.2 s` below a minute, else `1:05`.
pub fn voice_duration(ms: u64) -> String {
    if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        human_duration(ms)
    }
}

/// The `transcript` object of JSON message lines.
#[derive(Debug, Serialize)]
pub struct TranscriptJson {
    status: &'static str,
    text: String,
    language: Option<String>,
    reason: Option<String>,
    segments: Vec<SegmentJson>,
}

/// One timed span of a transcript.
#[derive(Debug, Serialize)]
pub struct SegmentJson {
    start_ms: u64,
    end_ms: u64,
    text: String,
}

impl TranscriptJson {
    /// From the server's transcript.
    pub fn new(t: &Transcript) -> Self {
        let (status, reason) = match &t.status {
            TranscriptStatus::Pending => ("pending", None),
            TranscriptStatus::Done => ("done", None),
            TranscriptStatus::Failed { reason } => ("failed", Some(reason.clone())),
        };
        TranscriptJson {
            status,
            text: t.text.clone(),
            language: t.language.clone(),
            reason,
            segments: t
                .segments
                .iter()
                .map(|s| SegmentJson {
                    start_ms: s.start_ms,
                    end_ms: s.end_ms,
                    text: s.text.clone(),
                })
                .collect(),
        }
    }
}

/// A transcript for people: `“please call me back”`, `(transcribing…)`
/// or `(transcription failed: REASON)`.
pub fn transcript_human(t: &Transcript) -> String {
    match &t.status {
        TranscriptStatus::Pending => "(transcribing…)".to_string(),
        TranscriptStatus::Done if t.text.trim().is_empty() => "(no speech)".to_string(),
        TranscriptStatus::Done => format!("“{}”", sanitize(t.text.trim())),
        TranscriptStatus::Failed { reason } => {
            format!("(transcription failed: {})", sanitize(reason))
        }
    }
}

/// A transcript in a one-line preview of at most `max` characters of text.
fn transcript_preview(t: &Transcript, max: usize) -> String {
    match &t.status {
        TranscriptStatus::Pending => "(transcribing…)".to_string(),
        TranscriptStatus::Done if t.text.trim().is_empty() => "(no speech)".to_string(),
        TranscriptStatus::Done => format!("“{}”", preview(t.text.trim(), max)),
        TranscriptStatus::Failed { .. } => "(transcription failed)".to_string(),
    }
}

/// `{"type":"ack"}` of `send-file`: the message ack plus the upload.
#[derive(Debug, Serialize)]
pub struct MediaAckLine {
    #[serde(flatten)]
    ack: AckLine,
    media: MediaJson,
    deduplicated: bool,
    resumed_from: u64,
    bytes_sent: u64,
}

impl MediaAckLine {
    /// From the upload and the ack of the message that carries it.
    pub fn new(to: &str, upload: &UploadOutcome, ack: &SendAck) -> Self {
        MediaAckLine {
            ack: AckLine::new(to, ack),
            media: MediaJson::new(&upload.media),
            deduplicated: upload.deduplicated,
            resumed_from: upload.resumed_from,
            bytes_sent: upload.bytes_sent,
        }
    }

    /// `sent report.pdf (2.0 MiB) to bob: #5 in conversation 1 at ...`,
    /// plus how the upload went when not from scratch.
    pub fn human(to: &str, upload: &UploadOutcome, ack: &SendAck) -> String {
        format!(
            "sent {} ({}) {}{}",
            preview(&upload.media.filename, FILENAME_CHARS),
            human_size(upload.media.size),
            AckLine::details(to, ack),
            Self::how(upload)
        )
    }

    /// ` (already on the server, nothing uploaded)`, ` (resumed at …)` or
    /// nothing.
    fn how(upload: &UploadOutcome) -> String {
        if upload.deduplicated {
            " (already on the server, nothing uploaded)".to_string()
        } else if upload.resumed_from > 0 {
            format!(" (resumed at {})", human_size(upload.resumed_from))
        } else {
            String::new()
        }
    }
}

/// `{"type":"ack"}` of `send-voice`: the `send-file` ack plus the voice
/// note's length.
#[derive(Debug, Serialize)]
pub struct VoiceAckLine {
    #[serde(flatten)]
    ack: MediaAckLine,
    duration_ms: Option<u64>,
}

impl VoiceAckLine {
    /// From the upload and the ack of the message that carries it.
    pub fn new(to: &str, upload: &UploadOutcome, ack: &SendAck) -> Self {
        VoiceAckLine {
            ack: MediaAckLine::new(to, upload, ack),
            duration_ms: upload.media.duration_ms,
        }
    }

    /// `sent voice note (4.2 s) to bob: #7 in conversation 1 at ... —
    /// transcribing`.
    pub fn human(to: &str, upload: &UploadOutcome, ack: &SendAck) -> String {
        let length = upload
            .media
            .duration_ms
            .map(|ms| format!(" ({})", voice_duration(ms)))
            .unwrap_or_default();
        format!(
            "sent voice note{length} {}{} — transcribing",
            AckLine::details(to, ack),
            MediaAckLine::how(upload)
        )
    }
}

/// `{"type":"download"}`: a media file was downloaded (or was already
/// complete).
#[derive(Debug, Serialize)]
pub struct DownloadLine {
    #[serde(rename = "type")]
    ty: &'static str,
    media: MediaJson,
    path: String,
    resumed_from: u64,
    bytes_received: u64,
}

impl DownloadLine {
    /// From the finished download to `path`.
    pub fn new(d: &DownloadOutcome, path: &Path) -> Self {
        DownloadLine {
            ty: "download",
            media: MediaJson::new(&d.media),
            path: path.display().to_string(),
            resumed_from: d.resumed_from,
            bytes_received: d.bytes_received,
        }
    }

    /// `downloaded photo.jpg (1.2 MiB) to ./photo.jpg`, or, when the file
    /// was there already, `photo.jpg (1.2 MiB) is already complete in
    /// ./photo.jpg (checked)`.
    pub fn human(d: &DownloadOutcome, path: &Path) -> String {
        let name = preview(&d.media.filename, FILENAME_CHARS);
        let size = human_size(d.media.size);
        let path = preview(&path.display().to_string(), usize::MAX);
        if d.already_complete {
            return format!("{name} ({size}) is already complete in {path} (checked)");
        }
        let resumed = if d.resumed_from > 0 {
            format!(" (resumed at {})", human_size(d.resumed_from))
        } else {
            String::new()
        };
        format!("downloaded {name} ({size}) to {path}{resumed}")
    }
}

/// `{"type":"message"}`: a stored message.
#[derive(Debug, Serialize)]
pub struct MessageLine {
    #[serde(rename = "type")]
    ty: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_seq: Option<u64>,
    conversation_id: ConversationId,
    seq: u64,
    message_id: MessageId,
    from: String,
    to: String,
    client_id: Uuid,
    sent_at: String,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    media: Option<MediaJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    caption: Option<String>,
    transcript: Option<TranscriptJson>,
}

impl MessageLine {
    /// From a message; `event_seq` when it came from the event feed.
    pub fn new(m: &Message, event_seq: Option<u64>) -> Self {
        MessageLine {
            ty: "message",
            event_seq,
            conversation_id: m.conversation_id,
            seq: m.seq,
            message_id: m.id,
            from: m.sender.clone(),
            to: recipient_name(&m.to).to_string(),
            client_id: m.client_id,
            sent_at: rfc3339(m.sent_at_ms),
            kind: m.body.kind(),
            text: match &m.body {
                MessageBody::Text(t) => Some(t.clone()),
                MessageBody::Media { .. } => None,
            },
            media: match &m.body {
                MessageBody::Media { media, .. } => Some(MediaJson::new(media)),
                MessageBody::Text(_) => None,
            },
            caption: match &m.body {
                MessageBody::Media { caption, .. } => Some(caption.clone()),
                MessageBody::Text(_) => None,
            },
            transcript: m.transcript.as_ref().map(TranscriptJson::new),
        }
    }

    /// `[2026-11-22 20:31:05] #3 alice: hello`, or for media
    /// `... alice: [image photo.jpg, 1.2 MiB, 800×600, id 0190...] caption`;
    /// a voice note ends with its transcript (`“please call me back”`,
    /// `(transcribing…)` or `(transcription failed: ...)`).
    pub fn human(m: &Message) -> String {
        let mut content = match &m.body {
            MessageBody::Text(t) => sanitize(t),
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
    #[serde(rename = "type")]
    ty: &'static str,
    conversation_id: ConversationId,
    peer: String,
    unread: u64,
    last_seq: u64,
    read_seq: u64,
    last_message: Option<MessageLine>,
}

impl ChatLine {
    /// From a conversation summary.
    pub fn new(c: &ConversationSummary) -> Self {
        ChatLine {
            ty: "chat",
            conversation_id: c.id,
            peer: recipient_name(&c.peer).to_string(),
            unread: c.unread,
            last_seq: c.last_seq,
            read_seq: c.read_seq,
            last_message: c.last_message.as_ref().map(|m| MessageLine::new(m, None)),
        }
    }

    /// `bob (2 unread)  [2026-11-22 20:31:05] bob: see you…`.
    pub fn human(c: &ConversationSummary) -> String {
        let unread = if c.unread > 0 {
            format!(" ({} unread)", c.unread)
        } else {
            String::new()
        };
        let last = match &c.last_message {
            Some(m) => {
                let text = match &m.body {
                    MessageBody::Text(t) => preview(t, PREVIEW_CHARS),
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
        format!("{}{unread}  {last}", recipient_name(&c.peer))
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
    #[serde(rename = "type")]
    ty: &'static str,
    conversation_id: Option<ConversationId>,
    up_to_seq: Option<u64>,
}

impl ReadLine {
    /// `None`s when there is no conversation yet.
    pub fn new(conversation_id: Option<ConversationId>, up_to_seq: Option<u64>) -> Self {
        ReadLine {
            ty: "read",
            conversation_id,
            up_to_seq,
        }
    }
}

/// `{"type":"receipt"}`: the peer received or read the user's messages.
#[derive(Debug, Serialize)]
pub struct ReceiptLine {
    #[serde(rename = "type")]
    ty: &'static str,
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
            ty: "receipt",
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
    #[serde(rename = "type")]
    ty: &'static str,
    event_seq: u64,
    conversation_id: ConversationId,
    up_to_seq: u64,
}

impl ReadPositionLine {
    /// From a read-position event.
    pub fn new(p: &ReadPosition, event_seq: u64) -> Self {
        ReadPositionLine {
            ty: "read_position",
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
    #[serde(rename = "type")]
    ty: &'static str,
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
            ty: "message_updated",
            event_seq,
            conversation_id: u.conversation_id,
            message_id: u.message_id,
            seq: u.seq,
            transcript: TranscriptJson::new(&u.transcript),
        }
    }

    /// `✎ transcript of #7 with bob: “please call me back”` (or
    /// `(transcription failed: ...)`); `peer` is the conversation's other
    /// user when known, else the conversation id is shown.
    pub fn human(u: &MessageUpdate, peer: Option<&str>) -> String {
        let with = match peer {
            Some(name) => format!("with {name}"),
            None => format!("in conversation {}", u.conversation_id),
        };
        format!(
            "✎ transcript of #{} {with}: {}",
            u.seq,
            transcript_human(&u.transcript)
        )
    }
}

/// `{"type":"error"}`: why a command failed.
#[derive(Debug, Serialize)]
pub struct ErrorLine<'a> {
    #[serde(rename = "type")]
    ty: &'static str,
    code: &'a str,
    message: &'a str,
}

impl<'a> ErrorLine<'a> {
    /// An error with a stable code.
    pub fn new(code: &'a str, message: &'a str) -> Self {
        ErrorLine {
            ty: "error",
            code,
            message,
        }
    }
}

/// The JSON line of an event: one of the line types above.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum EventLine {
    /// A message (with `event_seq`).
    Message(Box<MessageLine>),
    /// A delivered or read receipt.
    Receipt(ReceiptLine),
    /// The user's own read position.
    ReadPosition(ReadPositionLine),
    /// A message changed (its transcript).
    MessageUpdated(MessageUpdatedLine),
}

/// The other user of a message's conversation, seen from `me`.
pub fn peer_of<'a>(m: &'a Message, me: &str) -> &'a str {
    if m.sender == me {
        recipient_name(&m.to)
    } else {
        m.sender.as_str()
    }
}

/// An event as a human line and as a JSON line. `me` is the user's own
/// name, to tell the conversation's peer; `peers` names the peer of a
/// conversation for events that only carry its id.
pub fn event(
    event: &Event,
    me: &str,
    peers: impl Fn(ConversationId) -> Option<String>,
) -> (String, EventLine) {
    let seq = event.seq;
    match &event.body {
        EventBody::Message(m) => {
            let peer = peer_of(m, me);
            (
                format!("@{peer} {}", MessageLine::human(m)),
                EventLine::Message(Box::new(MessageLine::new(m, Some(seq)))),
            )
        }
        EventBody::Receipt(r) => (
            ReceiptLine::human(r),
            EventLine::Receipt(ReceiptLine::new(r, seq)),
        ),
        EventBody::ReadPosition(p) => (
            ReadPositionLine::human(p),
            EventLine::ReadPosition(ReadPositionLine::new(p, seq)),
        ),
        EventBody::MessageUpdated(u) => (
            MessageUpdatedLine::human(u, peers(u.conversation_id).as_deref()),
            EventLine::MessageUpdated(MessageUpdatedLine::new(u, seq)),
        ),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn msg(sender: &str, to: &str, text: &str) -> Message {
        Message {
            id: 9,
            conversation_id: 1,
            seq: 3,
            sender: sender.into(),
            client_id: Uuid::nil(),
            to: Recipient::User(to.into()),
            sent_at_ms: 1_700_000_000_000,
            body: MessageBody::Text(text.into()),
            transcript: None,
        }
    }

    #[test]
    fn message_json_shape() {
        let v = serde_json::to_value(MessageLine::new(&msg("alice", "bob", "hi"), None)).unwrap();
        assert_eq!(v["type"], "message");
        assert_eq!(v["from"], "alice");
        assert_eq!(v["to"], "bob");
        assert_eq!(v["text"], "hi");
        assert_eq!(v["kind"], "text");
        assert_eq!(v["sent_at"], "2023-11-14T22:13:20.000Z");
        assert!(v.get("event_seq").is_none());
        let line = serde_json::to_string(&MessageLine::new(&msg("a", "b", "c"), Some(4))).unwrap();
        assert!(
            line.starts_with(r#"{"type":"message","event_seq":4,"#),
            "{line}"
        );
    }

    fn photo() -> MediaInfo {
        MediaInfo {
            id: Uuid::nil(),
            kind: MediaKind::Image,
            size: 1_258_291,
            sha256: [0xab; 32],
            mime: "image/jpeg".into(),
            filename: "photo.jpg".into(),
            width: Some(800),
            height: Some(600),
            duration_ms: None,
            has_thumbnail: true,
        }
    }

    #[test]
    fn media_messages() {
        let mut m = msg("alice", "bob", "");
        m.body = MessageBody::Media {
            media: Box::new(photo()),
            caption: "look\u{1b}".into(),
        };
        let human = MessageLine::human(&m);
        assert!(
            human.ends_with(&format!(
                "#3 alice: [image photo.jpg, 1.2 MiB, 800×600, id {}] look\\u{{1b}}",
                Uuid::nil()
            )),
            "{human}"
        );
        let v = serde_json::to_value(MessageLine::new(&m, None)).unwrap();
        assert_eq!(v["kind"], "image");
        assert!(v.get("text").is_none());
        assert_eq!(v["caption"], "look\u{1b}");
        assert_eq!(v["media"]["id"], Uuid::nil().to_string());
        assert_eq!(v["media"]["sha256"], "ab".repeat(32));
        assert_eq!(v["media"]["width"], 800);
        assert!(v["media"]["duration_ms"].is_null());
        assert_eq!(v["media"]["has_thumbnail"], true);
        let text = serde_json::to_value(MessageLine::new(&msg("a", "b", "c"), None)).unwrap();
        assert!(text.get("media").is_none() && text.get("caption").is_none());

        let chat = ConversationSummary {
            id: 1,
            peer: Recipient::User("alice".into()),
            unread: 0,
            last_seq: 3,
            read_seq: 3,
            last_message: Some(m),
        };
        assert!(
            ChatLine::human(&chat).ends_with("alice: [image photo.jpg] look\\u{1b}"),
            "{}",
            ChatLine::human(&chat)
        );
    }

    #[test]
    fn media_acks_and_downloads() {
        let ack = SendAck {
            client_id: Uuid::nil(),
            message_id: 7,
            conversation_id: 1,
            seq: 5,
            sent_at_ms: 1_700_000_000_000,
            duplicate: false,
        };
        let upload = UploadOutcome {
            media: photo(),
            deduplicated: true,
            resumed_from: 0,
            bytes_sent: 0,
        };
        let human = MediaAckLine::human("bob", &upload, &ack);
        assert!(
            human.starts_with("sent photo.jpg (1.2 MiB) to bob: #5 in conversation 1 at "),
            "{human}"
        );
        assert!(human.ends_with(" (already on the server, nothing uploaded)"));
        let line = serde_json::to_string(&MediaAckLine::new("bob", &upload, &ack)).unwrap();
        assert!(line.starts_with(r#"{"type":"ack","to":"bob","#), "{line}");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["seq"], 5);
        assert_eq!(v["deduplicated"], true);
        assert_eq!(v["media"]["kind"], "image");

        let resumed = UploadOutcome {
            deduplicated: false,
            resumed_from: 12 * 1024 * 1024,
            ..upload
        };
        assert!(MediaAckLine::human("bob", &resumed, &ack).ends_with(" (resumed at 12.0 MiB)"));

        let d = DownloadOutcome {
            media: photo(),
            resumed_from: 0,
            bytes_received: 1_258_291,
            already_complete: false,
        };
        let path = Path::new("./photo.jpg");
        assert_eq!(
            DownloadLine::human(&d, path),
            "downloaded photo.jpg (1.2 MiB) to ./photo.jpg"
        );
        let line = serde_json::to_string(&DownloadLine::new(&d, path)).unwrap();
        assert!(
            line.starts_with(r#"{"type":"download","media":{"#),
            "{line}"
        );
    }

    fn voice(transcript: Transcript) -> Message {
        let mut m = msg("alice", "bob", "");
        m.seq = 7;
        m.body = MessageBody::Media {
            media: Box::new(MediaInfo {
                id: Uuid::nil(),
                kind: MediaKind::Voice,
                size: 40_000,
                sha256: [1; 32],
                mime: "audio/ogg".into(),
                filename: "note.ogg".into(),
                width: None,
                height: None,
                duration_ms: Some(4_210),
                has_thumbnail: false,
            }),
            caption: String::new(),
        };
        m.transcript = Some(transcript);
        m
    }

    fn done(text: &str) -> Transcript {
        Transcript {
            status: TranscriptStatus::Done,
            text: text.into(),
            language: Some("en".into()),
            segments: vec![quichat_proto::types::TranscriptSegment {
                start_ms: 0,
                end_ms: 4_000,
                text: text.into(),
            }],
        }
    }

    #[test]
    fn voice_messages_show_their_transcript() {
        let id = Uuid::nil();
        let m = voice(done(" please call me back"));
        assert!(
            MessageLine::human(&m).ends_with(&format!(
                "#7 alice: [voice note.ogg, 4.2 s, id {id}] “please call me back”"
            )),
            "{}",
            MessageLine::human(&m)
        );
        let pending = voice(Transcript::pending());
        assert!(MessageLine::human(&pending).ends_with("] (transcribing…)"));
        let failed = voice(Transcript {
            status: TranscriptStatus::Failed {
                reason: "undecodable audio".into(),
            },
            ..Transcript::pending()
        });
        assert!(
            MessageLine::human(&failed).ends_with("] (transcription failed: undecodable audio)")
        );

        let v = serde_json::to_value(MessageLine::new(&m, None)).unwrap();
        assert_eq!(v["kind"], "voice");
        assert_eq!(v["transcript"]["status"], "done");
        assert_eq!(v["transcript"]["text"], " please call me back");
        assert_eq!(v["transcript"]["language"], "en");
        assert!(v["transcript"]["reason"].is_null());
        assert_eq!(v["transcript"]["segments"][0]["end_ms"], 4_000);
        let v = serde_json::to_value(MessageLine::new(&failed, None)).unwrap();
        assert_eq!(v["transcript"]["status"], "failed");
        assert_eq!(v["transcript"]["reason"], "undecodable audio");
        assert!(v["transcript"]["language"].is_null());
        let v = serde_json::to_value(MessageLine::new(&pending, None)).unwrap();
        assert_eq!(v["transcript"]["status"], "pending");
        let text = serde_json::to_value(MessageLine::new(&msg("a", "b", "c"), None)).unwrap();
        assert!(text["transcript"].is_null() && text.get("transcript").is_some());

        let chat = |m: Message| ConversationSummary {
            id: 1,
            peer: Recipient::User("alice".into()),
            unread: 1,
            last_seq: 7,
            read_seq: 6,
            last_message: Some(m),
        };
        let line = ChatLine::human(&chat(voice(done(&"word ".repeat(30)))));
        assert!(line.contains("alice: [voice 4.2 s] “word word"), "{line}");
        assert!(line.ends_with("…”"), "{line}");
        let line = ChatLine::human(&chat(voice(Transcript::pending())));
        assert!(
            line.ends_with("alice: [voice 4.2 s] (transcribing…)"),
            "{line}"
        );
    }

    #[test]
    fn transcript_updates_and_voice_acks() {
        let update = MessageUpdate {
            conversation_id: 1,
            message_id: 9,
            seq: 7,
            transcript: done("please call me back"),
        };
        let e = Event {
            seq: 12,
            body: EventBody::MessageUpdated(update.clone()),
        };
        let (human, line) = event(&e, "alice", |id| (id == 1).then(|| "bob".to_string()));
        assert_eq!(human, "✎ transcript of #7 with bob: “please call me back”");
        let text = serde_json::to_string(&line).unwrap();
        assert!(
            text.starts_with(
                r#"{"type":"message_updated","event_seq":12,"conversation_id":1,"message_id":9,"seq":7,"transcript":{"status":"done","#
            ),
            "{text}"
        );
        let (human, _) = event(&e, "alice", |_| None);
        assert!(human.starts_with("✎ transcript of #7 in conversation 1: "));

        let ack = SendAck {
            client_id: Uuid::nil(),
            message_id: 9,
            conversation_id: 1,
            seq: 7,
            sent_at_ms: 1_700_000_000_000,
            duplicate: false,
        };
        let MessageBody::Media { media, .. } = voice(Transcript::pending()).body else {
            panic!("voice media")
        };
        let upload = UploadOutcome {
            media: *media,
            deduplicated: false,
            resumed_from: 0,
            bytes_sent: 40_000,
        };
        let human = VoiceAckLine::human("bob", &upload, &ack);
        assert!(
            human.starts_with("sent voice note (4.2 s) to bob: #7 in conversation 1 at "),
            "{human}"
        );
        assert!(human.ends_with(" — transcribing"), "{human}");
        let line = serde_json::to_string(&VoiceAckLine::new("bob", &upload, &ack)).unwrap();
        assert!(line.starts_with(r#"{"type":"ack","to":"bob","#), "{line}");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["duration_ms"], 4_210);
        assert_eq!(v["media"]["kind"], "voice");
        assert_eq!(v["bytes_sent"], 40_000);
    }

    #[test]
    fn events_name_the_peer() {
        let e = Event {
            seq: 5,
            body: EventBody::Message(msg("alice", "bob", "hi")),
        };
        assert!(event(&e, "alice", |_| None).0.starts_with("@bob ["));
        assert!(event(&e, "bob", |_| None).0.starts_with("@alice ["));
        assert!(event(&e, "bob", |_| None).0.ends_with("#3 alice: hi"));
        let r = Event {
            seq: 6,
            body: EventBody::Receipt(Receipt {
                conversation_id: 1,
                by: "bob".into(),
                kind: ReceiptKind::Read,
                up_to_seq: 4,
                at_ms: 0,
            }),
        };
        let (human, line) = event(&r, "alice", |_| None);
        assert_eq!(human, "✓✓ read by bob up to #4");
        let text = serde_json::to_string(&line).unwrap();
        assert!(
            text.starts_with(r#"{"type":"receipt","event_seq":6,"#),
            "{text}"
        );
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["kind"], "read");
        let (_, line) = event(&e, "bob", |_| None);
        let text = serde_json::to_string(&line).unwrap();
        assert!(
            text.starts_with(r#"{"type":"message","event_seq":5,"#),
            "{text}"
        );
    }
}
