//! Contacts and profiles: the values the `profile`, `contacts` and
//! `presence` domains and their events carry.

use serde::{Deserialize, Serialize};

use crate::media::{MediaId, MediaInfo};
use crate::types::ConversationId;

/// Server-assigned friend request id.
pub type FriendRequestId = i64;
/// Server-assigned friend category id.
pub type CategoryId = i64;

/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 64;
/// Longest status line ("signature"), in characters.
pub const MAX_STATUS_CHARS: usize = 140;
/// Longest note on a friend request, in characters.
pub const MAX_NOTE_CHARS: usize = 280;
/// Longest category name, in characters.
pub const MAX_CATEGORY_CHARS: usize = 64;

/// What everyone (who is not blocked) sees of a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// Username (the handle; never changes).
    pub username: String,
    /// Free-form name; empty when not set.
    pub display_name: String,
    /// Status line; empty when not set.
    pub status: String,
    /// The avatar image, when set (download its thumbnail or original).
    pub avatar: Option<MediaInfo>,
}

/// A change to the caller's own profile; `None` leaves a field as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileUpdate {
    /// New display name (empty clears it).
    pub display_name: Option<String>,
    /// New status line (empty clears it).
    pub status: Option<String>,
    /// `Some(Some(id))`: an uploaded image becomes the avatar;
    /// `Some(None)`: the avatar is removed.
    pub avatar: Option<Option<MediaId>>,
}

/// Where a friend request stands.
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
#[strum(serialize_all = "snake_case")]
pub enum RequestState {
    /// Waiting for the addressee.
    Pending,
    /// The addressee accepted: the two are friends.
    Accepted,
    /// The addressee declined.
    Declined,
    /// The sender withdrew it.
    Cancelled,
}

impl RequestState {
    /// Stable lower-case name (storage, CLI output).
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A friend request, as both sides see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FriendRequest {
    /// Request id.
    pub id: FriendRequestId,
    /// Who sent it.
    pub from: String,
    /// Who it is addressed to.
    pub to: String,
    /// The sender's note (may be empty).
    pub note: String,
    /// Where it stands.
    pub state: RequestState,
    /// When it was sent, Unix milliseconds.
    pub created_at_ms: i64,
    /// When its state last changed, Unix milliseconds.
    pub updated_at_ms: i64,
}

/// One friend of the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Friend {
    /// The friend's profile.
    pub profile: Profile,
    /// The caller's category for this friend, if any.
    pub category: Option<CategoryId>,
    /// Friends since, Unix milliseconds.
    pub since_ms: i64,
}

/// A named group of friends that the caller made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    /// Category id.
    pub id: CategoryId,
    /// Name, unique per user.
    pub name: String,
}

/// A change to the caller's contacts, synced to all of the caller's
/// devices (and, for a removed friendship, to the other side's).
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum ContactsChange {
    /// The friendship with `username` ended (either side removed it).
    FriendRemoved {
        /// The former friend.
        username: String,
    },
    /// The caller blocked `username`.
    Blocked {
        /// Who.
        username: String,
    },
    /// The caller unblocked `username`.
    Unblocked {
        /// Who.
        username: String,
    },
    /// A category was created or renamed.
    CategorySaved(Category),
    /// A category was deleted; its friends have no category now.
    CategoryDeleted {
        /// Which.
        id: CategoryId,
    },
    /// A friend moved to another category (or to none).
    FriendMoved {
        /// The friend.
        username: String,
        /// The new category.
        category: Option<CategoryId>,
    },
}

/// Online, or offline with the last time seen.
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
pub enum PresenceState {
    /// At least one device is connected.
    Online,
    /// No device is connected.
    Offline {
        /// When the last device disconnected, Unix milliseconds; `None`
        /// when the user hides it (or has never been online).
        last_seen_ms: Option<i64>,
    },
}

/// A user's presence, as the caller may see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    /// Whose.
    pub username: String,
    /// Online or offline.
    pub state: PresenceState,
}

/// Someone is typing to the caller (ephemeral: never stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypingNotice {
    /// Who is typing.
    pub from: String,
    /// Their direct conversation with the caller, if it exists yet.
    pub conversation_id: Option<ConversationId>,
    /// The indicator should disappear after this many milliseconds unless
    /// another notice refreshes it.
    pub expires_in_ms: u32,
}
