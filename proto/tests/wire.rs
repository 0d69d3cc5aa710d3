//! Golden wire bytes: one value of every variant of every enum that
//! crosses the wire, encoded with postcard and compared with the bytes
//! committed in `tests/wire.golden`.
//!
//! postcard numbers enum variants by position, so inserting, moving or
//! removing a variant silently changes what older peers decode. This test
//! fails when that happens. Appending a variant is the only compatible
//! change: add a sample for it below (the coverage check insists), then
//! record its bytes with `QUICHAT_BLESS_WIRE=1 cargo test -p quichat-proto
//! --test wire`, which only ever appends lines for new samples. Existing
//! lines are never rewritten by blessing: a changed line is a break.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use quichat_proto::chat::{ClientChat, ServerChat};
use quichat_proto::control::{ClientControl, ServerControl};
use quichat_proto::error::{ErrorCode, WireError};
use quichat_proto::event::{Event, EventBody};
use quichat_proto::frame::encode;
use quichat_proto::group::{
    Announcement, GroupInfo, GroupMember, GroupNotice, GroupRole, GroupSettings, Invite,
};
use quichat_proto::media::{
    ByteRange, ClientMedia, MediaInfo, MediaKind, MediaVariant, ServerMedia, UploadRequest,
};
use quichat_proto::notify::{Dnd, DndMode, Flagged, Mute, NotifySettings, PushFlags};
use quichat_proto::rpc::{
    self, broadcast, contacts, conversations, devices, groups, history, messages, notify, presence,
    profile, receipts, session, sync, Request, Response,
};
use quichat_proto::social::{
    Category, ContactsChange, Friend, FriendRequest, Presence, PresenceState, Profile,
    ProfileUpdate, RequestState, TypingNotice,
};
use quichat_proto::stream::{StreamHeader, StreamKind};
use quichat_proto::types::*;
use serde::Serialize;
use strum::EnumCount;
use uuid::Uuid;

/// Collects `label → hex` and which variants each enum's samples cover.
#[derive(Default)]
struct Samples {
    bytes: BTreeMap<String, String>,
    covered: BTreeMap<&'static str, (usize, BTreeSet<&'static str>)>,
}

impl Samples {
    /// Records `value` as the sample of its variant of enum `ty`.
    fn add<T>(&mut self, ty: &'static str, value: T)
    where
        T: Serialize + EnumCount,
        for<'a> &'a T: Into<&'static str>,
    {
        let variant: &'static str = (&value).into();
        let label = format!("{ty}::{variant}");
        let hex = hex::encode(postcard::to_stdvec(&value).expect("encodes"));
        assert!(
            self.bytes.insert(label.clone(), hex).is_none(),
            "two samples for {label}"
        );
        let entry = self
            .covered
            .entry(ty)
            .or_insert_with(|| (T::COUNT, BTreeSet::new()));
        entry.1.insert(variant);
    }

    /// Records a whole frame (a struct) under `label`.
    fn frame<T: Serialize>(&mut self, label: &str, value: &T) {
        let hex = hex::encode(encode(value).expect("encodes"));
        assert!(self.bytes.insert(label.to_string(), hex).is_none());
    }
}

fn media() -> MediaInfo {
    MediaInfo {
        id: Uuid::from_u128(0x0190_a5b2_0000_7000_8000_0000_0000_0001),
        kind: MediaKind::Voice,
        size: 5_000,
        sha256: [0xab; 32],
        mime: "audio/ogg".into(),
        filename: "note.ogg".into(),
        width: None,
        height: Some(2),
        duration_ms: Some(1_500),
        has_thumbnail: false,
    }
}

fn message() -> Message {
    Message {
        id: 9,
        conversation_id: 3,
        seq: 7,
        sender: "alice".into(),
        client_id: Uuid::from_u128(0x0190_a5b2_0000_7000_8000_0000_0000_0002),
        to: Recipient::User("bob".into()),
        sent_at_ms: 1_764_000_000_000,
        body: MessageBody::Text("hi".into()),
        transcript: Some(Transcript {
            status: TranscriptStatus::Done,
            text: "hello".into(),
            language: Some("en".into()),
            segments: vec![TranscriptSegment {
                start_ms: 0,
                end_ms: 900,
                text: "hello".into(),
            }],
        }),
    }
}

fn session_info() -> SessionInfo {
    SessionInfo {
        user_id: 1,
        username: "alice".into(),
        device_id: 2,
        event_head: 40,
    }
}

fn wire_error() -> WireError {
    WireError {
        code: ErrorCode::RateLimited,
        message: "slow down".into(),
        retry_after_ms: Some(1_200),
    }
}

fn event() -> Event {
    Event {
        seq: 11,
        body: EventBody::ReadPosition(ReadPosition {
            conversation_id: 3,
            up_to_seq: 7,
        }),
    }
}

fn all_samples() -> Samples {
    let mut s = Samples::default();

    for kind in [StreamKind::Control, StreamKind::Chat, StreamKind::Media] {
        s.add("StreamKind", kind);
    }
    s.frame(
        "frame StreamHeader",
        &StreamHeader {
            kind: StreamKind::Chat,
        },
    );

    // Control requests, domain by domain.
    let session_requests = [
        session::Request::Hello {
            version: 1,
            client: "cli".into(),
        },
        session::Request::Register {
            username: "alice".into(),
            password: "pw".into(),
            device_name: "phone".into(),
        },
        session::Request::Login {
            username: "alice".into(),
            password: "pw".into(),
            device_name: "laptop".into(),
        },
        session::Request::Authenticate {
            token: "qct_x".into(),
        },
        session::Request::Logout,
        session::Request::Ping,
        session::Request::ChangePassword {
            current: "old pw".into(),
            new: "new pw".into(),
            sign_out_others: true,
        },
    ];
    for r in session_requests {
        s.add("session::Request", r);
    }
    for r in [
        session::Response::Welcome {
            version: 1,
            server: "quichat-server".into(),
        },
        session::Response::Authenticated {
            session: session_info(),
            token: Some("qct_x".into()),
        },
        session::Response::LoggedOut,
        session::Response::Pong,
        session::Response::PasswordChanged { signed_out: 2 },
    ] {
        s.add("session::Response", r);
    }
    s.add("devices::Request", devices::Request::List);
    s.add(
        "devices::Request",
        devices::Request::Revoke { device_id: 5 },
    );
    s.add(
        "devices::Response",
        devices::Response::List(vec![DeviceInfo {
            id: 5,
            name: "phone".into(),
            created_at_ms: 1,
            last_seen_ms: 2,
            current: true,
        }]),
    );
    s.add("devices::Response", devices::Response::Revoked);
    s.add(
        "sync::Request",
        sync::Request::Page {
            after: 10,
            limit: 100,
        },
    );
    s.add(
        "sync::Response",
        sync::Response::Page {
            events: vec![event()],
            has_more: true,
        },
    );
    s.add(
        "history::Request",
        history::Request::Page {
            conversation: ConversationRef::Direct("bob".into()),
            before_seq: Some(8),
            limit: 50,
        },
    );
    s.add(
        "history::Response",
        history::Response::Page {
            conversation_id: Some(3),
            messages: vec![message()],
            has_more: false,
        },
    );
    s.add("conversations::Request", conversations::Request::List);
    s.add(
        "conversations::Response",
        conversations::Response::List(vec![ConversationSummary {
            id: 3,
            peer: Recipient::User("bob".into()),
            last_seq: 7,
            read_seq: 6,
            unread: 1,
            last_message: Some(message()),
        }]),
    );
    s.add(
        "receipts::Request",
        receipts::Request::Delivered {
            conversation_id: 3,
            up_to_seq: 7,
        },
    );
    s.add(
        "receipts::Request",
        receipts::Request::MarkRead {
            conversation_id: 3,
            up_to_seq: 7,
        },
    );
    s.add("receipts::Response", receipts::Response::Recorded);

    // The top-level enums: one per domain.
    for r in [
        Request::Session(session::Request::Ping),
        Request::Devices(devices::Request::List),
        Request::Sync(sync::Request::Page { after: 0, limit: 1 }),
        Request::History(history::Request::Page {
            conversation: ConversationRef::Id(3),
            before_seq: None,
            limit: 1,
        }),
        Request::Conversations(conversations::Request::List),
        Request::Receipts(receipts::Request::MarkRead {
            conversation_id: 3,
            up_to_seq: 1,
        }),
    ] {
        s.add("Request", r);
    }
    for r in [
        Response::Session(session::Response::Pong),
        Response::Devices(devices::Response::Revoked),
        Response::Sync(sync::Response::Page {
            events: vec![],
            has_more: false,
        }),
        Response::History(history::Response::Page {
            conversation_id: None,
            messages: vec![],
            has_more: false,
        }),
        Response::Conversations(conversations::Response::List(vec![])),
        Response::Receipts(receipts::Response::Recorded),
    ] {
        s.add("Response", r);
    }
    s.frame(
        "frame ClientControl",
        &ClientControl {
            req_id: 7,
            request: Request::Session(session::Request::Ping),
        },
    );
    for r in [
        ServerControl::Error(wire_error()),
        ServerControl::Response {
            req_id: 7,
            result: Ok(Response::Session(session::Response::Pong)),
        },
        ServerControl::Event(event()),
        ServerControl::SyncHint { head: 99 },
    ] {
        s.add("ServerControl", r);
    }
    s.frame(
        "frame ServerControl::Response(Err)",
        &ServerControl::Response {
            req_id: 8,
            result: Err(wire_error()),
        },
    );

    // Chat.
    s.add(
        "ClientChat",
        ClientChat::Send(SendMessage {
            client_id: Uuid::from_u128(2),
            to: Recipient::User("bob".into()),
            body: MessageBody::Text("hi".into()),
        }),
    );
    for c in [
        ServerChat::Error(wire_error()),
        ServerChat::Ack(SendAck {
            client_id: Uuid::from_u128(2),
            message_id: 9,
            conversation_id: 3,
            seq: 7,
            sent_at_ms: 1_764_000_000_000,
            duplicate: false,
        }),
        ServerChat::Rejected {
            client_id: Uuid::from_u128(2),
            error: wire_error(),
        },
        ServerChat::Event(event()),
    ] {
        s.add("ServerChat", c);
    }

    // Events.
    for b in [
        EventBody::Message(message()),
        EventBody::Receipt(Receipt {
            conversation_id: 3,
            by: "bob".into(),
            kind: ReceiptKind::Read,
            up_to_seq: 7,
            at_ms: 5,
        }),
        EventBody::ReadPosition(ReadPosition {
            conversation_id: 3,
            up_to_seq: 7,
        }),
        EventBody::MessageUpdated(MessageUpdate {
            conversation_id: 3,
            message_id: 9,
            seq: 7,
            transcript: Transcript::pending(),
        }),
    ] {
        s.add("EventBody", b);
    }

    // Shared value enums.
    s.add("Recipient", Recipient::User("bob".into()));
    s.add("ConversationRef", ConversationRef::Direct("bob".into()));
    s.add("ConversationRef", ConversationRef::Id(3));
    s.add("MessageBody", MessageBody::Text("hi".into()));
    s.add(
        "MessageBody",
        MessageBody::Media {
            media: Box::new(media()),
            caption: "listen".into(),
        },
    );
    s.add("TranscriptStatus", TranscriptStatus::Pending);
    s.add("TranscriptStatus", TranscriptStatus::Done);
    s.add(
        "TranscriptStatus",
        TranscriptStatus::Failed {
            reason: "undecodable".into(),
        },
    );
    s.add("ReceiptKind", ReceiptKind::Delivered);
    s.add("ReceiptKind", ReceiptKind::Read);

    // Media.
    for k in [
        MediaKind::Image,
        MediaKind::Video,
        MediaKind::Audio,
        MediaKind::Voice,
        MediaKind::File,
    ] {
        s.add("MediaKind", k);
    }
    s.add("MediaVariant", MediaVariant::Original);
    s.add("MediaVariant", MediaVariant::Thumbnail);
    s.add(
        "ClientMedia",
        ClientMedia::Upload(UploadRequest {
            upload_id: Uuid::from_u128(4),
            size: 5_000,
            sha256: [0xab; 32],
            mime: "audio/ogg".into(),
            filename: "note.ogg".into(),
            kind: MediaKind::Voice,
            duration_ms: Some(1_500),
            conversation: ConversationRef::Direct("bob".into()),
        }),
    );
    s.add("ClientMedia", ClientMedia::Proof { digest: [1; 32] });
    s.add(
        "ClientMedia",
        ClientMedia::Download {
            media_id: Uuid::from_u128(5),
            variant: MediaVariant::Thumbnail,
            offset: 10,
            length: Some(20),
        },
    );
    for m in [
        ServerMedia::Error(wire_error()),
        ServerMedia::Ready {
            upload_id: Uuid::from_u128(4),
            offset: 100,
        },
        ServerMedia::Challenge {
            nonce: [2; 16],
            ranges: vec![ByteRange { start: 5, len: 64 }],
        },
        ServerMedia::Stored {
            media: media(),
            deduplicated: true,
        },
        ServerMedia::Body {
            media: media(),
            offset: 0,
            length: 5_000,
            total: 5_000,
        },
    ] {
        s.add("ServerMedia", m);
    }

    // Errors: every code.
    use ErrorCode::*;
    for code in [
        BadFrame,
        FrameTooLarge,
        UnsupportedVersion,
        UnexpectedFrame,
        Unauthenticated,
        InvalidUsername,
        WeakPassword,
        UsernameTaken,
        UnknownUser,
        WrongPassword,
        InvalidToken,
        RateLimited,
        NotFound,
        Forbidden,
        InvalidMessage,
        InvalidArgument,
        ShuttingDown,
        Internal,
        TooLarge,
        QuotaExceeded,
        HashMismatch,
        Incomplete,
    ] {
        s.add("ErrorCode", code);
    }
    social_samples(&mut s);
    group_samples(&mut s);
    message_op_samples(&mut s);
    broadcast_samples(&mut s);
    mention_samples(&mut s);
    notify_samples(&mut s);
    let _ = rpc::MAX_PAGE;
    s
}

fn profile() -> Profile {
    Profile {
        username: "bob".into(),
        display_name: "Bob B.".into(),
        status: "at the lake".into(),
        avatar: Some(media()),
    }
}

fn friend_request() -> FriendRequest {
    FriendRequest {
        id: 4,
        from: "alice".into(),
        to: "bob".into(),
        note: "hi, from the lab".into(),
        state: RequestState::Pending,
        created_at_ms: 10,
        updated_at_ms: 11,
    }
}

/// Profiles, contacts, presence: appended after the first release.
fn social_samples(s: &mut Samples) {
    s.add(
        "profile::Request",
        profile::Request::Get {
            username: "bob".into(),
        },
    );
    s.add(
        "profile::Request",
        profile::Request::Update(ProfileUpdate {
            display_name: Some("Bob".into()),
            status: None,
            avatar: Some(Some(Uuid::from_u128(5))),
        }),
    );
    s.add(
        "profile::Request",
        profile::Request::Search {
            prefix: "bo".into(),
            after: Some("bob".into()),
            limit: 20,
        },
    );
    s.add("profile::Response", profile::Response::Profile(profile()));
    s.add(
        "profile::Response",
        profile::Response::Found {
            users: vec![profile()],
            has_more: true,
        },
    );
    for r in [
        contacts::Request::SendRequest {
            to: "bob".into(),
            note: "hi".into(),
        },
        contacts::Request::Accept { request_id: 4 },
        contacts::Request::Decline { request_id: 4 },
        contacts::Request::Cancel { request_id: 4 },
        contacts::Request::RemoveFriend {
            username: "bob".into(),
        },
        contacts::Request::Friends,
        contacts::Request::Requests,
        contacts::Request::CreateCategory {
            name: "family".into(),
        },
        contacts::Request::RenameCategory {
            id: 2,
            name: "kin".into(),
        },
        contacts::Request::DeleteCategory { id: 2 },
        contacts::Request::MoveFriend {
            username: "bob".into(),
            category: Some(2),
        },
        contacts::Request::Categories,
        contacts::Request::Block {
            username: "eve".into(),
        },
        contacts::Request::Unblock {
            username: "eve".into(),
        },
        contacts::Request::Blocked,
    ] {
        s.add("contacts::Request", r);
    }
    let category = Category {
        id: 2,
        name: "family".into(),
    };
    for r in [
        contacts::Response::Request(friend_request()),
        contacts::Response::Done,
        contacts::Response::Friends(vec![Friend {
            profile: profile(),
            category: Some(2),
            since_ms: 12,
        }]),
        contacts::Response::Requests {
            incoming: vec![friend_request()],
            outgoing: vec![],
        },
        contacts::Response::Category(category.clone()),
        contacts::Response::Categories(vec![category.clone()]),
        contacts::Response::Blocked(vec!["eve".into()]),
    ] {
        s.add("contacts::Response", r);
    }
    for r in [
        presence::Request::Friends,
        presence::Request::SetHidden { hidden: true },
        presence::Request::Typing { to: "bob".into() },
    ] {
        s.add("presence::Request", r);
    }
    s.add(
        "presence::Response",
        presence::Response::Friends(vec![Presence {
            username: "bob".into(),
            state: PresenceState::Online,
        }]),
    );
    s.add("presence::Response", presence::Response::Done);
    s.add(
        "Request",
        Request::Profile(profile::Request::Get {
            username: "bob".into(),
        }),
    );
    s.add("Request", Request::Contacts(contacts::Request::Friends));
    s.add("Request", Request::Presence(presence::Request::Friends));
    s.add(
        "Response",
        Response::Profile(profile::Response::Profile(profile())),
    );
    s.add("Response", Response::Contacts(contacts::Response::Done));
    s.add("Response", Response::Presence(presence::Response::Done));
    s.add("EventBody", EventBody::ProfileUpdated(profile()));
    s.add("EventBody", EventBody::FriendRequest(friend_request()));
    s.add(
        "EventBody",
        EventBody::Contacts(ContactsChange::FriendRemoved {
            username: "bob".into(),
        }),
    );
    for c in [
        ContactsChange::FriendRemoved {
            username: "bob".into(),
        },
        ContactsChange::Blocked {
            username: "eve".into(),
        },
        ContactsChange::Unblocked {
            username: "eve".into(),
        },
        ContactsChange::CategorySaved(category),
        ContactsChange::CategoryDeleted { id: 2 },
        ContactsChange::FriendMoved {
            username: "bob".into(),
            category: None,
        },
    ] {
        s.add("ContactsChange", c);
    }
    for state in [
        RequestState::Pending,
        RequestState::Accepted,
        RequestState::Declined,
        RequestState::Cancelled,
    ] {
        s.add("RequestState", state);
    }
    s.add("PresenceState", PresenceState::Online);
    s.add(
        "PresenceState",
        PresenceState::Offline {
            last_seen_ms: Some(99),
        },
    );
    s.add(
        "ServerControl",
        ServerControl::Presence(Presence {
            username: "bob".into(),
            state: PresenceState::Offline { last_seen_ms: None },
        }),
    );
    s.add(
        "ServerControl",
        ServerControl::Typing(TypingNotice {
            from: "bob".into(),
            conversation_id: Some(3),
            expires_in_ms: 5_000,
        }),
    );
    s.add("ErrorCode", ErrorCode::CannotDeliver);
}

fn group_info() -> GroupInfo {
    GroupInfo {
        id: 9,
        name: "family".into(),
        description: "us".into(),
        avatar: None,
        owner: "alice".into(),
        member_count: 3,
        my_role: GroupRole::Admin,
        settings: GroupSettings {
            members_edit_info: true,
            members_invite: false,
        },
        announcement: Some(Announcement {
            text: "dinner at 7".into(),
            by: "alice".into(),
            at_ms: 1_700_000_000_000,
        }),
        created_at_ms: 1_700_000_000_000,
        dissolved: false,
    }
}

fn group_samples(s: &mut Samples) {
    let settings = GroupSettings::default();
    for r in [
        groups::Request::Create {
            name: "family".into(),
            description: String::new(),
            members: vec!["bob".into()],
        },
        groups::Request::Info { group: 9 },
        groups::Request::List,
        groups::Request::Members { group: 9 },
        groups::Request::Add {
            group: 9,
            usernames: vec!["carol".into()],
        },
        groups::Request::Remove {
            group: 9,
            username: "carol".into(),
        },
        groups::Request::Leave { group: 9 },
        groups::Request::SetRole {
            group: 9,
            username: "bob".into(),
            role: GroupRole::Admin,
        },
        groups::Request::TransferOwnership {
            group: 9,
            to: "bob".into(),
        },
        groups::Request::Rename {
            group: 9,
            name: "fam".into(),
        },
        groups::Request::SetDescription {
            group: 9,
            description: "d".into(),
        },
        groups::Request::SetAvatar {
            group: 9,
            avatar: Some(media().id),
        },
        groups::Request::SetSettings { group: 9, settings },
        groups::Request::Announce {
            group: 9,
            text: "hi".into(),
        },
        groups::Request::Dissolve { group: 9 },
        groups::Request::CreateInvite {
            group: 9,
            expires_in_secs: Some(3600),
            max_uses: Some(5),
        },
        groups::Request::RevokeInvite {
            group: 9,
            invite: 2,
        },
        groups::Request::Invites { group: 9 },
        groups::Request::Join {
            code: "abcd".into(),
        },
    ] {
        s.add("groups::Request", r);
    }
    let invite = Invite {
        id: 2,
        group_id: 9,
        code: Some("abcd".into()),
        created_by: "alice".into(),
        expires_at_ms: Some(1_700_000_000_000),
        max_uses: None,
        uses: 1,
    };
    for r in [
        groups::Response::Group(group_info()),
        groups::Response::Groups(vec![group_info()]),
        groups::Response::Members(vec![GroupMember {
            username: "bob".into(),
            role: GroupRole::Member,
            joined_at_ms: 1_700_000_000_000,
        }]),
        groups::Response::Invite(invite.clone()),
        groups::Response::Invites(vec![invite]),
        groups::Response::Done,
    ] {
        s.add("groups::Response", r);
    }
    for role in [GroupRole::Member, GroupRole::Admin, GroupRole::Owner] {
        s.add("GroupRole", role);
    }
    let (a, b) = (String::from("alice"), String::from("bob"));
    for n in [
        GroupNotice::Created {
            by: a.clone(),
            name: "family".into(),
        },
        GroupNotice::Added {
            by: a.clone(),
            members: vec![b.clone()],
        },
        GroupNotice::Joined {
            username: b.clone(),
        },
        GroupNotice::Left {
            username: b.clone(),
        },
        GroupNotice::Removed {
            by: a.clone(),
            username: b.clone(),
        },
        GroupNotice::Renamed {
            by: a.clone(),
            name: "fam".into(),
        },
        GroupNotice::DescriptionChanged {
            by: a.clone(),
            description: "d".into(),
        },
        GroupNotice::AvatarChanged {
            by: a.clone(),
            avatar: None,
        },
        GroupNotice::RoleChanged {
            by: a.clone(),
            username: b.clone(),
            role: GroupRole::Admin,
        },
        GroupNotice::OwnerChanged {
            from: a.clone(),
            to: b.clone(),
        },
        GroupNotice::Announced {
            by: a.clone(),
            text: "hi".into(),
        },
        GroupNotice::SettingsChanged {
            by: a.clone(),
            settings,
        },
        GroupNotice::Dissolved { by: a },
    ] {
        s.add("GroupNotice", n);
    }
    s.add("Recipient", Recipient::Group(9));
    s.add(
        "MessageBody",
        MessageBody::System(GroupNotice::Joined {
            username: "bob".into(),
        }),
    );
    s.add("Request", Request::Groups(groups::Request::List));
    s.add("Response", Response::Groups(groups::Response::Done));
    s.add("conversations::Request", conversations::Request::Overview);
    s.add(
        "conversations::Response",
        conversations::Response::Overview(vec![ConversationEntry {
            summary: ConversationSummary {
                id: 9,
                peer: Recipient::Group(9),
                last_seq: 4,
                read_seq: 2,
                unread: 2,
                last_message: None,
            },
            group: Some(GroupBrief {
                name: "family".into(),
                member_count: 3,
                my_role: GroupRole::Owner,
                dissolved: false,
            }),
        }]),
    );
    s.add(
        "receipts::Request",
        receipts::Request::WhoRead {
            conversation_id: 9,
            seq: 3,
        },
    );
    s.add(
        "receipts::Response",
        receipts::Response::WhoRead {
            read: vec!["bob".into()],
            delivered: vec!["carol".into()],
            waiting: vec![],
        },
    );
    s.add("ErrorCode", ErrorCode::GroupFull);
    s.add("ErrorCode", ErrorCode::InvalidInvite);
}

fn message_op_samples(s: &mut Samples) {
    let edit = MessageEdit {
        conversation_id: 9,
        seq: 3,
        text: "hi again".into(),
        edited_at_ms: 1_700_000_000_000,
    };
    let recall = MessageRecall {
        conversation_id: 9,
        seq: 3,
        by: "alice".into(),
        at_ms: 1_700_000_000_000,
    };
    let place = MessageRef {
        conversation_id: 9,
        seq: 3,
    };
    for r in [
        messages::Request::Edit {
            conversation_id: 9,
            seq: 3,
            text: "hi again".into(),
        },
        messages::Request::Recall {
            conversation_id: 9,
            seq: 3,
        },
        messages::Request::DeleteForMe {
            conversation_id: 9,
            seq: 3,
        },
        messages::Request::Forward {
            conversation_id: 9,
            seq: 3,
            to: Recipient::User("carol".into()),
            client_id: Uuid::from_u128(7),
        },
        messages::Request::React {
            conversation_id: 9,
            seq: 3,
            emoji: "👍".into(),
            add: true,
        },
        messages::Request::Reactions {
            conversation_id: 9,
            seq: 3,
        },
    ] {
        s.add("messages::Request", r);
    }
    for r in [
        messages::Response::Edited(edit.clone()),
        messages::Response::Recalled(recall.clone()),
        messages::Response::Hidden(place),
        messages::Response::Forwarded(SendAck {
            client_id: Uuid::from_u128(7),
            message_id: 12,
            conversation_id: 10,
            seq: 1,
            sent_at_ms: 1_700_000_000_000,
            duplicate: false,
        }),
        messages::Response::Reactions(Reactions {
            conversation_id: 9,
            seq: 3,
            reactions: vec![ReactionCount {
                emoji: "👍".into(),
                count: 2,
                users: vec!["bob".into(), "carol".into()],
            }],
        }),
    ] {
        s.add("messages::Response", r);
    }
    s.add(
        "Request",
        Request::Messages(messages::Request::Recall {
            conversation_id: 9,
            seq: 3,
        }),
    );
    s.add(
        "Response",
        Response::Messages(messages::Response::Hidden(place)),
    );
    s.add(
        "MessageBody",
        MessageBody::Edited {
            text: "hi again".into(),
            edited_at_ms: 1_700_000_000_000,
        },
    );
    s.add(
        "MessageBody",
        MessageBody::Recalled {
            by: "alice".into(),
            at_ms: 1_700_000_000_000,
        },
    );
    s.add(
        "MessageBody",
        MessageBody::Reply(Box::new(Reply {
            to_seq: 2,
            text: "yes".into(),
            quote: Quote {
                sender: "bob".into(),
                kind: "text".into(),
                snippet: "lunch?".into(),
                recalled: false,
            },
            edited_at_ms: None,
        })),
    );
    s.add("EventBody", EventBody::MessageEdited(edit));
    s.add("EventBody", EventBody::MessageRecalled(recall));
    s.add("EventBody", EventBody::MessageHidden(place));
    s.add(
        "EventBody",
        EventBody::Reaction(ReactionChange {
            conversation_id: 9,
            seq: 3,
            user: "bob".into(),
            emoji: "👍".into(),
            added: true,
            count: 1,
        }),
    );
}

/// Server broadcasts: appended after the message operations.
fn broadcast_samples(s: &mut Samples) {
    s.add(
        "broadcast::Request",
        broadcast::Request::Send {
            text: "maintenance at 22:00".into(),
        },
    );
    s.add(
        "broadcast::Response",
        broadcast::Response::Sent {
            id: 3,
            recipients: 120,
        },
    );
    s.add(
        "Request",
        Request::Broadcast(broadcast::Request::Send { text: "hi".into() }),
    );
    s.add(
        "Response",
        Response::Broadcast(broadcast::Response::Sent {
            id: 3,
            recipients: 2,
        }),
    );
    s.add(
        "EventBody",
        EventBody::Broadcast(Broadcast {
            id: 3,
            from: Some("alice".into()),
            text: "maintenance at 22:00".into(),
            sent_at_ms: 1_700_000_000_000,
        }),
    );
}

/// @mentions: appended after broadcasts.
fn mention_samples(s: &mut Samples) {
    let mention = Mention {
        conversation_id: 9,
        seq: 4,
        by: "alice".into(),
        all: false,
    };
    s.add("EventBody", EventBody::Mention(mention.clone()));
    s.add("conversations::Request", conversations::Request::Mentions);
    s.add(
        "conversations::Response",
        conversations::Response::Mentions(vec![mention]),
    );
}

/// Notifications (protocol 2): appended after mentions.
fn notify_samples(s: &mut Samples) {
    let flagged = Flagged {
        flags: PushFlags(PushFlags::MENTION),
        event: event(),
    };
    s.frame("frame Flagged", &flagged);
    s.add("ServerControl", ServerControl::Flagged(flagged.clone()));
    s.add("ServerChat", ServerChat::Flagged(flagged.clone()));
    s.add(
        "sync::Request",
        sync::Request::FlaggedPage {
            after: 4,
            limit: 100,
        },
    );
    s.add(
        "sync::Response",
        sync::Response::FlaggedPage {
            events: vec![flagged],
            has_more: false,
        },
    );
    for mode in [
        DndMode::Off,
        DndMode::On,
        DndMode::Scheduled {
            start_min: 22 * 60,
            end_min: 7 * 60,
        },
    ] {
        s.add("DndMode", mode);
    }
    let dnd = Dnd {
        mode: DndMode::On,
        time_zone: "Europe/Paris".into(),
        allow_mentions: true,
    };
    s.add("notify::Request", notify::Request::Get);
    s.add(
        "notify::Request",
        notify::Request::Mute {
            conversation_id: 9,
            until_ms: Some(1_700_000_000_000),
        },
    );
    s.add(
        "notify::Request",
        notify::Request::Unmute { conversation_id: 9 },
    );
    s.add("notify::Request", notify::Request::SetDnd(dnd.clone()));
    let settings = NotifySettings {
        dnd,
        mutes: vec![Mute {
            conversation_id: 9,
            until_ms: None,
        }],
    };
    s.add(
        "notify::Response",
        notify::Response::Settings(settings.clone()),
    );
    s.add("Request", Request::Notify(notify::Request::Get));
    s.add(
        "Response",
        Response::Notify(notify::Response::Settings(settings)),
    );
}

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/wire.golden")
}

fn read_golden() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(golden_path()).unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (label, hex) = l.rsplit_once(' ').expect("`label hex` lines");
            (label.to_string(), hex.to_string())
        })
        .collect()
}

#[test]
fn every_variant_of_every_wire_enum_has_a_sample() {
    let samples = all_samples();
    for (ty, (count, seen)) in &samples.covered {
        assert_eq!(
            seen.len(),
            *count,
            "{ty} has {count} variants but samples for only {seen:?}: add one for the new variant"
        );
    }
}

#[test]
fn wire_bytes_match_the_committed_golden_file() {
    let samples = all_samples();
    let golden = read_golden();
    let mut broken = Vec::new();
    for (label, hex) in &golden {
        match samples.bytes.get(label) {
            Some(now) if now == hex => {}
            Some(now) => broken.push(format!("{label}:\n  committed {hex}\n  now       {now}")),
            None => broken.push(format!("{label}: the sample is gone (variant removed?)")),
        }
    }
    assert!(
        broken.is_empty(),
        "the wire format changed; older peers would misread these (append variants, never \
         insert, move or remove them):\n{}",
        broken.join("\n")
    );
    let new: Vec<_> = samples
        .bytes
        .iter()
        .filter(|(label, _)| !golden.contains_key(*label))
        .collect();
    if new.is_empty() {
        return;
    }
    if std::env::var_os("QUICHAT_BLESS_WIRE").is_some() {
        let mut text = std::fs::read_to_string(golden_path()).unwrap_or_else(|_| {
            "# label hex: postcard bytes of each sample in proto/tests/wire.rs.\n\
             # Append-only: see the comment at the top of wire.rs.\n"
                .to_string()
        });
        for (label, hex) in new {
            text.push_str(&format!("{label} {hex}\n"));
        }
        std::fs::write(golden_path(), text).expect("write the golden file");
    } else {
        panic!(
            "new wire samples without committed bytes: {:?}; if they are appended variants, \
             record them with QUICHAT_BLESS_WIRE=1",
            new.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>()
        );
    }
}
