//! The groups domain: lifecycle, members, roles, invites, announcements.
//!
//! Every change is answered to the caller and recorded in the group's
//! timeline as a [`crate::types::MessageBody::System`] message, which
//! reaches every member (and the member it concerns) like any message.

use serde::{Deserialize, Serialize};

use crate::group::{GroupInfo, GroupMember, GroupRole, GroupSettings, Invite, InviteId};
use crate::media::MediaId;
use crate::types::ConversationId;

/// Group requests.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum Request {
    /// Create a group owned by the caller, with these first members (each
    /// must accept messages from the caller). Answered by
    /// [`Response::Group`].
    Create {
        /// Name.
        name: String,
        /// Description (may be empty).
        description: String,
        /// Usernames to add besides the caller.
        members: Vec<String>,
    },
    /// Answered by [`Response::Group`].
    Info {
        /// Which group.
        group: ConversationId,
    },
    /// The caller's groups (dissolved ones included), by name. Answered
    /// by [`Response::Groups`].
    List,
    /// Current members, owner first, then admins, then by join time.
    /// Answered by [`Response::Members`].
    Members {
        /// Which group.
        group: ConversationId,
    },
    /// Add people (admins, or members when the settings allow). Answered
    /// by [`Response::Group`].
    Add {
        /// Which group.
        group: ConversationId,
        /// Usernames.
        usernames: Vec<String>,
    },
    /// Remove a member (the owner removes anyone, admins remove members).
    /// Answered by [`Response::Done`].
    Remove {
        /// Which group.
        group: ConversationId,
        /// Who.
        username: String,
    },
    /// Leave. An owner who leaves hands the group to the oldest admin,
    /// else the oldest member; the last member leaving dissolves it.
    /// Answered by [`Response::Done`].
    Leave {
        /// Which group.
        group: ConversationId,
    },
    /// Make a member an admin, or an admin a member (owner only).
    /// Answered by [`Response::Done`].
    SetRole {
        /// Which group.
        group: ConversationId,
        /// Who.
        username: String,
        /// [`GroupRole::Admin`] or [`GroupRole::Member`].
        role: GroupRole,
    },
    /// Hand the group to another member (owner only); the old owner
    /// becomes an admin. Answered by [`Response::Done`].
    TransferOwnership {
        /// Which group.
        group: ConversationId,
        /// The new owner.
        to: String,
    },
    /// Answered by [`Response::Group`].
    Rename {
        /// Which group.
        group: ConversationId,
        /// New name.
        name: String,
    },
    /// Answered by [`Response::Group`].
    SetDescription {
        /// Which group.
        group: ConversationId,
        /// New description (empty clears it).
        description: String,
    },
    /// Set (an uploaded image the caller can see) or clear the avatar.
    /// Answered by [`Response::Group`].
    SetAvatar {
        /// Which group.
        group: ConversationId,
        /// The image, or `None`.
        avatar: Option<MediaId>,
    },
    /// What members may do (admins only). Answered by [`Response::Group`].
    SetSettings {
        /// Which group.
        group: ConversationId,
        /// New settings.
        settings: GroupSettings,
    },
    /// Pin an announcement (admins only); empty text unpins. Answered by
    /// [`Response::Group`].
    Announce {
        /// Which group.
        group: ConversationId,
        /// Text.
        text: String,
    },
    /// End the group (owner only): history stays readable, nothing new
    /// can be posted. Answered by [`Response::Done`].
    Dissolve {
        /// Which group.
        group: ConversationId,
    },
    /// Create an invite code. Answered by [`Response::Invite`], the only
    /// time the code is shown.
    CreateInvite {
        /// Which group.
        group: ConversationId,
        /// Seconds until it expires; `None`: never.
        expires_in_secs: Option<u64>,
        /// Joins it allows; `None`: unlimited.
        max_uses: Option<u32>,
    },
    /// Answered by [`Response::Done`].
    RevokeInvite {
        /// Which group.
        group: ConversationId,
        /// Which invite.
        invite: InviteId,
    },
    /// Live invite codes (admins, or whoever may invite). Answered by
    /// [`Response::Invites`].
    Invites {
        /// Which group.
        group: ConversationId,
    },
    /// Join with an invite code. Answered by [`Response::Group`].
    Join {
        /// The code.
        code: String,
    },
}

/// Group responses.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum Response {
    /// The group as it stands now.
    Group(GroupInfo),
    /// The caller's groups.
    Groups(Vec<GroupInfo>),
    /// Members.
    Members(Vec<GroupMember>),
    /// A new invite, with its code.
    Invite(Invite),
    /// Live invites, without codes.
    Invites(Vec<Invite>),
    /// Done.
    Done,
}
