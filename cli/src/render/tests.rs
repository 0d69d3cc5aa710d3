#![allow(clippy::unwrap_used)]

use std::path::Path;

use quichat_client::{DownloadOutcome, UploadOutcome};
use quichat_proto::event::{Event, EventBody};
use quichat_proto::group::{GroupInfo, GroupMember, GroupNotice, GroupRole, Invite};
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

/// A direct conversation's entry in the list.
fn direct(summary: ConversationSummary) -> ConversationEntry {
    ConversationEntry {
        summary,
        group: None,
    }
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

    let chat = direct(ConversationSummary {
        id: 1,
        peer: Recipient::User("alice".into()),
        unread: 0,
        last_seq: 3,
        read_seq: 3,
        last_message: Some(m),
    });
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

    let chat = |m: Message| {
        direct(ConversationSummary {
            id: 1,
            peer: Recipient::User("alice".into()),
            unread: 1,
            last_seq: 7,
            read_seq: 6,
            last_message: Some(m),
        })
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
    let (human, line) = event(&e, "alice", |id| {
        (id == 1).then(|| Recipient::User("bob".to_string()))
    });
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

/// A message of group 12 from `sender`.
fn group_msg(sender: &str, body: MessageBody) -> Message {
    Message {
        id: 20,
        conversation_id: 12,
        seq: 4,
        sender: sender.into(),
        client_id: Uuid::nil(),
        to: Recipient::Group(12),
        sent_at_ms: 1_700_000_000_000,
        body,
        transcript: None,
    }
}

fn system(notice: GroupNotice) -> Message {
    group_msg("alice", MessageBody::System(notice))
}

#[test]
fn group_notices_read_as_system_lines() {
    use quichat_proto::group::GroupSettings;
    let text = |n: GroupNotice| {
        let human = MessageLine::human(&system(n));
        let (time, line) = human.split_once("] ").unwrap();
        assert!(time.starts_with('['), "{human}");
        line.to_string()
    };
    let s = |v: &str| v.to_string();
    assert_eq!(
        text(GroupNotice::Created {
            by: s("alice"),
            name: s("fam")
        }),
        "* alice created the group “fam”"
    );
    assert_eq!(
        text(GroupNotice::Added {
            by: s("alice"),
            members: vec![s("bob"), s("carol")]
        }),
        "* alice added bob, carol"
    );
    assert_eq!(
        text(GroupNotice::Joined {
            username: s("carol")
        }),
        "* carol joined with an invite code"
    );
    assert_eq!(text(GroupNotice::Left { username: s("bob") }), "* bob left");
    assert_eq!(
        text(GroupNotice::Removed {
            by: s("alice"),
            username: s("bob")
        }),
        "* alice removed bob"
    );
    assert_eq!(
        text(GroupNotice::Renamed {
            by: s("alice"),
            name: s("fam\u{1b}[2J")
        }),
        "* alice renamed the group to “fam\\u{1b}[2J”"
    );
    assert_eq!(
        text(GroupNotice::DescriptionChanged {
            by: s("alice"),
            description: s("")
        }),
        "* alice cleared the description"
    );
    assert_eq!(
        text(GroupNotice::DescriptionChanged {
            by: s("alice"),
            description: s("us")
        }),
        "* alice changed the description to “us”"
    );
    assert_eq!(
        text(GroupNotice::AvatarChanged {
            by: s("alice"),
            avatar: None
        }),
        "* alice removed the group picture"
    );
    assert_eq!(
        text(GroupNotice::AvatarChanged {
            by: s("alice"),
            avatar: Some(Uuid::nil())
        }),
        format!("* alice changed the group picture (id {})", Uuid::nil())
    );
    assert_eq!(
        text(GroupNotice::RoleChanged {
            by: s("alice"),
            username: s("bob"),
            role: GroupRole::Admin
        }),
        "* alice made bob an admin"
    );
    assert_eq!(
        text(GroupNotice::RoleChanged {
            by: s("alice"),
            username: s("bob"),
            role: GroupRole::Member
        }),
        "* alice made bob a member"
    );
    assert_eq!(
        text(GroupNotice::OwnerChanged {
            from: s("alice"),
            to: s("bob")
        }),
        "* ownership passed from alice to bob"
    );
    assert_eq!(
        text(GroupNotice::Announced {
            by: s("alice"),
            text: s("dinner at 7")
        }),
        "* alice pinned: dinner at 7"
    );
    assert_eq!(
        text(GroupNotice::Announced {
            by: s("alice"),
            text: s("")
        }),
        "* alice unpinned the announcement"
    );
    assert_eq!(
        text(GroupNotice::SettingsChanged {
            by: s("alice"),
            settings: GroupSettings {
                members_edit_info: false,
                members_invite: true
            }
        }),
        "* alice changed the settings: members may edit info: off, invite: on"
    );
    assert_eq!(
        text(GroupNotice::Dissolved { by: s("alice") }),
        "* alice dissolved the group"
    );
}

#[test]
fn group_notices_in_json() {
    let m = system(GroupNotice::Added {
        by: "alice".into(),
        members: vec!["bob".into(), "carol".into()],
    });
    let v = json_value(MessageLine::new(&m, Some(30)));
    assert_eq!(v["type"], "message");
    assert_eq!(v["kind"], "system");
    assert_eq!(v["to"], "#12");
    assert_eq!(v["group_id"], 12);
    assert_eq!(v["conversation_id"], 12);
    assert_eq!(v["notice"]["change"], "added");
    assert_eq!(v["notice"]["by"], "alice");
    assert_eq!(v["notice"]["members"], serde_json::json!(["bob", "carol"]));
    assert!(v.get("text").is_none() && v.get("media").is_none() && v.get("caption").is_none());
    let v = json_value(MessageLine::new(
        &system(GroupNotice::RoleChanged {
            by: "alice".into(),
            username: "bob".into(),
            role: GroupRole::Admin,
        }),
        None,
    ));
    assert_eq!(v["notice"]["change"], "role_changed");
    assert_eq!(v["notice"]["role"], "admin");
    let v = json_value(MessageLine::new(
        &system(GroupNotice::SettingsChanged {
            by: "alice".into(),
            settings: quichat_proto::group::GroupSettings {
                members_edit_info: true,
                members_invite: false,
            },
        }),
        None,
    ));
    assert_eq!(v["notice"]["change"], "settings_changed");
    assert_eq!(v["notice"]["settings"]["members_edit_info"], true);
    // Direct messages carry no group id and no notice.
    let v = json_value(MessageLine::new(&msg("alice", "bob", "hi"), None));
    assert!(v.get("group_id").is_none() && v.get("notice").is_none());
}

#[test]
fn group_messages_name_the_group() {
    let hi = Event {
        seq: 31,
        body: EventBody::Message(group_msg("alice", MessageBody::Text("hi".into()))),
    };
    for me in ["alice", "bob"] {
        let (human, line) = event(&hi, me, |_| None);
        assert!(human.starts_with("#12 ["), "{human}");
        assert!(human.ends_with("] #4 alice: hi"), "{human}");
        let v = serde_json::to_value(&line).unwrap();
        assert_eq!(v["to"], "#12");
        assert_eq!(v["group_id"], 12);
    }
    let left = Event {
        seq: 32,
        body: EventBody::Message(system(GroupNotice::Left {
            username: "bob".into(),
        })),
    };
    let (human, _) = event(&left, "carol", |_| None);
    assert!(human.starts_with("#12 ["), "{human}");
    assert!(human.ends_with("] * bob left"), "{human}");
    assert_eq!(
        peer_of(&group_msg("alice", MessageBody::Text("x".into())), "alice"),
        Recipient::Group(12)
    );
    assert_eq!(recipient_name(&Recipient::Group(12)), "#12");
    assert_eq!(recipient_name(&Recipient::User("bob".into())), "bob");

    let update = Event {
        seq: 33,
        body: EventBody::MessageUpdated(MessageUpdate {
            conversation_id: 12,
            message_id: 20,
            seq: 4,
            transcript: done("hello all"),
        }),
    };
    let (human, _) = event(&update, "bob", |_| Some(Recipient::Group(12)));
    assert_eq!(human, "✎ transcript of #4 in #12: “hello all”");
}

#[test]
fn chats_show_groups_by_id_name_and_size() {
    let entry = |unread: u64, dissolved: bool, last: Option<Message>| ConversationEntry {
        summary: ConversationSummary {
            id: 12,
            peer: Recipient::Group(12),
            unread,
            last_seq: 4,
            read_seq: 4 - unread,
            last_message: last,
        },
        group: Some(GroupBrief {
            name: "fam".into(),
            member_count: 3,
            my_role: GroupRole::Member,
            dissolved,
        }),
    };
    let hi = group_msg("alice", MessageBody::Text("hi".into()));
    let line = ChatLine::human(&entry(2, false, Some(hi.clone())));
    assert!(
        line.starts_with("#12 “fam” (3 members, 2 unread)  ["),
        "{line}"
    );
    assert!(line.ends_with("] alice: hi"), "{line}");
    let line = ChatLine::human(&entry(0, false, Some(hi)));
    assert!(line.starts_with("#12 “fam” (3 members)  ["), "{line}");
    let line = ChatLine::human(&entry(0, true, None));
    assert_eq!(line, "#12 “fam” (dissolved)  (no messages)");
    let notice = system(GroupNotice::Created {
        by: "alice".into(),
        name: "fam".into(),
    });
    let line = ChatLine::human(&entry(1, false, Some(notice)));
    assert!(
        line.ends_with("] * alice created the group “fam”"),
        "{line}"
    );

    let v = json_value(ChatLine::new(&entry(2, false, None)));
    assert_eq!(v["type"], "chat");
    assert_eq!(v["peer"], "#12");
    assert_eq!(v["group"]["name"], "fam");
    assert_eq!(v["group"]["member_count"], 3);
    assert_eq!(v["group"]["my_role"], "member");
    assert_eq!(v["group"]["dissolved"], false);
    assert_eq!(v["unread"], 2);

    let d = direct(ConversationSummary {
        id: 1,
        peer: Recipient::User("bob".into()),
        unread: 1,
        last_seq: 1,
        read_seq: 0,
        last_message: None,
    });
    assert_eq!(ChatLine::human(&d), "bob (1 unread)  (no messages)");
    let v = json_value(ChatLine::new(&d));
    assert_eq!(v["peer"], "bob");
    assert!(v["group"].is_null());
}

fn info() -> GroupInfo {
    GroupInfo {
        id: 12,
        name: "fam".into(),
        description: "the family".into(),
        avatar: None,
        owner: "alice".into(),
        member_count: 3,
        my_role: GroupRole::Admin,
        settings: quichat_proto::group::GroupSettings::default(),
        announcement: Some(quichat_proto::group::Announcement {
            text: "dinner at 7".into(),
            by: "alice".into(),
            at_ms: 1_700_000_000_000,
        }),
        created_at_ms: 1_700_000_000_000,
        dissolved: false,
    }
}

#[test]
fn groups_members_and_invites() {
    let g = info();
    assert_eq!(
        GroupLine::human(&g),
        "#12 “fam”: 3 members, you are an admin"
    );
    let details = GroupLine::details(&g);
    assert!(details.contains("\n  owner: alice"), "{details}");
    assert!(details.contains("\n  description: the family"), "{details}");
    assert!(details.contains(": dinner at 7"), "{details}");
    assert!(
        details.contains("\n  members may edit info: off, invite: off"),
        "{details}"
    );
    let line = json_text(GroupLine::new(&g));
    assert!(line.starts_with(r#"{"type":"group","id":12,"#), "{line}");
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["my_role"], "admin");
    assert_eq!(v["announcement"]["text"], "dinner at 7");
    assert_eq!(v["announcement"]["at"], "2023-11-14T22:13:20.000Z");
    assert_eq!(v["settings"]["members_invite"], false);
    assert_eq!(v["dissolved"], false);

    let m = GroupMember {
        username: "bob".into(),
        role: GroupRole::Member,
        joined_at_ms: 1_700_000_000_000,
    };
    assert!(GroupMemberLine::human(&m).starts_with("member  bob  (joined "));
    let v = json_value(GroupMemberLine::new(12, &m));
    assert_eq!(v["type"], "group_member");
    assert_eq!(v["role"], "member");
    assert_eq!(v["group_id"], 12);

    let invite = Invite {
        id: 3,
        group_id: 12,
        code: Some("SECRET-CODE".into()),
        created_by: "alice".into(),
        expires_at_ms: None,
        max_uses: Some(5),
        uses: 0,
    };
    let human = InviteLine::created_human(&invite);
    assert!(human.contains("\n    SECRET-CODE\n"), "{human}");
    assert!(human.contains("shown only once"), "{human}");
    assert!(human.contains("quichat group join SECRET-CODE"), "{human}");
    assert!(human.contains("0 of 5 uses, never expires"), "{human}");
    let v = json_value(InviteLine::new(&invite));
    assert_eq!(v["type"], "invite");
    assert_eq!(v["code"], "SECRET-CODE");
    assert!(v["expires_at"].is_null());
    let listed = Invite {
        code: None,
        max_uses: None,
        uses: 1,
        expires_at_ms: Some(1_700_000_000_000),
        ..invite
    };
    assert!(
        InviteLine::human(&listed).starts_with("invite 3 by alice: 1 use, unlimited, expires "),
        "{}",
        InviteLine::human(&listed)
    );
    assert!(json_value(InviteLine::new(&listed))["code"].is_null());

    let v = json_value(GroupActionLine::removed(12, "bob"));
    assert_eq!(v["type"], "group_action");
    assert_eq!(v["action"], "removed");
    assert_eq!(v["username"], "bob");
    assert!(v.get("invite_id").is_none());
    let v = json_value(GroupActionLine::role(12, "bob", GroupRole::Admin));
    assert_eq!(v["action"], "role_changed");
    assert_eq!(v["role"], "admin");
    let v = json_value(GroupActionLine::invite_revoked(12, 3));
    assert_eq!(v["invite_id"], 3);
}

#[test]
fn who_read_lists_members() {
    let w = quichat_client::WhoRead {
        read: vec!["bob".into()],
        delivered: vec![],
        waiting: vec!["carol".into(), "dave".into()],
    };
    assert_eq!(
        WhoReadLine::human("#12", 4, &w),
        "#4 in #12: read by 1 of 3\n  read:      bob\n  delivered: (nobody)\n  waiting:   carol, dave"
    );
    assert!(WhoReadLine::human("bob", 4, &w).starts_with("#4 to bob: read by 1 of 3"));
    let line = json_text(WhoReadLine::new(12, 4, &w));
    assert_eq!(
        line,
        r#"{"type":"who_read","conversation_id":12,"seq":4,"read":["bob"],"delivered":[],"waiting":["carol","dave"]}"#
    );
}

#[test]
fn edited_messages_say_so() {
    let mut m = msg("alice", "bob", "");
    m.body = MessageBody::Edited {
        text: "fixed\u{1b} text".into(),
        edited_at_ms: 1_700_000_060_000,
    };
    let human = MessageLine::human(&m);
    assert!(
        human.ends_with("] #3 alice: fixed\\u{1b} text (edited)"),
        "{human}"
    );
    let v = json_value(MessageLine::new(&m, None));
    assert_eq!(v["type"], "message");
    assert_eq!(v["kind"], "text");
    assert_eq!(v["text"], "fixed\u{1b} text");
    assert_eq!(v["edited_at_ms"], 1_700_000_060_000_i64);
    assert!(v.get("recalled_by").is_none() && v.get("reply_to").is_none());
    // An unedited text has no `edited_at_ms`.
    let v = json_value(MessageLine::new(&msg("alice", "bob", "hi"), None));
    assert!(v.get("edited_at_ms").is_none());

    let chat = direct(ConversationSummary {
        id: 1,
        peer: Recipient::User("alice".into()),
        unread: 0,
        last_seq: 3,
        read_seq: 3,
        last_message: Some(m),
    });
    let line = ChatLine::human(&chat);
    assert!(
        line.ends_with("] alice: fixed\\u{1b} text (edited)"),
        "{line}"
    );
    let v = json_value(ChatLine::new(&chat));
    assert_eq!(v["last_message"]["kind"], "text");
    assert_eq!(v["last_message"]["edited_at_ms"], 1_700_000_060_000_i64);
}

#[test]
fn recalled_messages_keep_only_a_placeholder() {
    let recalled = |by: &str| {
        let mut m = msg("alice", "bob", "");
        m.body = MessageBody::Recalled {
            by: by.into(),
            at_ms: 1_700_000_030_000,
        };
        m
    };
    let human = MessageLine::human(&recalled("alice"));
    assert!(human.ends_with("] #3 alice: (message recalled)"), "{human}");
    // In a group an admin may recall a member's message.
    let human = MessageLine::human(&recalled("carol"));
    assert!(
        human.ends_with("] #3 alice: (message recalled by carol)"),
        "{human}"
    );
    let v = json_value(MessageLine::new(&recalled("alice"), Some(8)));
    assert_eq!(v["type"], "message");
    assert_eq!(v["event_seq"], 8);
    assert_eq!(v["kind"], "recalled");
    assert_eq!(v["recalled_by"], "alice");
    assert_eq!(v["recalled_at_ms"], 1_700_000_030_000_i64);
    for gone in ["text", "media", "caption", "edited_at_ms"] {
        assert!(v.get(gone).is_none(), "{gone} in {v}");
    }

    let chat = direct(ConversationSummary {
        id: 1,
        peer: Recipient::User("alice".into()),
        unread: 1,
        last_seq: 3,
        read_seq: 2,
        last_message: Some(recalled("alice")),
    });
    let line = ChatLine::human(&chat);
    assert!(line.ends_with("] alice: (message recalled)"), "{line}");
    assert_eq!(
        json_value(ChatLine::new(&chat))["last_message"]["kind"],
        "recalled"
    );
}

#[test]
fn commands_on_sent_messages_confirm() {
    let edit = MessageEdit {
        conversation_id: 1,
        seq: 3,
        text: "fixed text".into(),
        edited_at_ms: 1_700_000_060_000,
    };
    assert_eq!(EditedLine::done("bob", &edit), "edited #3 in bob");
    assert_eq!(EditedLine::done("#12", &edit), "edited #3 in #12");
    assert_eq!(
        json_text(EditedLine::new(&edit, None)),
        r#"{"type":"edited","conversation_id":1,"seq":3,"text":"fixed text","edited_at_ms":1700000060000}"#
    );
    let recall = MessageRecall {
        conversation_id: 1,
        seq: 4,
        by: "alice".into(),
        at_ms: 1_700_000_030_000,
    };
    assert_eq!(RecalledLine::done("bob", &recall), "recalled #4 in bob");
    assert_eq!(
        json_text(RecalledLine::new(&recall, None)),
        r#"{"type":"recalled","conversation_id":1,"seq":4,"by":"alice","at_ms":1700000030000}"#
    );
    let hidden = MessageRef {
        conversation_id: 1,
        seq: 5,
    };
    assert_eq!(HiddenLine::done(&hidden), "deleted #5 for you");
    assert_eq!(
        json_text(HiddenLine::new(&hidden, None)),
        r#"{"type":"hidden","conversation_id":1,"seq":5}"#
    );
}

#[test]
fn edits_recalls_and_deletions_in_the_feed() {
    let direct_peer = |id| (id == 1).then(|| Recipient::User("bob".to_string()));
    let group_peer = |id| (id == 12).then_some(Recipient::Group(12));
    let edited = Event {
        seq: 40,
        body: EventBody::MessageEdited(MessageEdit {
            conversation_id: 1,
            seq: 3,
            text: "fixed\ntext".into(),
            edited_at_ms: 1_700_000_060_000,
        }),
    };
    let (human, line) = event(&edited, "alice", direct_peer);
    assert_eq!(human, "@bob #3 edited: fixed\n    text");
    assert_eq!(
        serde_json::to_string(&line).unwrap(),
        r#"{"type":"edited","event_seq":40,"conversation_id":1,"seq":3,"text":"fixed\ntext","edited_at_ms":1700000060000}"#
    );
    let (human, _) = event(&edited, "alice", |_| None);
    assert_eq!(human, "conversation 1 #3 edited: fixed\n    text");

    let recalled = Event {
        seq: 41,
        body: EventBody::MessageRecalled(MessageRecall {
            conversation_id: 12,
            seq: 4,
            by: "alice".into(),
            at_ms: 1_700_000_030_000,
        }),
    };
    let (human, line) = event(&recalled, "bob", group_peer);
    assert_eq!(human, "#12 #4 recalled by alice");
    assert_eq!(
        serde_json::to_string(&line).unwrap(),
        r#"{"type":"recalled","event_seq":41,"conversation_id":12,"seq":4,"by":"alice","at_ms":1700000030000}"#
    );
    assert_eq!(
        event(&recalled, "bob", |_| None).0,
        "conversation 12 #4 recalled by alice"
    );

    let hidden = Event {
        seq: 42,
        body: EventBody::MessageHidden(MessageRef {
            conversation_id: 1,
            seq: 3,
        }),
    };
    let (human, line) = event(&hidden, "alice", direct_peer);
    assert_eq!(human, "@bob #3 deleted for you");
    assert_eq!(
        serde_json::to_string(&line).unwrap(),
        r#"{"type":"hidden","event_seq":42,"conversation_id":1,"seq":3}"#
    );
    assert_eq!(
        event(&hidden, "alice", group_peer).0,
        "conversation 1 #3 deleted for you"
    );
}

#[test]
fn replies_and_reactions() {
    let reply = |quote: Quote, edited_at_ms: Option<i64>| {
        let mut m = msg("bob", "alice", "");
        m.seq = 5;
        m.body = MessageBody::Reply(Box::new(Reply {
            to_seq: 3,
            text: "sure".into(),
            quote,
            edited_at_ms,
        }));
        m
    };
    let quote = Quote {
        sender: "alice".into(),
        kind: "text".into(),
        snippet: "dinner at 7?".into(),
        recalled: false,
    };
    let m = reply(quote.clone(), None);
    let human = MessageLine::human(&m);
    assert!(
        human.ends_with("] #5 bob: [reply to #3 alice: “dinner at 7?”] sure"),
        "{human}"
    );
    let v = json_value(MessageLine::new(&m, None));
    assert_eq!(v["kind"], "reply");
    assert_eq!(v["text"], "sure");
    assert_eq!(
        v["reply_to"],
        serde_json::json!({"seq":3,"sender":"alice","kind":"text","snippet":"dinner at 7?","recalled":false})
    );
    assert!(v.get("edited_at_ms").is_none());
    let gone = Quote {
        sender: String::new(),
        kind: "recalled".into(),
        snippet: String::new(),
        recalled: true,
    };
    let m = reply(gone, Some(1_700_000_060_000));
    let human = MessageLine::human(&m);
    assert!(
        human.ends_with("] #5 bob: [reply to #3: original recalled] sure (edited)"),
        "{human}"
    );
    assert_eq!(
        json_value(MessageLine::new(&m, None))["edited_at_ms"],
        1_700_000_060_000_i64
    );

    let reaction = |added: bool| Event {
        seq: 50,
        body: EventBody::Reaction(ReactionChange {
            conversation_id: 12,
            seq: 4,
            user: "bob".into(),
            emoji: "👍".into(),
            added,
            count: 2,
        }),
    };
    let (human, line) = event(&reaction(true), "alice", |_| Some(Recipient::Group(12)));
    assert_eq!(human, "#12 #4: bob reacted 👍");
    assert_eq!(
        serde_json::to_string(&line).unwrap(),
        r#"{"type":"reaction","event_seq":50,"conversation_id":12,"seq":4,"user":"bob","emoji":"👍","added":true,"count":2}"#
    );
    let (human, _) = event(&reaction(false), "alice", |_| None);
    assert_eq!(human, "conversation 12 #4: bob removed their 👍");
}

#[test]
fn reactions_of_a_message() {
    let count = |emoji: &str, count: u32, users: &[&str]| ReactionCount {
        emoji: emoji.into(),
        count,
        users: users.iter().map(|u| u.to_string()).collect(),
    };
    let r = Reactions {
        conversation_id: 1,
        seq: 3,
        reactions: vec![
            count("👍", 2, &["bob", "carol"]),
            count("❤️", 1, &["carol"]),
        ],
    };
    assert_eq!(
        ReactionsLine::human("bob", &r),
        "#3 in bob: 👍 2 (bob, carol)  ❤️ 1 (carol)"
    );
    assert_eq!(
        json_text(ReactionsLine::new(&r)),
        r#"{"type":"reactions","conversation_id":1,"seq":3,"reactions":[{"emoji":"👍","count":2,"users":["bob","carol"]},{"emoji":"❤️","count":1,"users":["carol"]}]}"#
    );

    let none = Reactions {
        conversation_id: 12,
        seq: 4,
        reactions: vec![],
    };
    assert_eq!(
        ReactionsLine::human("#12", &none),
        "#4 in #12: no reactions"
    );
    assert_eq!(
        json_text(ReactionsLine::new(&none)),
        r#"{"type":"reactions","conversation_id":12,"seq":4,"reactions":[]}"#
    );

    // The server lists at most 100 users per emoji; the rest are counted.
    // An emoji is someone else's text: control characters are escaped.
    let many = Reactions {
        conversation_id: 12,
        seq: 4,
        reactions: vec![count("🎉", 130, &["alice", "bob"]), count("\u{1b}", 1, &[])],
    };
    assert_eq!(
        ReactionsLine::human("#12", &many),
        "#4 in #12: 🎉 130 (alice, bob and 128 more)  \\u{1b} 1"
    );
}

#[test]
fn device_columns_line_up_whatever_the_name() {
    let device = |id, name: &str| DeviceInfo {
        id,
        name: name.into(),
        created_at_ms: 1_700_000_000_000,
        last_seen_ms: 1_700_000_100_000,
        current: false,
    };
    let lines: Vec<String> = [
        device(1, "cli"),
        device(12, "a very long laptop name that goes on and on"),
        device(123, "手机"),
    ]
    .iter()
    .map(DeviceLine::human)
    .collect();
    let column = |l: &str| {
        let at = l.find("created").unwrap();
        unicode_width::UnicodeWidthStr::width(&l[..at])
    };
    assert_eq!(column(&lines[0]), column(&lines[1]), "{lines:#?}");
    assert_eq!(column(&lines[0]), column(&lines[2]), "{lines:#?}");
    assert!(lines[1].contains('…'), "{}", lines[1]);
}
