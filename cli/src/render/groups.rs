//! Lines about groups: a group, its members, invite codes, changes made
//! by `group ...` commands, the notices in a group's timeline, and
//! `whoread`.

use quichat_client::WhoRead;
use quichat_proto::group::{
    Announcement, GroupInfo, GroupMember, GroupNotice, GroupRole, GroupSettings, Invite, InviteId,
};
use quichat_proto::media::MediaId;
use quichat_proto::types::{ConversationId, GroupBrief};
use serde::Serialize;

use crate::output::{local_time, preview, rfc3339, sanitize};

/// Longest group name shown in human output.
const NAME_CHARS: usize = 80;

/// `“fam”`: a group name for people, on one line.
pub fn quoted_name(name: &str) -> String {
    format!("“{}”", preview(name, NAME_CHARS))
}

/// `the owner`, `an admin`, `a member`.
fn role_phrase(role: GroupRole) -> &'static str {
    match role {
        GroupRole::Owner => "the owner",
        GroupRole::Admin => "an admin",
        GroupRole::Member => "a member",
    }
}

/// `1 member`, `3 members`.
pub fn members_human(n: u32) -> String {
    if n == 1 {
        "1 member".to_string()
    } else {
        format!("{n} members")
    }
}

/// `on`/`off`.
fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

/// `members may edit info: off, invite: on`.
pub fn settings_human(s: &GroupSettings) -> String {
    format!(
        "members may edit info: {}, invite: {}",
        on_off(s.members_edit_info),
        on_off(s.members_invite)
    )
}

/// The `notice` object of a system message: what changed in the group,
/// as `change` plus its fields.
#[derive(Debug, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum NoticeJson {
    /// `by` created the group.
    Created { by: String, name: String },
    /// `by` added `members`.
    Added { by: String, members: Vec<String> },
    /// `username` joined with an invite code.
    Joined { username: String },
    /// `username` left.
    Left { username: String },
    /// `by` removed `username`.
    Removed { by: String, username: String },
    /// `by` renamed the group.
    Renamed { by: String, name: String },
    /// `by` changed the description.
    DescriptionChanged { by: String, description: String },
    /// `by` set or removed the avatar.
    AvatarChanged { by: String, avatar: Option<MediaId> },
    /// `by` gave `username` a role.
    RoleChanged {
        by: String,
        username: String,
        role: &'static str,
    },
    /// Ownership passed on.
    OwnerChanged { from: String, to: String },
    /// `by` pinned `text` (empty: unpinned).
    Announced { by: String, text: String },
    /// `by` changed what members may do.
    SettingsChanged { by: String, settings: GroupSettings },
    /// The owner dissolved the group.
    Dissolved { by: String },
}

impl NoticeJson {
    /// From a notice.
    pub fn new(n: &GroupNotice) -> Self {
        match n.clone() {
            GroupNotice::Created { by, name } => NoticeJson::Created { by, name },
            GroupNotice::Added { by, members } => NoticeJson::Added { by, members },
            GroupNotice::Joined { username } => NoticeJson::Joined { username },
            GroupNotice::Left { username } => NoticeJson::Left { username },
            GroupNotice::Removed { by, username } => NoticeJson::Removed { by, username },
            GroupNotice::Renamed { by, name } => NoticeJson::Renamed { by, name },
            GroupNotice::DescriptionChanged { by, description } => {
                NoticeJson::DescriptionChanged { by, description }
            }
            GroupNotice::AvatarChanged { by, avatar } => NoticeJson::AvatarChanged { by, avatar },
            GroupNotice::RoleChanged { by, username, role } => NoticeJson::RoleChanged {
                by,
                username,
                role: role.as_str(),
            },
            GroupNotice::OwnerChanged { from, to } => NoticeJson::OwnerChanged { from, to },
            GroupNotice::Announced { by, text } => NoticeJson::Announced { by, text },
            GroupNotice::SettingsChanged { by, settings } => {
                NoticeJson::SettingsChanged { by, settings }
            }
            GroupNotice::Dissolved { by } => NoticeJson::Dissolved { by },
        }
    }
}

/// What a notice says, not yet made safe for a terminal (the group name,
/// description and announcement are other people's text): `alice added
/// bob, carol`, `bob left`, `alice renamed the group to “fam”`, ...
pub fn notice_text(n: &GroupNotice) -> String {
    match n {
        GroupNotice::Created { by, name } => format!("{by} created the group “{name}”"),
        GroupNotice::Added { by, members } => format!("{by} added {}", members.join(", ")),
        GroupNotice::Joined { username } => format!("{username} joined with an invite code"),
        GroupNotice::Left { username } => format!("{username} left"),
        GroupNotice::Removed { by, username } => format!("{by} removed {username}"),
        GroupNotice::Renamed { by, name } => format!("{by} renamed the group to “{name}”"),
        GroupNotice::DescriptionChanged { by, description } if description.is_empty() => {
            format!("{by} cleared the description")
        }
        GroupNotice::DescriptionChanged { by, description } => {
            format!("{by} changed the description to “{description}”")
        }
        GroupNotice::AvatarChanged {
            by,
            avatar: Some(id),
        } => format!("{by} changed the group picture (id {id})"),
        GroupNotice::AvatarChanged { by, avatar: None } => {
            format!("{by} removed the group picture")
        }
        GroupNotice::RoleChanged { by, username, role } => {
            format!("{by} made {username} {}", role_phrase(*role))
        }
        GroupNotice::OwnerChanged { from, to } => {
            format!("ownership passed from {from} to {to}")
        }
        GroupNotice::Announced { by, text } if text.is_empty() => {
            format!("{by} unpinned the announcement")
        }
        GroupNotice::Announced { by, text } => format!("{by} pinned: {text}"),
        GroupNotice::SettingsChanged { by, settings } => {
            format!("{by} changed the settings: {}", settings_human(settings))
        }
        GroupNotice::Dissolved { by } => format!("{by} dissolved the group"),
    }
}

/// A notice as a system line for people: `* alice added bob, carol`.
pub fn notice_human(n: &GroupNotice) -> String {
    format!("* {}", sanitize(&notice_text(n)))
}

/// The pinned announcement in JSON.
#[derive(Debug, Serialize)]
struct AnnouncementJson {
    text: String,
    by: String,
    at: String,
}

impl AnnouncementJson {
    fn new(a: &Announcement) -> Self {
        AnnouncementJson {
            text: a.text.clone(),
            by: a.by.clone(),
            at: rfc3339(a.at_ms),
        }
    }
}

/// `{"type":"group"}`: a group as the caller sees it.
#[derive(Debug, Serialize)]
pub struct GroupLine {
    id: ConversationId,
    name: String,
    description: String,
    avatar: Option<MediaId>,
    owner: String,
    member_count: u32,
    my_role: &'static str,
    settings: GroupSettings,
    announcement: Option<AnnouncementJson>,
    created_at: String,
    dissolved: bool,
}

impl GroupLine {
    /// From the server's group info.
    pub fn new(g: &GroupInfo) -> Self {
        GroupLine {
            id: g.id,
            name: g.name.clone(),
            description: g.description.clone(),
            avatar: g.avatar,
            owner: g.owner.clone(),
            member_count: g.member_count,
            my_role: g.my_role.as_str(),
            settings: g.settings,
            announcement: g.announcement.as_ref().map(AnnouncementJson::new),
            created_at: rfc3339(g.created_at_ms),
            dissolved: g.dissolved,
        }
    }

    /// `#12 “fam”: 3 members, you are an admin` (`, dissolved`).
    pub fn human(g: &GroupInfo) -> String {
        let mut line = format!(
            "#{} {}: {}, you are {}",
            g.id,
            quoted_name(&g.name),
            members_human(g.member_count),
            role_phrase(g.my_role)
        );
        if g.dissolved {
            line.push_str(", dissolved");
        }
        line
    }

    /// `group info`: the summary, then the owner, description,
    /// announcement, settings and creation time on indented lines.
    pub fn details(g: &GroupInfo) -> String {
        let mut out = Self::human(g);
        if !g.owner.is_empty() {
            out.push_str(&format!("\n  owner: {}", g.owner));
        }
        if !g.description.is_empty() {
            out.push_str(&format!("\n  description: {}", sanitize(&g.description)));
        }
        if let Some(a) = &g.announcement {
            out.push_str(&format!(
                "\n  pinned by {} at {}: {}",
                a.by,
                local_time(a.at_ms),
                sanitize(&a.text)
            ));
        }
        if let Some(id) = g.avatar {
            out.push_str(&format!("\n  picture: id {id}"));
        }
        out.push_str(&format!("\n  {}", settings_human(&g.settings)));
        out.push_str(&format!("\n  created {}", local_time(g.created_at_ms)));
        out
    }
}

/// The `group` object of a `chat` line.
#[derive(Debug, Serialize)]
pub struct GroupBriefJson {
    name: String,
    member_count: u32,
    my_role: &'static str,
    dissolved: bool,
}

impl GroupBriefJson {
    /// From the conversation list's group part.
    pub fn new(g: &GroupBrief) -> Self {
        GroupBriefJson {
            name: g.name.clone(),
            member_count: g.member_count,
            my_role: g.my_role.as_str(),
            dissolved: g.dissolved,
        }
    }
}

/// `#12 “fam” (3 members, 2 unread)`: how `chats` names a group
/// (`dissolved` instead of the size once it is).
pub fn brief_human(id: ConversationId, g: &GroupBrief, unread: u64) -> String {
    let size = if g.dissolved {
        "dissolved".to_string()
    } else {
        members_human(g.member_count)
    };
    let unread = if unread > 0 {
        format!(", {unread} unread")
    } else {
        String::new()
    };
    format!("#{id} {} ({size}{unread})", quoted_name(&g.name))
}

/// `{"type":"group_member"}`: one member of a group.
#[derive(Debug, Serialize)]
pub struct GroupMemberLine {
    group_id: ConversationId,
    username: String,
    role: &'static str,
    joined_at: String,
}

impl GroupMemberLine {
    /// From a member of group `group_id`.
    pub fn new(group_id: ConversationId, m: &GroupMember) -> Self {
        GroupMemberLine {
            group_id,
            username: m.username.clone(),
            role: m.role.as_str(),
            joined_at: rfc3339(m.joined_at_ms),
        }
    }

    /// `admin   bob  (joined 2026-12-02 10:00:00)`.
    pub fn human(m: &GroupMember) -> String {
        format!(
            "{:<7} {}  (joined {})",
            m.role.as_str(),
            m.username,
            local_time(m.joined_at_ms)
        )
    }
}

/// `{"type":"invite"}`: an invite code (`code` only when just created).
#[derive(Debug, Serialize)]
pub struct InviteLine {
    id: InviteId,
    group_id: ConversationId,
    code: Option<String>,
    created_by: String,
    expires_at: Option<String>,
    max_uses: Option<u32>,
    uses: u32,
}

impl InviteLine {
    /// From an invite.
    pub fn new(i: &Invite) -> Self {
        InviteLine {
            id: i.id,
            group_id: i.group_id,
            code: i.code.clone(),
            created_by: i.created_by.clone(),
            expires_at: i.expires_at_ms.map(rfc3339),
            max_uses: i.max_uses,
            uses: i.uses,
        }
    }

    /// `2 of 5 uses, expires 2026-12-09 10:00:00` / `no uses yet, unlimited,
    /// never expires`.
    fn limits(i: &Invite) -> String {
        let uses = match i.max_uses {
            Some(max) => format!("{} of {max} uses", i.uses),
            None if i.uses == 1 => "1 use, unlimited".to_string(),
            None => format!("{} uses, unlimited", i.uses),
        };
        let expiry = match i.expires_at_ms {
            Some(ms) => format!("expires {}", local_time(ms)),
            None => "never expires".to_string(),
        };
        format!("{uses}, {expiry}")
    }

    /// A new invite, with its code on a line of its own and the warning
    /// that it is shown once:
    ///
    /// ```text
    /// invite code for #12 (invite 3):
    ///
    ///     Xk3v-...
    ///
    /// This code is shown only once: copy it now. Whoever has it joins with
    /// `quichat group join Xk3v-...` (0 of 5 uses, expires ...).
    /// ```
    pub fn created_human(i: &Invite) -> String {
        let code = i.code.as_deref().unwrap_or("(the server sent no code)");
        format!(
            "invite code for #{} (invite {}):\n\n    {code}\n\n\
             This code is shown only once: copy it now. Whoever has it joins with\n\
             `quichat group join {code}` ({}).",
            i.group_id,
            i.id,
            Self::limits(i)
        )
    }

    /// `invite 3 by alice: 1 of 5 uses, expires 2026-12-09 10:00:00`.
    pub fn human(i: &Invite) -> String {
        format!("invite {} by {}: {}", i.id, i.created_by, Self::limits(i))
    }
}

/// `{"type":"group_action"}`: a `group` command that changed something
/// and got no group back (kick, leave, promote, demote, transfer,
/// dissolve, revoke-invite).
#[derive(Debug, Serialize)]
pub struct GroupActionLine {
    group_id: ConversationId,
    action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    invite_id: Option<InviteId>,
}

impl GroupActionLine {
    fn new(group_id: ConversationId, action: &'static str) -> Self {
        GroupActionLine {
            group_id,
            action,
            username: None,
            role: None,
            invite_id: None,
        }
    }

    /// `removed`: `username` was removed.
    pub fn removed(group_id: ConversationId, username: &str) -> Self {
        GroupActionLine {
            username: Some(username.to_string()),
            ..Self::new(group_id, "removed")
        }
    }

    /// `left`: the caller left.
    pub fn left(group_id: ConversationId) -> Self {
        Self::new(group_id, "left")
    }

    /// `role_changed`: `username` has `role` now.
    pub fn role(group_id: ConversationId, username: &str, role: GroupRole) -> Self {
        GroupActionLine {
            username: Some(username.to_string()),
            role: Some(role.as_str()),
            ..Self::new(group_id, "role_changed")
        }
    }

    /// `transferred`: `username` owns the group now.
    pub fn transferred(group_id: ConversationId, username: &str) -> Self {
        GroupActionLine {
            username: Some(username.to_string()),
            ..Self::new(group_id, "transferred")
        }
    }

    /// `dissolved`.
    pub fn dissolved(group_id: ConversationId) -> Self {
        Self::new(group_id, "dissolved")
    }

    /// `invite_revoked`.
    pub fn invite_revoked(group_id: ConversationId, invite_id: InviteId) -> Self {
        GroupActionLine {
            invite_id: Some(invite_id),
            ..Self::new(group_id, "invite_revoked")
        }
    }
}

/// `{"type":"who_read"}`: who has read, received, or not yet received one
/// of the caller's messages.
#[derive(Debug, Serialize)]
pub struct WhoReadLine {
    conversation_id: ConversationId,
    seq: u64,
    read: Vec<String>,
    delivered: Vec<String>,
    waiting: Vec<String>,
}

impl WhoReadLine {
    /// From the server's answer about message `seq`.
    pub fn new(conversation_id: ConversationId, seq: u64, w: &WhoRead) -> Self {
        WhoReadLine {
            conversation_id,
            seq,
            read: w.read.clone(),
            delivered: w.delivered.clone(),
            waiting: w.waiting.clone(),
        }
    }

    /// ```text
    /// #3 in #12: read by 1 of 3
    ///   read:      bob
    ///   delivered: carol
    ///   waiting:   (nobody)
    /// ```
    ///
    /// `with` names the conversation (`#12`, or `bob`: `#3 to bob: ...`).
    pub fn human(with: &str, seq: u64, w: &WhoRead) -> String {
        let total = w.read.len() + w.delivered.len() + w.waiting.len();
        let list = |names: &[String]| {
            if names.is_empty() {
                "(nobody)".to_string()
            } else {
                names.join(", ")
            }
        };
        let place = if with.starts_with('#') { "in" } else { "to" };
        format!(
            "#{seq} {place} {with}: read by {} of {total}\n  read:      {}\n  delivered: {}\n  waiting:   {}",
            w.read.len(),
            list(&w.read),
            list(&w.delivered),
            list(&w.waiting)
        )
    }
}
