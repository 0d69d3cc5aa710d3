//! Group fan-out costs, over real connections on SQLite and PostgreSQL:
//! a message to a group is encoded once for all its online recipients,
//! and the receipts that queue up for one conversation are written
//! together, each caller still answered on its own (a non-member among
//! them gets `not_found`, and nothing of theirs is written).

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use quichat_client::proto::event::EventBody;
use quichat_client::proto::types::{ReceiptKind, Recipient};
use quichat_client::proto::ErrorCode;
use quichat_client::{Client, ClientConfig};
use quichat_server::commit;
use quichat_server::fanout::Fanout;
use quichat_tests::{on_both_backends, wait_for, Backend, TestServer};
use sqlx::Row;
use tokio::sync::Notify;

const MEMBERS: usize = 12;

/// A new user whose client sends no delivered receipts by itself, so
/// the test decides when each one does.
async fn quiet_user(server: &TestServer, name: &str) -> Result<Client> {
    let config = ClientConfig {
        auto_delivered: false,
        ..server.client_config()
    };
    let client = Client::connect(&config).await?;
    client
        .register(name, &quichat_tests::password_of(name), "test")
        .await?;
    Ok(client)
}

/// Jobs committed so far: the sum of the batch-size histogram.
fn batch_jobs(metrics: &str) -> Result<f64> {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("quichat_commit_batch_size_sum "))
        .context("no quichat_commit_batch_size_sum in the metrics")?
        .trim()
        .parse()
        .context("quichat_commit_batch_size_sum")
}

async fn one_encode_and_merged_receipts(backend: Backend) -> Result<()> {
    let server = TestServer::start(backend).await?;
    let state = server.handle.as_ref().unwrap().state().clone();
    let names: Vec<String> = (0..MEMBERS).map(|i| format!("member{i:02}")).collect();
    let mut members = Vec::new();
    for name in &names {
        members.push(quiet_user(&server, name).await?);
    }
    let outsider = quiet_user(&server, "outsider").await?;
    let author = &members[0];
    let group = author.create_group("fan-out", "", &names[1..]).await?;
    let g = group.id;
    let mut feeds = Vec::new();
    for m in &members {
        feeds.push(m.subscribe(0).await?);
    }
    // Every member has had everything before this message pushed (the
    // group's notices), so nothing else is encoded while we count.
    let warm = author.send_text(Recipient::Group(g), "warm-up").await?;
    for feed in &mut feeds {
        wait_for(
            feed,
            |b| matches!(b, EventBody::Message(m) if m.conversation_id == g && m.seq == warm.seq),
        )
        .await?;
    }

    // One message to 12 online members: 12 frames, one encode.
    let encodes = state.metrics.push_encodes.get();
    let pushed = state.metrics.events_pushed.get();
    let ack = author.send_text(Recipient::Group(g), "to everyone").await?;
    for feed in &mut feeds {
        wait_for(
            feed,
            |b| matches!(b, EventBody::Message(m) if m.conversation_id == g && m.seq == ack.seq),
        )
        .await?;
    }
    let pushed = state.metrics.events_pushed.get() - pushed;
    let encodes = state.metrics.push_encodes.get() - encodes;
    ensure!(pushed >= MEMBERS as u64, "{pushed} events pushed");
    ensure!(
        encodes == 1,
        "the message went to {MEMBERS} connections in {encodes} encodes"
    );

    // Hold the commit writer on a job of our own, queue every member's
    // delivered receipt (and an outsider's) behind it, then let it go:
    // they must be written as one merged job.
    // Counted before the held job starts (a batch is counted when it
    // starts), and the receipts sent only once it runs, so they cannot
    // share its batch.
    let batches = state.metrics.commit_batches.get();
    let jobs = batch_jobs(&state.metrics.encode())?;
    let (gate, started) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let held = {
        let (gate, started) = (gate.clone(), started.clone());
        state
            .committer
            .enqueue(commit::job(move |_tx| {
                let (gate, started) = (gate.clone(), started.clone());
                Box::pin(async move {
                    started.notify_one();
                    gate.notified().await;
                    Ok(((), Fanout::new()))
                })
            }))
            .await?
    };
    tokio::time::timeout(Duration::from_secs(20), started.notified())
        .await
        .context("the held job never ran")?;
    let mut receipts = Vec::new();
    for m in members.iter().skip(1) {
        let m = m.clone();
        receipts.push(tokio::spawn(async move { m.delivered(g, ack.seq).await }));
    }
    let stranger = {
        let outsider = outsider.clone();
        tokio::spawn(async move { outsider.delivered(g, ack.seq).await })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while state.receipts.waiting() < MEMBERS {
        ensure!(
            tokio::time::Instant::now() < deadline,
            "only {} receipts queued",
            state.receipts.waiting()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    gate.notify_one();
    held.await?;
    for r in receipts {
        r.await?.context("a member's receipt")?;
    }
    let refused = stranger.await?;
    ensure!(
        matches!(&refused, Err(e) if e.code() == Some(ErrorCode::NotFound)),
        "{refused:?}"
    );
    // The held job's batch, and one more with one job for all 12
    // receipts (unmerged, it would hold 12).
    let batches = state.metrics.commit_batches.get() - batches;
    ensure!(batches == 2, "{batches} commits for one merged write");
    let jobs = batch_jobs(&state.metrics.encode())? - jobs;
    ensure!(
        jobs == 2.0,
        "{jobs} commit jobs for the held one and the merged receipts"
    );

    // The author hears of each member once, in order, with dense seqs.
    let mut from = std::collections::BTreeSet::new();
    let feed = &mut feeds[0];
    let mut last = None;
    while from.len() < MEMBERS - 1 {
        let e = wait_for(feed, |b| matches!(b, EventBody::Receipt(_))).await?;
        if let (Some(prev), EventBody::Receipt(r)) = (last, &e.body) {
            ensure!(e.seq == prev + 1, "receipt seqs {prev} then {}", e.seq);
            ensure!(r.kind == ReceiptKind::Delivered && r.up_to_seq == ack.seq);
        }
        last = Some(e.seq);
        if let EventBody::Receipt(r) = e.body {
            ensure!(from.insert(r.by.clone()), "two receipts from {}", r.by);
        }
    }
    ensure!(!from.contains("outsider") && !from.contains(&names[0]));
    let who = author.who_read(g, ack.seq).await?;
    ensure!(
        who.delivered.len() == MEMBERS - 1 && who.read.is_empty() && who.waiting.is_empty(),
        "{who:?}"
    );

    // The rows: every member's watermark moved, the outsider has none.
    let rows = sqlx::query(
        "SELECT u.username AS username, m.delivered_seq AS d FROM conversation_members m \
         JOIN users u ON u.id = m.user_id WHERE m.conversation_id = $1",
    )
    .bind(g)
    .fetch_all(state.store.pool())
    .await?;
    ensure!(rows.len() == MEMBERS);
    for r in &rows {
        let name: String = r.try_get("username")?;
        let d: i64 = r.try_get("d")?;
        ensure!(
            name == names[0] || d == ack.seq as i64,
            "{name} delivered up to {d}"
        );
    }

    // A read from several members at once: the same merge, with each
    // reader's read position on their own devices.
    let mut reads = Vec::new();
    for m in members.iter().skip(1).take(3) {
        let m = m.clone();
        reads.push(tokio::spawn(async move { m.mark_read(g, ack.seq).await }));
    }
    for r in reads {
        r.await??;
    }
    wait_for(&mut feeds[1], |b| {
        matches!(b, EventBody::ReadPosition(p) if p.conversation_id == g && p.up_to_seq == ack.seq)
    })
    .await?;
    let who = author.who_read(g, ack.seq).await?;
    ensure!(
        who.read.len() == 3 && who.delivered.len() == MEMBERS - 4,
        "{who:?}"
    );
    Ok(())
}

on_both_backends!(one_encode_and_merged_receipts);
