//! The server's memory stays flat during a big upload: it buffers one
//! multipart part, never the file. Measured as the peak resident set size
//! (VmHWM) of this test process, which runs both the server and the
//! client; the content is generated on the fly, so neither side needs to
//! hold it. Runs on the local store and on Garage, one after the other
//! (in its own test binary, so no other test shares the process).

#![allow(clippy::unwrap_used)]

use anyhow::{ensure, Context, Result};
use quichat_tests::{
    pattern_request, s3_skipped, Backend, MediaBackend, PatternReader, TestServer,
};

const MIB: u64 = 1024 * 1024;

fn status_kib(field: &str) -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .with_context(|| format!("{field} not in /proc/self/status"))?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .context("no value")?
        .parse()?)
}

async fn upload_big(media: MediaBackend, size: u64) -> Result<()> {
    let server = TestServer::start_media(Backend::Sqlite, media, |_| {}).await?;
    let (alice, _) = server.register("alice").await?;
    server.register("bob").await?;
    let req = pattern_request(&alice, "bob", 1234, size).await?;
    let out = alice
        .upload(&mut PatternReader::new(1234, size), req, |_, _| {})
        .await?;
    ensure!(out.media.size == size && out.bytes_sent == size);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peak_memory_stays_bounded_during_a_big_upload() -> Result<()> {
    // Warm up (TLS, database, allocator) with a small upload first.
    upload_big(MediaBackend::Local, MIB).await?;
    let baseline = status_kib("VmRSS:")?;
    let size = 512 * MIB;
    let mut backends = vec![MediaBackend::Local];
    if !s3_skipped() {
        backends.push(MediaBackend::S3);
    }
    for media in backends {
        upload_big(media, size).await?;
        let peak = status_kib("VmHWM:")?;
        let growth_mib = peak.saturating_sub(baseline) / 1024;
        eprintln!("{media:?}: baseline RSS {} MiB, peak {} MiB, growth {growth_mib} MiB for a {} MiB upload", baseline / 1024, peak / 1024, size / MIB);
        // Generous: part buffer (8 MiB), QUIC windows, S3 client copies,
        // allocator slack (glibc keeps freed part buffers in its arenas). Holding
        // the file would need 512 MiB.
        ensure!(
            growth_mib < 192,
            "peak RSS grew by {growth_mib} MiB during a {} MiB upload",
            size / MIB
        );
    }
    Ok(())
}
