//! Hand-off of events from worker processes to serving processes.
//!
//! A standalone worker has no client connections, so next to each event
//! it appends it writes an `event_outbox` row in the same transaction.
//! Every serving process polls the outbox and pushes those events to its
//! online devices. The same loop takes kicks from `kick_outbox`, written by
//! `quichat-server admin` (disable, revoke, password reset): every
//! connection of the user is closed with code 2. In a cluster every node
//! polls both and acts on its own connections only (`Hub::deliver_local`:
//! forwarding outbox events on the bus too would deliver each once per
//! node), and reads an event only for users online on it. The bus could
//! replace the polling (300 ms) later; the database stays the source.

use std::sync::Arc;
use std::time::Duration;

use quichat_proto::types::UserId;
use sqlx::{Any, Row, Transaction};
use tokio_util::sync::CancellationToken;

use crate::error::{ServiceError, StoreError};
use crate::events::Events;
use crate::hub::Hub;
use crate::store::{get_u64, now_ms, to_i64, Store};

/// How often serving processes poll.
pub const POLL: Duration = Duration::from_millis(300);
/// Outbox rows older than this are deleted.
const KEEP_MS: i64 = 3_600_000;

/// Records that `user`'s event `seq` must be pushed by a serving process.
pub async fn record(
    tx: &mut Transaction<'static, Any>,
    user: UserId,
    seq: u64,
    now: i64,
) -> Result<(), ServiceError> {
    sqlx::query("INSERT INTO event_outbox (user_id, seq, created_at) VALUES ($1, $2, $3)")
        .bind(user)
        .bind(to_i64(seq))
        .bind(now)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::Db)?;
    Ok(())
}

/// Records that every connection of `user` must be closed, for the
/// serving processes to carry out.
pub async fn record_kick(
    tx: &mut Transaction<'static, Any>,
    user: UserId,
    reason: &str,
    now: i64,
) -> Result<(), ServiceError> {
    sqlx::query("INSERT INTO kick_outbox (user_id, reason, created_at) VALUES ($1, $2, $3)")
        .bind(user)
        .bind(reason)
        .bind(now)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::Db)?;
    Ok(())
}

async fn newest(store: &Store, table: &str) -> Result<i64, sqlx::Error> {
    let sql = format!("SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) AS last FROM {table}");
    sqlx::query(&sql)
        .fetch_one(store.pool())
        .await
        .and_then(|r| r.try_get("last"))
}

/// Polls the outboxes and publishes new events and kicks until cancelled.
pub async fn relay(store: Store, events: Events, hub: Arc<Hub>, cancel: CancellationToken) {
    let (mut last, mut last_kick) = match (
        newest(&store, "event_outbox").await,
        newest(&store, "kick_outbox").await,
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!("outbox relay disabled: {e}");
            return;
        }
    };
    let mut ticks = 0u32;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = cancel.cancelled() => return,
        }
        match poll_once(&store, &events, &hub, last).await {
            Ok(new_last) => last = new_last,
            Err(e) => tracing::warn!("outbox poll failed: {e}"),
        }
        match poll_kicks(&store, &hub, last_kick).await {
            Ok(new_last) => last_kick = new_last,
            Err(e) => tracing::warn!("kick outbox poll failed: {e}"),
        }
        ticks = ticks.wrapping_add(1);
        if ticks.is_multiple_of(200) {
            let _ = prune(&store).await;
        }
    }
}

async fn poll_once(
    store: &Store,
    events: &Events,
    hub: &Hub,
    last: i64,
) -> Result<i64, ServiceError> {
    let rows = sqlx::query(
        "SELECT id, user_id, seq FROM event_outbox WHERE id > $1 ORDER BY id LIMIT 500",
    )
    .bind(last)
    .fetch_all(store.pool())
    .await?;
    let mut new_last = last;
    let mut fanout = crate::fanout::Fanout::new();
    for row in rows {
        new_last = row.try_get("id")?;
        let user: UserId = row.try_get("user_id")?;
        let seq = get_u64(&row, "seq")?;
        if !hub.is_online(user) {
            // Nobody to push to here; the user's devices sync it.
            continue;
        }
        let (page, _) = events.sync(user, seq.saturating_sub(1), 1).await?;
        if let Some(event) = page.into_iter().find(|e| e.seq == seq) {
            fanout.push(user, event);
        }
    }
    if !fanout.is_empty() {
        // Every serving process reads every outbox row, so each delivers
        // to its own devices only; sending these on the cluster bus too
        // would deliver each one once per node.
        hub.deliver_local(fanout);
    }
    Ok(new_last)
}

async fn poll_kicks(store: &Store, hub: &Hub, last: i64) -> Result<i64, ServiceError> {
    let rows = sqlx::query(
        "SELECT id, user_id, reason FROM kick_outbox WHERE id > $1 ORDER BY id LIMIT 500",
    )
    .bind(last)
    .fetch_all(store.pool())
    .await?;
    let mut new_last = last;
    for row in rows {
        new_last = row.try_get("id")?;
        let reason: String = row.try_get("reason")?;
        hub.kick_user(
            row.try_get("user_id")?,
            quichat_proto::error::close::AUTH_FAILED,
            &reason,
        );
    }
    Ok(new_last)
}

async fn prune(store: &Store) -> Result<(), ServiceError> {
    let mut w = store.begin_write().await?;
    for sql in [
        "DELETE FROM event_outbox WHERE created_at < $1",
        "DELETE FROM kick_outbox WHERE created_at < $1",
    ] {
        sqlx::query(sql)
            .bind(now_ms() - KEEP_MS)
            .execute(&mut *w.tx)
            .await
            .map_err(StoreError::Db)?;
    }
    w.commit().await?;
    Ok(())
}
