//! `media`: upload and download throughput of one file to the server's
//! media store, with the server's peak RSS.
//!
//! Baseline in the same run: a bare-quinn bulk transfer of the same size
//! each way with the same transport windows (its own process, no disk, no
//! hashing).

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use quichat_client::proto::media::{MediaKind, MediaVariant, UploadRequest};
use quichat_client::proto::types::Recipient;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::cli::MediaArgs;
use crate::procfs::{self, CpuMeter, PeakSampler};
use crate::raw::{self, RawServer};
use crate::report::{self, Headline, Table};
use crate::scenarios::Render;
use crate::stats::ratio;
use crate::target::Target;
use crate::users;

const MIB: f64 = 1024.0 * 1024.0;
const SAMPLE_EVERY: Duration = Duration::from_millis(20);

/// One transfer's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Transfer {
    /// Bytes moved.
    pub bytes: u64,
    /// Seconds.
    pub secs: f64,
    /// MiB/s.
    pub mib_per_s: f64,
    /// The serving process's peak RSS during the transfer, bytes.
    pub peak_rss: Option<u64>,
    /// Its RSS before, bytes.
    pub rss_before: Option<u64>,
    /// Its CPU during the transfer, % of one core.
    pub cpu_percent: Option<f64>,
    /// Each transfer's MiB/s (with --repeat).
    pub runs_mib_per_s: Vec<f64>,
}

impl Transfer {
    /// Several transfers as one: bytes and seconds added up, the highest
    /// peak, the first "before", CPU weighted by time; `runs_mib_per_s`
    /// keeps each one's throughput.
    fn combine(runs: &[Transfer]) -> Transfer {
        let bytes = runs.iter().map(|t| t.bytes).sum();
        let secs: f64 = runs.iter().map(|t| t.secs).sum();
        let cpu: Option<f64> = runs
            .iter()
            .map(|t| t.cpu_percent.map(|c| c * t.secs))
            .sum::<Option<f64>>()
            .map(|c| if secs > 0.0 { c / secs } else { 0.0 });
        Transfer {
            bytes,
            secs,
            mib_per_s: crate::stats::per_second(bytes as f64 / MIB, secs),
            peak_rss: runs.iter().filter_map(|t| t.peak_rss).max(),
            rss_before: runs.first().and_then(|t| t.rss_before),
            cpu_percent: cpu,
            runs_mib_per_s: runs.iter().map(|t| t.mib_per_s).collect(),
        }
    }
}

/// Server ÷ bare quinn.
#[derive(Debug, Clone, Serialize)]
pub struct MediaRatios {
    /// Upload throughput.
    pub upload: Option<f64>,
    /// Download throughput.
    pub download: Option<f64>,
    /// Peak RSS growth during the upload (peak − before).
    pub upload_rss_growth: Option<f64>,
}

/// The `media` report.
#[derive(Debug, Clone, Serialize)]
pub struct MediaReport {
    /// Upload throughput; failures.
    pub summary: Headline,
    /// File size.
    pub params: serde_json::Value,
    /// Server upload.
    pub upload: Transfer,
    /// Server download.
    pub download: Transfer,
    /// The server's peak RSS over its life (VmHWM), bytes.
    pub server_peak_rss: Option<u64>,
    /// Bare-quinn upload.
    pub raw_upload: Transfer,
    /// Bare-quinn download.
    pub raw_download: Transfer,
    /// Server ÷ bare quinn.
    pub ratios: MediaRatios,
}

struct Meter {
    before: Option<u64>,
    cpu: Option<CpuMeter>,
    peak: Option<PeakSampler>,
    start: Instant,
}

impl Meter {
    fn start(pid: Option<u32>) -> Meter {
        Meter {
            before: pid.and_then(|p| procfs::rss(p).ok()),
            cpu: pid.and_then(|p| CpuMeter::start(p).ok()),
            peak: pid.map(|p| PeakSampler::start(p, SAMPLE_EVERY)),
            start: Instant::now(),
        }
    }

    async fn finish(self, bytes: u64) -> Transfer {
        let secs = self.start.elapsed().as_secs_f64();
        let cpu_percent = self.cpu.and_then(|m| m.percent().ok());
        let peak_rss = match self.peak {
            Some(p) => p.stop().await.ok(),
            None => None,
        };
        Transfer {
            bytes,
            secs,
            mib_per_s: crate::stats::per_second(bytes as f64 / MIB, secs),
            peak_rss,
            rss_before: self.before,
            cpu_percent,
            runs_mib_per_s: Vec::new(),
        }
    }
}

/// Runs the scenario.
pub async fn run(target: &mut Target, args: &MediaArgs) -> Result<MediaReport> {
    let size = args.mib.max(1) * 1024 * 1024;
    let accounts = users::register_all(
        target,
        vec![users::username("m", 0), users::username("m", 1)],
    )
    .await?;
    let client = accounts[0].client.clone();
    let to = Recipient::User(accounts[1].username.clone());
    let len = usize::try_from(size).context("file size")?;
    let repeat = args.repeat.max(1);
    let base = tokio::task::spawn_blocking(move || raw::pattern(len))
        .await
        .context("generating the file")?;
    // Fresh content each upload (the server would deduplicate a repeat).
    let tag = rand::random::<u64>();
    let (mut uploads, mut downloads) = (Vec::new(), Vec::new());
    for round in 0..repeat {
        let mut data = base.clone();
        let prefix = [tag.to_be_bytes(), u64::from(round).to_be_bytes()].concat();
        let n = prefix.len().min(data.len());
        data[..n].copy_from_slice(&prefix[..n]);
        let (data, sha256) = tokio::task::spawn_blocking(move || {
            let sha: [u8; 32] = Sha256::digest(&data).into();
            (data, sha)
        })
        .await
        .context("hashing the file")?;
        let request = UploadRequest {
            upload_id: client.stable_upload_id(&sha256, size),
            size,
            sha256,
            mime: "application/octet-stream".into(),
            filename: format!("bench-{round}.bin"),
            kind: MediaKind::File,
            duration_ms: None,
            conversation: to.conversation(),
        };
        tracing::info!(
            "media: uploading {} MiB ({}/{repeat})",
            args.mib.max(1),
            round + 1
        );
        let meter = Meter::start(target.pid);
        let outcome = client
            .upload(&mut Cursor::new(data), request, |_, _| {})
            .await
            .context("upload")?;
        uploads.push(meter.finish(outcome.bytes_sent).await);
        if outcome.bytes_sent != size || outcome.deduplicated {
            bail!(
                "the upload sent {} of {size} bytes (deduplicated: {})",
                outcome.bytes_sent,
                outcome.deduplicated
            );
        }
        tracing::info!("media: downloading it");
        let meter = Meter::start(target.pid);
        let (_, got) = client
            .download(
                outcome.media.id,
                MediaVariant::Original,
                0,
                None,
                &mut tokio::io::sink(),
                |_, _| {},
            )
            .await
            .context("download")?;
        downloads.push(meter.finish(got).await);
        if got != size {
            bail!("the download returned {got} of {size} bytes");
        }
    }
    let upload = Transfer::combine(&uploads);
    let download = Transfer::combine(&downloads);
    let server_peak_rss = target.pid.and_then(|p| procfs::peak_rss(p).ok());
    users::close_all(&accounts);

    tracing::info!("media: bare quinn bulk transfers");
    let raw_server = RawServer::start(target.scratch.path(), &target.info.transport).await?;
    let raw = raw_transfers(&raw_server, size, repeat).await;
    raw_server.stop().await;
    let (raw_upload, raw_download) = raw?;
    let growth = |t: &Transfer| match (t.peak_rss, t.rss_before) {
        (Some(p), Some(b)) => Some(p.saturating_sub(b) as f64),
        _ => None,
    };
    let ratios = MediaRatios {
        upload: ratio(upload.mib_per_s, raw_upload.mib_per_s),
        download: ratio(download.mib_per_s, raw_download.mib_per_s),
        upload_rss_growth: match (growth(&upload), growth(&raw_upload)) {
            (Some(a), Some(b)) => ratio(a, b),
            _ => None,
        },
    };
    Ok(MediaReport {
        summary: Headline {
            throughput: upload.mib_per_s,
            unit: "MiB/s",
            failures: 0,
            first_failure: None,
        },
        params: serde_json::json!({ "mib": args.mib.max(1), "repeat": repeat }),
        upload,
        download,
        server_peak_rss,
        raw_upload,
        raw_download,
        ratios,
    })
}

async fn raw_transfers(server: &RawServer, size: u64, repeat: u32) -> Result<(Transfer, Transfer)> {
    let endpoint = server.endpoint()?;
    let conn = server.connect(&endpoint).await?;
    let chunk = Bytes::from(raw::pattern(raw::CHUNK));
    let (mut ups, mut downs) = (Vec::new(), Vec::new());
    for _ in 0..repeat {
        let meter = Meter::start(Some(server.pid));
        raw::upload(&conn, &chunk, size).await?;
        ups.push(meter.finish(size).await);
        let meter = Meter::start(Some(server.pid));
        raw::download(&conn, size).await?;
        downs.push(meter.finish(size).await);
    }
    conn.close(0u32.into(), b"done");
    Ok((Transfer::combine(&ups), Transfer::combine(&downs)))
}

fn row(name: &str, t: &Transfer) -> Vec<String> {
    vec![
        name.into(),
        report::bytes(t.bytes as f64),
        format!("{:.2} s", t.secs),
        report::rate(t.mib_per_s, "MiB/s"),
        report::percent(t.cpu_percent),
        report::opt_bytes(t.rss_before),
        report::opt_bytes(t.peak_rss),
    ]
}

impl Render for MediaReport {
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new(
            format!(
                "media: {} (server lifetime peak RSS {})",
                report::params(&self.params),
                report::opt_bytes(self.server_peak_rss)
            ),
            &[
                "",
                "bytes",
                "time",
                "throughput",
                "CPU",
                "RSS before",
                "peak RSS",
            ],
        );
        t.row(row("server upload", &self.upload));
        t.row(row("bare quinn upload", &self.raw_upload));
        t.row(row("server download", &self.download));
        t.row(row("bare quinn download", &self.raw_download));
        let mut r = Table::new("media: server ÷ bare quinn", &["", "ratio"]);
        r.row(vec![
            "upload throughput".into(),
            report::ratio(self.ratios.upload),
        ]);
        r.row(vec![
            "download throughput".into(),
            report::ratio(self.ratios.download),
        ]);
        r.row(vec![
            "RSS growth during upload".into(),
            report::ratio(self.ratios.upload_rss_growth),
        ]);
        vec![t, r]
    }

    fn plot(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        let path = dir.join("media-throughput.svg");
        crate::plots::bars(
            &path,
            "media: throughput, server vs bare quinn",
            "MiB/s",
            &[
                ("server upload".into(), self.upload.mib_per_s, 0),
                ("quinn upload".into(), self.raw_upload.mib_per_s, 1),
                ("server download".into(), self.download.mib_per_s, 0),
                ("quinn download".into(), self.raw_download.mib_per_s, 1),
            ],
        )?;
        Ok(vec![path])
    }
}
