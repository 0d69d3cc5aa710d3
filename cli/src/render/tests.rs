#![allow(clippy::unwrap_used)]

use std::path::Path;

use quichat_client::{DownloadOutcome, UploadOutcome};
use quichat_proto::event::{Event, EventBody};
use quichat_proto::media::{MediaInfo, MediaKind};
use quichat_proto::types::*;
use uuid::Uuid;

use super::*;

/// A line's JSON, as `--json` prints it.
fn json_text(line: impl Into<Line<'static>>) -> String {
    serde_json::to_string(&line.into()).unwrap()
}

fn json_value(line: impl Into<Line<'static>>) -> serde_json::Value {
    serde_json::to_value(line.into()).unwrap()
}

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
    let v = json_value(MessageLine::new(&msg("alice", "bob", "hi"), None));
    assert_eq!(v["type"], "message");
    assert_eq!(v["from"], "alice");
    assert_eq!(v["to"], "bob");
    assert_eq!(v["text"], "hi");
    assert_eq!(v["kind"], "text");
    assert_eq!(v["sent_at"], "2023-11-14T22:13:20.000Z");
    assert!(v.get("event_seq").is_none());
    let line = json_text(MessageLine::new(&msg("a", "b", "c"), Some(4)));
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
    let v = json_value(MessageLine::new(&m, None));
    assert_eq!(v["kind"], "image");
    assert!(v.get("text").is_none());
    assert_eq!(v["caption"], "look\u{1b}");
    assert_eq!(v["media"]["id"], Uuid::nil().to_string());
    assert_eq!(v["media"]["sha256"], "ab".repeat(32));
    assert_eq!(v["media"]["width"], 800);
    assert!(v["media"]["duration_ms"].is_null());
    assert_eq!(v["media"]["has_thumbnail"], true);
    let text = json_value(MessageLine::new(&msg("a", "b", "c"), None));
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
    let line = json_text(MediaAckLine::new("bob", &upload, &ack));
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
    let line = json_text(DownloadLine::new(&d, path));
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
    assert!(MessageLine::human(&failed).ends_with("] (transcription failed: undecodable audio)"));

    let v = json_value(MessageLine::new(&m, None));
    assert_eq!(v["kind"], "voice");
    assert_eq!(v["transcript"]["status"], "done");
    assert_eq!(v["transcript"]["text"], " please call me back");
    assert_eq!(v["transcript"]["language"], "en");
    assert!(v["transcript"]["reason"].is_null());
    assert_eq!(v["transcript"]["segments"][0]["end_ms"], 4_000);
    let v = json_value(MessageLine::new(&failed, None));
    assert_eq!(v["transcript"]["status"], "failed");
    assert_eq!(v["transcript"]["reason"], "undecodable audio");
    assert!(v["transcript"]["language"].is_null());
    let v = json_value(MessageLine::new(&pending, None));
    assert_eq!(v["transcript"]["status"], "pending");
    let text = json_value(MessageLine::new(&msg("a", "b", "c"), None));
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
    let line = json_text(VoiceAckLine::new("bob", &upload, &ack));
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
