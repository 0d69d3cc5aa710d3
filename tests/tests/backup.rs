//! Online backup and restore of the embedded setup: a backup taken while
//! messages keep arriving, restored into a fresh data directory, holds
//! every message acknowledged before the backup began (and the media and
//! the certificates); PostgreSQL and S3 setups are pointed at their own
//! tools.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{ensure, Result};
use quichat_client::media::UploadSpec;
use quichat_client::proto::types::ConversationRef;
use quichat_client::{Client, ClientConfig, Trust};
use quichat_server::backup::{backup, restore, BackupError};
use quichat_server::config::Config;
use quichat_server::Server;
use quichat_tests::{download_sha, Backend, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_load_restores_every_acknowledged_message() -> Result<()> {
    let server = TestServer::start(Backend::Sqlite).await?;
    let (alice, alice_token) = server.register("alice").await?;
    server.register("bob").await?;
    let work = tempfile::tempdir()?;
    let file = work.path().join("photo.bin");
    std::fs::write(
        &file,
        (0..300_000u32).map(|i| (i % 253) as u8).collect::<Vec<_>>(),
    )?;
    let up = alice
        .upload_file(&file, UploadSpec::to_user("bob"), |_, _| {})
        .await?;
    alice.send_media("bob", up.media.clone(), "before").await?;

    // Alice keeps sending while the backup runs.
    let acked: Arc<Mutex<Vec<u64>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let sender = {
        let (alice, acked, stop) = (alice.clone(), acked.clone(), stop.clone());
        tokio::spawn(async move {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let ack = alice.send_text("bob", &format!("message {i}")).await?;
                acked.lock().unwrap().push(ack.seq);
                i += 1;
            }
            anyhow::Ok(i)
        })
    };
    while acked.lock().unwrap().len() < 30 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let before: Vec<u64> = acked.lock().unwrap().clone();
    let dest = work.path().join("backup");
    let report = backup(&server.config, &dest, true).await?;
    ensure!(report.media_files >= 1, "{report:?}");
    stop.store(true, Ordering::Relaxed);
    let sent = sender.await??;
    ensure!(
        sent as usize > before.len(),
        "sending went on during the backup"
    );

    // A fresh data directory, restored from the backup.
    let fresh = tempfile::tempdir()?;
    let config = Config {
        listen: "127.0.0.1:0".parse()?,
        data_dir: fresh.path().to_path_buf(),
        ..Config::default()
    };
    restore(&config, &dest, false)?;
    match restore(&config, &dest, false) {
        Err(BackupError::Destination(why)) => ensure!(why.contains("--force"), "{why}"),
        other => anyhow::bail!("restoring over a database: {other:?}"),
    }
    let handle = Server::start(config).await?;
    // Same certificates: the old CA still verifies the restored server.
    let client_config = ClientConfig::new(
        handle.local_addr().to_string(),
        Trust::CaPem(server.ca_pem.clone()),
    );
    let alice2 = Client::connect(&client_config).await?;
    alice2.authenticate(&alice_token).await?;
    let page = alice2
        .history(ConversationRef::Direct("bob".into()), None, 500)
        .await?;
    let seqs: std::collections::HashSet<u64> = page.messages.iter().map(|m| m.seq).collect();
    for seq in &before {
        ensure!(
            seqs.contains(seq),
            "message #{seq}, acked before the backup, is missing"
        );
    }
    let (sha, n) = download_sha(&alice2, up.media.id).await?;
    ensure!(sha == up.media.sha256 && n == 300_000, "media restored");
    handle.stop().await;
    Ok(())
}

#[tokio::test]
async fn postgres_and_s3_setups_are_pointed_at_their_tools() -> Result<()> {
    let work = tempfile::tempdir()?;
    let pg = Config {
        database_url: Some("postgres://quichat@db.internal/quichat".into()),
        ..Config::default()
    };
    match backup(&pg, &work.path().join("b"), false).await {
        Err(BackupError::Unsupported(why)) => ensure!(why.contains("pg_dump"), "{why}"),
        other => anyhow::bail!("a PostgreSQL backup: {other:?}"),
    }
    let mut s3 = Config {
        data_dir: work.path().join("data"),
        ..Config::default()
    };
    s3.media.url = Some("s3://bucket".into());
    std::fs::create_dir_all(&s3.data_dir)?;
    std::fs::write(s3.data_dir.join("quichat.db"), b"")?;
    match backup(&s3, &work.path().join("b"), true).await {
        Err(BackupError::Unsupported(why)) => ensure!(why.contains("versioning"), "{why}"),
        other => anyhow::bail!("a backup with S3 media: {other:?}"),
    }
    Ok(())
}
