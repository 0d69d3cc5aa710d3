//! Server broadcasts: an administrator's announcement to every user.
//!
//! A broadcast is stored once, in `broadcasts`. Delivery happens in the
//! background, never inside the sender's request: [`Broadcasts::run`]
//! takes the oldest unfinished broadcast and appends, in one transaction
//! per batch of `messages.broadcast_batch` users (ascending ids), an event
//! that references the row to each of their logs, moving the row's
//! `delivered_through` in the same transaction (compare-and-set, so two
//! processes never deliver the same batch). Online devices get the batch
//! pushed after its commit; the others find it on sync. A restart resumes
//! at the first undelivered user. A broadcast goes to the accounts that
//! existed when it was sent (`last_user_id`), so 100,000 users cost 200
//! short transactions and never block a request.

use std::sync::Arc;
use std::time::Duration;

use quichat_proto::event::EventBody;
use quichat_proto::types::{Broadcast, BroadcastId, UserId, MAX_TEXT_BYTES};
use sqlx::Row;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::error::ServiceError;
use crate::events::{append_event, NewEvent};
use crate::hub::Hub;
use crate::store::{get_u64, now_ms, Store};

/// How often serving processes look for broadcasts stored elsewhere (the
/// admin command, another process) when nothing woke them.
const POLL: Duration = Duration::from_secs(1);

/// Sending and delivering broadcasts.
#[derive(Debug)]
pub struct Broadcasts {
    store: Store,
    hub: Arc<Hub>,
    batch: usize,
    wake: Notify,
}

/// Whether a user is a server administrator.
pub async fn is_admin(store: &Store, user: UserId) -> Result<bool, ServiceError> {
    let since: Option<i64> = sqlx::query_scalar("SELECT admin_since FROM users WHERE id = $1")
        .bind(user)
        .fetch_optional(store.pool())
        .await?
        .flatten();
    Ok(since.is_some())
}

/// Stores a broadcast from `sender` (`None`: the operator) to every user
/// that exists now; returns its id and how many users it goes to. Does
/// not deliver it (see [`Broadcasts::run`]).
pub async fn store(
    store: &Store,
    sender: Option<UserId>,
    text: &str,
) -> Result<(BroadcastId, u64), ServiceError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ServiceError::InvalidMessage(
            "a broadcast needs some text".into(),
        ));
    }
    if text.len() > MAX_TEXT_BYTES {
        return Err(ServiceError::InvalidMessage(format!(
            "a broadcast is at most {} KiB",
            MAX_TEXT_BYTES / 1024
        )));
    }
    let mut w = store.begin_write().await?;
    let row = sqlx::query("SELECT COALESCE(MAX(id), 0) AS last, COUNT(*) AS n FROM users")
        .fetch_one(&mut *w.tx)
        .await?;
    let last: i64 = row.try_get("last")?;
    let recipients = get_u64(&row, "n")?;
    let id: BroadcastId = sqlx::query_scalar(
        "INSERT INTO broadcasts (sender_id, text, created_at, last_user_id) \
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(sender)
    .bind(text)
    .bind(now_ms())
    .bind(last)
    .fetch_one(&mut *w.tx)
    .await?;
    w.commit().await?;
    tracing::info!(broadcast = id, recipients, "broadcast stored");
    Ok((id, recipients))
}

impl Broadcasts {
    /// Delivers in batches of `batch` users.
    pub fn new(store: Store, hub: Arc<Hub>, batch: u32) -> Self {
        Broadcasts {
            store,
            hub,
            batch: usize::try_from(batch.max(1)).unwrap_or(500),
            wake: Notify::new(),
        }
    }

    /// A server administrator's broadcast: stored, and its delivery
    /// started. Anyone else gets `forbidden`.
    pub async fn send(
        &self,
        sender: UserId,
        text: &str,
    ) -> Result<(BroadcastId, u64), ServiceError> {
        if !is_admin(&self.store, sender).await? {
            return Err(ServiceError::Forbidden(
                "only server administrators send broadcasts".into(),
            ));
        }
        let sent = store(&self.store, Some(sender), text).await?;
        self.wake.notify_one();
        Ok(sent)
    }

    /// Delivers one batch of the oldest unfinished broadcast. Returns
    /// whether there may be more to do now.
    pub async fn deliver_batch(&self) -> Result<bool, ServiceError> {
        let Some(row) = sqlx::query(
            "SELECT b.id, b.text, b.created_at, b.last_user_id, b.delivered_through, \
             u.username AS sender FROM broadcasts b LEFT JOIN users u ON u.id = b.sender_id \
             WHERE b.done_at IS NULL ORDER BY b.id LIMIT 1",
        )
        .fetch_optional(self.store.pool())
        .await?
        else {
            return Ok(false);
        };
        let broadcast = Broadcast {
            id: row.try_get("id")?,
            from: row.try_get("sender")?,
            text: row.try_get("text")?,
            sent_at_ms: row.try_get("created_at")?,
        };
        let last: i64 = row.try_get("last_user_id")?;
        let through: i64 = row.try_get("delivered_through")?;
        let users: Vec<UserId> = sqlx::query_scalar(
            "SELECT id FROM users WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3",
        )
        .bind(through)
        .bind(last)
        .bind(i64::try_from(self.batch).unwrap_or(500))
        .fetch_all(self.store.pool())
        .await?;
        let now = now_ms();
        let mut w = self.store.begin_write().await?;
        let Some(&new_through) = users.last() else {
            sqlx::query("UPDATE broadcasts SET done_at = $1 WHERE id = $2 AND done_at IS NULL")
                .bind(now)
                .bind(broadcast.id)
                .execute(&mut *w.tx)
                .await?;
            w.commit().await?;
            tracing::info!(broadcast = broadcast.id, "broadcast delivered to everyone");
            return Ok(true);
        };
        let moved = sqlx::query(
            "UPDATE broadcasts SET delivered_through = $1 \
             WHERE id = $2 AND delivered_through = $3",
        )
        .bind(new_through)
        .bind(broadcast.id)
        .bind(through)
        .execute(&mut *w.tx)
        .await?;
        if moved.rows_affected() == 0 {
            // Another process delivered this batch meanwhile.
            w.rollback().await?;
            return Ok(true);
        }
        let id = broadcast.id;
        let fanout = append_event(
            &mut w.tx,
            self.store.backend(),
            &users,
            &NewEvent::Broadcast(id),
            &EventBody::Broadcast(broadcast),
            now,
        )
        .await?;
        w.commit().await?;
        tracing::debug!(
            broadcast = id,
            users = users.len(),
            new_through,
            "broadcast batch"
        );
        self.hub.publish(fanout);
        Ok(true)
    }

    /// Delivers broadcasts until `cancel`: at once when [`Broadcasts::send`]
    /// stored one, else every [`POLL`] for ones stored by other processes.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        loop {
            match self.deliver_batch().await {
                Ok(true) => {
                    if cancel.is_cancelled() {
                        return;
                    }
                    tokio::task::yield_now().await;
                    continue;
                }
                Ok(false) => {}
                Err(e) => tracing::warn!("broadcast delivery failed, retrying: {e}"),
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }
}
