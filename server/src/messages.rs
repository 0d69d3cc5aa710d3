//! Sending messages: validation, idempotent storage, and the events that
//! announce a message to every member.
//!
//! Invariant: a message is committed, together with one event per member,
//! before its ack is sent. The `(sender_id, client_id)` unique index makes
//! a resend an idempotent no-op that returns the original ack.

use std::sync::Arc;

use quichat_proto::event::{Event, EventBody};
use quichat_proto::media::MediaKind;
use quichat_proto::types::{
    Message, MessageBody, Recipient, SendAck, SendMessage, Transcript, UserId, MAX_TEXT_BYTES,
};
use sqlx::Row;
use uuid::Uuid;

use crate::accounts::{Accounts, Session};
use crate::contacts::Contacts;
use crate::conversations;
use crate::error::{ServiceError, StoreError};
use crate::events::{append, Fanout, NewEvent};
use crate::media::MediaMeta;
use crate::store::{get_u64, now_ms, to_i64, Store};

/// Longest caption of a media message, in bytes.
pub const MAX_CAPTION_BYTES: usize = 4096;

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

/// The messages service.
#[derive(Debug, Clone)]
pub struct Messages {
    store: Store,
    accounts: Accounts,
    media: MediaMeta,
    contacts: Contacts,
    /// Woken when a transcription job is queued (in-process workers).
    pub jobs_ready: Arc<tokio::sync::Notify>,
}

impl Messages {
    /// Wraps the store.
    pub fn new(store: Store, accounts: Accounts, media: MediaMeta, contacts: Contacts) -> Self {
        Messages {
            store,
            accounts,
            media,
            contacts,
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
        // Blocks and the server's message policy (a resend of a message
        // stored before a block is still acknowledged above).
        self.contacts.check_delivery(session.user_id, to_id).await?;
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
        let mut w = self.store.begin_write().await?;
        let (conversation_id, seq, members) =
            conversations::next_direct_seq(&mut w.tx, session.user_id, to_id, now)
                .await
                .map_err(StoreError::Db)?;
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
}
