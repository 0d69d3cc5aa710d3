//! Conversations: membership, resolving references, and the
//! conversation list.
//!
//! The list is one query whatever the number of conversations: each row
//! is one conversation the caller is a member of, with its unread count
//! (messages from others after the caller's read position) and its latest
//! message, so it stays correct for conversations of any size.

use quichat_proto::types::{
    ConversationEntry, ConversationId, ConversationRef, ConversationSummary, GroupBrief, Recipient,
    UserId,
};
use sqlx::{Any, Row, Transaction};

use crate::accounts::{Accounts, Session};
use crate::error::ServiceError;
use crate::message_rows::{message_from_row, MESSAGE_COLUMNS, MESSAGE_JOINS};
use crate::store::{get_u64, Store};

/// Longest conversation list returned.
pub const MAX_LIST: i64 = 200;

/// The key that makes a direct conversation unique: "<low id>:<high id>".
fn direct_key(a: UserId, b: UserId) -> String {
    format!("{}:{}", a.min(b), a.max(b))
}

/// Inside a write transaction: creates the direct conversation of `a` and
/// `b` (and their memberships) if needed, and takes its next message seq.
/// Returns the conversation, the seq and the members in ascending id
/// order (the order in which their event logs must be locked).
pub async fn next_direct_seq(
    tx: &mut Transaction<'static, Any>,
    a: UserId,
    b: UserId,
    now: i64,
) -> Result<(ConversationId, u64, [UserId; 2]), sqlx::Error> {
    let key = direct_key(a, b);
    let mut members = [a, b];
    members.sort_unstable();
    let bump = || {
        sqlx::query(
            "UPDATE conversations SET last_seq = last_seq + 1, last_message_at = $2 \
             WHERE direct_key = $1 RETURNING id, last_seq",
        )
        .bind(&key)
        .bind(now)
    };
    // The common case, one statement: the conversation exists.
    if let Some(row) = bump().fetch_optional(&mut **tx).await? {
        return Ok((row.try_get("id")?, get_u64(&row, "last_seq")?, members));
    }
    // The first message: create it and its members, then bump.
    sqlx::query(
        "INSERT INTO conversations (kind, direct_key, last_seq, last_message_at, created_at) \
         VALUES ('direct', $1, 0, $2, $2) ON CONFLICT (direct_key) DO NOTHING",
    )
    .bind(&key)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    let row = bump().fetch_one(&mut **tx).await?;
    let conversation_id: ConversationId = row.try_get("id")?;
    let seq = get_u64(&row, "last_seq")?;
    for member in members {
        sqlx::query(
            "INSERT INTO conversation_members (conversation_id, user_id, delivered_seq, read_seq, joined_at) \
             VALUES ($1, $2, 0, 0, $3) ON CONFLICT (conversation_id, user_id) DO NOTHING",
        )
        .bind(conversation_id)
        .bind(member)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok((conversation_id, seq, members))
}

/// The conversations service.
#[derive(Debug, Clone)]
pub struct Conversations {
    store: Store,
    accounts: Accounts,
}

impl Conversations {
    /// Wraps the store.
    pub fn new(store: Store, accounts: Accounts) -> Self {
        Conversations { store, accounts }
    }

    /// Resolves a conversation reference for `session`. `Ok(None)` means a
    /// direct conversation that has no messages yet. A conversation the
    /// caller is not in is reported as not found.
    pub async fn resolve(
        &self,
        session: &Session,
        conv: &ConversationRef,
    ) -> Result<Option<ConversationId>, ServiceError> {
        match conv {
            ConversationRef::Direct(name) => {
                let other = self.accounts.user_id(name).await?;
                self.direct(session.user_id, other).await
            }
            ConversationRef::Id(id) => {
                self.require_member(session, *id).await?;
                Ok(Some(*id))
            }
        }
    }

    /// The direct conversation of `a` and `b`, if it exists yet.
    pub async fn direct(
        &self,
        a: UserId,
        b: UserId,
    ) -> Result<Option<ConversationId>, ServiceError> {
        let row = sqlx::query("SELECT id FROM conversations WHERE direct_key = $1")
            .bind(direct_key(a, b))
            .fetch_optional(self.store.pool())
            .await?;
        Ok(row.map(|r| r.try_get("id")).transpose()?)
    }

    /// Fails with `NotFound` unless the caller is a member.
    pub async fn require_member(
        &self,
        session: &Session,
        conversation_id: ConversationId,
    ) -> Result<(), ServiceError> {
        self.joined_seq(session, conversation_id).await.map(|_| ())
    }

    /// The seq after which the caller sees the conversation's messages (0
    /// in direct chats; a group member's join point); `NotFound` unless the
    /// caller is a member.
    pub async fn joined_seq(
        &self,
        session: &Session,
        conversation_id: ConversationId,
    ) -> Result<u64, ServiceError> {
        let row = sqlx::query(
            "SELECT joined_seq FROM conversation_members WHERE conversation_id = $1 AND user_id = $2",
        )
        .bind(conversation_id)
        .bind(session.user_id)
        .fetch_optional(self.store.pool())
        .await?;
        match row {
            Some(row) => Ok(get_u64(&row, "joined_seq")?),
            None => Err(ServiceError::NotFound(format!(
                "conversation {conversation_id} not found"
            ))),
        }
    }

    /// The caller's conversations, most recent first (at most
    /// [`MAX_LIST`]), in one query, with each group's name and size.
    pub async fn overview(
        &self,
        session: &Session,
    ) -> Result<Vec<ConversationEntry>, ServiceError> {
        // One row per membership of the caller. The peer of a direct
        // conversation is its other member; the unread count (messages
        // from others, system notices and messages the caller deleted for
        // themselves aside) and the latest message the caller can see
        // come from correlated lookups on the (conversation_id, seq)
        // index.
        let sql = format!(
            "SELECT c.id AS c_id, c.kind AS c_kind, c.last_seq AS c_last_seq, \
             me.read_seq AS c_read_seq, me.role AS c_role, c.name AS c_name, \
             c.member_count AS c_member_count, c.dissolved_at AS c_dissolved_at, \
             (SELECT o.username FROM conversation_members om JOIN users o ON o.id = om.user_id \
              WHERE c.kind = 'direct' AND om.conversation_id = c.id AND om.user_id <> me.user_id \
              ORDER BY om.user_id LIMIT 1) AS c_peer, \
             (SELECT COUNT(*) FROM messages u WHERE u.conversation_id = c.id \
              AND u.seq > me.read_seq AND u.sender_id <> me.user_id AND u.kind <> 'system' \
              AND NOT EXISTS (SELECT 1 FROM hidden_messages hu \
              WHERE hu.user_id = me.user_id AND hu.message_id = u.id)) AS c_unread, \
             {MESSAGE_COLUMNS} \
             FROM conversation_members me \
             JOIN conversations c ON c.id = me.conversation_id \
             LEFT JOIN messages m ON m.conversation_id = c.id AND m.seq = ( \
              SELECT MAX(v.seq) FROM messages v WHERE v.conversation_id = c.id \
              AND v.seq > me.joined_seq AND NOT EXISTS (SELECT 1 FROM hidden_messages hv \
              WHERE hv.user_id = me.user_id AND hv.message_id = v.id)) \
             {MESSAGE_JOINS} \
             WHERE me.user_id = $1 \
             ORDER BY c.last_message_at DESC, c.id DESC LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(session.user_id)
            .bind(MAX_LIST)
            .fetch_all(self.store.pool())
            .await?;
        rows.iter()
            .map(|row| {
                let id: ConversationId = row.try_get("c_id")?;
                let kind: String = row.try_get("c_kind")?;
                let has_message: Option<i64> = row.try_get("m_id")?;
                let group = (kind == "group")
                    .then(|| -> Result<GroupBrief, ServiceError> {
                        Ok(GroupBrief {
                            name: row.try_get("c_name")?,
                            member_count: u32::try_from(get_u64(row, "c_member_count")?)
                                .unwrap_or(u32::MAX),
                            my_role: crate::groups::role_from_i64(row.try_get("c_role")?),
                            dissolved: row.try_get::<Option<i64>, _>("c_dissolved_at")?.is_some(),
                        })
                    })
                    .transpose()?;
                Ok(ConversationEntry {
                    summary: ConversationSummary {
                        id,
                        peer: match group {
                            Some(_) => Recipient::Group(id),
                            None => Recipient::User(
                                row.try_get::<Option<String>, _>("c_peer")?
                                    .unwrap_or_default(),
                            ),
                        },
                        last_seq: get_u64(row, "c_last_seq")?,
                        read_seq: get_u64(row, "c_read_seq")?,
                        unread: get_u64(row, "c_unread")?,
                        last_message: match has_message {
                            Some(_) => Some(message_from_row(row)?),
                            None => None,
                        },
                    },
                    group,
                })
            })
            .collect()
    }
}
