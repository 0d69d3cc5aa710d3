//! The group-commit writer against real SQLite and PostgreSQL: writes
//! queued together commit in one transaction; one that fails is rolled
//! back alone; a caller hears of its write only once it is committed.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use anyhow::{ensure, Result};
use quichat_server::commit;
use quichat_server::error::ServiceError;
use quichat_server::hub::Hub;
use quichat_server::metrics::Metrics;
use quichat_server::store::Store;
use sqlx::Row;
use tokio_util::sync::CancellationToken;

mod common;
use common::{skip_postgres, Db};

/// A write that inserts `key` into the scratch table, then `then` (a
/// duplicate makes it fail after its first insert).
fn insert(key: i64, then: Option<i64>) -> commit::WriteFn<i64> {
    commit::job(move |tx| {
        Box::pin(async move {
            sqlx::query("INSERT INTO scratch (k) VALUES ($1)")
                .bind(key)
                .execute(&mut **tx)
                .await?;
            if let Some(k) = then {
                sqlx::query("INSERT INTO scratch (k) VALUES ($1)")
                    .bind(k)
                    .execute(&mut **tx)
                    .await?;
            }
            Ok((key, quichat_server::fanout::Fanout::new()))
        })
    })
}

async fn keys(store: &Store) -> Result<Vec<i64>> {
    Ok(sqlx::query("SELECT k FROM scratch ORDER BY k")
        .fetch_all(store.pool())
        .await?
        .iter()
        .map(|r| r.try_get::<i64, _>("k"))
        .collect::<Result<_, _>>()?)
}

async fn batches_commit_together_and_fail_alone(postgres: bool) -> Result<()> {
    if postgres && skip_postgres() {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let db = Db::create(postgres, dir.path()).await?;
    let store = Store::connect(&db.url, 4).await?;
    sqlx::query("CREATE TABLE scratch (k BIGINT PRIMARY KEY)")
        .execute(store.pool())
        .await?;
    let metrics = Arc::new(Metrics::default());
    let (committer, writer) =
        commit::channel(store.clone(), Arc::new(Hub::default()), metrics.clone());

    // Queued before the writer runs, so they form one batch. Write 20
    // inserts 1020, then collides with key 5: it must fail and leave
    // nothing behind, while the other 39 commit.
    let mut pending = Vec::new();
    for k in 0..40 {
        let then = (k == 20).then_some(5);
        let key = if k == 20 { 1020 } else { k };
        pending.push(committer.enqueue(insert(key, then)).await?);
    }
    let cancel = CancellationToken::new();
    let writer = tokio::spawn(writer.run(cancel.clone()));
    let mut results = Vec::new();
    for p in pending {
        let r = p.await;
        // Answered only after the commit: every other write of the batch
        // is already visible from another connection.
        if r.is_ok() {
            ensure!(keys(&store).await?.len() == 39, "acked before commit");
        }
        results.push(r);
    }
    ensure!(metrics.commit_batches.get() == 1, "one transaction for all");
    for (k, r) in results.iter().enumerate() {
        match (k, r) {
            (20, Err(ServiceError::Store(e))) => ensure!(e.is_unique_violation(), "{e}"),
            (20, other) => anyhow::bail!("write 20 should fail: {other:?}"),
            (k, Ok(v)) => ensure!(*v == k as i64),
            (k, Err(e)) => anyhow::bail!("write {k} failed: {e}"),
        }
    }
    let stored = keys(&store).await?;
    let expected: Vec<i64> = (0..40).filter(|k| *k != 20).collect();
    ensure!(stored == expected, "stored {stored:?}");

    // A lone write (no savepoint) that fails rolls back whole, and the
    // writer carries on.
    ensure!(committer.write(insert(2000, Some(2000))).await.is_err());
    ensure!(committer.write(insert(3000, None)).await? == 3000);
    let stored = keys(&store).await?;
    ensure!(!stored.contains(&2000) && stored.contains(&3000));

    // At shutdown the writer commits what is queued, then refuses more.
    let last = committer.enqueue(insert(4000, None)).await?;
    cancel.cancel();
    ensure!(last.await? == 4000);
    writer.await?;
    ensure!(committer.write(insert(5000, None)).await.is_err());
    ensure!(keys(&store).await?.contains(&4000));
    drop(committer);
    store.close().await;
    db.cleanup().await
}

#[tokio::test(flavor = "current_thread")]
async fn sqlite_batches_commit_together_and_fail_alone() -> Result<()> {
    batches_commit_together_and_fail_alone(false).await
}

#[tokio::test(flavor = "current_thread")]
async fn postgres_batches_commit_together_and_fail_alone() -> Result<()> {
    batches_commit_together_and_fail_alone(true).await
}
