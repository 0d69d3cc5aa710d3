//! Delivered and read watermarks per conversation member.
//!
//! Receipts are monotonic watermarks ("everything up to seq N"), like
//! Matrix read markers, so one receipt covers a burst of messages. Read
//! implies delivered. Each advance appends a receipt event for the other
//! members and, for reads, a read-position event for the reader's own
//! devices.

use quichat_proto::event::{Event, EventBody};
use quichat_proto::types::{ConversationId, ReadPosition, Receipt, ReceiptKind, UserId};
use sqlx::Row;

use crate::accounts::Session;
use crate::conversations::Conversations;
use crate::error::{ServiceError, StoreError};
use crate::events::Fanout;
use crate::events::{append, NewEvent};
use crate::store::{get_u64, now_ms, to_i64, Store};

/// The receipts service.
#[derive(Debug, Clone)]
pub struct Receipts {
    store: Store,
    conversations: Conversations,
}

impl Receipts {
    /// Wraps the store.
    pub fn new(store: Store, conversations: Conversations) -> Self {
        Receipts {
            store,
            conversations,
        }
    }

    /// Records that a device of the caller has every message up to `up_to`.
    pub async fn delivered(
        &self,
        session: &Session,
        conversation_id: ConversationId,
        up_to: u64,
    ) -> Result<Fanout, ServiceError> {
        self.advance(session, conversation_id, up_to, ReceiptKind::Delivered)
            .await
    }

    /// Records that the caller has read every message up to `up_to`.
    pub async fn mark_read(
        &self,
        session: &Session,
        conversation_id: ConversationId,
        up_to: u64,
    ) -> Result<Fanout, ServiceError> {
        self.advance(session, conversation_id, up_to, ReceiptKind::Read)
            .await
    }

    async fn advance(
        &self,
        session: &Session,
        conversation_id: ConversationId,
        up_to: u64,
        kind: ReceiptKind,
    ) -> Result<Fanout, ServiceError> {
        self.conversations
            .require_member(session, conversation_id)
            .await?;
        let row = sqlx::query("SELECT last_seq FROM conversations WHERE id = $1")
            .bind(conversation_id)
            .fetch_one(self.store.pool())
            .await?;
        let up_to = up_to.min(get_u64(&row, "last_seq")?);
        if up_to == 0 {
            return Ok(Vec::new());
        }
        let others: Vec<UserId> = sqlx::query(
            "SELECT user_id FROM conversation_members WHERE conversation_id = $1 AND user_id <> $2",
        )
        .bind(conversation_id)
        .bind(session.user_id)
        .fetch_all(self.store.pool())
        .await?
        .iter()
        .map(|r| r.try_get("user_id"))
        .collect::<Result<_, _>>()?;

        for attempt in 0..3 {
            match self
                .write(session, conversation_id, up_to, kind, &others)
                .await
            {
                Err(ServiceError::Store(e)) if e.is_retryable() && attempt < 2 => continue,
                other => return other,
            }
        }
        Err(ServiceError::Internal("receipt retries exhausted".into()))
    }

    async fn write(
        &self,
        session: &Session,
        conversation_id: ConversationId,
        up_to: u64,
        kind: ReceiptKind,
        others: &[UserId],
    ) -> Result<Fanout, ServiceError> {
        let now = now_ms();
        let mut w = self.store.begin_write().await?;
        let sql = match kind {
            ReceiptKind::Delivered => {
                "UPDATE conversation_members SET delivered_seq = $3 \
                 WHERE conversation_id = $1 AND user_id = $2 AND delivered_seq < $3"
            }
            ReceiptKind::Read => {
                "UPDATE conversation_members SET read_seq = $3, \
                 delivered_seq = CASE WHEN delivered_seq < $3 THEN $3 ELSE delivered_seq END \
                 WHERE conversation_id = $1 AND user_id = $2 AND read_seq < $3"
            }
        };
        let done = sqlx::query(sql)
            .bind(conversation_id)
            .bind(session.user_id)
            .bind(to_i64(up_to))
            .execute(&mut *w.tx)
            .await
            .map_err(StoreError::Db)?;
        if done.rows_affected() == 0 {
            // Already at or past this watermark: nothing to tell anyone.
            return Ok(Vec::new());
        }
        let mut targets: Vec<(UserId, NewEvent)> = others
            .iter()
            .map(|&u| {
                (
                    u,
                    NewEvent::Receipt {
                        conversation_id,
                        actor_id: session.user_id,
                        kind,
                        up_to_seq: up_to,
                    },
                )
            })
            .collect();
        if kind == ReceiptKind::Read {
            targets.push((
                session.user_id,
                NewEvent::ReadPosition {
                    conversation_id,
                    up_to_seq: up_to,
                },
            ));
        }
        targets.sort_by_key(|(u, _)| *u);
        let mut fanout = Vec::with_capacity(targets.len());
        for (user, event) in targets {
            let seq = append(&mut w.tx, user, &event, now)
                .await
                .map_err(StoreError::Db)?;
            let body = match event {
                NewEvent::Receipt {
                    kind, up_to_seq, ..
                } => EventBody::Receipt(Receipt {
                    conversation_id,
                    by: session.username.clone(),
                    kind,
                    up_to_seq,
                    at_ms: now,
                }),
                NewEvent::ReadPosition { up_to_seq, .. } => EventBody::ReadPosition(ReadPosition {
                    conversation_id,
                    up_to_seq,
                }),
                NewEvent::Message { .. } | NewEvent::MessageUpdated { .. } | NewEvent::Body(_) => {
                    continue
                }
            };
            fanout.push((user, Event { seq, body }));
        }
        w.commit().await?;
        Ok(fanout)
    }
}
