//! What the server writes to disk is private: on a fresh data directory
//! (the embedded defaults: SQLite, local media, dev certificates), the
//! directories are 0700 and the database file 0600.

#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::{ensure, Result};
use quichat_server::{Config, Server};

fn mode(path: &Path) -> Result<u32> {
    Ok(std::fs::metadata(path)?.permissions().mode() & 0o777)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_data_directory_is_private() -> Result<()> {
    quichat_tests::init_logging();
    let root = tempfile::tempdir()?;
    let data = root.path().join("srv").join("data");
    let config = Config {
        listen: "127.0.0.1:0".parse()?,
        data_dir: data.clone(),
        ..Config::default()
    };
    let handle = Server::start(config).await?;
    // A client registers, so the database and media paths are in use.
    let ca = std::fs::read(handle.ca_path().unwrap())?;
    let client = quichat_client::Client::connect(&quichat_client::ClientConfig::new(
        handle.local_addr().to_string(),
        quichat_client::Trust::CaPem(ca),
    ))
    .await?;
    client
        .register("alice", "alice-secret-password", "t")
        .await?;
    client.close().await;
    for dir in [&data, &data.join("certs"), &data.join("media")] {
        ensure!(mode(dir)? == 0o700, "{} is {:o}", dir.display(), mode(dir)?);
    }
    let db = data.join("quichat.db");
    ensure!(mode(&db)? == 0o600, "{} is {:o}", db.display(), mode(&db)?);
    for entry in std::fs::read_dir(&data)? {
        let path = entry?.path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("quichat.db") {
            ensure!(mode(&path)? & 0o077 == 0, "{name} is {:o}", mode(&path)?);
        }
    }
    handle.stop().await;
    Ok(())
}

/// ARCHITECTURE.md promises SQLite in WAL mode with synchronous=FULL:
/// check what is in force on the server's own pool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_runs_in_wal_mode_with_full_sync() -> Result<()> {
    let server = quichat_tests::TestServer::start(quichat_tests::Backend::Sqlite).await?;
    let state = server.handle.as_ref().unwrap().state();
    let (mode, sync) = state.store.sqlite_pragmas().await?.unwrap();
    ensure!(mode.eq_ignore_ascii_case("wal"), "journal_mode is {mode}");
    ensure!(sync == 2, "synchronous is {sync}, not FULL (2)");
    Ok(())
}
