//! The operator endpoint over real HTTP: `/metrics` parses as Prometheus
//! text and counts what the server just did (connections, streams,
//! messages stored and delivered, upload and download bytes, rate-limit
//! refusals, pool use, queue depth); `/health` answers; `/ready` checks
//! the database and the store. On SQLite and PostgreSQL.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use anyhow::{ensure, Context, Result};
use quichat_client::media::UploadSpec;
use quichat_client::proto::event::EventBody;
use quichat_tests::{download_sha, on_both_backends, wait_for, Backend, TestServer};

/// `name{labels}` → value, for every sample line of the text format.
fn parse(text: &str) -> Result<HashMap<String, f64>> {
    let mut samples = HashMap::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (name, value) = line
            .rsplit_once(' ')
            .with_context(|| format!("not a sample line: {line}"))?;
        let value: f64 = value
            .parse()
            .with_context(|| format!("bad value in {line}"))?;
        samples.insert(name.to_string(), value);
    }
    Ok(samples)
}

async fn get(url: &str) -> Result<(u16, String)> {
    let r = reqwest::get(url).await?;
    Ok((r.status().as_u16(), r.text().await?))
}

async fn metrics_health_and_readiness(backend: Backend) -> Result<()> {
    let server = TestServer::start_with(backend, |c| {
        c.metrics.listen = Some("127.0.0.1:0".parse().unwrap());
        c.limits.login_per_user_ip.burst = 1;
        c.limits.login_per_user_ip.per_minute = 1;
    })
    .await?;
    let handle = server.handle.as_ref().unwrap();
    let base = format!(
        "http://{}",
        handle.metrics_addr().context("no metrics address")?
    );

    let (alice, _) = server.register("alice").await?;
    let (bob, _) = server.register("bob").await?;
    let mut bob_feed = bob.subscribe(0).await?;
    alice.send_text("bob", "counted").await?;
    wait_for(&mut bob_feed, |b| matches!(b, EventBody::Message(_))).await?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("f.bin");
    std::fs::write(&path, vec![7u8; 100_000])?;
    let up = alice
        .upload_file(&path, UploadSpec::to_user("bob"), |_, _| {})
        .await?;
    download_sha(&alice, up.media.id).await?;
    // Two wrong logins from one address: the second is rate limited.
    let c = server.connect().await?;
    let _ = c.login("alice", "wrong-password-1", "x").await;
    let _ = c.login("alice", "wrong-password-2", "x").await;

    let (status, body) = get(&format!("{base}/metrics")).await?;
    ensure!(status == 200, "{status}: {body}");
    let m = parse(&body)?;
    let at = |name: &str| m.get(name).copied().unwrap_or(f64::NAN);
    ensure!(at("quichat_connections_accepted_total") >= 3.0, "{body}");
    ensure!(at("quichat_connections_open") >= 3.0, "{body}");
    ensure!(
        at("quichat_streams_opened_total{kind=\"chat\"}") >= 1.0,
        "{body}"
    );
    ensure!(
        at("quichat_streams_opened_total{kind=\"media\"}") >= 2.0,
        "{body}"
    );
    ensure!(at("quichat_messages_stored_total") == 1.0, "{body}");
    // The send and the receipts went through group commits.
    ensure!(at("quichat_commit_batches_total") >= 1.0, "{body}");
    ensure!(at("quichat_commit_batch_size_count") >= 1.0, "{body}");
    ensure!(
        // Counted at the start of a batch, timed at its end.
        (1.0..=at("quichat_commit_batches_total"))
            .contains(&at("quichat_commit_duration_seconds_count")),
        "{body}"
    );
    ensure!(at("quichat_messages_delivered_total") >= 1.0, "{body}");
    ensure!(
        at("quichat_delivery_latency_seconds_count") >= 1.0,
        "{body}"
    );
    ensure!(at("quichat_upload_bytes_total") == 100_000.0, "{body}");
    ensure!(at("quichat_download_bytes_total") >= 100_000.0, "{body}");
    ensure!(
        at("quichat_rate_limited_total{kind=\"login_per_user_ip\"}") == 1.0,
        "{body}"
    );
    ensure!(at("quichat_transcription_queue") == 0.0, "{body}");
    ensure!(at("quichat_db_connections{kind=\"idle\"}") >= 0.0, "{body}");
    ensure!(at("quichat_db_ping_seconds") > 0.0, "{body}");
    ensure!(body.trim_end().ends_with("# EOF"), "not OpenMetrics text");

    let (status, body) = get(&format!("{base}/health")).await?;
    ensure!(status == 200 && body.trim() == "ok", "{status}: {body}");
    let (status, body) = get(&format!("{base}/ready")).await?;
    ensure!(status == 200 && body.trim() == "ready", "{status}: {body}");
    let (status, _) = get(&format!("{base}/nope")).await?;
    ensure!(status == 404);

    // The database gone: not ready (503, saying why), still alive.
    handle.state().store.pool().close().await;
    let (status, body) = get(&format!("{base}/ready")).await?;
    ensure!(
        status == 503 && body.contains("database"),
        "{status}: {body}"
    );
    let (status, _) = get(&format!("{base}/health")).await?;
    ensure!(status == 200);
    Ok(())
}

on_both_backends!(metrics_health_and_readiness);
