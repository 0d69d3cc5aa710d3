//! Delivered and read watermarks per conversation member.
//!
//! Receipts are monotonic watermarks ("everything up to seq N"), like
//! Matrix read markers, so one receipt covers a burst of messages, and a
//! group of any size holds one row per member, never one per message per
//! member. Read implies delivered. Each advance appends a receipt event
//! for the authors of the messages it newly covers (nobody else needs it)
//! and, for reads, a read-position event for the reader's own devices.

use quichat_proto::event::{Event, EventBody};
use quichat_proto::types::{ConversationId, ReadPosition, Receipt, ReceiptKind, UserId};
use sqlx::{Any, Row, Transaction};

use crate::accounts::Session;
use crate::commit::{self, Committer};
use crate::conversations::Conversations;
use crate::error::{retry_conflicts, ServiceError, StoreError};
use crate::events::{append, append_event, Fanout, NewEvent};
use crate::store::{get_u64, now_ms, to_i64, Backend, Store};

/// The receipts service.
#[derive(Debug, Clone)]
pub struct Receipts {
    store: Store,
    conversations: Conversations,
    committer: Committer,
}

impl Receipts {
    /// Wraps the store.
    pub fn new(store: Store, conversations: Conversations, committer: Committer) -> Self {
        Receipts {
            store,
            conversations,
            committer,
        }
    }

    /// Records that a device of the caller has every message up to `up_to`;
    /// the receipt events are published once committed.
    pub async fn delivered(
        &self,
        session: &Session,
        conversation_id: ConversationId,
        up_to: u64,
    ) -> Result<(), ServiceError> {
        self.advance(session, conversation_id, up_to, ReceiptKind::Delivered)
            .await
    }

    /// Records that the caller has read every message up to `up_to`.
    pub async fn mark_read(
        &self,
        session: &Session,
        conversation_id: ConversationId,
        up_to: u64,
    ) -> Result<(), ServiceError> {
        self.advance(session, conversation_id, up_to, ReceiptKind::Read)
            .await
    }

    async fn advance(
        &self,
        session: &Session,
        conversation_id: ConversationId,
        up_to: u64,
        kind: ReceiptKind,
    ) -> Result<(), ServiceError> {
        // Membership, the clamp to the last seq and the current watermark
        // are read by the write itself, in one statement (a receipt is
        // the most frequent write after a send: every recipient sends one).
        if up_to == 0 {
            return Ok(());
        }
        retry_conflicts!(self.write(session, conversation_id, up_to, kind).await)
    }

    /// Queues the watermark advance for the commit writer: receipts ride
    /// in the same group commits as messages, and its fan-out is
    /// published by the writer once committed.
    async fn write(
        &self,
        session: &Session,
        conversation_id: ConversationId,
        up_to: u64,
        kind: ReceiptKind,
    ) -> Result<(), ServiceError> {
        let session = session.clone();
        let backend = self.store.backend();
        self.committer
            .write(commit::job(move |tx| {
                let session = session.clone();
                Box::pin(async move {
                    let fanout =
                        advance_in(tx, backend, &session, conversation_id, up_to, kind).await?;
                    Ok(((), fanout))
                })
            }))
            .await
    }

    /// Who has read, received, or not yet received message `seq`, for its
    /// sender only. Members who joined after it are not counted.
    pub async fn who_read(
        &self,
        session: &Session,
        conversation_id: ConversationId,
        seq: u64,
    ) -> Result<(Vec<String>, Vec<String>, Vec<String>), ServiceError> {
        let since = self
            .conversations
            .joined_seq(session, conversation_id)
            .await?;
        let missing = || ServiceError::NotFound(format!("message {seq} not found"));
        if seq <= since {
            return Err(missing());
        }
        let row = sqlx::query(
            "SELECT sender_id FROM messages WHERE conversation_id = $1 AND seq = $2 \
             AND kind <> 'system'",
        )
        .bind(conversation_id)
        .bind(to_i64(seq))
        .fetch_optional(self.store.pool())
        .await?
        .ok_or_else(missing)?;
        let sender: UserId = row.try_get("sender_id")?;
        if sender != session.user_id {
            return Err(ServiceError::Forbidden(
                "only the sender can see who received and read a message".into(),
            ));
        }
        let rows = sqlx::query(
            "SELECT u.username AS username, m.delivered_seq AS delivered_seq, \
             m.read_seq AS read_seq FROM conversation_members m JOIN users u ON u.id = m.user_id \
             WHERE m.conversation_id = $1 AND m.user_id <> $2 AND m.joined_seq < $3 \
             ORDER BY u.username",
        )
        .bind(conversation_id)
        .bind(sender)
        .bind(to_i64(seq))
        .fetch_all(self.store.pool())
        .await?;
        let (mut read, mut delivered, mut waiting) = (Vec::new(), Vec::new(), Vec::new());
        for r in &rows {
            let name: String = r.try_get("username")?;
            if get_u64(r, "read_seq")? >= seq {
                read.push(name);
            } else if get_u64(r, "delivered_seq")? >= seq {
                delivered.push(name);
            } else {
                waiting.push(name);
            }
        }
        Ok((read, delivered, waiting))
    }
}

/// Advances `session`'s watermark inside `tx` and appends the receipt
/// events (nothing when it is already at or past `up_to`).
async fn advance_in(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    session: &Session,
    conversation_id: ConversationId,
    up_to: u64,
    kind: ReceiptKind,
) -> Result<Fanout, ServiceError> {
    let now = now_ms();
    let before = sqlx::query(
        "SELECT m.delivered_seq AS delivered_seq, m.read_seq AS read_seq, c.last_seq AS last_seq \
         FROM conversation_members m JOIN conversations c ON c.id = m.conversation_id \
         WHERE m.conversation_id = $1 AND m.user_id = $2",
    )
    .bind(conversation_id)
    .bind(session.user_id)
    .fetch_optional(&mut **tx)
    .await
    .map_err(StoreError::Db)?
    .ok_or_else(|| ServiceError::NotFound(format!("conversation {conversation_id} not found")))?;
    let up_to = up_to.min(get_u64(&before, "last_seq")?);
    let current = match kind {
        ReceiptKind::Delivered => get_u64(&before, "delivered_seq")?,
        ReceiptKind::Read => get_u64(&before, "read_seq")?,
    };
    if up_to <= current {
        // Already at or past this watermark: nothing to write or tell.
        return Ok(Vec::new());
    }
    let (sql, from) = match kind {
        ReceiptKind::Delivered => (
            "UPDATE conversation_members SET delivered_seq = $3 \
             WHERE conversation_id = $1 AND user_id = $2 AND delivered_seq < $3",
            get_u64(&before, "delivered_seq")?,
        ),
        ReceiptKind::Read => (
            "UPDATE conversation_members SET read_seq = $3, \
             delivered_seq = CASE WHEN delivered_seq < $3 THEN $3 ELSE delivered_seq END \
             WHERE conversation_id = $1 AND user_id = $2 AND read_seq < $3",
            get_u64(&before, "read_seq")?,
        ),
    };
    let done = sqlx::query(sql)
        .bind(conversation_id)
        .bind(session.user_id)
        .bind(to_i64(up_to))
        .execute(&mut **tx)
        .await
        .map_err(StoreError::Db)?;
    if done.rows_affected() == 0 {
        // Already at or past this watermark: nothing to tell anyone.
        return Ok(Vec::new());
    }
    // Only the authors of the newly covered messages hear of it: in a
    // group of 1,000, a read makes events for them, not for everyone.
    let authors: Vec<UserId> = sqlx::query(
        "SELECT DISTINCT sender_id FROM messages WHERE conversation_id = $1 \
         AND seq > $2 AND seq <= $3 AND sender_id <> $4 AND kind <> 'system'",
    )
    .bind(conversation_id)
    .bind(to_i64(from))
    .bind(to_i64(up_to))
    .bind(session.user_id)
    .fetch_all(&mut **tx)
    .await
    .map_err(StoreError::Db)?
    .iter()
    .map(|r| r.try_get("sender_id"))
    .collect::<Result<_, _>>()?;
    let receipt = NewEvent::Receipt {
        conversation_id,
        actor_id: session.user_id,
        kind,
        up_to_seq: up_to,
    };
    let receipt_body = EventBody::Receipt(Receipt {
        conversation_id,
        by: session.username.clone(),
        kind,
        up_to_seq: up_to,
        at_ms: now,
    });
    // Logs are locked in ascending user order: authors below the
    // reader, the reader's own read position, then authors above.
    let (below, above): (Vec<UserId>, Vec<UserId>) =
        authors.iter().partition(|&&u| u < session.user_id);
    let mut fanout = append_event(tx, backend, &below, &receipt, &receipt_body, now)
        .await
        .map_err(StoreError::Db)?;
    if kind == ReceiptKind::Read {
        let position = NewEvent::ReadPosition {
            conversation_id,
            up_to_seq: up_to,
        };
        let seq = append(tx, session.user_id, &position, now)
            .await
            .map_err(StoreError::Db)?;
        fanout.push((
            session.user_id,
            Event {
                seq,
                body: EventBody::ReadPosition(ReadPosition {
                    conversation_id,
                    up_to_seq: up_to,
                }),
            },
        ));
    }
    fanout.extend(
        append_event(tx, backend, &above, &receipt, &receipt_body, now)
            .await
            .map_err(StoreError::Db)?,
    );
    Ok(fanout)
}
