//! `hol`: head-of-line blocking across stream kinds. One connection;
//! chat send → ack latency while it is idle (the baseline), then while a
//! saturating upload runs on the same connection; the ratio loaded/idle.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use quichat_client::proto::media::{MediaKind, UploadRequest};
use quichat_client::proto::types::{MessageBody, Recipient, SendMessage};
use quichat_client::Client;
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::cli::HolArgs;
use crate::payload;
use crate::plots;
use crate::raw::pattern;
use crate::report::{self, Headline, Table};
use crate::scenarios::Render;
use crate::stats::{ratio, Failures, Latency, Summary, SummaryRatio};
use crate::target::Target;
use crate::users;

/// The loaded phase gives up after this long without enough samples.
const LOADED_LIMIT: Duration = Duration::from_secs(600);

/// One phase's chat latency.
#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    /// Send → ack.
    pub send_ack: Summary,
    /// Send errors.
    pub failures: Failures,
    #[serde(skip)]
    hist: Latency,
}

/// The upload that loaded the connection.
#[derive(Debug, Clone, Serialize, Default)]
pub struct UploadLoad {
    /// Uploads completed while sampling.
    pub completed: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Their throughput, MiB/s.
    pub mib_per_s: f64,
    /// Upload errors.
    pub failures: Failures,
}

/// Loaded ÷ idle.
#[derive(Debug, Clone, Serialize)]
pub struct HolRatios {
    /// Send → ack percentiles.
    pub send_ack: SummaryRatio,
    /// Mean send → ack.
    pub mean: Option<f64>,
}

/// The `hol` report.
#[derive(Debug, Clone, Serialize)]
pub struct HolReport {
    /// Chat sends per second in the loaded phase, and every failure.
    pub summary: Headline,
    /// Samples, interval, upload size.
    pub params: serde_json::Value,
    /// Chat alone on the connection (the baseline).
    pub idle: Phase,
    /// Chat beside a saturating upload on the same connection.
    pub loaded: Phase,
    /// The upload.
    pub upload: UploadLoad,
    /// Loaded ÷ idle.
    pub ratios: HolRatios,
}

/// Sends `samples` messages one at a time, `interval` apart; with
/// `only_while`, a sample counts only if the flag was set both when it
/// was sent and when its ack came (the upload was running throughout).
async fn sample(
    client: &Client,
    to: &Recipient,
    samples: usize,
    interval: Duration,
    size: usize,
    only_while: Option<&AtomicBool>,
) -> Result<Phase> {
    let mut hist = Latency::new();
    let mut failures = Failures::default();
    let deadline = Instant::now() + LOADED_LIMIT;
    let mut index = 0u64;
    while (hist.len() as usize) < samples {
        if Instant::now() > deadline {
            bail!(
                "only {} of {samples} samples in {} s",
                hist.len(),
                LOADED_LIMIT.as_secs()
            );
        }
        let active = || only_while.is_none_or(|f| f.load(Ordering::SeqCst));
        if !active() {
            tokio::time::sleep(Duration::from_millis(2)).await;
            continue;
        }
        index += 1;
        let t0 = Instant::now();
        let msg = SendMessage {
            client_id: Uuid::now_v7(),
            to: to.clone(),
            body: MessageBody::Text(payload::stamp(0, index, t0, size)),
        };
        match client.send(msg).await {
            Ok(_) => {
                if active() {
                    hist.record(t0.elapsed());
                }
            }
            Err(e) => {
                failures.note(format!("send: {e}"));
                if failures.count > samples as u64 {
                    bail!("chat sends keep failing: {e}");
                }
            }
        }
        tokio::time::sleep(interval).await;
    }
    Ok(Phase {
        send_ack: hist.summary(),
        failures,
        hist,
    })
}

/// Uploads fresh content (so nothing is deduplicated) again and again
/// until `stop`; sets `uploading` while a transfer runs.
async fn upload_loop(
    client: Client,
    to: Recipient,
    mib: u64,
    uploading: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    load: Arc<Mutex<UploadLoad>>,
) {
    let size = usize::try_from(mib * 1024 * 1024).unwrap_or(usize::MAX);
    let base = match tokio::task::spawn_blocking(move || pattern(size)).await {
        Ok(b) => b,
        Err(e) => {
            load.lock()
                .unwrap_or_else(|p| p.into_inner())
                .failures
                .note(e);
            return;
        }
    };
    let tag = rand::random::<u64>();
    let mut round = 0u64;
    let mut busy = Duration::ZERO;
    while !stop.load(Ordering::SeqCst) {
        round += 1;
        let mut data = base.clone();
        let prefix: Vec<u8> = [tag.to_be_bytes(), round.to_be_bytes()].concat();
        let n = prefix.len().min(data.len());
        data[..n].copy_from_slice(&prefix[..n]);
        let (data, sha256) = match tokio::task::spawn_blocking(move || {
            let sha: [u8; 32] = Sha256::digest(&data).into();
            (data, sha)
        })
        .await
        {
            Ok(v) => v,
            Err(e) => {
                load.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .failures
                    .note(e);
                return;
            }
        };
        let request = UploadRequest {
            upload_id: client.stable_upload_id(&sha256, data.len() as u64),
            size: data.len() as u64,
            sha256,
            mime: "application/octet-stream".into(),
            filename: format!("hol-{round}.bin"),
            kind: MediaKind::File,
            duration_ms: None,
            conversation: to.conversation(),
        };
        let bytes = data.len() as u64;
        let mut source = Cursor::new(data);
        uploading.store(true, Ordering::SeqCst);
        let t0 = Instant::now();
        let result = client.upload(&mut source, request, |_, _| {}).await;
        uploading.store(false, Ordering::SeqCst);
        let mut l = load.lock().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(_) => {
                busy += t0.elapsed();
                l.completed += 1;
                l.bytes += bytes;
                l.mib_per_s = l.bytes as f64 / 1048576.0 / busy.as_secs_f64().max(1e-9);
            }
            Err(e) => {
                l.failures.note(format!("upload: {e}"));
                return;
            }
        }
    }
}

/// Runs the scenario.
pub async fn run(target: &mut Target, args: &HolArgs) -> Result<HolReport> {
    let size = payload::body_size(args.size);
    let interval = Duration::from_millis(args.interval_ms);
    let accounts = users::register_all(
        target,
        vec![users::username("h", 0), users::username("h", 1)],
    )
    .await?;
    let client = accounts[0].client.clone();
    let to = Recipient::User(accounts[1].username.clone());
    client.open_chat_stream().await?;
    // A few unmeasured sends first (stream set-up, caches).
    for _ in 0..5 {
        client.send_text(to.clone(), "warm-up").await?;
    }
    tracing::info!("hol: {} chat sends on an idle connection", args.samples);
    let idle = sample(&client, &to, args.samples, interval, size, None).await?;
    tracing::info!(
        "hol: {} chat sends beside {} MiB uploads on the same connection",
        args.samples,
        args.upload_mib
    );
    let uploading = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let load = Arc::new(Mutex::new(UploadLoad::default()));
    let uploader = tokio::spawn(upload_loop(
        client.clone(),
        to.clone(),
        args.upload_mib.max(1),
        uploading.clone(),
        stop.clone(),
        load.clone(),
    ));
    let loaded = tokio::select! {
        r = sample(&client, &to, args.samples, interval, size, Some(&uploading)) => r,
        _ = wait_for_upload_failure(&load) => Err(anyhow::anyhow!(
            "the upload failed: {}",
            load.lock().unwrap_or_else(|p| p.into_inner()).failures.first.clone().unwrap_or_default()
        )),
    };
    // The upload in flight finishes (its throughput counts); no new one
    // starts.
    stop.store(true, Ordering::SeqCst);
    uploader.await.context("upload task")?;
    let loaded = loaded.context("loaded phase")?;
    users::close_all(&accounts);
    let upload = load.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let mut failures = idle.failures.clone();
    failures.absorb(&loaded.failures);
    failures.absorb(&upload.failures);
    let ratios = HolRatios {
        send_ack: SummaryRatio::of(&loaded.send_ack, &idle.send_ack),
        mean: ratio(loaded.send_ack.mean_us, idle.send_ack.mean_us),
    };
    Ok(HolReport {
        summary: Headline {
            throughput: upload.mib_per_s,
            unit: "MiB/s uploaded beside chat",
            failures: failures.count,
            first_failure: failures.first,
        },
        params: serde_json::json!({
            "samples": args.samples,
            "interval_ms": args.interval_ms,
            "upload_mib": args.upload_mib.max(1),
            "body_bytes": size,
        }),
        idle,
        loaded,
        upload,
        ratios,
    })
}

async fn wait_for_upload_failure(load: &Mutex<UploadLoad>) {
    loop {
        if load
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .failures
            .count
            > 0
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl Render for HolReport {
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new(
            format!(
                "hol: chat send→ack on one connection, idle vs beside an upload \
                 ({:.1} MiB/s, {} uploads completed)",
                self.upload.mib_per_s, self.upload.completed
            ),
            &["", "samples", "mean", "p50", "p99", "p999", "max", "fail"],
        );
        for (name, p) in [("idle", &self.idle), ("loaded", &self.loaded)] {
            t.row(vec![
                name.into(),
                p.send_ack.count.to_string(),
                report::us(p.send_ack.mean_us as u64),
                report::us(p.send_ack.p50_us),
                report::us(p.send_ack.p99_us),
                report::us(p.send_ack.p999_us),
                report::us(p.send_ack.max_us),
                p.failures.count.to_string(),
            ]);
        }
        t.row(vec![
            "loaded/idle".into(),
            String::new(),
            report::ratio(self.ratios.mean),
            report::ratio(self.ratios.send_ack.p50),
            report::ratio(self.ratios.send_ack.p99),
            report::ratio(self.ratios.send_ack.p999),
            String::new(),
            String::new(),
        ]);
        vec![t]
    }

    fn plot(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        let bars = dir.join("hol-p50-p99.svg");
        let ms = |us: u64| us as f64 / 1000.0;
        plots::bars(
            &bars,
            "hol: chat send→ack, idle vs beside an upload",
            "latency (ms)",
            &[
                ("idle p50".into(), ms(self.idle.send_ack.p50_us), 0),
                ("loaded p50".into(), ms(self.loaded.send_ack.p50_us), 1),
                ("idle p99".into(), ms(self.idle.send_ack.p99_us), 0),
                ("loaded p99".into(), ms(self.loaded.send_ack.p99_us), 1),
            ],
        )?;
        let dist = dir.join("hol-latency.svg");
        plots::latency_distribution(
            &dist,
            "hol: chat send→ack distribution",
            &[
                ("idle", &self.idle.hist),
                ("beside upload", &self.loaded.hist),
            ],
        )?;
        Ok(vec![bars, dist])
    }
}
