//! Groups: the values the `groups` domain, group messages and their
//! system notices carry.
//!
//! A group is a conversation with more than two members, a name, and
//! roles. Its id is its [`ConversationId`]; messages to it are addressed
//! with [`crate::types::Recipient::Group`].

use serde::{Deserialize, Serialize};

use crate::media::MediaId;
use crate::types::ConversationId;

/// Longest group name, in characters.
pub const MAX_GROUP_NAME_CHARS: usize = 80;
/// Longest group description, in characters.
pub const MAX_GROUP_DESCRIPTION_CHARS: usize = 1024;
/// Longest announcement, in characters.
pub const MAX_ANNOUNCEMENT_CHARS: usize = 4096;

/// Server-assigned invite id (the code itself is a secret shown once).
pub type InviteId = i64;

/// A member's role. The permission table is in ARCHITECTURE.md.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::EnumCount,
    strum::IntoStaticStr,
)]
#[strum(serialize_all = "snake_case")]
pub enum GroupRole {
    /// Posts, reads, leaves.
    Member,
    /// Also adds and removes members, edits the group, announces.
    Admin,
    /// One per group: also promotes, demotes, transfers and dissolves.
    Owner,
}

impl GroupRole {
    /// `member`, `admin` or `owner`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// What members who are not admins may do; admins and the owner may
/// always do all of it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupSettings {
    /// Members may rename the group and change its description and avatar.
    pub members_edit_info: bool,
    /// Members may add people and create invite codes.
    pub members_invite: bool,
}

/// The pinned announcement of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announcement {
    /// Text.
    pub text: String,
    /// Username of the admin who posted it.
    pub by: String,
    /// Server time, Unix milliseconds.
    pub at_ms: i64,
}

/// A group as one of its members sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupInfo {
    /// The group's conversation id.
    pub id: ConversationId,
    /// Name.
    pub name: String,
    /// Description (may be empty).
    pub description: String,
    /// Avatar image, if set.
    pub avatar: Option<MediaId>,
    /// Username of the owner (empty once dissolved).
    pub owner: String,
    /// Current number of members.
    pub member_count: u32,
    /// The caller's role.
    pub my_role: GroupRole,
    /// What members may do.
    pub settings: GroupSettings,
    /// The pinned announcement.
    pub announcement: Option<Announcement>,
    /// Creation time, Unix milliseconds.
    pub created_at_ms: i64,
    /// True once the owner dissolved it: history stays, nothing new.
    pub dissolved: bool,
}

/// One member of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMember {
    /// Username.
    pub username: String,
    /// Role.
    pub role: GroupRole,
    /// When they joined, Unix milliseconds.
    pub joined_at_ms: i64,
}

/// An invite code of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    /// Id, for revoking.
    pub id: InviteId,
    /// The group.
    pub group_id: ConversationId,
    /// The code: only in the answer to its creation (the server keeps a
    /// hash of it).
    pub code: Option<String>,
    /// Who created it.
    pub created_by: String,
    /// When it stops working, Unix milliseconds; `None`: never.
    pub expires_at_ms: Option<i64>,
    /// How many joins it allows; `None`: unlimited.
    pub max_uses: Option<u32>,
    /// How many joins it has had.
    pub uses: u32,
}

/// A change to a group, recorded in its timeline as a system message.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum GroupNotice {
    /// `by` created the group.
    Created {
        /// Creator.
        by: String,
        /// Name.
        name: String,
    },
    /// `by` added people.
    Added {
        /// Who added them.
        by: String,
        /// Usernames.
        members: Vec<String>,
    },
    /// `username` joined with an invite code.
    Joined {
        /// Who.
        username: String,
    },
    /// `username` left.
    Left {
        /// Who.
        username: String,
    },
    /// `by` removed `username`.
    Removed {
        /// Admin or owner.
        by: String,
        /// Who.
        username: String,
    },
    /// `by` renamed the group.
    Renamed {
        /// Who.
        by: String,
        /// New name.
        name: String,
    },
    /// `by` changed the description.
    DescriptionChanged {
        /// Who.
        by: String,
        /// New description.
        description: String,
    },
    /// `by` set or removed the avatar.
    AvatarChanged {
        /// Who.
        by: String,
        /// The new avatar.
        avatar: Option<MediaId>,
    },
    /// `by` made `username` an admin or a member.
    RoleChanged {
        /// The owner.
        by: String,
        /// Who.
        username: String,
        /// New role.
        role: GroupRole,
    },
    /// Ownership passed from `from` to `to` (a transfer, or the owner
    /// leaving).
    OwnerChanged {
        /// Previous owner.
        from: String,
        /// New owner.
        to: String,
    },
    /// `by` pinned an announcement.
    Announced {
        /// Who.
        by: String,
        /// Text.
        text: String,
    },
    /// `by` changed what members may do.
    SettingsChanged {
        /// Who.
        by: String,
        /// New settings.
        settings: GroupSettings,
    },
    /// The owner dissolved the group.
    Dissolved {
        /// The owner.
        by: String,
    },
}
