//! Messages and conversations: idempotent send, history, conversation list.
//!
//! Invariant: a message is committed, together with one event per member,
//! before its ack is sent. The `(sender_id, client_id)` unique index makes
//! a resend an idempotent no-op that returns the original ack.

use quichat_proto::event::{Event, EventBody};
use quichat_proto::media::MediaKind;
use std::sync::Arc;

use quichat_proto::types::{
    ConversationId, ConversationRef, ConversationSummary, Message, MessageBody, Recipient, SendAck,
    SendMessage, UserId, MAX_TEXT_BYTES,
};
use quichat_proto::types::{Transcript, TranscriptSegment, TranscriptStatus};
use sqlx::any::AnyRow;
use sqlx::Row;
use uuid::Uuid;

use crate::accounts::{Accounts, Session};
use crate::error::{ServiceError, StoreError};
use crate::events::{append, NewEvent};
use crate::media::meta::{media_columns, media_from_row};
use crate::media::MediaMeta;
use crate::store::{get_u64, now_ms, to_i64, Store};

/// Columns (aliased `m_*` and `md_*`) that [`message_from_row`] reads,
/// from `messages m` joined with [`MESSAGE_JOINS`].
pub const MESSAGE_COLUMNS: &str = concat!(
    "m.id AS m_id, m.conversation_id AS m_conversation_id, \
     m.seq AS m_seq, s.username AS m_sender, m.client_id AS m_client_id, \
     r.username AS m_to, m.created_at AS m_created_at, m.kind AS m_kind, m.body AS m_body, \
     t.status AS t_status, t.text AS t_text, t.language AS t_language, \
     t.segments AS t_segments, t.error AS t_error, ",
    media_columns!()
);

/// Joins that [`MESSAGE_COLUMNS`] needs after `messages m`.
pub const MESSAGE_JOINS: &str = "LEFT JOIN users s ON s.id = m.sender_id \
     LEFT JOIN users r ON r.id = m.to_user_id \
     LEFT JOIN media md ON md.id = m.media_id \
     LEFT JOIN media_objects mo ON mo.sha256 = md.sha256 \
     LEFT JOIN transcripts t ON t.message_id = m.id";

/// Longest caption of a media message, in bytes.
pub const MAX_CAPTION_BYTES: usize = 4096;

/// Builds a [`Message`] from a row holding [`MESSAGE_COLUMNS`].
pub fn message_from_row(row: &AnyRow) -> Result<Message, ServiceError> {
    let client_id: String = row.try_get("m_client_id")?;
    let kind: String = row.try_get("m_kind")?;
    let body: String = row.try_get("m_body")?;
    let to: Option<String> = row.try_get("m_to")?;
    Ok(Message {
        id: row.try_get("m_id")?,
        conversation_id: row.try_get("m_conversation_id")?,
        seq: get_u64(row, "m_seq")?,
        sender: row.try_get("m_sender")?,
        client_id: Uuid::parse_str(&client_id)
            .map_err(|e| ServiceError::Internal(format!("stored client id: {e}")))?,
        to: Recipient::User(to.unwrap_or_default()),
        sent_at_ms: row.try_get("m_created_at")?,
        transcript: transcript_from_row(row)?,
        body: match kind.as_str() {
            "text" => MessageBody::Text(body),
            other if MediaKind::parse(other).is_some() => MessageBody::Media {
                media: Box::new(media_from_row(row)?),
                caption: body,
            },
            other => {
                return Err(ServiceError::Internal(format!(
                    "unknown message kind {other}"
                )))
            }
        },
    })
}

/// The transcript columns (`t_*`) of a message row, if it has one.
pub fn transcript_from_row(row: &AnyRow) -> Result<Option<Transcript>, ServiceError> {
    let status: Option<String> = row.try_get("t_status")?;
    let Some(status) = status else {
        return Ok(None);
    };
    let error: Option<String> = row.try_get("t_error")?;
    let segments: Option<String> = row.try_get("t_segments")?;
    let segments: Vec<TranscriptSegment> = match segments {
        Some(json) => serde_json::from_str::<Vec<StoredSegment>>(&json)
            .map_err(|e| ServiceError::Internal(format!("stored segments: {e}")))?
            .into_iter()
            .map(|s| TranscriptSegment {
                start_ms: s.start_ms,
                end_ms: s.end_ms,
                text: s.text,
            })
            .collect(),
        None => Vec::new(),
    };
    Ok(Some(Transcript {
        status: match status.as_str() {
            "done" => TranscriptStatus::Done,
            "failed" => TranscriptStatus::Failed {
                reason: error.unwrap_or_else(|| "transcription failed".into()),
            },
            _ => TranscriptStatus::Pending,
        },
        text: row
            .try_get::<Option<String>, _>("t_text")?
            .unwrap_or_default(),
        language: row.try_get("t_language")?,
        segments,
    }))
}

/// How segments are stored (JSON in `transcripts.segments`).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct StoredSegment {
    /// Start in ms.
    pub start_ms: u64,
    /// End in ms.
    pub end_ms: u64,
    /// Text.
    pub text: String,
}

fn validate_body(body: &MessageBody) -> Result<(), ServiceError> {
    match body {
        MessageBody::Media { caption, .. } => {
            if caption.len() > MAX_CAPTION_BYTES {
                return Err(ServiceError::InvalidMessage(format!(
                    "caption is {} bytes; the limit is {MAX_CAPTION_BYTES}",
                    caption.len()
                )));
            }
        }
        MessageBody::Text(text) => {
            if text.trim().is_empty() {
                return Err(ServiceError::InvalidMessage("message text is empty".into()));
            }
            if text.len() > MAX_TEXT_BYTES {
                return Err(ServiceError::InvalidMessage(format!(
                    "message text is {} bytes; the limit is {MAX_TEXT_BYTES}",
                    text.len()
                )));
            }
        }
    }
    Ok(())
}

/// `(kind, body, media_id)` columns for a message body.
fn body_columns(body: &MessageBody) -> (&'static str, &str, Option<String>) {
    match body {
        MessageBody::Text(t) => ("text", t.as_str(), None),
        MessageBody::Media { media, caption } => (
            media.kind.as_str(),
            caption.as_str(),
            Some(media.id.to_string()),
        ),
    }
}

fn direct_key(a: UserId, b: UserId) -> String {
    format!("{}:{}", a.min(b), a.max(b))
}

/// Events produced by a write, to publish to online devices after commit.
pub type Fanout = Vec<(UserId, Event)>;

/// The messages service.
#[derive(Debug, Clone)]
pub struct Messages {
    store: Store,
    accounts: Accounts,
    media: MediaMeta,
    /// Woken when a transcription job is queued (in-process workers).
    pub jobs_ready: Arc<tokio::sync::Notify>,
}

impl Messages {
    /// Wraps the store.
    pub fn new(store: Store, accounts: Accounts, media: MediaMeta) -> Self {
        Messages {
            store,
            accounts,
            media,
            jobs_ready: Arc::new(tokio::sync::Notify::new()),
        }
    }

    /// Stores a message (or finds the earlier copy of a resend) and returns
    /// the ack and the events to fan out.
    pub async fn send(
        &self,
        session: &Session,
        msg: &SendMessage,
    ) -> Result<(SendAck, Fanout), ServiceError> {
        validate_body(&msg.body)?;
        let Recipient::User(to_name) = &msg.to;
        let to_id = self.accounts.user_id(to_name).await?;
        if to_id == session.user_id {
            return Err(ServiceError::InvalidArgument(
                "you cannot send a direct message to yourself".into(),
            ));
        }
        if let Some(ack) = self.find_sent(session.user_id, msg.client_id).await? {
            return Ok((ack, Vec::new()));
        }
        // A media message may only refer to media the sender can see; the
        // stored metadata, not the client's copy, goes into the message.
        let mut msg = msg.clone();
        if let MessageBody::Media { media, .. } = &mut msg.body {
            let located = self
                .media
                .visible(session.user_id, media.id)
                .await?
                .ok_or_else(|| {
                    ServiceError::NotFound(format!("media {} not found; upload it first", media.id))
                })?;
            **media = located.info;
        }
        let msg = &msg;
        for attempt in 0..3 {
            match self.insert(session, msg, to_id).await {
                Ok(done) => return Ok(done),
                Err(ServiceError::Store(e)) if e.is_unique_violation() => {
                    // A concurrent resend won the race; answer with its ack.
                    if let Some(ack) = self.find_sent(session.user_id, msg.client_id).await? {
                        return Ok((ack, Vec::new()));
                    }
                    return Err(ServiceError::Store(e));
                }
                Err(ServiceError::Store(e)) if e.is_retryable() && attempt < 2 => continue,
                Err(e) => return Err(e),
            }
        }
        Err(ServiceError::Internal("send retries exhausted".into()))
    }

    async fn find_sent(
        &self,
        sender: UserId,
        client_id: Uuid,
    ) -> Result<Option<SendAck>, ServiceError> {
        let row = sqlx::query(
            "SELECT id, conversation_id, seq, created_at FROM messages \
             WHERE sender_id = $1 AND client_id = $2",
        )
        .bind(sender)
        .bind(client_id.to_string())
        .fetch_optional(self.store.pool())
        .await?;
        row.map(|r| {
            Ok(SendAck {
                client_id,
                message_id: r.try_get("id")?,
                conversation_id: r.try_get("conversation_id")?,
                seq: get_u64(&r, "seq")?,
                sent_at_ms: r.try_get("created_at")?,
                duplicate: true,
            })
        })
        .transpose()
    }

    async fn insert(
        &self,
        session: &Session,
        msg: &SendMessage,
        to_id: UserId,
    ) -> Result<(SendAck, Fanout), ServiceError> {
        let now = now_ms();
        let key = direct_key(session.user_id, to_id);
        let mut w = self.store.begin_write().await?;
        sqlx::query(
            "INSERT INTO conversations (kind, direct_key, last_seq, last_message_at, created_at) \
             VALUES ('direct', $1, 0, $2, $2) ON CONFLICT (direct_key) DO NOTHING",
        )
        .bind(&key)
        .bind(now)
        .execute(&mut *w.tx)
        .await
        .map_err(StoreError::Db)?;
        let row = sqlx::query(
            "UPDATE conversations SET last_seq = last_seq + 1, last_message_at = $2 \
             WHERE direct_key = $1 RETURNING id, last_seq",
        )
        .bind(&key)
        .bind(now)
        .fetch_one(&mut *w.tx)
        .await
        .map_err(StoreError::Db)?;
        let conversation_id: ConversationId = row.try_get("id")?;
        let seq = get_u64(&row, "last_seq")?;
        let mut members = [session.user_id, to_id];
        members.sort_unstable();
        for member in members {
            sqlx::query(
                "INSERT INTO conversation_members (conversation_id, user_id, delivered_seq, read_seq, joined_at) \
                 VALUES ($1, $2, 0, 0, $3) ON CONFLICT (conversation_id, user_id) DO NOTHING",
            )
            .bind(conversation_id)
            .bind(member)
            .bind(now)
            .execute(&mut *w.tx)
            .await
            .map_err(StoreError::Db)?;
        }
        let (kind, body, media_id) = body_columns(&msg.body);
        let row = sqlx::query(
            "INSERT INTO messages (conversation_id, seq, sender_id, sender_device_id, to_user_id, \
             client_id, kind, body, created_at, media_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(conversation_id)
        .bind(to_i64(seq))
        .bind(session.user_id)
        .bind(session.device_id)
        .bind(to_id)
        .bind(msg.client_id.to_string())
        .bind(kind)
        .bind(body)
        .bind(now)
        .bind(media_id)
        .fetch_one(&mut *w.tx)
        .await
        .map_err(StoreError::Db)?;
        let message_id = row.try_get("id")?;
        // A voice note gets a durable transcription job in the same
        // transaction, so it cannot be lost.
        let transcript = match &msg.body {
            MessageBody::Media { media, .. } if media.kind == MediaKind::Voice => {
                sqlx::query(
                    "INSERT INTO transcripts (message_id, status, updated_at) VALUES ($1, 'pending', $2)",
                )
                .bind(message_id)
                .bind(now)
                .execute(&mut *w.tx)
                .await
                .map_err(StoreError::Db)?;
                sqlx::query(
                    "INSERT INTO transcription_jobs (message_id, media_id, state, attempts, run_after, \
                     created_at, updated_at) VALUES ($1, $2, 'queued', 0, $3, $3, $3)",
                )
                .bind(message_id)
                .bind(media.id.to_string())
                .bind(now)
                .execute(&mut *w.tx)
                .await
                .map_err(StoreError::Db)?;
                Some(Transcript::pending())
            }
            _ => None,
        };
        let message = Message {
            transcript: transcript.clone(),
            id: message_id,
            conversation_id,
            seq,
            sender: session.username.clone(),
            client_id: msg.client_id,
            to: msg.to.clone(),
            sent_at_ms: now,
            body: msg.body.clone(),
        };
        let mut fanout = Vec::with_capacity(2);
        let event = NewEvent::Message {
            conversation_id,
            message_id,
        };
        for member in members {
            let event_seq = append(&mut w.tx, member, &event, now)
                .await
                .map_err(StoreError::Db)?;
            fanout.push((
                member,
                Event {
                    seq: event_seq,
                    body: EventBody::Message(message.clone()),
                },
            ));
        }
        w.commit().await?;
        if transcript.is_some() {
            self.jobs_ready.notify_one();
        }
        Ok((
            SendAck {
                client_id: msg.client_id,
                message_id,
                conversation_id,
                seq,
                sent_at_ms: now,
                duplicate: false,
            },
            fanout,
        ))
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
                let row = sqlx::query("SELECT id FROM conversations WHERE direct_key = $1")
                    .bind(direct_key(session.user_id, other))
                    .fetch_optional(self.store.pool())
                    .await?;
                Ok(row.map(|r| r.try_get("id")).transpose()?)
            }
            ConversationRef::Id(id) => {
                self.require_member(session, *id).await?;
                Ok(Some(*id))
            }
        }
    }

    /// Fails with `NotFound` unless the caller is a member.
    pub async fn require_member(
        &self,
        session: &Session,
        conversation_id: ConversationId,
    ) -> Result<(), ServiceError> {
        let row = sqlx::query(
            "SELECT 1 AS one FROM conversation_members WHERE conversation_id = $1 AND user_id = $2",
        )
        .bind(conversation_id)
        .bind(session.user_id)
        .fetch_optional(self.store.pool())
        .await?;
        match row {
            Some(_) => Ok(()),
            None => Err(ServiceError::NotFound(format!(
                "conversation {conversation_id} not found"
            ))),
        }
    }

    /// A page of history, newest first.
    pub async fn history(
        &self,
        session: &Session,
        conv: &ConversationRef,
        before_seq: Option<u64>,
        limit: u32,
    ) -> Result<(Option<ConversationId>, Vec<Message>, bool), ServiceError> {
        let Some(conversation_id) = self.resolve(session, conv).await? else {
            return Ok((None, Vec::new(), false));
        };
        let limit = limit.clamp(1, quichat_proto::control::MAX_PAGE);
        let before = before_seq.map(to_i64).unwrap_or(i64::MAX);
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m {MESSAGE_JOINS} \
             WHERE m.conversation_id = $1 AND m.seq < $2 ORDER BY m.seq DESC LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(conversation_id)
            .bind(before)
            .bind(i64::from(limit) + 1)
            .fetch_all(self.store.pool())
            .await?;
        let has_more = rows.len() > limit as usize;
        let messages = rows
            .iter()
            .take(limit as usize)
            .map(message_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((Some(conversation_id), messages, has_more))
    }

    /// The caller's conversations, most recent first (at most 200).
    pub async fn conversations(
        &self,
        session: &Session,
    ) -> Result<Vec<ConversationSummary>, ServiceError> {
        let rows = sqlx::query(
            "SELECT c.id AS id, c.last_seq AS last_seq, me.read_seq AS read_seq, o.username AS peer \
             FROM conversation_members me \
             JOIN conversations c ON c.id = me.conversation_id \
             JOIN conversation_members om ON om.conversation_id = c.id AND om.user_id <> me.user_id \
             JOIN users o ON o.id = om.user_id \
             WHERE me.user_id = $1 ORDER BY c.last_message_at DESC, c.id DESC LIMIT 200",
        )
        .bind(session.user_id)
        .fetch_all(self.store.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id: ConversationId = row.try_get("id")?;
            let last_seq = get_u64(&row, "last_seq")?;
            let read_seq = get_u64(&row, "read_seq")?;
            let unread_row = sqlx::query(
                "SELECT COUNT(*) AS n FROM messages WHERE conversation_id = $1 AND seq > $2 AND sender_id <> $3",
            )
            .bind(id)
            .bind(to_i64(read_seq))
            .bind(session.user_id)
            .fetch_one(self.store.pool())
            .await?;
            let sql = format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages m {MESSAGE_JOINS} \
                 WHERE m.conversation_id = $1 AND m.seq = $2"
            );
            let last = sqlx::query(&sql)
                .bind(id)
                .bind(to_i64(last_seq))
                .fetch_optional(self.store.pool())
                .await?;
            out.push(ConversationSummary {
                id,
                peer: Recipient::User(row.try_get("peer")?),
                last_seq,
                read_seq,
                unread: get_u64(&unread_row, "n")?,
                last_message: last.as_ref().map(message_from_row).transpose()?,
            });
        }
        Ok(out)
    }
}
