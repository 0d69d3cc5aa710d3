//! Sending messages: validation, idempotent storage, and the events that
//! announce a message to every member.
//!
//! Invariant: a message is committed, together with one event per member,
//! before its ack is sent. The `(sender_id, client_id)` unique index makes
//! a resend an idempotent no-op that returns the original ack.

use std::sync::Arc;

use quichat_proto::event::EventBody;
use quichat_proto::media::MediaKind;
use quichat_proto::types::{
    ConversationId, DeviceId, Message, MessageBody, MessageId, Quote, Recipient, SendAck,
    SendMessage, Transcript, UserId, MAX_TEXT_BYTES,
};
use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use futures::future::BoxFuture;

use crate::accounts::{Accounts, Session};
use crate::commit::{self, Committer, WriteFn};
use crate::contacts::Contacts;
use crate::conversations;
use crate::error::{ServiceError, StoreError};
use crate::events::{append_event, Fanout, NewEvent};
use crate::groups;
use crate::media::MediaMeta;
use crate::mentions;
use crate::message_rows::quote_of;
use crate::store::{get_u64, now_ms, to_i64, Backend, Store};

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
        MessageBody::System(_) => {
            return Err(ServiceError::InvalidMessage(
                "system messages are written by the server, not sent".into(),
            ))
        }
        MessageBody::Edited { .. } | MessageBody::Recalled { .. } => {
            return Err(ServiceError::InvalidMessage(
                "edits and recalls are requests on the control stream, not messages".into(),
            ))
        }
        MessageBody::Reply(reply) => return validate_body(&MessageBody::Text(reply.text.clone())),
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

/// `(kind, body, media_id)` columns for a sendable message body.
fn body_columns(body: &MessageBody) -> (&'static str, &str, Option<String>) {
    match body {
        MessageBody::Text(t) => ("text", t.as_str(), None),
        MessageBody::Media { media, caption } => (
            media.kind.as_str(),
            caption.as_str(),
            Some(media.id.to_string()),
        ),
        // Refused by validate_body; stored only through groups::post_notice.
        MessageBody::System(_) => ("system", "", None),
        // Refused by validate_body; written only by message_ops.
        MessageBody::Edited { .. } | MessageBody::Recalled { .. } => ("text", "", None),
        MessageBody::Reply(reply) => ("reply", reply.text.as_str(), None),
    }
}

/// The columns of a new `messages` row.
#[derive(Debug)]
pub struct MessageRow<'a> {
    /// Conversation.
    pub conversation_id: ConversationId,
    /// Its seq there (already taken).
    pub seq: u64,
    /// Sender.
    pub sender_id: UserId,
    /// Sender's device.
    pub sender_device_id: DeviceId,
    /// The addressee of a direct message; `None` in a group.
    pub to_user_id: Option<UserId>,
    /// Client id (idempotency key).
    pub client_id: Uuid,
    /// `text`, a media kind, or `system`.
    pub kind: &'a str,
    /// Text, caption, or a system notice's JSON.
    pub body: &'a str,
    /// Media, if any.
    pub media_id: Option<String>,
    /// For a reply, the seq it answers.
    pub reply_to_seq: Option<u64>,
    /// Server time.
    pub now: i64,
}

/// Inserts a message row inside a write transaction; returns its id.
pub async fn insert_row(
    tx: &mut Transaction<'static, Any>,
    r: &MessageRow<'_>,
) -> Result<MessageId, StoreError> {
    let row = sqlx::query(
        "INSERT INTO messages (conversation_id, seq, sender_id, sender_device_id, to_user_id, \
         client_id, kind, body, created_at, media_id, reply_to_seq) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(r.conversation_id)
    .bind(to_i64(r.seq))
    .bind(r.sender_id)
    .bind(r.sender_device_id)
    .bind(r.to_user_id)
    .bind(r.client_id.to_string())
    .bind(r.kind)
    .bind(r.body)
    .bind(r.now)
    .bind(r.media_id.as_deref())
    .bind(r.reply_to_seq.map(to_i64))
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("id")?)
}

/// Where a message goes.
#[derive(Debug, Clone, Copy)]
enum Target {
    Direct(UserId),
    Group(ConversationId),
}

/// A send that passed its checks, ready for the commit writer.
#[derive(Debug)]
struct Prepared {
    session: Session,
    msg: SendMessage,
    target: Target,
    backend: Backend,
}

/// A send in the commit writer's queue: resolves to its ack once the
/// message is committed.
pub type PendingSend = BoxFuture<'static, Result<SendAck, ServiceError>>;

/// The messages service.
#[derive(Debug, Clone)]
pub struct Messages {
    store: Store,
    accounts: Accounts,
    media: MediaMeta,
    contacts: Contacts,
    committer: Committer,
    /// Woken when a transcription job is queued (in-process workers).
    pub jobs_ready: Arc<tokio::sync::Notify>,
}

impl Messages {
    /// Wraps the store; messages are written through `committer`.
    pub fn new(
        store: Store,
        accounts: Accounts,
        media: MediaMeta,
        contacts: Contacts,
        committer: Committer,
    ) -> Self {
        Messages {
            store,
            accounts,
            media,
            contacts,
            committer,
            jobs_ready: Arc::new(tokio::sync::Notify::new()),
        }
    }

    /// Stores a message (or finds the earlier copy of a resend) and
    /// returns its ack, once committed. The events are published to the
    /// hub by the commit writer.
    pub async fn send(
        &self,
        session: &Session,
        msg: &SendMessage,
    ) -> Result<SendAck, ServiceError> {
        self.submit(session, msg).await?.await
    }

    /// Checks a send and queues it for the commit writer; the returned
    /// future resolves to its ack once it is committed. Sends submitted
    /// one after another (each `submit` awaited before the next) are stored
    /// in that order, so one stream can keep many in flight and still get
    /// its messages in the order it sent them.
    pub async fn submit(
        &self,
        session: &Session,
        msg: &SendMessage,
    ) -> Result<PendingSend, ServiceError> {
        validate_body(&msg.body)?;
        let target = match &msg.to {
            Recipient::User(to_name) => {
                let to_id = self.accounts.user_id(to_name).await?;
                if to_id == session.user_id {
                    return Err(ServiceError::InvalidArgument(
                        "you cannot send a direct message to yourself".into(),
                    ));
                }
                Target::Direct(to_id)
            }
            Recipient::Group(id) => Target::Group(*id),
        };
        // No lookup of an earlier copy up front: a resend collides with
        // the `(sender_id, client_id)` index when written, and any failure
        // is checked against an earlier copy below, so the common send
        // pays no extra read.
        let msg = match self.check(session, msg, target).await {
            Ok(msg) => msg,
            Err(e) => {
                // A resend of a message stored before a block (or before
                // its media became invisible) is still acknowledged.
                return match self.find_sent(session.user_id, msg.client_id).await? {
                    Some(ack) => Ok(Box::pin(std::future::ready(Ok(ack)))),
                    None => Err(e),
                };
            }
        };
        let voice =
            matches!(&msg.body, MessageBody::Media { media, .. } if media.kind == MediaKind::Voice);
        let prepared = Arc::new(Prepared {
            session: session.clone(),
            msg,
            target,
            backend: self.store.backend(),
        });
        let first = self.committer.enqueue(write_of(prepared.clone())).await?;
        let this = self.clone();
        Ok(Box::pin(async move {
            let mut result = first.await;
            for _ in 0..2 {
                match &result {
                    Err(ServiceError::Store(e)) if e.is_retryable() => {
                        result = this.committer.write(write_of(prepared.clone())).await;
                    }
                    _ => break,
                }
            }
            match result {
                Ok(ack) => {
                    if voice {
                        this.jobs_ready.notify_one();
                    }
                    Ok(ack)
                }
                // A resend (its original collided with the unique index,
                // or was stored before the sender left the group): answer
                // with the original's ack.
                Err(e) => {
                    let s = &prepared.session;
                    match this.find_sent(s.user_id, prepared.msg.client_id).await? {
                        Some(ack) => Ok(ack),
                        None => Err(e),
                    }
                }
            }
        }))
    }

    /// Blocks and the server's message policy (in a group, membership is
    /// the policy, checked under the group's lock when written); a media
    /// message may only refer to media the sender can see, and carries the
    /// stored metadata, not the client's copy.
    async fn check(
        &self,
        session: &Session,
        msg: &SendMessage,
        target: Target,
    ) -> Result<SendMessage, ServiceError> {
        if let Target::Direct(to_id) = target {
            self.contacts.check_delivery(session.user_id, to_id).await?;
        }
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
        Ok(msg)
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
}

/// The commit writer's job for a prepared send.
fn write_of(p: Arc<Prepared>) -> WriteFn<SendAck> {
    commit::job(move |tx| {
        let p = p.clone();
        Box::pin(async move { insert(tx, &p).await })
    })
}

/// Writes a prepared message, its transcription job and its events.
async fn insert(
    tx: &mut Transaction<'static, Any>,
    p: &Prepared,
) -> Result<(SendAck, Fanout), ServiceError> {
    let (session, msg) = (&p.session, &p.msg);
    let now = now_ms();
    let (conversation_id, seq, members, to_user_id) = match p.target {
        Target::Direct(to_id) => {
            let (conversation_id, seq, members) =
                conversations::next_direct_seq(tx, session.user_id, to_id, now)
                    .await
                    .map_err(StoreError::Db)?;
            (conversation_id, seq, members.to_vec(), Some(to_id))
        }
        Target::Group(group) => {
            let (seq, members) = groups::next_group_seq(tx, group, session.user_id, now).await?;
            (group, seq, members, None)
        }
    };
    let (kind, body, media_id) = body_columns(&msg.body);
    // A reply answers a message the sender can see in the same
    // conversation; the live copy carries its quote as stored.
    let mut live_body = msg.body.clone();
    let reply_to_seq = match &mut live_body {
        MessageBody::Reply(reply) => {
            reply.quote =
                quote_for_reply(tx, conversation_id, reply.to_seq, session.user_id).await?;
            reply.edited_at_ms = None;
            Some(reply.to_seq)
        }
        _ => None,
    };
    let message_id = insert_row(
        tx,
        &MessageRow {
            conversation_id,
            seq,
            sender_id: session.user_id,
            sender_device_id: session.device_id,
            to_user_id,
            client_id: msg.client_id,
            kind,
            body,
            media_id,
            reply_to_seq,
            now,
        },
    )
    .await?;
    // A voice note gets a durable transcription job in the same
    // transaction, so it cannot be lost.
    let transcript = match &msg.body {
        MessageBody::Media { media, .. } if media.kind == MediaKind::Voice => {
            sqlx::query(
                "INSERT INTO transcripts (message_id, status, updated_at) VALUES ($1, 'pending', $2)",
            )
            .bind(message_id)
            .bind(now)
            .execute(&mut **tx)
            .await
            .map_err(StoreError::Db)?;
            sqlx::query(
                "INSERT INTO transcription_jobs (message_id, media_id, state, attempts, run_after, \
                 created_at, updated_at) VALUES ($1, $2, 'queued', 0, $3, $3, $3)",
            )
            .bind(message_id)
            .bind(media.id.to_string())
            .bind(now)
            .execute(&mut **tx)
            .await
            .map_err(StoreError::Db)?;
            Some(Transcript::pending())
        }
        _ => None,
    };
    let message = Message {
        transcript,
        id: message_id,
        conversation_id,
        seq,
        sender: session.username.clone(),
        client_id: msg.client_id,
        to: msg.to.clone(),
        sent_at_ms: now,
        body: live_body,
    };
    let mention_text = match &message.body {
        MessageBody::Text(text) => Some(text.clone()),
        MessageBody::Reply(reply) => Some(reply.text.clone()),
        _ => None,
    };
    let mut fanout = append_event(
        tx,
        p.backend,
        &members,
        &NewEvent::Message {
            conversation_id,
            message_id,
        },
        &EventBody::Message(message),
        now,
    )
    .await
    .map_err(StoreError::Db)?;
    // Mentions only mean something in groups; they follow the message in
    // each mentioned member's log.
    if let (Target::Group(_), Some(text)) = (p.target, mention_text) {
        fanout.extend(
            mentions::record(
                tx,
                p.backend,
                conversation_id,
                message_id,
                seq,
                session.user_id,
                &session.username,
                &text,
                &members,
                now,
            )
            .await?,
        );
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

/// The quote of message `to_seq` for a reply by `sender` in
/// `conversation_id`; `not_found` unless the sender can see it.
async fn quote_for_reply(
    tx: &mut Transaction<'static, Any>,
    conversation_id: ConversationId,
    to_seq: u64,
    sender: UserId,
) -> Result<Quote, ServiceError> {
    let row = sqlx::query(
        "SELECT q.kind AS kind, q.body AS body, qs.username AS sender, qmd.filename AS filename \
         FROM messages q \
         JOIN conversation_members me ON me.conversation_id = q.conversation_id \
         AND me.user_id = $3 AND me.joined_seq < q.seq \
         LEFT JOIN users qs ON qs.id = q.sender_id \
         LEFT JOIN media qmd ON qmd.id = q.media_id \
         WHERE q.conversation_id = $1 AND q.seq = $2",
    )
    .bind(conversation_id)
    .bind(to_i64(to_seq))
    .bind(sender)
    .fetch_optional(&mut **tx)
    .await
    .map_err(StoreError::Db)?
    .ok_or_else(|| {
        ServiceError::NotFound(format!(
            "there is no message #{to_seq} to reply to in this conversation"
        ))
    })?;
    let kind: String = row.try_get("kind")?;
    let body: String = row.try_get("body")?;
    let filename: Option<String> = row.try_get("filename")?;
    Ok(quote_of(
        &kind,
        &body,
        row.try_get::<Option<String>, _>("sender")?
            .unwrap_or_default(),
        filename.as_deref(),
    ))
}
