//! Server broadcasts, on SQLite and PostgreSQL: only server administrators
//! send them; one is stored once and reaches every user that existed when
//! it was sent exactly once, live when online and on sync otherwise, in
//! background batches; the operator's broadcasts (`quichat-server admin
//! broadcast`, another process) are picked up by the running server, and
//! a broadcast stored while the server was down is delivered after it
//! starts.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use anyhow::{ensure, Result};
use quichat_client::proto::event::EventBody;
use quichat_client::proto::types::Broadcast;
use quichat_client::proto::ErrorCode;
use quichat_client::{Client, ClientError};
use quichat_server::admin::Admin;
use quichat_server::store::Store;
use quichat_tests::{on_both_backends, wait_for, Backend, TestServer};

fn code_of<T: std::fmt::Debug>(r: Result<T, ClientError>) -> Option<ErrorCode> {
    match r {
        Err(e) => e.code(),
        Ok(v) => panic!("expected an error, got {v:?}"),
    }
}

/// Every broadcast in `client`'s whole event log.
async fn broadcasts_in_log(client: &Client) -> Result<Vec<Broadcast>> {
    let mut found = Vec::new();
    let mut after = 0;
    loop {
        let (events, more) = client.sync_page(after, 500).await?;
        for e in &events {
            if let EventBody::Broadcast(b) = &e.body {
                found.push(b.clone());
            }
        }
        after = events.last().map_or(after, |e| e.seq);
        if !more {
            return Ok(found);
        }
    }
}

async fn count(store: &Store, sql: &str) -> Result<i64> {
    Ok(sqlx::query_scalar(sql).fetch_one(store.pool()).await?)
}

/// Waits until no broadcast is left to deliver.
async fn delivered(store: &Store) -> Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while count(
        store,
        "SELECT COUNT(*) FROM broadcasts WHERE done_at IS NULL",
    )
    .await?
        > 0
    {
        ensure!(
            tokio::time::Instant::now() < deadline,
            "broadcasts still undelivered after 15 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

async fn broadcasts_reach_every_user_once(backend: Backend) -> Result<()> {
    // Small batches, so 30 users take five of them.
    let server = TestServer::start_with(backend, |c| c.messages.broadcast_batch = 7).await?;
    let store = server.handle.as_ref().unwrap().state().store.clone();
    let admin = Admin::new(store.clone());
    let (alice, _) = server.register("alice").await?;
    let mut feed = alice.subscribe(0).await?;
    let mut tokens = Vec::new();
    for i in 0..29 {
        let (c, token) = server.register(&format!("user{i:02}")).await?;
        c.close().await;
        tokens.push(token);
    }

    // Not an administrator: refused, and nothing is stored.
    ensure!(code_of(alice.broadcast("hello all").await) == Some(ErrorCode::Forbidden));
    ensure!(count(&store, "SELECT COUNT(*) FROM broadcasts").await? == 0);
    ensure!(admin.set_admin("alice", true).await?);
    ensure!(!admin.set_admin("alice", true).await?, "already one");
    ensure!(admin.admins().await? == ["alice"]);
    ensure!(code_of(alice.broadcast("   ").await) == Some(ErrorCode::InvalidMessage));

    let (id, recipients) = alice.broadcast("maintenance at 22:00").await?;
    ensure!(recipients == 30, "{recipients}");
    let live = wait_for(
        &mut feed,
        |b| matches!(b, EventBody::Broadcast(b) if b.id == id),
    )
    .await?;
    let EventBody::Broadcast(b) = live.body else {
        unreachable!()
    };
    ensure!(b.from.as_deref() == Some("alice") && b.text == "maintenance at 22:00");
    delivered(&store).await?;
    // A user who registers afterwards does not get it.
    let (late, _) = server.register("late").await?;
    ensure!(broadcasts_in_log(&late).await?.is_empty());

    // Stored once; one event per user, and each user's log has it once.
    ensure!(count(&store, "SELECT COUNT(*) FROM broadcasts").await? == 1);
    ensure!(
        count(
            &store,
            "SELECT COUNT(*) FROM events WHERE broadcast_id IS NOT NULL"
        )
        .await?
            == 30
    );
    for token in &tokens {
        let c = server.resume(token).await?;
        let got = broadcasts_in_log(&c).await?;
        ensure!(got.len() == 1 && got[0] == b, "{got:?}");
        c.close().await;
    }

    // The operator's broadcast (from no user), stored by another process:
    // the running server finds and delivers it.
    let (op_id, n) = admin.broadcast("back online").await?;
    ensure!(n == 31);
    let live = wait_for(
        &mut feed,
        |b| matches!(b, EventBody::Broadcast(b) if b.id == op_id),
    )
    .await?;
    ensure!(
        matches!(&live.body, EventBody::Broadcast(b) if b.from.is_none() && b.text == "back online")
    );

    // The role can be taken back.
    ensure!(admin.set_admin("alice", false).await?);
    ensure!(code_of(alice.broadcast("still me").await) == Some(ErrorCode::Forbidden));
    Ok(())
}

async fn a_broadcast_stored_while_the_server_is_down_is_delivered_after_it_starts(
    backend: Backend,
) -> Result<()> {
    let mut server = TestServer::start(backend).await?;
    let (bob, bob_token) = server.register("bob").await?;
    bob.close().await;
    server.stop().await;
    // `quichat-server admin broadcast` against the database alone.
    let store = Store::connect(&server.config.effective_database_url(), 2).await?;
    let (id, n) = Admin::new(store.clone()).broadcast("we moved").await?;
    ensure!(n == 1);
    server.restart().await?;
    delivered(&store).await?;
    let bob = server.resume(&bob_token).await?;
    let got = broadcasts_in_log(&bob).await?;
    ensure!(
        got.len() == 1 && got[0].id == id && got[0].text == "we moved",
        "{got:?}"
    );
    store.close().await;
    Ok(())
}

on_both_backends!(
    broadcasts_reach_every_user_once,
    a_broadcast_stored_while_the_server_is_down_is_delivered_after_it_starts,
);
