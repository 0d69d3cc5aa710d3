//! Operations on sent messages: edit, recall (delete for everyone),
//! delete for me, reactions and forwarding. Each change is one write
//! transaction that changes the message's rows and appends its event for
//! every member who can see the message (`joined_seq < seq`), or, for
//! delete-for-me, for the caller only. A forward is a send
//! ([`Messages::send`]) of the original's body, so every check of a send
//! applies to it.
//!
//! Rules (ARCHITECTURE.md, "Message operations"):
//! - only the author edits, only text, within `messages.edit_window_secs`;
//! - the author recalls within `messages.recall_window_secs`; in a group,
//!   an admin recalls members' messages and the owner anyone's, at any
//!   time; group notices cannot be recalled;
//! - a recall erases the content: the body, the transcript (and its job),
//!   the media reference; the media row goes once nothing references it,
//!   and the stored object (and thumbnail) once no media row does.

use quichat_proto::event::EventBody;
use quichat_proto::types::{
    ConversationId, MessageBody, MessageEdit, MessageId, MessageRecall, MessageRef, ReactionChange,
    ReactionCount, Reactions, Recipient, SendAck, SendMessage, UserId, MAX_REACTORS_LISTED,
    MAX_TEXT_BYTES,
};
use sqlx::{Any, Row, Transaction};
use unicode_segmentation::UnicodeSegmentation;
use uuid::Uuid;

use crate::accounts::Session;
use crate::config::MessagesConfig;
use crate::error::{ServiceError, StoreError};
use crate::events::{append_all, append_event, Fanout, NewEvent};
use crate::media::MediaStore;
use crate::message_rows::{message_from_row, MESSAGE_COLUMNS, MESSAGE_JOINS};
use crate::messages::Messages;
use crate::store::{now_ms, to_i64, Backend, Store};

/// Distinct emoji one user may put on one message.
pub const MAX_REACTIONS_PER_USER: i64 = 20;
/// Longest emoji accepted, in bytes (a family emoji with skin tones is
/// about 35).
const MAX_EMOJI_BYTES: usize = 64;

/// Group roles as stored (`conversation_members.role`).
const ROLE_ADMIN: i64 = 1;
const ROLE_OWNER: i64 = 2;

/// The message operations service.
#[derive(Debug, Clone)]
pub struct MessageOps {
    store: Store,
    media: MediaStore,
    messages: Messages,
    config: MessagesConfig,
}

/// The message an operation acts on, with what the rules need.
struct Target {
    id: MessageId,
    conversation_id: ConversationId,
    seq: u64,
    sender_id: Option<UserId>,
    kind: String,
    created_at: i64,
    recalled: bool,
    media_id: Option<String>,
    is_group: bool,
    /// The caller's role in the conversation (0 in direct chats).
    my_role: i64,
}

impl MessageOps {
    /// Builds the service.
    pub fn new(
        store: Store,
        media: MediaStore,
        messages: Messages,
        config: MessagesConfig,
    ) -> Self {
        MessageOps {
            store,
            media,
            messages,
            config,
        }
    }

    /// Sends a copy of a message the caller can see to `to`, as the
    /// caller's message; media is shared, not copied.
    pub async fn forward(
        &self,
        session: &Session,
        conversation_id: ConversationId,
        seq: u64,
        to: Recipient,
        client_id: Uuid,
    ) -> Result<SendAck, ServiceError> {
        let original = self.visible_message(session, conversation_id, seq).await?;
        let body = match original.body {
            MessageBody::Text(text) | MessageBody::Edited { text, .. } => MessageBody::Text(text),
            MessageBody::Reply(reply) => MessageBody::Text(reply.text),
            MessageBody::Media { media, caption } => MessageBody::Media { media, caption },
            MessageBody::Recalled { .. } => {
                return Err(ServiceError::InvalidArgument(format!(
                    "message #{seq} was recalled; there is nothing to forward"
                )))
            }
            MessageBody::System(_) => {
                return Err(ServiceError::InvalidArgument(
                    "group notices cannot be forwarded".into(),
                ))
            }
        };
        self.messages
            .send(
                session,
                &SendMessage {
                    client_id,
                    to,
                    body,
                },
            )
            .await
    }

    /// Adds or removes the caller's reaction; returns the reactions now.
    pub async fn react(
        &self,
        session: &Session,
        conversation_id: ConversationId,
        seq: u64,
        emoji: &str,
        add: bool,
    ) -> Result<(Reactions, Fanout), ServiceError> {
        check_emoji(emoji)?;
        let mut w = self.store.begin_write().await?;
        let target = self.lock(&mut w.tx, session, conversation_id, seq).await?;
        if target.recalled {
            return Err(ServiceError::InvalidArgument(format!(
                "message #{seq} was recalled"
            )));
        }
        let now = now_ms();
        let changed = if add {
            let row = sqlx::query(
                "SELECT COUNT(*) AS n FROM reactions WHERE message_id = $1 AND user_id = $2",
            )
            .bind(target.id)
            .bind(session.user_id)
            .fetch_one(&mut *w.tx)
            .await
            .map_err(StoreError::Db)?;
            let mine: i64 = row.try_get("n")?;
            let inserted = sqlx::query(
                "INSERT INTO reactions (message_id, user_id, emoji, created_at)                  VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(target.id)
            .bind(session.user_id)
            .bind(emoji)
            .bind(now)
            .execute(&mut *w.tx)
            .await
            .map_err(StoreError::Db)?
            .rows_affected();
            if inserted > 0 && mine >= MAX_REACTIONS_PER_USER {
                return Err(ServiceError::TooLarge(format!(
                    "you already have {MAX_REACTIONS_PER_USER} reactions on this message, the most allowed"
                )));
            }
            inserted > 0
        } else {
            sqlx::query(
                "DELETE FROM reactions WHERE message_id = $1 AND user_id = $2 AND emoji = $3",
            )
            .bind(target.id)
            .bind(session.user_id)
            .bind(emoji)
            .execute(&mut *w.tx)
            .await
            .map_err(StoreError::Db)?
            .rows_affected()
                > 0
        };
        let reactions = reactions_of(&mut w.tx, &target).await?;
        if !changed {
            w.commit().await?;
            return Ok((reactions, Fanout::new()));
        }
        let count = reactions
            .reactions
            .iter()
            .find(|r| r.emoji == emoji)
            .map_or(0, |r| r.count);
        let members = viewers(&mut w.tx, &target).await?;
        let fanout = append_all(
            &mut w.tx,
            self.store.backend(),
            &members,
            EventBody::Reaction(ReactionChange {
                conversation_id,
                seq,
                user: session.username.clone(),
                emoji: emoji.to_string(),
                added: add,
                count,
            }),
            now,
        )
        .await
        .map_err(StoreError::Db)?;
        w.commit().await?;
        Ok((reactions, fanout))
    }

    /// Who reacted with what on a message the caller can see.
    pub async fn reactions(
        &self,
        session: &Session,
        conversation_id: ConversationId,
        seq: u64,
    ) -> Result<Reactions, ServiceError> {
        let mut tx = self.store.pool().begin().await.map_err(StoreError::Db)?;
        let target = self
            .select(&mut tx, session, conversation_id, seq, false)
            .await?;
        reactions_of(&mut tx, &target).await
    }

    /// Message `seq` as the caller sees it, if they can.
    async fn visible_message(
        &self,
        session: &Session,
        conversation_id: ConversationId,
        seq: u64,
    ) -> Result<quichat_proto::types::Message, ServiceError> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m {MESSAGE_JOINS} \
             JOIN conversation_members me ON me.conversation_id = m.conversation_id \
             AND me.user_id = $3 AND me.joined_seq < m.seq \
             WHERE m.conversation_id = $1 AND m.seq = $2"
        );
        let row = sqlx::query(&sql)
            .bind(conversation_id)
            .bind(to_i64(seq))
            .bind(session.user_id)
            .fetch_optional(self.store.pool())
            .await?
            .ok_or_else(|| not_found(conversation_id, seq))?;
        message_from_row(&row)
    }

    /// Replaces the text of the caller's text message.
    pub async fn edit(
        &self,
        session: &Session,
        conversation_id: ConversationId,
        seq: u64,
        text: &str,
    ) -> Result<(MessageEdit, Fanout), ServiceError> {
        if text.trim().is_empty() {
            return Err(ServiceError::InvalidMessage("the new text is empty".into()));
        }
        if text.len() > MAX_TEXT_BYTES {
            return Err(ServiceError::InvalidMessage(format!(
                "the new text is {} bytes; at most {MAX_TEXT_BYTES} are allowed",
                text.len()
            )));
        }
        let mut w = self.store.begin_write().await?;
        let target = self.lock(&mut w.tx, session, conversation_id, seq).await?;
        if target.recalled {
            return Err(ServiceError::InvalidArgument(format!(
                "message #{seq} was recalled"
            )));
        }
        if target.sender_id != Some(session.user_id) {
            return Err(ServiceError::Forbidden(
                "you can only edit your own messages".into(),
            ));
        }
        if target.kind != "text" && target.kind != "reply" {
            return Err(ServiceError::InvalidArgument(format!(
                "only text messages can be edited; #{seq} is {}",
                target.kind
            )));
        }
        let now = now_ms();
        let window = self.config.edit_window_secs;
        if !within(target.created_at, now, window) {
            return Err(ServiceError::Forbidden(format!(
                "messages can be edited for {} after sending; #{seq} is older",
                human_secs(window)
            )));
        }
        sqlx::query("UPDATE messages SET body = $1, edited_at = $2 WHERE id = $3")
            .bind(text)
            .bind(now)
            .bind(target.id)
            .execute(&mut *w.tx)
            .await
            .map_err(StoreError::Db)?;
        let edit = MessageEdit {
            conversation_id,
            seq,
            text: text.to_string(),
            edited_at_ms: now,
        };
        let members = viewers(&mut w.tx, &target).await?;
        let fanout = append_event(
            &mut w.tx,
            self.store.backend(),
            &members,
            &NewEvent::MessageEdited {
                conversation_id,
                message_id: target.id,
            },
            &EventBody::MessageEdited(edit.clone()),
            now,
        )
        .await
        .map_err(StoreError::Db)?;
        w.commit().await?;
        Ok((edit, fanout))
    }

    /// Recalls a message for everyone and erases its content.
    pub async fn recall(
        &self,
        session: &Session,
        conversation_id: ConversationId,
        seq: u64,
    ) -> Result<(MessageRecall, Fanout), ServiceError> {
        let mut w = self.store.begin_write().await?;
        let target = self.lock(&mut w.tx, session, conversation_id, seq).await?;
        if target.recalled {
            return Err(ServiceError::InvalidArgument(format!(
                "message #{seq} was already recalled"
            )));
        }
        if target.kind == "system" {
            return Err(ServiceError::Forbidden(
                "group notices cannot be recalled".into(),
            ));
        }
        let now = now_ms();
        self.may_recall(&mut w.tx, session, &target, now).await?;
        sqlx::query(
            "UPDATE messages SET kind = 'recalled', body = '', media_id = NULL, edited_at = NULL, \
             recalled_at = $1, recalled_by = $2 WHERE id = $3",
        )
        .bind(now)
        .bind(session.user_id)
        .bind(target.id)
        .execute(&mut *w.tx)
        .await
        .map_err(StoreError::Db)?;
        for sql in [
            "DELETE FROM transcription_jobs WHERE message_id = $1",
            "DELETE FROM transcripts WHERE message_id = $1",
            "DELETE FROM reactions WHERE message_id = $1",
        ] {
            sqlx::query(sql)
                .bind(target.id)
                .execute(&mut *w.tx)
                .await
                .map_err(StoreError::Db)?;
        }
        let orphaned = match &target.media_id {
            Some(media_id) => release_media(&mut w.tx, media_id).await?,
            None => Vec::new(),
        };
        let recall = MessageRecall {
            conversation_id,
            seq,
            by: session.username.clone(),
            at_ms: now,
        };
        let members = viewers(&mut w.tx, &target).await?;
        let fanout = append_event(
            &mut w.tx,
            self.store.backend(),
            &members,
            &NewEvent::MessageRecalled {
                conversation_id,
                message_id: target.id,
            },
            &EventBody::MessageRecalled(recall.clone()),
            now,
        )
        .await
        .map_err(StoreError::Db)?;
        w.commit().await?;
        // Only after the commit: a rolled-back recall keeps its object.
        for sha256 in orphaned {
            for key in [
                MediaStore::object_key(&sha256),
                MediaStore::thumb_key(&sha256),
            ] {
                if let Err(e) = self.media.delete(&key).await {
                    tracing::warn!(%key, "deleting a recalled message's media: {e}");
                }
            }
        }
        Ok((recall, fanout))
    }

    /// Hides a message on the caller's devices only.
    pub async fn delete_for_me(
        &self,
        session: &Session,
        conversation_id: ConversationId,
        seq: u64,
    ) -> Result<(MessageRef, Fanout), ServiceError> {
        let mut w = self.store.begin_write().await?;
        let target = self.lock(&mut w.tx, session, conversation_id, seq).await?;
        let now = now_ms();
        let inserted = sqlx::query(
            "INSERT INTO hidden_messages (user_id, message_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(session.user_id)
        .bind(target.id)
        .bind(now)
        .execute(&mut *w.tx)
        .await
        .map_err(StoreError::Db)?;
        let place = MessageRef {
            conversation_id,
            seq,
        };
        if inserted.rows_affected() == 0 {
            // Already hidden: nothing new for the devices.
            w.commit().await?;
            return Ok((place, Fanout::new()));
        }
        let fanout = append_all(
            &mut w.tx,
            self.store.backend(),
            &[session.user_id],
            EventBody::MessageHidden(place),
            now,
        )
        .await
        .map_err(StoreError::Db)?;
        w.commit().await?;
        Ok((place, fanout))
    }

    /// Loads (and on PostgreSQL locks) message `seq`, if the caller can see
    /// it: a member whose join came before it. Anything else is
    /// `not_found`, like a message that does not exist.
    async fn lock(
        &self,
        tx: &mut Transaction<'static, Any>,
        session: &Session,
        conversation_id: ConversationId,
        seq: u64,
    ) -> Result<Target, ServiceError> {
        self.select(tx, session, conversation_id, seq, true).await
    }

    /// [`MessageOps::lock`], locking the row only if `for_update`.
    async fn select(
        &self,
        tx: &mut Transaction<'static, Any>,
        session: &Session,
        conversation_id: ConversationId,
        seq: u64,
        for_update: bool,
    ) -> Result<Target, ServiceError> {
        let lock = match self.store.backend() {
            // NO KEY: the rows referencing it (reactions, transcripts)
            // hold KEY SHARE locks that FOR UPDATE would conflict with.
            Backend::Postgres if for_update => " FOR NO KEY UPDATE OF m",
            _ => "",
        };
        let sql = format!(
            "SELECT m.id AS id, m.sender_id AS sender_id, m.kind AS kind, \
             m.created_at AS created_at, m.recalled_at AS recalled_at, m.media_id AS media_id, \
             c.kind AS conversation_kind, me.role AS role \
             FROM messages m \
             JOIN conversations c ON c.id = m.conversation_id \
             JOIN conversation_members me ON me.conversation_id = m.conversation_id \
             AND me.user_id = $3 AND me.joined_seq < m.seq \
             WHERE m.conversation_id = $1 AND m.seq = $2{lock}"
        );
        let row = sqlx::query(&sql)
            .bind(conversation_id)
            .bind(to_i64(seq))
            .bind(session.user_id)
            .fetch_optional(&mut **tx)
            .await
            .map_err(StoreError::Db)?
            .ok_or_else(|| not_found(conversation_id, seq))?;
        let conversation_kind: String = row.try_get("conversation_kind")?;
        Ok(Target {
            id: row.try_get("id")?,
            conversation_id,
            seq,
            sender_id: row.try_get("sender_id")?,
            kind: row.try_get("kind")?,
            created_at: row.try_get("created_at")?,
            recalled: row.try_get::<Option<i64>, _>("recalled_at")?.is_some(),
            media_id: row.try_get("media_id")?,
            is_group: conversation_kind == "group",
            my_role: row.try_get("role")?,
        })
    }

    /// The author within the window; in a group, an admin for members'
    /// messages and the owner for anyone's, at any time.
    async fn may_recall(
        &self,
        tx: &mut Transaction<'static, Any>,
        session: &Session,
        target: &Target,
        now: i64,
    ) -> Result<(), ServiceError> {
        let window = self.config.recall_window_secs;
        let own = target.sender_id == Some(session.user_id);
        if own && within(target.created_at, now, window) {
            return Ok(());
        }
        if target.is_group && target.my_role >= ROLE_ADMIN && !own {
            // The sender's role now; one who left counts as a member.
            let sender_role: i64 = match target.sender_id {
                Some(sender) => sqlx::query(
                    "SELECT role FROM conversation_members \
                     WHERE conversation_id = $1 AND user_id = $2",
                )
                .bind(target.conversation_id)
                .bind(sender)
                .fetch_optional(&mut **tx)
                .await
                .map_err(StoreError::Db)?
                .map(|r| r.try_get("role"))
                .transpose()?
                .unwrap_or(0),
                None => 0,
            };
            if sender_role < ROLE_ADMIN || target.my_role == ROLE_OWNER {
                return Ok(());
            }
            return Err(ServiceError::Forbidden(
                "only the owner may recall an admin's messages".into(),
            ));
        }
        Err(ServiceError::Forbidden(if own {
            format!(
                "messages can be recalled for {} after sending; #{} is older",
                human_secs(window),
                target.seq
            )
        } else if target.is_group {
            "only group admins may recall other members' messages".into()
        } else {
            "you can only recall your own messages".into()
        }))
    }
}

fn not_found(conversation_id: ConversationId, seq: u64) -> ServiceError {
    ServiceError::NotFound(format!(
        "no message #{seq} in conversation {conversation_id}"
    ))
}

/// One emoji: a single grapheme, not plain text.
fn check_emoji(emoji: &str) -> Result<(), ServiceError> {
    let bad = |why: &str| {
        Err(ServiceError::InvalidArgument(format!(
            "not a reaction: {why}"
        )))
    };
    if emoji.is_empty() {
        return bad("it is empty");
    }
    if emoji.len() > MAX_EMOJI_BYTES {
        return bad("it is too long");
    }
    if emoji.graphemes(true).count() != 1 {
        return bad("a reaction is one emoji");
    }
    if emoji
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c.is_ascii_alphanumeric())
    {
        return bad("a reaction is an emoji, not text");
    }
    Ok(())
}

/// The reactions on `target`, most used first.
async fn reactions_of(
    tx: &mut Transaction<'static, Any>,
    target: &Target,
) -> Result<Reactions, ServiceError> {
    let rows = sqlx::query(
        "SELECT r.emoji AS emoji, u.username AS username FROM reactions r \
         JOIN users u ON u.id = r.user_id WHERE r.message_id = $1 \
         ORDER BY r.created_at, u.username",
    )
    .bind(target.id)
    .fetch_all(&mut **tx)
    .await
    .map_err(StoreError::Db)?;
    let mut reactions: Vec<ReactionCount> = Vec::new();
    for row in &rows {
        let emoji: String = row.try_get("emoji")?;
        let user: String = row.try_get("username")?;
        let i = match reactions.iter().position(|r| r.emoji == emoji) {
            Some(i) => i,
            None => {
                reactions.push(ReactionCount {
                    emoji,
                    count: 0,
                    users: Vec::new(),
                });
                reactions.len() - 1
            }
        };
        let entry = &mut reactions[i];
        entry.count += 1;
        if entry.users.len() < MAX_REACTORS_LISTED {
            entry.users.push(user);
        }
    }
    // Stable: equal counts keep the order of their first reaction.
    reactions.sort_by_key(|r| std::cmp::Reverse(r.count));
    Ok(Reactions {
        conversation_id: target.conversation_id,
        seq: target.seq,
        reactions,
    })
}

/// Members who can see the message: joined before it, and did not delete
/// it for themselves (its later edits, recall and reactions do not reach
/// whoever hid it).
async fn viewers(
    tx: &mut Transaction<'static, Any>,
    target: &Target,
) -> Result<Vec<UserId>, ServiceError> {
    sqlx::query(
        "SELECT cm.user_id FROM conversation_members cm \
         WHERE cm.conversation_id = $1 AND cm.joined_seq < $2 \
         AND NOT EXISTS (SELECT 1 FROM hidden_messages h \
                         WHERE h.user_id = cm.user_id AND h.message_id = $3)",
    )
    .bind(target.conversation_id)
    .bind(to_i64(target.seq))
    .bind(target.id)
    .fetch_all(&mut **tx)
    .await
    .map_err(StoreError::Db)?
    .iter()
    .map(|r| r.try_get("user_id").map_err(ServiceError::from))
    .collect()
}

/// Deletes the media row `media_id` once nothing references it (messages,
/// transcription jobs, avatars), then its content row once no media row
/// does. Returns the SHA-256 of content left without any reference, whose
/// objects the caller deletes after commit.
async fn release_media(
    tx: &mut Transaction<'static, Any>,
    media_id: &str,
) -> Result<Vec<String>, ServiceError> {
    let referenced = sqlx::query(
        "SELECT 1 AS x FROM messages WHERE media_id = $1 \
         UNION ALL SELECT 1 FROM transcription_jobs WHERE media_id = $1 \
         UNION ALL SELECT 1 FROM users WHERE avatar_media_id = $1 \
         UNION ALL SELECT 1 FROM conversations WHERE avatar_media_id = $1 \
         LIMIT 1",
    )
    .bind(media_id)
    .fetch_optional(&mut **tx)
    .await
    .map_err(StoreError::Db)?;
    if referenced.is_some() {
        return Ok(Vec::new());
    }
    let Some(row) = sqlx::query("DELETE FROM media WHERE id = $1 RETURNING sha256")
        .bind(media_id)
        .fetch_optional(&mut **tx)
        .await
        .map_err(StoreError::Db)?
    else {
        return Ok(Vec::new());
    };
    let sha256: String = row.try_get("sha256")?;
    let shared = sqlx::query("SELECT 1 AS x FROM media WHERE sha256 = $1 LIMIT 1")
        .bind(&sha256)
        .fetch_optional(&mut **tx)
        .await
        .map_err(StoreError::Db)?;
    if shared.is_some() {
        return Ok(Vec::new());
    }
    sqlx::query("DELETE FROM media_objects WHERE sha256 = $1")
        .bind(&sha256)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::Db)?;
    Ok(vec![sha256])
}

/// Whether `now` is within `window_secs` of `created_at` (milliseconds).
fn within(created_at: i64, now: i64, window_secs: u64) -> bool {
    let window_ms = i64::try_from(window_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    now.saturating_sub(created_at) <= window_ms
}

/// "2 min", "15 min", "45 s", "1 h".
fn human_secs(secs: u64) -> String {
    match secs {
        s if s >= 3600 && s % 3600 == 0 => format!("{} h", s / 3600),
        s if s >= 60 && s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_and_their_wording() {
        assert!(within(1_000, 1_000 + 120_000, 120));
        assert!(!within(1_000, 1_000 + 120_001, 120));
        assert!(!within(1_000, 2_000, 0));
        assert_eq!(human_secs(120), "2 min");
        assert_eq!(human_secs(900), "15 min");
        assert_eq!(human_secs(3600), "1 h");
        assert_eq!(human_secs(45), "45 s");
    }
}
