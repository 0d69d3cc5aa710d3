//! Domain values shared by requests, responses and events.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::media::MediaInfo;

/// Server-assigned user id.
pub type UserId = i64;
/// Server-assigned conversation id.
pub type ConversationId = i64;
/// Server-assigned device id.
pub type DeviceId = i64;
/// Server-assigned message id.
pub type MessageId = i64;

/// Longest text body accepted in a message, in bytes.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;

/// Who a message is addressed to.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::EnumCount,
    strum::IntoStaticStr,
)]
pub enum Recipient {
    /// A one-to-one conversation with this username.
    User(String),
    /// A group the sender is a member of, by its conversation id.
    Group(ConversationId),
}

impl Recipient {
    /// The conversation reference that names the same conversation.
    pub fn conversation(&self) -> ConversationRef {
        match self {
            Recipient::User(name) => ConversationRef::Direct(name.clone()),
            Recipient::Group(id) => ConversationRef::Id(*id),
        }
    }
}

impl From<&str> for Recipient {
    /// A username.
    fn from(name: &str) -> Self {
        Recipient::User(name.to_string())
    }
}

impl From<String> for Recipient {
    /// A username.
    fn from(name: String) -> Self {
        Recipient::User(name)
    }
}

impl From<&String> for Recipient {
    /// A username.
    fn from(name: &String) -> Self {
        Recipient::User(name.clone())
    }
}

impl From<&Recipient> for Recipient {
    fn from(r: &Recipient) -> Self {
        r.clone()
    }
}

/// How a request names a conversation.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum ConversationRef {
    /// The one-to-one conversation with this username.
    Direct(String),
    /// A conversation by id.
    Id(ConversationId),
}

/// What a message carries. New kinds are appended here.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum MessageBody {
    /// Plain UTF-8 text.
    Text(String),
    /// An uploaded file, image, video, audio file or voice note.
    Media {
        /// The media. When sending, only `id` matters: the server fills in
        /// the rest from what it stored. Boxed to keep messages small.
        media: Box<MediaInfo>,
        /// Optional caption (may be empty).
        caption: String,
    },
    /// A change to a group (membership, name, roles, announcement), written
    /// by the server into the group's timeline; clients cannot send it.
    System(crate::group::GroupNotice),
    /// A text message its author edited: the latest text, and when. The
    /// server writes it (history, sync); clients edit with
    /// `rpc::messages::Request::Edit`, never by sending it.
    Edited {
        /// The latest text.
        text: String,
        /// When it was last edited, Unix milliseconds.
        edited_at_ms: i64,
    },
    /// The placeholder of a recalled ("deleted for everyone") message: its
    /// content is gone from the server. Written by the server only.
    Recalled {
        /// Who recalled it (the author, or a group admin).
        by: String,
        /// When, Unix milliseconds.
        at_ms: i64,
    },
    /// A text reply to an earlier message of the same conversation. When
    /// sending, set `to_seq` and `text`; the server fills in `quote` (and
    /// `edited_at_ms`) from what it stores, whatever the client sent.
    Reply(Box<Reply>),
}

/// A reply: its text and the message it answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// The seq of the message it answers, in the same conversation.
    pub to_seq: u64,
    /// The reply's text.
    pub text: String,
    /// The answered message as it is now.
    pub quote: Quote,
    /// When the reply's text was last edited, if it was.
    pub edited_at_ms: Option<i64>,
}

/// What a reply shows of the message it answers, read when the reply is
/// read: after a recall it says so and shows nothing of the original.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    /// Sender of the original.
    pub sender: String,
    /// The original's kind (`text`, a media kind, `recalled`, ...).
    pub kind: String,
    /// The start of its text, or a media message's caption or file name
    /// (at most [`QUOTE_CHARS`] characters).
    pub snippet: String,
    /// The original was recalled ("original recalled").
    pub recalled: bool,
}

/// Longest [`Quote::snippet`], in characters.
pub const QUOTE_CHARS: usize = 120;

impl MessageBody {
    /// A reply to `to_seq` to send (the server fills in the quote).
    pub fn reply(to_seq: u64, text: impl Into<String>) -> MessageBody {
        MessageBody::Reply(Box::new(Reply {
            to_seq,
            text: text.into(),
            quote: Quote::default(),
            edited_at_ms: None,
        }))
    }
}

impl MessageBody {
    /// Short name of the kind, used in storage and CLI output: `text`, the
    /// media kind (`image`, `video`, `audio`, `voice`, `file`), or `system`.
    pub fn kind(&self) -> &'static str {
        match self {
            MessageBody::Text(_) => "text",
            MessageBody::Media { media, .. } => media.kind.as_str(),
            MessageBody::System(_) => "system",
            MessageBody::Edited { .. } => "text",
            MessageBody::Recalled { .. } => "recalled",
            MessageBody::Reply(_) => "reply",
        }
    }
}

/// A client's request to send a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendMessage {
    /// Client-generated id (UUIDv7 recommended); a resend with the same id
    /// is acknowledged again and never stored twice.
    pub client_id: Uuid,
    /// Addressee.
    pub to: Recipient,
    /// Content.
    pub body: MessageBody,
}

/// The server's acknowledgement: the message is durably stored ("sent").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendAck {
    /// Echo of [`SendMessage::client_id`].
    pub client_id: Uuid,
    /// Server id of the stored message.
    pub message_id: MessageId,
    /// Conversation it was stored in.
    pub conversation_id: ConversationId,
    /// Per-conversation sequence number (1, 2, 3, ... without gaps).
    pub seq: u64,
    /// Server timestamp, Unix milliseconds.
    pub sent_at_ms: i64,
    /// True when this client id had been stored before (a retry).
    pub duplicate: bool,
}

/// A stored message as every participant sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Server id.
    pub id: MessageId,
    /// Conversation.
    pub conversation_id: ConversationId,
    /// Per-conversation sequence number.
    pub seq: u64,
    /// Sender's username.
    pub sender: String,
    /// The sender's client-generated id.
    pub client_id: Uuid,
    /// Addressee as the sender named it.
    pub to: Recipient,
    /// Server timestamp, Unix milliseconds.
    pub sent_at_ms: i64,
    /// Content.
    pub body: MessageBody,
    /// For voice messages: the transcript, or its status.
    pub transcript: Option<Transcript>,
}

/// Where a voice message's transcription stands.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum TranscriptStatus {
    /// Queued or running ("transcribing…").
    Pending,
    /// Done; the text is in [`Transcript::text`].
    Done,
    /// Gave up; `reason` says why (for example undecodable audio).
    Failed {
        /// Readable reason.
        reason: String,
    },
}

/// A span of the transcript with its timing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptSegment {
    /// Start, milliseconds from the beginning of the audio.
    pub start_ms: u64,
    /// End, milliseconds.
    pub end_ms: u64,
    /// Text of this span.
    pub text: String,
}

/// The text of a voice message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transcript {
    /// Pending, done or failed.
    pub status: TranscriptStatus,
    /// Full text (empty unless done).
    pub text: String,
    /// Language code, when known.
    pub language: Option<String>,
    /// Timed segments.
    pub segments: Vec<TranscriptSegment>,
}

impl Transcript {
    /// A transcript that is not ready yet.
    pub fn pending() -> Self {
        Transcript {
            status: TranscriptStatus::Pending,
            text: String::new(),
            language: None,
            segments: Vec::new(),
        }
    }
}

/// A change to an existing message (today: its transcript).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageUpdate {
    /// Conversation.
    pub conversation_id: ConversationId,
    /// Message id.
    pub message_id: MessageId,
    /// The message's seq in its conversation.
    pub seq: u64,
    /// The new transcript state.
    pub transcript: Transcript,
}

/// Kind of a receipt.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::EnumCount,
    strum::IntoStaticStr,
)]
pub enum ReceiptKind {
    /// A device of the reader has the messages.
    Delivered,
    /// The reader has read the messages.
    Read,
}

/// Receipts are watermarks: every message in the conversation with
/// `seq <= up_to_seq` has reached this state for `by`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// Conversation.
    pub conversation_id: ConversationId,
    /// Username whose devices received or read the messages.
    pub by: String,
    /// Delivered or read.
    pub kind: ReceiptKind,
    /// Watermark.
    pub up_to_seq: u64,
    /// Server timestamp, Unix milliseconds.
    pub at_ms: i64,
}

/// The caller's own read position, synced to all of the caller's devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadPosition {
    /// Conversation.
    pub conversation_id: ConversationId,
    /// Everything up to and including this seq is read.
    pub up_to_seq: u64,
}

/// The authenticated identity of a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// User id.
    pub user_id: UserId,
    /// Username.
    pub username: String,
    /// This device's id.
    pub device_id: DeviceId,
    /// Latest event seq for this user at authentication time.
    pub event_head: u64,
}

/// A device (one login) of the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// Device id.
    pub id: DeviceId,
    /// Name given at login.
    pub name: String,
    /// Creation time, Unix milliseconds.
    pub created_at_ms: i64,
    /// Last authentication, Unix milliseconds.
    pub last_seen_ms: i64,
    /// True for the device making the request.
    pub current: bool,
}

/// One entry of the conversation list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationSummary {
    /// Conversation id.
    pub id: ConversationId,
    /// The other side, as the caller would address it.
    pub peer: Recipient,
    /// Highest seq in the conversation.
    pub last_seq: u64,
    /// The caller's read position.
    pub read_seq: u64,
    /// Messages from others after the read position.
    pub unread: u64,
    /// The latest message, if any.
    pub last_message: Option<Message>,
}

/// The group part of a [`ConversationEntry`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupBrief {
    /// Group name.
    pub name: String,
    /// Current number of members.
    pub member_count: u32,
    /// The caller's role.
    pub my_role: crate::group::GroupRole,
    /// Dissolved: read-only.
    pub dissolved: bool,
}

/// One entry of the conversation list, for every kind of conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationEntry {
    /// Ids, watermarks, unread count and latest message. For a group,
    /// `summary.peer` is [`Recipient::Group`].
    pub summary: ConversationSummary,
    /// For a group: its name, size and the caller's role.
    pub group: Option<GroupBrief>,
}

/// A message's text was edited by its author (every participant and
/// device gets it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageEdit {
    /// Conversation.
    pub conversation_id: ConversationId,
    /// The message's seq in its conversation.
    pub seq: u64,
    /// The new text.
    pub text: String,
    /// When, Unix milliseconds.
    pub edited_at_ms: i64,
}

/// A message was recalled: deleted for everyone, its content erased.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRecall {
    /// Conversation.
    pub conversation_id: ConversationId,
    /// The message's seq in its conversation.
    pub seq: u64,
    /// Who recalled it.
    pub by: String,
    /// When, Unix milliseconds.
    pub at_ms: i64,
}

/// A message named by its place: conversation and seq.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRef {
    /// Conversation.
    pub conversation_id: ConversationId,
    /// The message's seq in its conversation.
    pub seq: u64,
}

/// The reactions on one message: per emoji, how many and who.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reactions {
    /// Conversation.
    pub conversation_id: ConversationId,
    /// The message's seq.
    pub seq: u64,
    /// One entry per emoji, most used first.
    pub reactions: Vec<ReactionCount>,
}

/// One emoji's reactions on a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionCount {
    /// The emoji.
    pub emoji: String,
    /// How many users reacted with it.
    pub count: u32,
    /// Who, in the order they reacted (at most
    /// [`MAX_REACTORS_LISTED`]; `count` has the total).
    pub users: Vec<String>,
}

/// Longest run of `@name` mentions the server looks at in one message.
pub const MAX_MENTIONS: usize = 50;

/// The user was mentioned in a group message (`@username`, or `@all` by an
/// owner or admin), in their log right after the message
/// ([`crate::event::EventBody::Mention`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mention {
    /// The group.
    pub conversation_id: ConversationId,
    /// The message that mentions the user.
    pub seq: u64,
    /// Who wrote it.
    pub by: String,
    /// Through `@all` rather than by name.
    pub all: bool,
}

/// A server broadcast's id.
pub type BroadcastId = i64;

/// An announcement from the server's administrators to every user
/// ([`crate::event::EventBody::Broadcast`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Broadcast {
    /// Its id.
    pub id: BroadcastId,
    /// The administrator who sent it; `None` when the server's operator
    /// sent it (`quichat-server admin broadcast`).
    pub from: Option<String>,
    /// The text.
    pub text: String,
    /// When it was sent, Unix milliseconds.
    pub sent_at_ms: i64,
}

/// Most users listed per emoji in [`ReactionCount::users`].
pub const MAX_REACTORS_LISTED: usize = 100;

/// A user added or removed a reaction (every participant gets it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionChange {
    /// Conversation.
    pub conversation_id: ConversationId,
    /// The message's seq.
    pub seq: u64,
    /// Who reacted.
    pub user: String,
    /// The emoji.
    pub emoji: String,
    /// Added, or removed.
    pub added: bool,
    /// Users with this emoji on the message after the change.
    pub count: u32,
}
