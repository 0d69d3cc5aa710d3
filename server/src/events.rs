//! The per-user event log: append inside write transactions, read for sync.
//!
//! Invariant: a user's event seqs are dense (1, 2, 3, ...) and commit in
//! order, because each append bumps `users.event_seq` under that row's lock
//! (PostgreSQL) or the single-writer lock (SQLite), and the lock is held
//! until commit. Transactions that append for several users lock them in
//! ascending id order, so they cannot deadlock.

use quichat_proto::event::{Event, EventBody};
use quichat_proto::types::{
    ConversationId, MessageId, MessageUpdate, ReadPosition, Receipt, ReceiptKind, UserId,
};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::error::ServiceError;
use crate::messages::{message_from_row, MESSAGE_COLUMNS, MESSAGE_JOINS};
use crate::store::{get_u64, to_i64, Store};

const KIND_MESSAGE: i64 = 1;
const KIND_RECEIPT: i64 = 2;
const KIND_READ_POSITION: i64 = 3;
const KIND_MESSAGE_UPDATED: i64 = 4;
const RECEIPT_DELIVERED: i64 = 1;
const RECEIPT_READ: i64 = 2;

/// An event to append, before it has a seq.
#[derive(Debug, Clone)]
pub enum NewEvent {
    /// A message was stored.
    Message {
        /// Conversation.
        conversation_id: ConversationId,
        /// Message.
        message_id: MessageId,
    },
    /// `actor` received or read up to `up_to_seq`.
    Receipt {
        /// Conversation.
        conversation_id: ConversationId,
        /// Who.
        actor_id: UserId,
        /// Delivered or read.
        kind: ReceiptKind,
        /// Watermark.
        up_to_seq: u64,
    },
    /// A message changed (its transcript).
    MessageUpdated {
        /// Conversation.
        conversation_id: ConversationId,
        /// Message.
        message_id: MessageId,
    },
    /// The user's own read position moved.
    ReadPosition {
        /// Conversation.
        conversation_id: ConversationId,
        /// Watermark.
        up_to_seq: u64,
    },
}

/// Appends `event` to `user_id`'s log and returns its seq.
pub async fn append(
    tx: &mut Transaction<'static, Any>,
    user_id: UserId,
    event: &NewEvent,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let row =
        sqlx::query("UPDATE users SET event_seq = event_seq + 1 WHERE id = $1 RETURNING event_seq")
            .bind(user_id)
            .fetch_one(&mut **tx)
            .await?;
    let seq = get_u64(&row, "event_seq")?;
    let (kind, conversation_id, message_id, actor_id, receipt_kind, up_to_seq) = match event {
        NewEvent::Message {
            conversation_id,
            message_id,
        } => (
            KIND_MESSAGE,
            *conversation_id,
            Some(*message_id),
            None,
            None,
            None,
        ),
        NewEvent::Receipt {
            conversation_id,
            actor_id,
            kind,
            up_to_seq,
        } => (
            KIND_RECEIPT,
            *conversation_id,
            None,
            Some(*actor_id),
            Some(match kind {
                ReceiptKind::Delivered => RECEIPT_DELIVERED,
                ReceiptKind::Read => RECEIPT_READ,
            }),
            Some(to_i64(*up_to_seq)),
        ),
        NewEvent::MessageUpdated {
            conversation_id,
            message_id,
        } => (
            KIND_MESSAGE_UPDATED,
            *conversation_id,
            Some(*message_id),
            None,
            None,
            None,
        ),
        NewEvent::ReadPosition {
            conversation_id,
            up_to_seq,
        } => (
            KIND_READ_POSITION,
            *conversation_id,
            None,
            None,
            None,
            Some(to_i64(*up_to_seq)),
        ),
    };
    sqlx::query(
        "INSERT INTO events (user_id, seq, kind, conversation_id, message_id, actor_id, \
         receipt_kind, up_to_seq, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(user_id)
    .bind(to_i64(seq))
    .bind(kind)
    .bind(conversation_id)
    .bind(message_id)
    .bind(actor_id)
    .bind(receipt_kind)
    .bind(up_to_seq)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(seq)
}

/// Reads the event log.
#[derive(Debug, Clone)]
pub struct Events {
    store: Store,
}

impl Events {
    /// Wraps the store.
    pub fn new(store: Store) -> Self {
        Events { store }
    }

    /// Events with seq > `after`, oldest first, at most `limit`; and whether
    /// more exist.
    pub async fn sync(
        &self,
        user_id: UserId,
        after: u64,
        limit: u32,
    ) -> Result<(Vec<Event>, bool), ServiceError> {
        let limit = limit.clamp(1, quichat_proto::control::MAX_PAGE);
        let sql = format!(
            "SELECT e.seq AS e_seq, e.kind AS e_kind, e.conversation_id AS e_conversation_id, \
             e.receipt_kind AS e_receipt_kind, e.up_to_seq AS e_up_to_seq, \
             e.created_at AS e_created_at, a.username AS e_actor, {MESSAGE_COLUMNS} \
             FROM events e \
             LEFT JOIN users a ON a.id = e.actor_id \
             LEFT JOIN messages m ON m.id = e.message_id {MESSAGE_JOINS} \
             WHERE e.user_id = $1 AND e.seq > $2 ORDER BY e.seq LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(user_id)
            .bind(to_i64(after))
            .bind(i64::from(limit) + 1)
            .fetch_all(self.store.pool())
            .await?;
        let has_more = rows.len() > limit as usize;
        let events = rows
            .iter()
            .take(limit as usize)
            .map(event_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((events, has_more))
    }

    /// The highest seq in the user's log.
    pub async fn head(&self, user_id: UserId) -> Result<u64, ServiceError> {
        let row = sqlx::query("SELECT event_seq FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_one(self.store.pool())
            .await?;
        Ok(get_u64(&row, "event_seq")?)
    }
}

fn event_from_row(row: &AnyRow) -> Result<Event, ServiceError> {
    let seq = get_u64(row, "e_seq")?;
    let kind: i64 = row.try_get("e_kind")?;
    let conversation_id: ConversationId = row.try_get("e_conversation_id")?;
    let body = match kind {
        KIND_MESSAGE => EventBody::Message(message_from_row(row)?),
        KIND_RECEIPT => {
            let receipt_kind: Option<i64> = row.try_get("e_receipt_kind")?;
            let up_to: Option<i64> = row.try_get("e_up_to_seq")?;
            let actor: Option<String> = row.try_get("e_actor")?;
            EventBody::Receipt(Receipt {
                conversation_id,
                by: actor.unwrap_or_default(),
                kind: if receipt_kind == Some(RECEIPT_READ) {
                    ReceiptKind::Read
                } else {
                    ReceiptKind::Delivered
                },
                up_to_seq: u64::try_from(up_to.unwrap_or(0)).unwrap_or(0),
                at_ms: row.try_get("e_created_at")?,
            })
        }
        KIND_READ_POSITION => {
            let up_to: Option<i64> = row.try_get("e_up_to_seq")?;
            EventBody::ReadPosition(ReadPosition {
                conversation_id,
                up_to_seq: u64::try_from(up_to.unwrap_or(0)).unwrap_or(0),
            })
        }
        KIND_MESSAGE_UPDATED => {
            let message = message_from_row(row)?;
            EventBody::MessageUpdated(MessageUpdate {
                conversation_id,
                message_id: message.id,
                seq: message.seq,
                transcript: message
                    .transcript
                    .unwrap_or_else(quichat_proto::types::Transcript::pending),
            })
        }
        other => {
            return Err(ServiceError::Internal(format!(
                "unknown event kind {other} at seq {seq}"
            )))
        }
    };
    Ok(Event { seq, body })
}
