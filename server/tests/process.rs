//! The real `quichat-server` binary: `kill -9` during a burst of sends loses
//! no acknowledged message (once, and three times at seeded random moments
//! with self-reconnecting senders), and SIGTERM shuts down gracefully.
//!
//! Runs on SQLite and on PostgreSQL (a fresh database per test, created via
//! `QUICHAT_TEST_POSTGRES_URL`; `QUICHAT_TEST_SKIP_POSTGRES=1` opts out).

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use quichat_client::proto::types::{ConversationRef, MessageBody, Recipient, SendAck, SendMessage};
use quichat_client::{Client, ClientConfig, Trust};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

mod common;
use common::{skip_postgres, Db};

const PASSWORD: &str = "crash-test-password";

/// Starts the binary and returns it with the address it printed.
async fn spawn_server(dir: &Path, db: &str, listen: &str) -> Result<(Child, String)> {
    spawn_server_with(dir, db, listen, &[]).await
}

async fn spawn_server_with(
    dir: &Path,
    db: &str,
    listen: &str,
    extra: &[&str],
) -> Result<(Child, String)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_quichat-server"))
        .args(extra)
        .args(["--listen", listen, "--data-dir"])
        .arg(dir)
        .args(["--database-url", db])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child.stdout.take().context("stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .context("server did not start within 30 s")??
        .context("server exited before printing its address")?;
    let addr = first
        .strip_prefix("quichat server listening on ")
        .and_then(|rest| rest.split_whitespace().next())
        .with_context(|| format!("unexpected first line: {first}"))?
        .to_string();
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((child, addr))
}

async fn client(addr: &str, dir: &Path) -> Result<Client> {
    let ca = dir.join("certs").join("ca.pem");
    Ok(Client::connect(&ClientConfig::new(addr, Trust::CaFile(ca))).await?)
}

async fn kill_9_during_sends_loses_no_acked_message(postgres: bool) -> Result<()> {
    if postgres && skip_postgres() {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let db = Db::create(postgres, dir.path()).await?;
    let (mut server, addr) = spawn_server(dir.path(), &db.url, "127.0.0.1:0").await?;

    let alice = client(&addr, dir.path()).await?;
    let (_, alice_token) = alice.register("alice", PASSWORD, "t").await?;
    let bob = client(&addr, dir.path()).await?;
    bob.register("bob", PASSWORD, "t").await?;

    let acked: Arc<Mutex<Vec<SendAck>>> = Arc::default();
    let in_flight: Arc<Mutex<Option<SendMessage>>> = Arc::default();
    let sender = tokio::spawn({
        let (acked, in_flight, alice) = (acked.clone(), in_flight.clone(), alice.clone());
        async move {
            for i in 0.. {
                let msg = SendMessage {
                    client_id: uuid::Uuid::now_v7(),
                    to: Recipient::User("bob".into()),
                    body: MessageBody::Text(format!("burst {i}")),
                };
                *in_flight.lock().unwrap() = Some(msg.clone());
                match alice.send(msg).await {
                    Ok(ack) => acked.lock().unwrap().push(ack),
                    Err(_) => return,
                }
            }
        }
    });
    // Let a good number of sends be acknowledged, then kill -9 mid-burst.
    for _ in 0..600 {
        if acked.lock().unwrap().len() >= 40 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.start_kill()?; // SIGKILL
    server.wait().await?;
    // The send in flight at the kill never gets an answer; stop waiting.
    sender.abort();
    let _ = sender.await;
    let acked = acked.lock().unwrap().clone();
    ensure!(
        acked.len() >= 40,
        "only {} sends acked before the kill",
        acked.len()
    );

    // Restart on the same port, data dir and database.
    let (mut server, addr) = spawn_server(dir.path(), &db.url, &addr).await?;
    let bob = client(&addr, dir.path()).await?;
    bob.login("bob", PASSWORD, "after-crash").await?;
    let page = bob
        .history(ConversationRef::Direct("alice".into()), None, 500)
        .await?;
    let stored: HashSet<_> = page.messages.iter().map(|m| m.client_id).collect();
    ensure!(stored.len() == page.messages.len(), "no duplicates");
    for ack in &acked {
        ensure!(
            stored.contains(&ack.client_id),
            "acked message {} lost",
            ack.seq
        );
    }
    // The message that was in flight at the kill can be resent safely.
    let alice = client(&addr, dir.path()).await?;
    alice.authenticate(&alice_token).await?;
    let last = in_flight
        .lock()
        .unwrap()
        .clone()
        .context("a send was in flight")?;
    let was_stored = stored.contains(&last.client_id);
    let ack = alice.send(last.clone()).await?;
    ensure!(
        ack.duplicate == was_stored,
        "resend dedup: stored={was_stored} ack={ack:?}"
    );
    let page = bob
        .history(ConversationRef::Direct("alice".into()), None, 500)
        .await?;
    let copies = page
        .messages
        .iter()
        .filter(|m| m.client_id == last.client_id)
        .count();
    ensure!(copies == 1, "in-flight message stored {copies} times");

    server.start_kill()?;
    server.wait().await?;
    db.cleanup().await
}

async fn sigterm_shuts_down_gracefully(postgres: bool) -> Result<()> {
    if postgres && skip_postgres() {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let db = Db::create(postgres, dir.path()).await?;
    let (mut server, addr) = spawn_server(dir.path(), &db.url, "127.0.0.1:0").await?;
    let alice = client(&addr, dir.path()).await?;
    alice.register("alice", PASSWORD, "t").await?;
    let pid = server.id().context("pid")?;
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()?;
    ensure!(status.success());
    let why = tokio::time::timeout(Duration::from_secs(20), alice.closed()).await?;
    ensure!(
        why.to_string().contains("shutting down"),
        "client saw: {why}"
    );
    let exit = tokio::time::timeout(Duration::from_secs(20), server.wait()).await??;
    if !exit.success() {
        bail!("server exited with {exit}");
    }
    db.cleanup().await
}

/// Three senders write continuously through self-reconnecting sessions
/// while the server is SIGKILLed three times at seeded random moments and
/// restarted each time. Every message any sender saw acknowledged is
/// stored exactly once, and the senders carry on by themselves (each gets
/// new acks after the last restart).
async fn repeated_kills_lose_and_duplicate_nothing(postgres: bool) -> Result<()> {
    use quichat_client::{Connector, Session};
    if postgres && skip_postgres() {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let db = Db::create(postgres, dir.path()).await?;
    let (mut server, addr) = spawn_server(dir.path(), &db.url, "127.0.0.1:0").await?;
    let bob = client(&addr, dir.path()).await?;
    bob.register("bob", PASSWORD, "t").await?;
    let mut config = ClientConfig::new(
        &addr,
        Trust::CaFile(dir.path().join("certs").join("ca.pem")),
    );
    // A client notices a crashed server at its next packet, which the
    // restarted server answers with a stateless reset (same reset key);
    // when idle, that is its next keep-alive: 15 s by default, 1 s here.
    config.keep_alive = Duration::from_secs(1);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut senders = Vec::new();
    let mut acked = Vec::new();
    for name in ["alice", "carol", "dave"] {
        let (_, token) = client(&addr, dir.path())
            .await?
            .register(name, PASSWORD, "t")
            .await?;
        let session = Session::new(Connector::new(&config).await?, token);
        let seen: Arc<Mutex<Vec<uuid::Uuid>>> = Arc::default();
        acked.push((name, seen.clone()));
        let stop = stop.clone();
        senders.push(tokio::spawn(async move {
            for i in 0u64.. {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                let msg = SendMessage {
                    client_id: uuid::Uuid::now_v7(),
                    to: Recipient::User("bob".into()),
                    body: MessageBody::Text(format!("{name} {i}")),
                };
                let ack = tokio::time::timeout(Duration::from_secs(60), session.send(msg))
                    .await
                    .context("a send hung for 60 s")??;
                seen.lock().unwrap().push(ack.client_id);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            anyhow::Ok(())
        }));
    }
    let count = |acked: &[(&str, Arc<Mutex<Vec<uuid::Uuid>>>)]| -> Vec<usize> {
        acked.iter().map(|(_, s)| s.lock().unwrap().len()).collect()
    };
    // xorshift, seeded: the kill points are the same on every run.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..3 {
        let before = count(&acked);
        tokio::time::sleep(Duration::from_millis(200 + next() % 600)).await;
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while count(&acked)
            .iter()
            .zip(&before)
            .any(|(now, then)| now <= then)
        {
            if let Some(done) = senders.iter_mut().find(|s| s.is_finished()) {
                let outcome = done.await;
                anyhow::bail!("round {round}: a sender stopped: {outcome:?}");
            }
            ensure!(
                std::time::Instant::now() < deadline,
                "round {round}: a sender made no progress: {before:?} then {:?}",
                count(&acked)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server.start_kill()?;
        server.wait().await?;
        server = spawn_server(dir.path(), &db.url, &addr).await?.0;
    }
    // After the last restart every sender gets going again by itself.
    let before = count(&acked);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while count(&acked)
        .iter()
        .zip(&before)
        .any(|(now, then)| *now < then + 5)
    {
        ensure!(
            std::time::Instant::now() < deadline,
            "senders did not resume: {:?} then {:?}",
            before,
            count(&acked)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for sender in senders {
        sender.await??;
    }

    let bob = client(&addr, dir.path()).await?;
    bob.login("bob", PASSWORD, "after-crashes").await?;
    for (name, seen) in &acked {
        let mut stored: Vec<uuid::Uuid> = Vec::new();
        let mut before_seq = None;
        loop {
            let page = bob
                .history(ConversationRef::Direct((*name).into()), before_seq, 500)
                .await?;
            stored.extend(page.messages.iter().map(|m| m.client_id));
            before_seq = page.messages.iter().map(|m| m.seq).min();
            if !page.has_more {
                break;
            }
        }
        let unique: HashSet<_> = stored.iter().collect();
        ensure!(
            unique.len() == stored.len(),
            "{name}: a message was stored twice"
        );
        for id in seen.lock().unwrap().iter() {
            ensure!(unique.contains(id), "{name}: acked message {id} lost");
        }
    }
    server.start_kill()?;
    server.wait().await?;
    db.cleanup().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_kills_sqlite() -> Result<()> {
    repeated_kills_lose_and_duplicate_nothing(false).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_kills_postgres() -> Result<()> {
    repeated_kills_lose_and_duplicate_nothing(true).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_sqlite() -> Result<()> {
    kill_9_during_sends_loses_no_acked_message(false).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_postgres() -> Result<()> {
    kill_9_during_sends_loses_no_acked_message(true).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_sqlite() -> Result<()> {
    sigterm_shuts_down_gracefully(false).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_postgres() -> Result<()> {
    sigterm_shuts_down_gracefully(true).await
}

/// `quichat-server worker` on its own transcribes what `serve` queued; the
/// transcript reaches the online recipient through the event outbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_worker_process_completes_jobs_queued_by_serve() -> Result<()> {
    use quichat_client::proto::event::EventBody;
    use quichat_client::proto::types::TranscriptStatus;

    if std::env::var("QUICHAT_TEST_SKIP_WHISPER").is_ok_and(|v| !v.is_empty() && v != "0") {
        return Ok(());
    }
    let model = std::env::var("QUICHAT_TEST_WHISPER_MODEL").context(
        "QUICHAT_TEST_WHISPER_MODEL is not set: run scripts/test.sh (QUICHAT_TEST_SKIP_WHISPER=1 opts out)",
    )?;
    let dir = tempfile::tempdir()?;
    let db = Db::create(false, dir.path()).await?;
    // The serving process has no model and no workers.
    let (mut server, addr) =
        spawn_server_with(dir.path(), &db.url, "127.0.0.1:0", &["--workers", "0"]).await?;
    let mut worker = Command::new(env!("CARGO_BIN_EXE_quichat-server"))
        .args([
            "worker",
            "--workers",
            "1",
            "--whisper-model",
            &model,
            "--data-dir",
        ])
        .arg(dir.path())
        .args(["--database-url", &db.url])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;

    let alice = client(&addr, dir.path()).await?;
    alice.register("alice", PASSWORD, "t").await?;
    let bob = client(&addr, dir.path()).await?;
    bob.register("bob", PASSWORD, "t").await?;
    let mut feed = bob.subscribe(0).await?;
    let wav = dir.path().join("note.wav");
    let status = std::process::Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "150", "-w"])
        .arg(&wav)
        .arg("Please call me back when you get home tonight.")
        .status()
        .context("espeak-ng is required")?;
    ensure!(status.success());
    let (ack, _) = alice.send_voice("bob", &wav, "", |_, _| {}).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    let text = loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let e = tokio::time::timeout(left, feed.next())
            .await
            .context("no transcript from the worker process within 90 s")?
            .context("feed ended")??;
        if let EventBody::MessageUpdated(u) = e.body {
            if u.seq == ack.seq {
                ensure!(
                    u.transcript.status == TranscriptStatus::Done,
                    "{:?}",
                    u.transcript.status
                );
                break u.transcript.text;
            }
        }
    };
    ensure!(
        text.to_lowercase().contains("call me back"),
        "transcript: {text}"
    );
    worker.start_kill()?;
    worker.wait().await?;
    server.start_kill()?;
    server.wait().await?;
    db.cleanup().await
}
