//! The shapes of every output line, one module per domain: a serde struct
//! per JSON line type, with the matching human-readable text.
//!
//! Every JSON line is a [`Line`]: serde writes its variant as the leading
//! `"type"` field (an internally tagged enum), so no line struct carries
//! its own type name. Times are RFC 3339 UTC in JSON; human lines use local
//! time and escape control characters in text that other people wrote.

mod broadcast;
mod contacts;
mod devices;
mod error;
mod events;
mod groups;
mod media;
mod messages;
mod notify;
mod ops;
mod session;
#[cfg(test)]
mod tests;

use quichat_proto::types::Recipient;
use serde::Serialize;

pub use broadcast::{BroadcastLine, BroadcastSentLine};
pub use contacts::{
    BlockedLine, CategoryLine, ContactsLine, FriendLine, FriendRequestLine, PresenceLine,
    ProfileLine, TypingLine,
};
pub use devices::{DeviceLine, RevokedLine};
pub use error::ErrorLine;
pub use events::{
    event, notice, peer_of, MentionLine, MessageUpdatedLine, ReadPositionLine, ReceiptLine,
};
pub use groups::{
    brief_human, members_human, quoted_name, settings_human, GroupActionLine, GroupLine,
    GroupMemberLine, InviteLine, WhoReadLine,
};
pub use media::{DownloadLine, MediaAckLine, VoiceAckLine};
pub use messages::{AckLine, ChatLine, MessageLine, ReadLine};
pub use notify::{DndLine, MutedLine};
pub use ops::{EditedLine, HiddenLine, ReactionLine, ReactionsLine, RecalledLine};
pub use session::{LocalProfileLine, LogoutLine, PasswordLine, ProfileState, SessionLine};

/// Width of message previews in `chats`.
const PREVIEW_CHARS: usize = 60;

/// Longest file name shown in human output.
const FILENAME_CHARS: usize = 80;

/// One JSON output line; the variant is its `type`.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Line<'a> {
    /// Who a profile is logged in as.
    Session(SessionLine),
    /// The profile's device was logged out.
    Logout(LogoutLine),
    /// One device of the account.
    Device(DeviceLine),
    /// A device was revoked.
    Revoked(RevokedLine),
    /// The server stored a sent message.
    Ack(AckLine),
    /// The ack of `send-file`: the message ack plus the upload.
    #[serde(rename = "ack")]
    MediaAck(MediaAckLine),
    /// The ack of `send-voice`.
    #[serde(rename = "ack")]
    VoiceAck(VoiceAckLine),
    /// A media file was downloaded (or was already complete).
    Download(DownloadLine),
    /// A stored message.
    Message(Box<MessageLine>),
    /// One conversation in the list.
    Chat(ChatLine),
    /// `read` moved the read position.
    Read(ReadLine),
    /// The peer received or read the user's messages.
    Receipt(ReceiptLine),
    /// One of the user's devices read a conversation.
    ReadPosition(ReadPositionLine),
    /// A message changed (a voice note's transcript).
    MessageUpdated(MessageUpdatedLine),
    /// A message's text was edited (by `edit`, or from the event feed).
    Edited(EditedLine),
    /// A message was deleted for everyone.
    Recalled(RecalledLine),
    /// A message was deleted for the user only.
    Hidden(HiddenLine),
    /// A reaction was added or removed (from the event feed).
    Reaction(ReactionLine),
    /// A message's reactions (`react`, `reactions`).
    Reactions(ReactionsLine),
    /// Why a command failed.
    Error(ErrorLine<'a>),
    /// A user's profile.
    Profile(ProfileLine),
    /// A friend's profile changed (from the event feed).
    ProfileUpdated(ProfileLine),
    /// One friend.
    Friend(FriendLine),
    /// A friend request.
    FriendRequest(FriendRequestLine),
    /// A friend category.
    Category(CategoryLine),
    /// A blocked user.
    Blocked(BlockedLine),
    /// The account's contacts changed.
    Contacts(ContactsLine),
    /// A friend's presence.
    Presence(PresenceLine),
    /// Someone is typing.
    Typing(TypingLine),
    /// A group.
    Group(Box<GroupLine>),
    /// One member of a group.
    GroupMember(GroupMemberLine),
    /// An invite code of a group.
    Invite(InviteLine),
    /// A `group` command changed something.
    GroupAction(GroupActionLine),
    /// Who read one of the user's messages.
    WhoRead(WhoReadLine),
    /// A profile on this computer (`profiles`).
    LocalProfile(LocalProfileLine),
    /// The password was changed.
    PasswordChanged(PasswordLine),
    /// A server broadcast (from the event feed).
    Broadcast(BroadcastLine),
    /// `broadcast` stored one.
    BroadcastSent(BroadcastSentLine),
    /// A group message mentioned the user (from the event feed).
    Mention(MentionLine),
    /// A conversation was muted or unmuted (`mute`, `unmute`, `dnd`).
    Muted(MutedLine),
    /// The do-not-disturb setting (`dnd`).
    Dnd(DndLine),
}

/// A line nested inside another (the last message of a `chat` line),
/// still carrying its `type`.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Nested {
    /// A stored message.
    Message(Box<MessageLine>),
}

/// `From<XLine> for Line` for each line type.
macro_rules! line_from {
    ($($variant:ident($ty:ty)),* $(,)?) => {
        $(impl From<$ty> for Line<'_> {
            fn from(line: $ty) -> Self {
                Line::$variant(line)
            }
        })*
    };
}

line_from!(
    Session(SessionLine),
    Logout(LogoutLine),
    Device(DeviceLine),
    Revoked(RevokedLine),
    Ack(AckLine),
    MediaAck(MediaAckLine),
    VoiceAck(VoiceAckLine),
    Download(DownloadLine),
    Chat(ChatLine),
    Read(ReadLine),
    Receipt(ReceiptLine),
    ReadPosition(ReadPositionLine),
    MessageUpdated(MessageUpdatedLine),
    Edited(EditedLine),
    Recalled(RecalledLine),
    Hidden(HiddenLine),
    Reaction(ReactionLine),
    Reactions(ReactionsLine),
    Profile(ProfileLine),
    Friend(FriendLine),
    FriendRequest(FriendRequestLine),
    Category(CategoryLine),
    Blocked(BlockedLine),
    Contacts(ContactsLine),
    Presence(PresenceLine),
    Typing(TypingLine),
    GroupMember(GroupMemberLine),
    Invite(InviteLine),
    GroupAction(GroupActionLine),
    WhoRead(WhoReadLine),
    LocalProfile(LocalProfileLine),
    PasswordChanged(PasswordLine),
    Broadcast(BroadcastLine),
    BroadcastSent(BroadcastSentLine),
    Mention(MentionLine),
    Muted(MutedLine),
    Dnd(DndLine),
);

impl From<GroupLine> for Line<'_> {
    fn from(line: GroupLine) -> Self {
        Line::Group(Box::new(line))
    }
}

impl From<MessageLine> for Line<'_> {
    fn from(line: MessageLine) -> Self {
        Line::Message(Box::new(line))
    }
}

impl<'a> From<ErrorLine<'a>> for Line<'a> {
    fn from(line: ErrorLine<'a>) -> Self {
        Line::Error(line)
    }
}

/// How a recipient is shown: the username, or `#ID` for a group.
pub fn recipient_name(to: &Recipient) -> String {
    crate::target::label(to)
}
