//! Lines about people: profiles, friends, friend requests, categories,
//! blocks, presence and typing.

use quichat_proto::social::{
    Category, CategoryId, ContactsChange, Friend, FriendRequest, FriendRequestId, PresenceState,
    Profile, RequestState,
};
use quichat_proto::social::{Presence, TypingNotice};
use quichat_proto::types::ConversationId;
use serde::Serialize;

use super::media::MediaJson;
use crate::output::{local_time, preview, rfc3339, sanitize};

/// `{"type":"profile"}`: a user's profile.
#[derive(Debug, Serialize)]
pub struct ProfileLine {
    #[serde(skip_serializing_if = "Option::is_none")]
    event_seq: Option<u64>,
    username: String,
    display_name: String,
    status: String,
    avatar: Option<MediaJson>,
}

impl ProfileLine {
    /// From a profile; `event_seq` when it came from the event feed.
    pub fn new(p: &Profile, event_seq: Option<u64>) -> Self {
        ProfileLine {
            event_seq,
            username: p.username.clone(),
            display_name: p.display_name.clone(),
            status: p.status.clone(),
            avatar: p.avatar.as_ref().map(MediaJson::new),
        }
    }

    /// `bob (Bob B.) “at the lake” [avatar id 0190...]`.
    pub fn human(p: &Profile) -> String {
        let mut line = p.username.clone();
        if !p.display_name.is_empty() {
            line.push_str(&format!(" ({})", preview(&p.display_name, 64)));
        }
        if !p.status.is_empty() {
            line.push_str(&format!(" “{}”", sanitize(&p.status)));
        }
        if let Some(a) = &p.avatar {
            line.push_str(&format!(" [avatar id {}]", a.id));
        }
        line
    }
}

/// `{"type":"friend"}`: one friend.
#[derive(Debug, Serialize)]
pub struct FriendLine {
    username: String,
    display_name: String,
    status: String,
    category: Option<CategoryId>,
    since: String,
}

impl FriendLine {
    /// From a friend.
    pub fn new(f: &Friend) -> Self {
        FriendLine {
            username: f.profile.username.clone(),
            display_name: f.profile.display_name.clone(),
            status: f.profile.status.clone(),
            category: f.category,
            since: rfc3339(f.since_ms),
        }
    }

    /// `bob (Bob B.) “at the lake”  [family]`.
    pub fn human(f: &Friend, category: Option<&str>) -> String {
        let mut line = ProfileLine::human(&f.profile);
        if let Some(name) = category {
            line.push_str(&format!("  [{}]", sanitize(name)));
        }
        line
    }
}

/// `{"type":"friend_request"}`: a friend request and where it stands.
#[derive(Debug, Serialize)]
pub struct FriendRequestLine {
    #[serde(skip_serializing_if = "Option::is_none")]
    event_seq: Option<u64>,
    id: FriendRequestId,
    from: String,
    to: String,
    note: String,
    state: &'static str,
    created_at: String,
    updated_at: String,
}

impl FriendRequestLine {
    /// From a request; `event_seq` when it came from the event feed.
    pub fn new(r: &FriendRequest, event_seq: Option<u64>) -> Self {
        FriendRequestLine {
            event_seq,
            id: r.id,
            from: r.from.clone(),
            to: r.to.clone(),
            note: r.note.clone(),
            state: r.state.as_str(),
            created_at: rfc3339(r.created_at_ms),
            updated_at: rfc3339(r.updated_at_ms),
        }
    }

    /// The request seen by `me`: `friend request #4 from alice: “hi”
    /// (accept with: quichat friends accept 4)`, `alice and you are
    /// friends now`, ...
    pub fn human(r: &FriendRequest, me: &str) -> String {
        let mine = r.from == me;
        let other = if mine { &r.to } else { &r.from };
        let note = if r.note.is_empty() {
            String::new()
        } else {
            format!(": “{}”", sanitize(&r.note))
        };
        match (r.state, mine) {
            (RequestState::Pending, true) => format!("friend request #{} to {other} sent{note}", r.id),
            (RequestState::Pending, false) => format!(
                "friend request #{} from {other}{note} (answer with `friends accept {}` or `friends decline {}`)",
                r.id, r.id, r.id
            ),
            (RequestState::Accepted, _) => format!("you and {other} are friends now (request #{})", r.id),
            (RequestState::Declined, true) => format!("{other} declined your friend request #{}", r.id),
            (RequestState::Declined, false) => format!("you declined {other}'s friend request #{}", r.id),
            (RequestState::Cancelled, true) => format!("you withdrew friend request #{} to {other}", r.id),
            (RequestState::Cancelled, false) => format!("{other} withdrew friend request #{}", r.id),
        }
    }
}

/// `{"type":"category"}`: a friend category.
#[derive(Debug, Serialize)]
pub struct CategoryLine {
    id: CategoryId,
    name: String,
}

impl CategoryLine {
    /// From a category.
    pub fn new(c: &Category) -> Self {
        CategoryLine {
            id: c.id,
            name: c.name.clone(),
        }
    }

    /// `2  family`.
    pub fn human(c: &Category) -> String {
        format!("{:>4}  {}", c.id, sanitize(&c.name))
    }
}

/// `{"type":"blocked"}`: a user the account blocked.
#[derive(Debug, Serialize)]
pub struct BlockedLine {
    username: String,
}

impl BlockedLine {
    /// For a username.
    pub fn new(username: &str) -> Self {
        BlockedLine {
            username: username.to_string(),
        }
    }
}

/// What changed, as `change` in a `contacts` line.
#[derive(Debug, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
enum ChangeJson {
    FriendRemoved {
        username: String,
    },
    Blocked {
        username: String,
    },
    Unblocked {
        username: String,
    },
    CategorySaved {
        id: CategoryId,
        name: String,
    },
    CategoryDeleted {
        id: CategoryId,
    },
    FriendMoved {
        username: String,
        category: Option<CategoryId>,
    },
}

/// `{"type":"contacts"}`: the account's contacts changed.
#[derive(Debug, Serialize)]
pub struct ContactsLine {
    #[serde(skip_serializing_if = "Option::is_none")]
    event_seq: Option<u64>,
    #[serde(flatten)]
    change: ChangeJson,
}

impl ContactsLine {
    /// From a contacts event.
    pub fn new(c: &ContactsChange, event_seq: u64) -> Self {
        let change = match c.clone() {
            ContactsChange::FriendRemoved { username } => ChangeJson::FriendRemoved { username },
            ContactsChange::Blocked { username } => ChangeJson::Blocked { username },
            ContactsChange::Unblocked { username } => ChangeJson::Unblocked { username },
            ContactsChange::CategorySaved(Category { id, name }) => {
                ChangeJson::CategorySaved { id, name }
            }
            ContactsChange::CategoryDeleted { id } => ChangeJson::CategoryDeleted { id },
            ContactsChange::FriendMoved { username, category } => {
                ChangeJson::FriendMoved { username, category }
            }
        };
        ContactsLine {
            event_seq: Some(event_seq),
            change,
        }
    }

    /// A friendship this command ended (no event seq).
    pub fn removed(username: &str) -> Self {
        Self::direct(ChangeJson::FriendRemoved {
            username: username.to_string(),
        })
    }

    /// A block or unblock this command made.
    pub fn block(username: &str, block: bool) -> Self {
        let username = username.to_string();
        Self::direct(if block {
            ChangeJson::Blocked { username }
        } else {
            ChangeJson::Unblocked { username }
        })
    }

    /// A category this command deleted.
    pub fn category_deleted(id: CategoryId) -> Self {
        Self::direct(ChangeJson::CategoryDeleted { id })
    }

    /// A friend this command moved.
    pub fn moved(username: &str, category: Option<CategoryId>) -> Self {
        Self::direct(ChangeJson::FriendMoved {
            username: username.to_string(),
            category,
        })
    }

    fn direct(change: ChangeJson) -> Self {
        ContactsLine {
            event_seq: None,
            change,
        }
    }

    /// `bob is no longer your friend`, `blocked eve`, ...
    pub fn human(c: &ContactsChange) -> String {
        match c {
            ContactsChange::FriendRemoved { username } => {
                format!("you and {username} are no longer friends")
            }
            ContactsChange::Blocked { username } => format!("blocked {username}"),
            ContactsChange::Unblocked { username } => format!("unblocked {username}"),
            ContactsChange::CategorySaved(c) => {
                format!("category {} is “{}”", c.id, sanitize(&c.name))
            }
            ContactsChange::CategoryDeleted { id } => format!("category {id} deleted"),
            ContactsChange::FriendMoved {
                username,
                category: Some(id),
            } => format!("{username} moved to category {id}"),
            ContactsChange::FriendMoved {
                username,
                category: None,
            } => format!("{username} has no category now"),
        }
    }
}

/// `{"type":"presence"}`: a friend's online state.
#[derive(Debug, Serialize)]
pub struct PresenceLine {
    username: String,
    online: bool,
    last_seen: Option<String>,
}

impl PresenceLine {
    /// From a presence.
    pub fn new(p: &Presence) -> Self {
        let (online, last_seen) = match p.state {
            PresenceState::Online => (true, None),
            PresenceState::Offline { last_seen_ms } => (false, last_seen_ms.map(rfc3339)),
        };
        PresenceLine {
            username: p.username.clone(),
            online,
            last_seen,
        }
    }

    /// `● bob online`, `○ bob offline, last seen 2026-11-22 20:31:05` or
    /// `○ bob offline`.
    pub fn human(p: &Presence) -> String {
        match p.state {
            PresenceState::Online => format!("● {} online", p.username),
            PresenceState::Offline {
                last_seen_ms: Some(ms),
            } => format!("○ {} offline, last seen {}", p.username, local_time(ms)),
            PresenceState::Offline { last_seen_ms: None } => format!("○ {} offline", p.username),
        }
    }
}

/// `{"type":"typing"}`: someone is typing to the account.
#[derive(Debug, Serialize)]
pub struct TypingLine {
    from: String,
    conversation_id: Option<ConversationId>,
    expires_in_ms: u32,
}

impl TypingLine {
    /// From a typing notice.
    pub fn new(t: &TypingNotice) -> Self {
        TypingLine {
            from: t.from.clone(),
            conversation_id: t.conversation_id,
            expires_in_ms: t.expires_in_ms,
        }
    }

    /// `… bob is typing`.
    pub fn human(t: &TypingNotice) -> String {
        format!("… {} is typing", t.from)
    }
}
