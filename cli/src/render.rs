//! The shapes of every output line: one serde struct per JSON `type`, and
//! the matching human-readable text.
//!
//! JSON lines always start with `"type"`; times are RFC 3339 UTC. Human
//! lines use local time and escape control characters in text that other
//! people wrote.

use quichat_proto::event::{Event, EventBody};
use quichat_proto::types::{
    ConversationId, ConversationSummary, DeviceId, DeviceInfo, Message, MessageBody, MessageId,
    ReadPosition, Receipt, ReceiptKind, Recipient, SendAck, SessionInfo, UserId,
};
use serde::Serialize;
use uuid::Uuid;

use crate::output::{local_time, preview, rfc3339, sanitize};

/// Width of message previews in `chats`.
const PREVIEW_CHARS: usize = 60;

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
        format!(
            "sent to {to}: #{} in conversation {} at {}{}",
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
            },
        }
    }

    /// `[2026-11-22 20:31:05] #3 alice: hello`.
    pub fn human(m: &Message) -> String {
        let content = match &m.body {
            MessageBody::Text(t) => sanitize(t),
        };
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
                };
                format!("[{}] {}: {text}", local_time(m.sent_at_ms), m.sender)
            }
            None => "(no messages)".to_string(),
        };
        format!("{}{unread}  {last}", recipient_name(&c.peer))
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
    Message(MessageLine),
    /// A delivered or read receipt.
    Receipt(ReceiptLine),
    /// The user's own read position.
    ReadPosition(ReadPositionLine),
}

/// An event as a human line and as a JSON line. `me` is the user's own
/// name, to tell the conversation's peer.
pub fn event(event: &Event, me: &str) -> (String, EventLine) {
    let seq = event.seq;
    match &event.body {
        EventBody::Message(m) => {
            let peer = if m.sender == me {
                recipient_name(&m.to)
            } else {
                m.sender.as_str()
            };
            (
                format!("@{peer} {}", MessageLine::human(m)),
                EventLine::Message(MessageLine::new(m, Some(seq))),
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

    #[test]
    fn events_name_the_peer() {
        let e = Event {
            seq: 5,
            body: EventBody::Message(msg("alice", "bob", "hi")),
        };
        assert!(event(&e, "alice").0.starts_with("@bob ["));
        assert!(event(&e, "bob").0.starts_with("@alice ["));
        assert!(event(&e, "bob").0.ends_with("#3 alice: hi"));
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
        let (human, line) = event(&r, "alice");
        assert_eq!(human, "✓✓ read by bob up to #4");
        let text = serde_json::to_string(&line).unwrap();
        assert!(
            text.starts_with(r#"{"type":"receipt","event_seq":6,"#),
            "{text}"
        );
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["kind"], "read");
        let (_, line) = event(&e, "bob");
        let text = serde_json::to_string(&line).unwrap();
        assert!(
            text.starts_with(r#"{"type":"message","event_seq":5,"#),
            "{text}"
        );
    }
}
