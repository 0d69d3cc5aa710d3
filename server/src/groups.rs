//! Groups: lifecycle, members and roles, invite codes, announcements.
//!
//! A group is a conversation of kind `group`. Every change runs in one
//! write transaction that locks the group's row first (PostgreSQL:
//! `FOR UPDATE`; SQLite has one writer), checks the caller's role against
//! the permission table (ARCHITECTURE.md), changes the rows, and records a
//! [`GroupNotice`] in the group's timeline as a system message, whose
//! events reach every member (and the member the change concerns) through
//! the batched [`crate::events::append_event`].
//!
//! Invariants: a live group has exactly one owner; `member_count` equals
//! its membership rows; a member sees messages with `seq > joined_seq`, so
//! someone who joins sees history from their join on; leaving deletes the
//! membership, so an ex-member is refused everything, like an outsider.

use base64::Engine;
use quichat_proto::event::EventBody;
use quichat_proto::group::{
    Announcement, GroupInfo, GroupMember, GroupNotice, GroupRole, GroupSettings, Invite, InviteId,
    MAX_ANNOUNCEMENT_CHARS, MAX_GROUP_DESCRIPTION_CHARS, MAX_GROUP_NAME_CHARS,
};
use quichat_proto::media::MediaId;
use quichat_proto::types::{ConversationId, Message, MessageBody, Recipient, UserId};
use rand::RngCore;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use crate::accounts::{token_hash, Accounts, Session};
use crate::config::GroupsConfig;
use crate::contacts::Contacts;
use crate::error::{ServiceError, StoreError};
use crate::events::{append_event, Fanout, NewEvent};
use crate::messages::{insert_row, MessageRow};
use crate::profiles::{clean_text, Profiles};
use crate::store::{get_u64, now_ms, to_i64, Backend, Store};

/// Longest invite code accepted (longer input is refused unhashed).
const MAX_CODE_LEN: usize = 64;

const SETTING_MEMBERS_EDIT_INFO: i64 = 1;
const SETTING_MEMBERS_INVITE: i64 = 2;

fn role_to_i64(role: GroupRole) -> i64 {
    match role {
        GroupRole::Member => 0,
        GroupRole::Admin => 1,
        GroupRole::Owner => 2,
    }
}

pub(crate) fn role_from_i64(n: i64) -> GroupRole {
    match n {
        2 => GroupRole::Owner,
        1 => GroupRole::Admin,
        _ => GroupRole::Member,
    }
}

fn settings_to_i64(s: GroupSettings) -> i64 {
    (if s.members_edit_info {
        SETTING_MEMBERS_EDIT_INFO
    } else {
        0
    }) | (if s.members_invite {
        SETTING_MEMBERS_INVITE
    } else {
        0
    })
}

fn settings_from_i64(n: i64) -> GroupSettings {
    GroupSettings {
        members_edit_info: n & SETTING_MEMBERS_EDIT_INFO != 0,
        members_invite: n & SETTING_MEMBERS_INVITE != 0,
    }
}

fn not_found(group: ConversationId) -> ServiceError {
    ServiceError::NotFound(format!("group {group} not found"))
}

fn forbidden(what: &str) -> ServiceError {
    ServiceError::Forbidden(what.to_string())
}

/// What a write transaction learns about a group and the caller once it
/// holds the group's lock.
struct Locked {
    id: ConversationId,
    role: GroupRole,
    settings: GroupSettings,
    member_count: u32,
    dissolved: bool,
    last_seq: u64,
}

impl Locked {
    fn require_live(&self) -> Result<(), ServiceError> {
        if self.dissolved {
            return Err(forbidden("the group was dissolved; nothing can change"));
        }
        Ok(())
    }

    fn require(&self, at_least: GroupRole, what: &str) -> Result<(), ServiceError> {
        if self.role < at_least {
            return Err(ServiceError::Forbidden(format!(
                "only the {} {what}",
                if at_least == GroupRole::Owner {
                    "owner may"
                } else {
                    "owner and admins may"
                }
            )));
        }
        Ok(())
    }

    fn may_invite(&self) -> Result<(), ServiceError> {
        if self.settings.members_invite {
            return Ok(());
        }
        self.require(GroupRole::Admin, "add people or make invite codes")
    }

    fn may_edit_info(&self) -> Result<(), ServiceError> {
        if self.settings.members_edit_info {
            return Ok(());
        }
        self.require(
            GroupRole::Admin,
            "change the name, description or avatar of this group",
        )
    }
}

/// Columns of [`GroupInfo`] (`g_*`), from `conversations c` joined with the
/// caller's membership `me` and the announcement's author `ab`.
const INFO_COLUMNS: &str = "c.id AS g_id, c.name AS g_name, c.description AS g_description, \
     c.avatar_media_id AS g_avatar, c.settings AS g_settings, c.announcement AS g_announcement, \
     c.announcement_at AS g_announcement_at, ab.username AS g_announcement_by, \
     c.member_count AS g_member_count, c.dissolved_at AS g_dissolved_at, \
     c.created_at AS g_created_at, me.role AS g_my_role, \
     (SELECT ou.username FROM conversation_members o JOIN users ou ON ou.id = o.user_id \
      WHERE o.conversation_id = c.id AND o.role = 2) AS g_owner";

const INFO_FROM: &str = "FROM conversations c \
     JOIN conversation_members me ON me.conversation_id = c.id \
     LEFT JOIN users ab ON ab.id = c.announcement_by";

fn info_from_row(row: &AnyRow) -> Result<GroupInfo, ServiceError> {
    let avatar: Option<String> = row.try_get("g_avatar")?;
    let announcement: Option<String> = row.try_get("g_announcement")?;
    let dissolved: Option<i64> = row.try_get("g_dissolved_at")?;
    Ok(GroupInfo {
        id: row.try_get("g_id")?,
        name: row.try_get("g_name")?,
        description: row.try_get("g_description")?,
        avatar: avatar.and_then(|a| a.parse::<MediaId>().ok()),
        owner: row
            .try_get::<Option<String>, _>("g_owner")?
            .unwrap_or_default(),
        member_count: u32::try_from(get_u64(row, "g_member_count")?).unwrap_or(u32::MAX),
        my_role: role_from_i64(row.try_get("g_my_role")?),
        settings: settings_from_i64(row.try_get("g_settings")?),
        announcement: match announcement {
            Some(text) => Some(Announcement {
                text,
                by: row
                    .try_get::<Option<String>, _>("g_announcement_by")?
                    .unwrap_or_default(),
                at_ms: row
                    .try_get::<Option<i64>, _>("g_announcement_at")?
                    .unwrap_or_default(),
            }),
            None => None,
        },
        created_at_ms: row.try_get("g_created_at")?,
        dissolved: dissolved.is_some(),
    })
}

/// Inside a write transaction: takes the next seq of group `group` for a
/// message from `sender`, and returns it with the members (every one of
/// whom gets the message). Locks the group's row until commit.
pub async fn next_group_seq(
    tx: &mut Transaction<'static, Any>,
    group: ConversationId,
    sender: UserId,
    now: i64,
) -> Result<(u64, Vec<UserId>), ServiceError> {
    let row = sqlx::query(
        "UPDATE conversations SET last_seq = last_seq + 1, last_message_at = $2 \
         WHERE id = $1 AND kind = 'group' RETURNING last_seq, dissolved_at",
    )
    .bind(group)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await
    .map_err(StoreError::Db)?
    .ok_or_else(|| not_found(group))?;
    let members = members_of(tx, group).await?;
    if !members.contains(&sender) {
        return Err(not_found(group));
    }
    if row.try_get::<Option<i64>, _>("dissolved_at")?.is_some() {
        return Err(forbidden("the group was dissolved; nothing can be posted"));
    }
    Ok((get_u64(&row, "last_seq")?, members))
}

async fn members_of(
    tx: &mut Transaction<'static, Any>,
    group: ConversationId,
) -> Result<Vec<UserId>, ServiceError> {
    Ok(
        sqlx::query("SELECT user_id FROM conversation_members WHERE conversation_id = $1")
            .bind(group)
            .fetch_all(&mut **tx)
            .await
            .map_err(StoreError::Db)?
            .iter()
            .map(|r| r.try_get("user_id"))
            .collect::<Result<_, _>>()?,
    )
}

/// The groups service.
#[derive(Debug, Clone)]
pub struct Groups {
    store: Store,
    accounts: Accounts,
    contacts: Contacts,
    profiles: Profiles,
    config: GroupsConfig,
}

impl Groups {
    /// Wraps the store.
    pub fn new(
        store: Store,
        accounts: Accounts,
        contacts: Contacts,
        profiles: Profiles,
        config: GroupsConfig,
    ) -> Self {
        Groups {
            store,
            accounts,
            contacts,
            profiles,
            config,
        }
    }

    fn backend(&self) -> Backend {
        self.store.backend()
    }

    /// The group as `session` sees it; `NotFound` unless a member.
    pub async fn info(
        &self,
        session: &Session,
        group: ConversationId,
    ) -> Result<GroupInfo, ServiceError> {
        let sql = format!(
            "SELECT {INFO_COLUMNS} {INFO_FROM} \
             WHERE c.id = $1 AND c.kind = 'group' AND me.user_id = $2"
        );
        let row = sqlx::query(&sql)
            .bind(group)
            .bind(session.user_id)
            .fetch_optional(self.store.pool())
            .await?
            .ok_or_else(|| not_found(group))?;
        info_from_row(&row)
    }

    /// The caller's groups, by name.
    pub async fn list(&self, session: &Session) -> Result<Vec<GroupInfo>, ServiceError> {
        let sql = format!(
            "SELECT {INFO_COLUMNS} {INFO_FROM} \
             WHERE c.kind = 'group' AND me.user_id = $1 ORDER BY c.name, c.id"
        );
        sqlx::query(&sql)
            .bind(session.user_id)
            .fetch_all(self.store.pool())
            .await?
            .iter()
            .map(info_from_row)
            .collect()
    }

    /// Current members: owner, admins, then members, each by join time.
    pub async fn members(
        &self,
        session: &Session,
        group: ConversationId,
    ) -> Result<Vec<GroupMember>, ServiceError> {
        self.info(session, group).await?;
        sqlx::query(
            "SELECT u.username AS username, m.role AS role, m.joined_at AS joined_at \
             FROM conversation_members m JOIN users u ON u.id = m.user_id \
             WHERE m.conversation_id = $1 ORDER BY m.role DESC, m.joined_at, m.user_id",
        )
        .bind(group)
        .fetch_all(self.store.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(GroupMember {
                username: r.try_get("username")?,
                role: role_from_i64(r.try_get("role")?),
                joined_at_ms: r.try_get("joined_at")?,
            })
        })
        .collect()
    }

    /// Resolves usernames to ids (deduplicated, without the caller), each
    /// of whom must accept messages from the caller.
    async fn addable(
        &self,
        session: &Session,
        usernames: &[String],
    ) -> Result<Vec<(UserId, String)>, ServiceError> {
        if usernames.len() > self.config.max_members as usize {
            return Err(ServiceError::GroupFull(format!(
                "a group has at most {} members",
                self.config.max_members
            )));
        }
        let mut out: Vec<(UserId, String)> = Vec::with_capacity(usernames.len());
        for name in usernames {
            let id = self.accounts.user_id(name).await?;
            if id == session.user_id || out.iter().any(|(o, _)| *o == id) {
                continue;
            }
            self.contacts.check_delivery(session.user_id, id).await?;
            out.push((id, name.trim().to_lowercase()));
        }
        Ok(out)
    }

    fn check_room(&self, current: u32, adding: usize) -> Result<(), ServiceError> {
        let max = self.config.max_members as usize;
        if current as usize + adding > max {
            return Err(ServiceError::GroupFull(format!(
                "the group has {current} members; adding {adding} would pass the limit of {max}"
            )));
        }
        Ok(())
    }

    /// Creates a group owned by the caller.
    pub async fn create(
        &self,
        session: &Session,
        name: &str,
        description: &str,
        members: &[String],
    ) -> Result<(GroupInfo, Fanout), ServiceError> {
        let name = group_name(name)?;
        let description = clean_text("description", description, MAX_GROUP_DESCRIPTION_CHARS)?;
        let added = self.addable(session, members).await?;
        self.check_room(1, added.len())?;
        let now = now_ms();
        let mut w = self.store.begin_write().await?;
        let recent = sqlx::query(
            "SELECT COUNT(*) AS n FROM conversations WHERE created_by = $1 AND created_at > $2",
        )
        .bind(session.user_id)
        .bind(now - 24 * 3600 * 1000)
        .fetch_one(&mut *w.tx)
        .await
        .map_err(StoreError::Db)?;
        if get_u64(&recent, "n")? >= u64::from(self.config.creates_per_day) {
            return Err(ServiceError::RateLimited {
                retry_after: std::time::Duration::from_secs(3600),
            });
        }
        let row = sqlx::query(
            "INSERT INTO conversations (kind, last_seq, last_message_at, created_at, name, \
             description, member_count, created_by) \
             VALUES ('group', 0, $1, $1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(now)
        .bind(&name)
        .bind(&description)
        .bind(i64::try_from(added.len() + 1).unwrap_or(i64::MAX))
        .bind(session.user_id)
        .fetch_one(&mut *w.tx)
        .await
        .map_err(StoreError::Db)?;
        let id: ConversationId = row.try_get("id")?;
        let mut rows = vec![(session.user_id, GroupRole::Owner)];
        rows.extend(added.iter().map(|(u, _)| (*u, GroupRole::Member)));
        insert_members(&mut w.tx, id, &rows, 0, now).await?;
        let mut fanout = post_notice(
            &mut w.tx,
            self.backend(),
            id,
            session,
            GroupNotice::Created {
                by: session.username.clone(),
                name,
            },
            now,
        )
        .await?;
        if !added.is_empty() {
            fanout.extend(
                post_notice(
                    &mut w.tx,
                    self.backend(),
                    id,
                    session,
                    GroupNotice::Added {
                        by: session.username.clone(),
                        members: added.into_iter().map(|(_, n)| n).collect(),
                    },
                    now,
                )
                .await?,
            );
        }
        w.commit().await?;
        Ok((self.info(session, id).await?, fanout))
    }

    /// Locks the group's row and reads the caller's standing.
    async fn lock(
        &self,
        tx: &mut Transaction<'static, Any>,
        session: &Session,
        group: ConversationId,
    ) -> Result<Locked, ServiceError> {
        let lock = match self.backend() {
            // NO KEY: messages and memberships inserted for the group hold
            // KEY SHARE on its row, which FOR UPDATE would conflict with.
            Backend::Postgres => " FOR NO KEY UPDATE OF c",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "SELECT c.settings AS settings, c.member_count AS member_count, \
             c.dissolved_at AS dissolved_at, c.last_seq AS last_seq, me.role AS role \
             FROM conversations c JOIN conversation_members me ON me.conversation_id = c.id \
             WHERE c.id = $1 AND c.kind = 'group' AND me.user_id = $2{lock}"
        );
        let row = sqlx::query(&sql)
            .bind(group)
            .bind(session.user_id)
            .fetch_optional(&mut **tx)
            .await
            .map_err(StoreError::Db)?
            .ok_or_else(|| not_found(group))?;
        Ok(Locked {
            id: group,
            role: role_from_i64(row.try_get("role")?),
            settings: settings_from_i64(row.try_get("settings")?),
            member_count: u32::try_from(get_u64(&row, "member_count")?).unwrap_or(u32::MAX),
            dissolved: row.try_get::<Option<i64>, _>("dissolved_at")?.is_some(),
            last_seq: get_u64(&row, "last_seq")?,
        })
    }

    /// The role of `user` in the locked group, if a member.
    async fn role_of(
        tx: &mut Transaction<'static, Any>,
        group: ConversationId,
        user: UserId,
    ) -> Result<Option<GroupRole>, ServiceError> {
        let row = sqlx::query(
            "SELECT role FROM conversation_members WHERE conversation_id = $1 AND user_id = $2",
        )
        .bind(group)
        .bind(user)
        .fetch_optional(&mut **tx)
        .await
        .map_err(StoreError::Db)?;
        Ok(row
            .map(|r| r.try_get::<i64, _>("role"))
            .transpose()?
            .map(role_from_i64))
    }

    /// Adds people (each must accept messages from the caller).
    pub async fn add(
        &self,
        session: &Session,
        group: ConversationId,
        usernames: &[String],
    ) -> Result<(GroupInfo, Fanout), ServiceError> {
        let candidates = self.addable(session, usernames).await?;
        let now = now_ms();
        let mut w = self.store.begin_write().await?;
        let g = self.lock(&mut w.tx, session, group).await?;
        g.require_live()?;
        g.may_invite()?;
        let mut added = Vec::with_capacity(candidates.len());
        for (id, name) in candidates {
            if Self::role_of(&mut w.tx, group, id).await?.is_none() {
                added.push((id, name));
            }
        }
        if added.is_empty() {
            return Err(ServiceError::InvalidArgument(
                "everyone named is already a member".into(),
            ));
        }
        self.check_room(g.member_count, added.len())?;
        let rows: Vec<_> = added.iter().map(|(u, _)| (*u, GroupRole::Member)).collect();
        insert_members(&mut w.tx, group, &rows, g.last_seq, now).await?;
        set_member_count(&mut w.tx, group, g.member_count as usize + added.len()).await?;
        let fanout = post_notice(
            &mut w.tx,
            self.backend(),
            group,
            session,
            GroupNotice::Added {
                by: session.username.clone(),
                members: added.into_iter().map(|(_, n)| n).collect(),
            },
            now,
        )
        .await?;
        w.commit().await?;
        Ok((self.info(session, group).await?, fanout))
    }

    /// Removes a member: the owner removes anyone, admins remove members.
    pub async fn remove(
        &self,
        session: &Session,
        group: ConversationId,
        username: &str,
    ) -> Result<Fanout, ServiceError> {
        let target = self.accounts.user_id(username).await?;
        if target == session.user_id {
            return Err(ServiceError::InvalidArgument(
                "to remove yourself, leave the group".into(),
            ));
        }
        let now = now_ms();
        let mut w = self.store.begin_write().await?;
        let g = self.lock(&mut w.tx, session, group).await?;
        g.require_live()?;
        g.require(GroupRole::Admin, "remove members")?;
        let target_role = Self::role_of(&mut w.tx, group, target)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("{username} is not a member")))?;
        if target_role >= g.role {
            return Err(forbidden(
                "admins may remove members, not other admins or the owner",
            ));
        }
        // The removed member gets the notice too, then loses access.
        let fanout = post_notice(
            &mut w.tx,
            self.backend(),
            group,
            session,
            GroupNotice::Removed {
                by: session.username.clone(),
                username: username.trim().to_lowercase(),
            },
            now,
        )
        .await?;
        delete_member(&mut w.tx, group, target).await?;
        set_member_count(&mut w.tx, group, g.member_count as usize - 1).await?;
        w.commit().await?;
        Ok(fanout)
    }

    /// Leaves. The owner's role passes to the oldest admin, else the
    /// oldest member; the last member leaving dissolves the group.
    pub async fn leave(
        &self,
        session: &Session,
        group: ConversationId,
    ) -> Result<Fanout, ServiceError> {
        let now = now_ms();
        let mut w = self.store.begin_write().await?;
        let g = self.lock(&mut w.tx, session, group).await?;
        let mut fanout = Fanout::new();
        if !g.dissolved {
            fanout = post_notice(
                &mut w.tx,
                self.backend(),
                group,
                session,
                GroupNotice::Left {
                    username: session.username.clone(),
                },
                now,
            )
            .await?;
        }
        delete_member(&mut w.tx, group, session.user_id).await?;
        let remaining = g.member_count.saturating_sub(1);
        set_member_count(&mut w.tx, group, remaining as usize).await?;
        if !g.dissolved && remaining == 0 {
            sqlx::query("UPDATE conversations SET dissolved_at = $2 WHERE id = $1")
                .bind(group)
                .bind(now)
                .execute(&mut *w.tx)
                .await
                .map_err(StoreError::Db)?;
        } else if !g.dissolved && g.role == GroupRole::Owner {
            let heir = sqlx::query(
                "SELECT m.user_id AS user_id, u.username AS username \
                 FROM conversation_members m JOIN users u ON u.id = m.user_id \
                 WHERE m.conversation_id = $1 \
                 ORDER BY m.role DESC, m.joined_at, m.user_id LIMIT 1",
            )
            .bind(group)
            .fetch_one(&mut *w.tx)
            .await
            .map_err(StoreError::Db)?;
            let heir_id: UserId = heir.try_get("user_id")?;
            set_role(&mut w.tx, group, heir_id, GroupRole::Owner).await?;
            fanout.extend(
                post_notice(
                    &mut w.tx,
                    self.backend(),
                    group,
                    session,
                    GroupNotice::OwnerChanged {
                        from: session.username.clone(),
                        to: heir.try_get("username")?,
                    },
                    now,
                )
                .await?,
            );
        }
        w.commit().await?;
        Ok(fanout)
    }

    /// Makes a member an admin or an admin a member (owner only).
    pub async fn set_member_role(
        &self,
        session: &Session,
        group: ConversationId,
        username: &str,
        role: GroupRole,
    ) -> Result<Fanout, ServiceError> {
        if role == GroupRole::Owner {
            return Err(ServiceError::InvalidArgument(
                "to make someone the owner, transfer ownership".into(),
            ));
        }
        let target = self.accounts.user_id(username).await?;
        let now = now_ms();
        let mut w = self.store.begin_write().await?;
        let g = self.lock(&mut w.tx, session, group).await?;
        g.require_live()?;
        g.require(GroupRole::Owner, "promote and demote")?;
        let current = Self::role_of(&mut w.tx, group, target)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("{username} is not a member")))?;
        if current == GroupRole::Owner {
            return Err(ServiceError::InvalidArgument(
                "the owner's role changes only by a transfer".into(),
            ));
        }
        if current == role {
            return Ok(Fanout::new());
        }
        set_role(&mut w.tx, group, target, role).await?;
        let fanout = post_notice(
            &mut w.tx,
            self.backend(),
            group,
            session,
            GroupNotice::RoleChanged {
                by: session.username.clone(),
                username: username.trim().to_lowercase(),
                role,
            },
            now,
        )
        .await?;
        w.commit().await?;
        Ok(fanout)
    }

    /// Hands the group to another member; the old owner becomes an admin.
    pub async fn transfer(
        &self,
        session: &Session,
        group: ConversationId,
        to: &str,
    ) -> Result<Fanout, ServiceError> {
        let target = self.accounts.user_id(to).await?;
        if target == session.user_id {
            return Err(ServiceError::InvalidArgument(
                "you already own this group".into(),
            ));
        }
        let now = now_ms();
        let mut w = self.store.begin_write().await?;
        let g = self.lock(&mut w.tx, session, group).await?;
        g.require_live()?;
        g.require(GroupRole::Owner, "transfer ownership")?;
        if Self::role_of(&mut w.tx, group, target).await?.is_none() {
            return Err(ServiceError::NotFound(format!("{to} is not a member")));
        }
        set_role(&mut w.tx, group, session.user_id, GroupRole::Admin).await?;
        set_role(&mut w.tx, group, target, GroupRole::Owner).await?;
        let fanout = post_notice(
            &mut w.tx,
            self.backend(),
            group,
            session,
            GroupNotice::OwnerChanged {
                from: session.username.clone(),
                to: to.trim().to_lowercase(),
            },
            now,
        )
        .await?;
        w.commit().await?;
        Ok(fanout)
    }

    /// Renames, changes the description or avatar, the settings, or the
    /// announcement: one locked update of the group row and its notice.
    pub async fn edit(
        &self,
        session: &Session,
        group: ConversationId,
        edit: Edit,
    ) -> Result<(GroupInfo, Fanout), ServiceError> {
        let by = session.username.clone();
        // Validate before taking the lock.
        let edit = match edit {
            Edit::Name(name) => Edit::Name(group_name(&name)?),
            Edit::Description(d) => {
                Edit::Description(clean_text("description", &d, MAX_GROUP_DESCRIPTION_CHARS)?)
            }
            Edit::Announcement(t) => {
                Edit::Announcement(clean_announcement(&t, MAX_ANNOUNCEMENT_CHARS)?)
            }
            Edit::Avatar(Some(id)) => {
                self.profiles.check_avatar(session.user_id, id).await?;
                Edit::Avatar(Some(id))
            }
            other => other,
        };
        let now = now_ms();
        let mut w = self.store.begin_write().await?;
        let g = self.lock(&mut w.tx, session, group).await?;
        g.require_live()?;
        let (sql, notice, value): (&str, GroupNotice, Option<String>) = match edit {
            Edit::Name(name) => {
                g.may_edit_info()?;
                (
                    "UPDATE conversations SET name = $2 WHERE id = $1",
                    GroupNotice::Renamed {
                        by,
                        name: name.clone(),
                    },
                    Some(name),
                )
            }
            Edit::Description(description) => {
                g.may_edit_info()?;
                (
                    "UPDATE conversations SET description = $2 WHERE id = $1",
                    GroupNotice::DescriptionChanged {
                        by,
                        description: description.clone(),
                    },
                    Some(description),
                )
            }
            Edit::Avatar(avatar) => {
                g.may_edit_info()?;
                (
                    "UPDATE conversations SET avatar_media_id = $2 WHERE id = $1",
                    GroupNotice::AvatarChanged { by, avatar },
                    avatar.map(|a| a.to_string()),
                )
            }
            Edit::Settings(settings) => {
                g.require(GroupRole::Admin, "change what members may do")?;
                sqlx::query("UPDATE conversations SET settings = $2 WHERE id = $1")
                    .bind(g.id)
                    .bind(settings_to_i64(settings))
                    .execute(&mut *w.tx)
                    .await
                    .map_err(StoreError::Db)?;
                ("", GroupNotice::SettingsChanged { by, settings }, None)
            }
            Edit::Announcement(text) => {
                g.require(GroupRole::Admin, "post announcements")?;
                let pinned = (!text.is_empty()).then_some(text.clone());
                sqlx::query(
                    "UPDATE conversations SET announcement = $2, announcement_by = $3, \
                     announcement_at = $4 WHERE id = $1",
                )
                .bind(g.id)
                .bind(pinned.as_deref())
                .bind(pinned.as_ref().map(|_| session.user_id))
                .bind(pinned.as_ref().map(|_| now))
                .execute(&mut *w.tx)
                .await
                .map_err(StoreError::Db)?;
                ("", GroupNotice::Announced { by, text }, None)
            }
        };
        if !sql.is_empty() {
            sqlx::query(sql)
                .bind(g.id)
                .bind(value)
                .execute(&mut *w.tx)
                .await
                .map_err(StoreError::Db)?;
        }
        let fanout = post_notice(&mut w.tx, self.backend(), group, session, notice, now).await?;
        w.commit().await?;
        Ok((self.info(session, group).await?, fanout))
    }

    /// Ends the group (owner only). History stays readable to its members.
    pub async fn dissolve(
        &self,
        session: &Session,
        group: ConversationId,
    ) -> Result<Fanout, ServiceError> {
        let now = now_ms();
        let mut w = self.store.begin_write().await?;
        let g = self.lock(&mut w.tx, session, group).await?;
        g.require_live()?;
        g.require(GroupRole::Owner, "dissolve the group")?;
        let fanout = post_notice(
            &mut w.tx,
            self.backend(),
            group,
            session,
            GroupNotice::Dissolved {
                by: session.username.clone(),
            },
            now,
        )
        .await?;
        sqlx::query("UPDATE conversations SET dissolved_at = $2 WHERE id = $1")
            .bind(group)
            .bind(now)
            .execute(&mut *w.tx)
            .await
            .map_err(StoreError::Db)?;
        sqlx::query("UPDATE group_invites SET revoked_at = $2 WHERE conversation_id = $1 AND revoked_at IS NULL")
            .bind(group)
            .bind(now)
            .execute(&mut *w.tx)
            .await
            .map_err(StoreError::Db)?;
        w.commit().await?;
        Ok(fanout)
    }

    /// Creates an invite code; the answer is the only time it is shown.
    pub async fn create_invite(
        &self,
        session: &Session,
        group: ConversationId,
        expires_in_secs: Option<u64>,
        max_uses: Option<u32>,
    ) -> Result<Invite, ServiceError> {
        if max_uses == Some(0) {
            return Err(ServiceError::InvalidArgument(
                "an invite must allow at least one use".into(),
            ));
        }
        let now = now_ms();
        let expires_at = match expires_in_secs {
            Some(0) => {
                return Err(ServiceError::InvalidArgument(
                    "an invite must live at least one second".into(),
                ))
            }
            Some(secs) => Some(now.saturating_add(to_i64(secs.saturating_mul(1000)))),
            None => None,
        };
        let mut w = self.store.begin_write().await?;
        let g = self.lock(&mut w.tx, session, group).await?;
        g.require_live()?;
        g.may_invite()?;
        let live = sqlx::query(&format!(
            "SELECT COUNT(*) AS n FROM group_invites i WHERE i.conversation_id = $1 AND {LIVE}"
        ))
        .bind(group)
        .bind(now)
        .fetch_one(&mut *w.tx)
        .await
        .map_err(StoreError::Db)?;
        if get_u64(&live, "n")? >= u64::from(self.config.max_invites) {
            return Err(ServiceError::InvalidArgument(format!(
                "the group has {} live invite codes, the limit; revoke one first",
                self.config.max_invites
            )));
        }
        let mut bytes = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let code = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let row = sqlx::query(
            "INSERT INTO group_invites (conversation_id, code_hash, created_by, expires_at, \
             max_uses, uses, created_at) VALUES ($1, $2, $3, $4, $5, 0, $6) RETURNING id",
        )
        .bind(group)
        .bind(token_hash(&code))
        .bind(session.user_id)
        .bind(expires_at)
        .bind(max_uses.map(i64::from))
        .bind(now)
        .fetch_one(&mut *w.tx)
        .await
        .map_err(StoreError::Db)?;
        w.commit().await?;
        Ok(Invite {
            id: row.try_get("id")?,
            group_id: group,
            code: Some(code),
            created_by: session.username.clone(),
            expires_at_ms: expires_at,
            max_uses,
            uses: 0,
        })
    }

    /// Live invites of a group (for whoever may invite).
    pub async fn invites(
        &self,
        session: &Session,
        group: ConversationId,
    ) -> Result<Vec<Invite>, ServiceError> {
        let info = self.info(session, group).await?;
        if info.my_role == GroupRole::Member && !info.settings.members_invite {
            return Err(forbidden(
                "only the owner and admins may see this group's invite codes",
            ));
        }
        sqlx::query(&format!(
            "SELECT i.id AS id, u.username AS created_by, i.expires_at AS expires_at, \
             i.max_uses AS max_uses, i.uses AS uses FROM group_invites i \
             JOIN users u ON u.id = i.created_by \
             WHERE i.conversation_id = $1 AND {LIVE} ORDER BY i.id"
        ))
        .bind(group)
        .bind(now_ms())
        .fetch_all(self.store.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(Invite {
                id: r.try_get("id")?,
                group_id: group,
                code: None,
                created_by: r.try_get("created_by")?,
                expires_at_ms: r.try_get("expires_at")?,
                max_uses: r
                    .try_get::<Option<i64>, _>("max_uses")?
                    .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
                uses: u32::try_from(get_u64(r, "uses")?).unwrap_or(u32::MAX),
            })
        })
        .collect()
    }

    /// Revokes an invite code.
    pub async fn revoke_invite(
        &self,
        session: &Session,
        group: ConversationId,
        invite: InviteId,
    ) -> Result<(), ServiceError> {
        let mut w = self.store.begin_write().await?;
        let g = self.lock(&mut w.tx, session, group).await?;
        g.may_invite()?;
        let done = sqlx::query(
            "UPDATE group_invites SET revoked_at = $3 \
             WHERE id = $1 AND conversation_id = $2 AND revoked_at IS NULL",
        )
        .bind(invite)
        .bind(group)
        .bind(now_ms())
        .execute(&mut *w.tx)
        .await
        .map_err(StoreError::Db)?;
        if done.rows_affected() == 0 {
            return Err(ServiceError::NotFound(format!(
                "invite {invite} not found in group {group}"
            )));
        }
        w.commit().await?;
        Ok(())
    }

    /// Joins with an invite code. Joining a group one is already in
    /// answers with the group and uses nothing.
    pub async fn join(
        &self,
        session: &Session,
        code: &str,
    ) -> Result<(GroupInfo, Fanout), ServiceError> {
        let code = code.trim();
        if code.is_empty() || code.len() > MAX_CODE_LEN {
            return Err(ServiceError::InvalidInvite);
        }
        let now = now_ms();
        let hash = token_hash(code);
        let mut w = self.store.begin_write().await?;
        let row = sqlx::query("SELECT conversation_id FROM group_invites WHERE code_hash = $1")
            .bind(&hash)
            .fetch_optional(&mut *w.tx)
            .await
            .map_err(StoreError::Db)?
            .ok_or(ServiceError::InvalidInvite)?;
        let group: ConversationId = row.try_get("conversation_id")?;
        // The group's row first (the lock order of every group change),
        // then the use is counted under the invite's row lock, so two
        // joins cannot both take its last use.
        let lock = match self.backend() {
            Backend::Postgres => " FOR NO KEY UPDATE",
            Backend::Sqlite => "",
        };
        let g = sqlx::query(&format!(
            "SELECT member_count, dissolved_at, last_seq FROM conversations WHERE id = $1{lock}"
        ))
        .bind(group)
        .fetch_one(&mut *w.tx)
        .await
        .map_err(StoreError::Db)?;
        sqlx::query(
            "UPDATE group_invites SET uses = uses + 1 WHERE code_hash = $1 \
             AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2) \
             AND (max_uses IS NULL OR uses < max_uses) RETURNING id",
        )
        .bind(&hash)
        .bind(now)
        .fetch_optional(&mut *w.tx)
        .await
        .map_err(StoreError::Db)?
        .ok_or(ServiceError::InvalidInvite)?;
        if g.try_get::<Option<i64>, _>("dissolved_at")?.is_some() {
            return Err(ServiceError::InvalidInvite);
        }
        if Self::role_of(&mut w.tx, group, session.user_id)
            .await?
            .is_some()
        {
            drop(w);
            return Ok((self.info(session, group).await?, Fanout::new()));
        }
        let count = u32::try_from(get_u64(&g, "member_count")?).unwrap_or(u32::MAX);
        self.check_room(count, 1)?;
        insert_members(
            &mut w.tx,
            group,
            &[(session.user_id, GroupRole::Member)],
            get_u64(&g, "last_seq")?,
            now,
        )
        .await?;
        set_member_count(&mut w.tx, group, count as usize + 1).await?;
        let fanout = post_notice(
            &mut w.tx,
            self.backend(),
            group,
            session,
            GroupNotice::Joined {
                username: session.username.clone(),
            },
            now,
        )
        .await?;
        w.commit().await?;
        Ok((self.info(session, group).await?, fanout))
    }
}

/// An invite `i` that still works at time `$2`.
const LIVE: &str = "i.revoked_at IS NULL AND (i.expires_at IS NULL OR i.expires_at > $2) \
     AND (i.max_uses IS NULL OR i.uses < i.max_uses)";

/// One change [`Groups::edit`] makes.
#[derive(Debug, Clone)]
pub enum Edit {
    /// New name.
    Name(String),
    /// New description.
    Description(String),
    /// New avatar, or none.
    Avatar(Option<MediaId>),
    /// New settings.
    Settings(GroupSettings),
    /// New announcement; empty unpins.
    Announcement(String),
}

fn group_name(name: &str) -> Result<String, ServiceError> {
    let name = clean_text("group name", name, MAX_GROUP_NAME_CHARS)?;
    if name.is_empty() {
        return Err(ServiceError::InvalidArgument("a group needs a name".into()));
    }
    Ok(name)
}

/// Announcements may span lines; other control characters are refused.
fn clean_announcement(text: &str, max: usize) -> Result<String, ServiceError> {
    let text = text.trim();
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ServiceError::InvalidArgument(
            "the announcement may not contain control characters".into(),
        ));
    }
    let n = text.chars().count();
    if n > max {
        return Err(ServiceError::InvalidArgument(format!(
            "the announcement is {n} characters; the limit is {max}"
        )));
    }
    Ok(text.to_string())
}

/// Inserts memberships, in multi-row statements. New members see messages
/// after `joined_seq`, and start with nothing unread before it.
async fn insert_members(
    tx: &mut Transaction<'static, Any>,
    group: ConversationId,
    members: &[(UserId, GroupRole)],
    joined_seq: u64,
    now: i64,
) -> Result<(), ServiceError> {
    for chunk in members.chunks(200) {
        let values = (0..chunk.len())
            .map(|i| format!("($1, ${}, ${}, $2, $2, $3, $2)", 4 + 2 * i, 5 + 2 * i))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO conversation_members (conversation_id, user_id, role, delivered_seq, \
             read_seq, joined_at, joined_seq) VALUES {values}"
        );
        let mut q = sqlx::query(&sql)
            .bind(group)
            .bind(to_i64(joined_seq))
            .bind(now);
        for (user, role) in chunk {
            q = q.bind(*user).bind(role_to_i64(*role));
        }
        q.execute(&mut **tx).await.map_err(StoreError::Db)?;
    }
    Ok(())
}

async fn delete_member(
    tx: &mut Transaction<'static, Any>,
    group: ConversationId,
    user: UserId,
) -> Result<(), ServiceError> {
    sqlx::query("DELETE FROM conversation_members WHERE conversation_id = $1 AND user_id = $2")
        .bind(group)
        .bind(user)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::Db)?;
    Ok(())
}

async fn set_member_count(
    tx: &mut Transaction<'static, Any>,
    group: ConversationId,
    count: usize,
) -> Result<(), ServiceError> {
    sqlx::query("UPDATE conversations SET member_count = $2 WHERE id = $1")
        .bind(group)
        .bind(i64::try_from(count).unwrap_or(i64::MAX))
        .execute(&mut **tx)
        .await
        .map_err(StoreError::Db)?;
    Ok(())
}

async fn set_role(
    tx: &mut Transaction<'static, Any>,
    group: ConversationId,
    user: UserId,
    role: GroupRole,
) -> Result<(), ServiceError> {
    sqlx::query(
        "UPDATE conversation_members SET role = $3 WHERE conversation_id = $1 AND user_id = $2",
    )
    .bind(group)
    .bind(user)
    .bind(role_to_i64(role))
    .execute(&mut **tx)
    .await
    .map_err(StoreError::Db)?;
    Ok(())
}

/// Records `notice` in the group's timeline as a system message from the
/// caller, appended to the logs of every current member.
async fn post_notice(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    group: ConversationId,
    session: &Session,
    notice: GroupNotice,
    now: i64,
) -> Result<Fanout, ServiceError> {
    let row = sqlx::query(
        "UPDATE conversations SET last_seq = last_seq + 1, last_message_at = $2 \
         WHERE id = $1 RETURNING last_seq",
    )
    .bind(group)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .map_err(StoreError::Db)?;
    let seq = get_u64(&row, "last_seq")?;
    let audience = members_of(tx, group).await?;
    let client_id = Uuid::now_v7();
    let stored = serde_json::to_string(&notice)
        .map_err(|e| ServiceError::Internal(format!("notice does not encode: {e}")))?;
    let body = MessageBody::System(notice);
    let message_id = insert_row(
        tx,
        &MessageRow {
            conversation_id: group,
            seq,
            sender_id: session.user_id,
            sender_device_id: session.device_id,
            to_user_id: None,
            client_id,
            kind: "system",
            body: &stored,
            media_id: None,
            reply_to_seq: None,
            now,
        },
    )
    .await?;
    let message = Message {
        id: message_id,
        conversation_id: group,
        seq,
        sender: session.username.clone(),
        client_id,
        to: Recipient::Group(group),
        sent_at_ms: now,
        body,
        transcript: None,
    };
    Ok(append_event(
        tx,
        backend,
        &audience,
        &NewEvent::Message {
            conversation_id: group,
            message_id,
        },
        &EventBody::Message(message),
        now,
    )
    .await
    .map_err(StoreError::Db)?)
}
