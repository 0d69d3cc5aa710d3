//! `messages`: P sender/receiver pairs, W sends in flight per sender,
//! S-byte bodies. Durable messages/s (acks/s), send → ack and send →
//! receive latency; with `--sweep`, latency at fractions of the peak.
//!
//! Baselines in the same run: a bare-quinn relay with the same transport
//! windows, framing, P and W (no database), and a plain SQLite (or
//! PostgreSQL) insert loop at batch 1 and at the server's observed group
//! commit size.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use futures::StreamExt;
use quichat_client::proto::chat::ServerChat;
use quichat_client::proto::event::EventBody;
use quichat_client::proto::types::{MessageBody, Recipient, SendMessage};
use quichat_client::{Client, EventStream};
use serde::Serialize;
use uuid::Uuid;

use crate::cli::MessagesArgs;
use crate::db_baseline::{self, DbRun, Limit};
use crate::payload;
use crate::plots;
use crate::procfs::{self, CpuMeter};
use crate::raw::{RawChat, RawReceiver, RawServer};
use crate::report::{self, Headline, Table};
use crate::scenarios::Render;
use crate::stats::{ratio, Failures, Latency, Summary, SummaryRatio};
use crate::target::Target;
use crate::users;

/// The histogram of the server's group-commit batch sizes, if it has one.
const COMMIT_BATCH_METRIC: &str = "quichat_commit_batch_size";

/// Something that sends one message and waits for its ack.
pub trait ChatSender: Clone + Send + Sync + 'static {
    /// Sends `msg`; `Ok` once it is acknowledged.
    fn send_one(&self, msg: SendMessage) -> impl Future<Output = Result<(), String>> + Send;
}

impl ChatSender for Client {
    async fn send_one(&self, msg: SendMessage) -> Result<(), String> {
        Client::send(self, msg)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

impl ChatSender for RawChat {
    fn send_one(&self, msg: SendMessage) -> impl Future<Output = Result<(), String>> + Send {
        RawChat::send(self, msg)
    }
}

/// What one receiver has seen, by body tag.
#[derive(Debug, Default)]
pub struct RecvStats {
    counts: HashMap<u32, u64>,
    latency: HashMap<u32, Latency>,
    error: Option<String>,
}

impl RecvStats {
    fn record(&mut self, text: &str, at: Instant) {
        if let Some((tag, _, sent)) = payload::parse(text) {
            *self.counts.entry(tag).or_default() += 1;
            if tag % 2 == 1 {
                self.latency
                    .entry(tag)
                    .or_default()
                    .record(at.saturating_duration_since(sent));
            }
        }
    }
}

/// Shared receiver statistics.
pub type SharedRecv = Arc<Mutex<RecvStats>>;

fn lock(s: &SharedRecv) -> std::sync::MutexGuard<'_, RecvStats> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

/// Follows a client's event feed, recording stamped text messages.
pub fn spawn_client_receiver(mut events: EventStream, stats: SharedRecv) {
    tokio::spawn(async move {
        while let Some(item) = events.next().await {
            let at = Instant::now();
            match item {
                Ok(event) => {
                    if let EventBody::Message(m) = &event.body {
                        if let MessageBody::Text(text) = &m.body {
                            lock(&stats).record(text, at);
                        }
                    }
                }
                Err(e) => {
                    lock(&stats).error = Some(e.to_string());
                    break;
                }
            }
        }
    });
}

fn spawn_raw_receiver(mut receiver: RawReceiver, stats: SharedRecv) {
    tokio::spawn(async move {
        let _conn = receiver.conn.clone();
        while let Some(frame) = receiver.frames.next().await {
            let at = Instant::now();
            let Ok(body) = frame else { break };
            if let Ok(ServerChat::Event(event)) =
                quichat_client::proto::frame::decode_body::<ServerChat>(&body)
            {
                if let EventBody::Message(m) = &event.body {
                    if let MessageBody::Text(text) = &m.body {
                        lock(&stats).record(text, at);
                    }
                }
            }
        }
    });
}

/// One sender → receiver pair as the phase runner sees it.
#[derive(Debug, Clone)]
pub struct Pair<S> {
    /// The sending side.
    pub sender: S,
    /// Whom it sends to.
    pub to: Recipient,
    /// The receiving side's statistics.
    pub recv: SharedRecv,
}

/// How one measured phase runs.
#[derive(Debug, Clone, Copy)]
pub struct PhaseSpec {
    /// Phase number (body tags `2n` for warm-up, `2n + 1` for measured).
    pub phase: u32,
    /// Offered load over all senders, messages/s (`None`: as fast as the
    /// window allows).
    pub rate: Option<f64>,
    /// Measured time (after the warm-up).
    pub duration: Duration,
    /// Unmeasured time first.
    pub warmup: Duration,
    /// Messages per sender instead of a duration.
    pub count: Option<u64>,
    /// Sends in flight per sender.
    pub window: usize,
    /// Body bytes.
    pub size: usize,
    /// How long receivers may take to catch up after the last ack.
    pub drain: Duration,
}

/// One phase's figures.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseOutcome {
    /// Offered load, messages/s (`None`: closed loop at full speed).
    pub offered_per_s: Option<f64>,
    /// Measured seconds.
    pub secs: f64,
    /// Acknowledged (durable) messages in the measured window.
    pub acked: u64,
    /// Durable messages per second.
    pub acks_per_s: f64,
    /// Send → ack.
    pub send_ack: Summary,
    /// Send → receive (on the receiver's event feed).
    pub send_receive: Summary,
    /// Messages received, all of this phase's.
    pub received: u64,
    /// Acknowledged messages never received within the drain time.
    pub lost: u64,
    /// Send errors and lost messages.
    pub failures: Failures,
    /// The server's CPU over the measured window, % of one core.
    pub server_cpu_percent: Option<f64>,
    /// This bench process's CPU over the same window (it shares the
    /// machine), % of one core.
    pub bench_cpu_percent: Option<f64>,
    /// The server's RSS at the end of the phase.
    pub server_rss_bytes: Option<u64>,
    #[serde(skip)]
    ack_hist: Latency,
    #[serde(skip)]
    recv_hist: Latency,
}

#[derive(Debug, Default)]
struct WorkerOut {
    ack: Latency,
    acked_warm: u64,
    acked_measured: u64,
    acked_in_window: u64,
    last_ack: Option<Instant>,
    failures: Failures,
}

#[allow(clippy::too_many_arguments)]
async fn worker<S: ChatSender>(
    sender: S,
    to: Recipient,
    counter: Arc<AtomicU64>,
    spec: PhaseSpec,
    per_sender_rate: Option<f64>,
    start: Instant,
    warm_end: Instant,
    end: Instant,
) -> WorkerOut {
    let mut out = WorkerOut::default();
    let tag_warm = spec.phase * 2;
    loop {
        let k = counter.fetch_add(1, Ordering::Relaxed);
        if spec.count.is_some_and(|n| k >= n) {
            break;
        }
        let intended = match per_sender_rate {
            Some(r) => {
                let at = start + Duration::from_secs_f64(k as f64 / r);
                if spec.count.is_none() && at >= end {
                    break;
                }
                tokio::time::sleep_until(at.into()).await;
                at
            }
            None => {
                let now = Instant::now();
                if spec.count.is_none() && now >= end {
                    break;
                }
                now
            }
        };
        let measured = spec.count.is_some() || intended >= warm_end;
        let tag = tag_warm + u32::from(measured);
        let msg = SendMessage {
            client_id: Uuid::now_v7(),
            to: to.clone(),
            body: MessageBody::Text(payload::stamp(tag, k, intended, spec.size)),
        };
        match sender.send_one(msg).await {
            Ok(()) => {
                let done = Instant::now();
                if measured {
                    out.ack.record(done.saturating_duration_since(intended));
                    out.acked_measured += 1;
                } else {
                    out.acked_warm += 1;
                }
                if spec.count.is_some() || (done >= warm_end && done <= end) {
                    out.acked_in_window += 1;
                }
                out.last_ack = Some(out.last_ack.map_or(done, |l| l.max(done)));
            }
            Err(e) => out.failures.note(format!("send: {e}")),
        }
    }
    out
}

/// Runs one phase over `pairs`; `pid` is the server's, for CPU and RSS.
pub async fn run_phase<S: ChatSender>(
    pairs: &[Pair<S>],
    spec: PhaseSpec,
    pid: Option<u32>,
) -> Result<PhaseOutcome> {
    let start = Instant::now();
    let (warmup, duration) = if spec.count.is_some() {
        (Duration::ZERO, Duration::ZERO)
    } else {
        (spec.warmup, spec.duration)
    };
    let warm_end = start + warmup;
    let end = warm_end + duration;
    let per_sender_rate = spec.rate.map(|r| (r / pairs.len() as f64).max(0.001));
    // CPU over the measured window (or the whole run in count mode).
    let cpu_task = spec.count.is_none().then(|| {
        tokio::spawn(async move {
            tokio::time::sleep_until(warm_end.into()).await;
            let server = pid.and_then(|p| CpuMeter::start(p).ok());
            let bench = CpuMeter::start(std::process::id()).ok();
            tokio::time::sleep_until(end.into()).await;
            (
                server.and_then(|m| m.percent().ok()),
                bench.and_then(|m| m.percent().ok()),
            )
        })
    });
    let count_meters = (
        pid.and_then(|p| CpuMeter::start(p).ok()),
        CpuMeter::start(std::process::id()).ok(),
    );
    let mut tasks = Vec::new();
    for pair in pairs {
        let counter = Arc::new(AtomicU64::new(0));
        let mut workers = Vec::new();
        for _ in 0..spec.window.max(1) {
            workers.push(tokio::spawn(worker(
                pair.sender.clone(),
                pair.to.clone(),
                counter.clone(),
                spec,
                per_sender_rate,
                start,
                warm_end,
                end,
            )));
        }
        tasks.push(workers);
    }
    let mut per_pair = Vec::new();
    for workers in tasks {
        let mut merged = WorkerOut::default();
        for w in workers {
            let out = w.await.context("send worker")?;
            merged.ack.merge(&out.ack)?;
            merged.acked_warm += out.acked_warm;
            merged.acked_measured += out.acked_measured;
            merged.acked_in_window += out.acked_in_window;
            merged.last_ack = match (merged.last_ack, out.last_ack) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            merged.failures.absorb(&out.failures);
        }
        per_pair.push(merged);
    }
    let (server_cpu, bench_cpu) = match cpu_task {
        Some(task) => task.await.context("CPU meter")?,
        None => (
            count_meters.0.and_then(|m| m.percent().ok()),
            count_meters.1.and_then(|m| m.percent().ok()),
        ),
    };
    // Let the receivers catch up with everything that was acknowledged.
    let tags = [spec.phase * 2, spec.phase * 2 + 1];
    let drain_until = Instant::now() + spec.drain;
    loop {
        let behind = pairs.iter().zip(&per_pair).any(|(pair, out)| {
            let s = lock(&pair.recv);
            let got: u64 = tags
                .iter()
                .map(|t| s.counts.get(t).copied().unwrap_or(0))
                .sum();
            got < out.acked_warm + out.acked_measured && s.error.is_none()
        });
        if !behind || Instant::now() >= drain_until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut ack_hist = Latency::new();
    let mut recv_hist = Latency::new();
    let mut failures = Failures::default();
    let (mut acked, mut received, mut lost) = (0u64, 0u64, 0u64);
    let mut last_ack: Option<Instant> = None;
    for (pair, out) in pairs.iter().zip(&per_pair) {
        ack_hist.merge(&out.ack)?;
        failures.absorb(&out.failures);
        acked += out.acked_in_window;
        last_ack = match (last_ack, out.last_ack) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let mut s = lock(&pair.recv);
        let got: u64 = tags
            .iter()
            .map(|t| s.counts.get(t).copied().unwrap_or(0))
            .sum();
        received += got;
        let want = out.acked_warm + out.acked_measured;
        if got < want {
            lost += want - got;
            failures.count += want - got;
            if failures.first.is_none() {
                failures.first = Some(match &s.error {
                    Some(e) => format!("receiver failed: {e}"),
                    None => format!(
                        "{} acknowledged messages not received within {:.0} s",
                        want - got,
                        spec.drain.as_secs_f64()
                    ),
                });
            }
        }
        if let Some(h) = s.latency.remove(&tags[1]) {
            recv_hist.merge(&h)?;
        }
    }
    let secs = match spec.count {
        Some(_) => last_ack.map_or(0.0, |l| l.saturating_duration_since(start).as_secs_f64()),
        None => duration.as_secs_f64(),
    };
    Ok(PhaseOutcome {
        offered_per_s: spec.rate,
        secs,
        acked,
        acks_per_s: crate::stats::per_second(acked as f64, secs),
        send_ack: ack_hist.summary(),
        send_receive: recv_hist.summary(),
        received,
        lost,
        failures,
        server_cpu_percent: server_cpu,
        bench_cpu_percent: bench_cpu,
        server_rss_bytes: pid.and_then(|p| procfs::rss(p).ok()),
        ack_hist,
        recv_hist,
    })
}

/// One point of the offered-load sweep.
#[derive(Debug, Clone, Serialize)]
pub struct SweepPoint {
    /// Percent of the measured peak offered.
    pub percent_of_peak: f64,
    /// The phase's figures.
    pub outcome: PhaseOutcome,
}

/// Ratios of the server's figures to the baselines'.
#[derive(Debug, Clone, Serialize)]
pub struct MessageRatios {
    /// Server acks/s ÷ bare-quinn acks/s (the share of the transport's
    /// rate the server reaches).
    pub acks_per_s_vs_raw: Option<f64>,
    /// Server send → ack ÷ bare quinn.
    pub send_ack_vs_raw: SummaryRatio,
    /// Server send → receive ÷ bare quinn.
    pub send_receive_vs_raw: SummaryRatio,
    /// Server acks/s ÷ database rows/s, per baseline batch size.
    pub acks_per_s_vs_db: Vec<DbRatio>,
}

/// Server acks/s ÷ one database baseline's rows/s.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct DbRatio {
    /// The baseline's rows per transaction.
    pub batch: usize,
    /// The ratio.
    pub ratio: Option<f64>,
}

/// The `messages` report.
#[derive(Debug, Clone, Serialize)]
pub struct MessagesReport {
    /// Headline figures (server acks/s; failures of every phase).
    pub summary: Headline,
    /// Pairs, window, body size, duration or count.
    pub params: serde_json::Value,
    /// The server, closed loop at full speed.
    pub server: PhaseOutcome,
    /// The bare-quinn relay, same load.
    pub raw_quinn: PhaseOutcome,
    /// The insert-loop baselines.
    pub database: Vec<DbRun>,
    /// The server's mean group-commit batch (`quichat_commit_batch_size`),
    /// when it exports it.
    pub observed_commit_batch: Option<f64>,
    /// The server's own mean commit → push latency
    /// (`quichat_delivery_latency_seconds`), µs.
    pub server_delivery_latency_mean_us: Option<f64>,
    /// Offered-load sweep (with `--sweep`).
    pub sweep: Vec<SweepPoint>,
    /// p99 send → receive at half the peak (from the sweep).
    pub p99_send_receive_at_half_peak_us: Option<u64>,
    /// The knee: the highest swept load whose p99 send → receive stays
    /// within 2× of the lowest swept load's.
    pub knee_percent_of_peak: Option<f64>,
    /// Server ÷ baselines.
    pub ratios: MessageRatios,
}

/// Runs the scenario.
pub async fn run(target: &mut Target, args: &MessagesArgs) -> Result<MessagesReport> {
    let pairs_n = args.pairs.max(1);
    let size = payload::body_size(args.size);
    let spec = PhaseSpec {
        phase: 1,
        rate: None,
        duration: Duration::from_secs_f64(args.duration),
        warmup: Duration::from_secs_f64(args.warmup),
        count: args.count,
        window: args.window.max(1),
        size,
        drain: Duration::from_secs_f64(args.drain),
    };
    tracing::info!("messages: registering {} accounts", 2 * pairs_n);
    let mut names = Vec::new();
    for i in 0..pairs_n {
        names.push(users::username("s", i));
        names.push(users::username("r", i));
    }
    let accounts = users::register_all(target, names).await?;
    let mut pairs = Vec::new();
    for chunk in accounts.chunks(2) {
        let [sender, receiver] = chunk else {
            bail!("accounts come in pairs");
        };
        let stats = SharedRecv::default();
        spawn_client_receiver(receiver.client.subscribe(0).await?, stats.clone());
        sender.client.open_chat_stream().await?;
        pairs.push(Pair {
            sender: sender.client.clone(),
            to: Recipient::User(receiver.username.clone()),
            recv: stats,
        });
    }
    let pid = target.pid;
    tracing::info!(
        "messages: server, {pairs_n} pairs × window {}, {size}-byte bodies",
        spec.window
    );
    let server = run_phase(&pairs, spec, pid).await?;
    target.check_alive()?;
    let mut sweep = Vec::new();
    if args.sweep && server.acks_per_s > 0.0 {
        for (i, pct) in args.sweep_points.iter().enumerate() {
            let rate = server.acks_per_s * pct / 100.0;
            tracing::info!("messages: sweep at {pct}% of peak ({rate:.0} msg/s)");
            let phase = PhaseSpec {
                phase: 2 + u32::try_from(i).unwrap_or(0),
                rate: Some(rate),
                duration: Duration::from_secs_f64(args.sweep_secs),
                warmup: Duration::from_secs_f64(args.warmup.min(1.0)),
                count: None,
                ..spec
            };
            let outcome = run_phase(&pairs, phase, pid).await?;
            sweep.push(SweepPoint {
                percent_of_peak: *pct,
                outcome,
            });
        }
    }
    let scraped = target.scrape().await;
    let observed_batch = scraped.as_ref().and_then(|s| s.mean(COMMIT_BATCH_METRIC));
    let delivery_mean = scraped
        .as_ref()
        .and_then(|s| s.mean("quichat_delivery_latency_seconds"))
        .map(|s| s * 1e6);
    users::close_all(&accounts);
    drop(pairs);

    tracing::info!("messages: bare-quinn relay baseline");
    let raw_server = RawServer::start(target.scratch.path(), &target.info.transport).await?;
    let mut raw_pairs = Vec::new();
    for i in 0..pairs_n {
        let (chat, receiver) = RawChat::open_pair(&raw_server, u32::try_from(i)?).await?;
        let stats = SharedRecv::default();
        spawn_raw_receiver(receiver, stats.clone());
        raw_pairs.push(Pair {
            sender: chat,
            to: Recipient::User(users::username("r", i)),
            recv: stats,
        });
    }
    let raw = run_phase(&raw_pairs, spec, Some(raw_server.pid)).await;
    for p in &raw_pairs {
        p.sender.close();
    }
    raw_server.stop().await;
    let raw = raw?;

    let limit = match args.count {
        Some(n) => Limit::Rows(n * pairs_n as u64),
        None => Limit::Time(Duration::from_secs_f64(
            args.db_secs.unwrap_or(args.duration),
        )),
    };
    let mut batches: Vec<(usize, &'static str)> = vec![(1, "1")];
    if let Some(mean) = observed_batch {
        let b = mean.round().max(1.0) as usize;
        if b > 1 {
            batches.push((b, "observed"));
        }
    }
    for b in &args.baseline_batch {
        if !batches.iter().any(|(x, _)| x == b) {
            batches.push((*b, "flag"));
        }
    }
    let mut database = Vec::new();
    for (batch, source) in batches {
        tracing::info!("messages: database baseline, batch {batch}");
        database.push(db_baseline::run(target, batch, source, size, limit).await?);
    }

    let p99_half = sweep
        .iter()
        .find(|p| (p.percent_of_peak - 50.0).abs() < 1e-9)
        .map(|p| p.outcome.send_receive.p99_us);
    let knee = knee(&sweep);
    let mut failures = server.failures.clone();
    for p in &sweep {
        failures.absorb(&p.outcome.failures);
    }
    failures.absorb(&raw.failures);
    let ratios = MessageRatios {
        acks_per_s_vs_raw: ratio(server.acks_per_s, raw.acks_per_s),
        send_ack_vs_raw: SummaryRatio::of(&server.send_ack, &raw.send_ack),
        send_receive_vs_raw: SummaryRatio::of(&server.send_receive, &raw.send_receive),
        acks_per_s_vs_db: database
            .iter()
            .map(|d| DbRatio {
                batch: d.batch,
                ratio: ratio(server.acks_per_s, d.rows_per_s),
            })
            .collect(),
    };
    Ok(MessagesReport {
        summary: Headline {
            throughput: server.acks_per_s,
            unit: "msg/s",
            failures: failures.count,
            first_failure: failures.first.clone(),
        },
        params: serde_json::json!({
            "pairs": pairs_n,
            "window": spec.window,
            "body_bytes": size,
            "duration_secs": args.count.is_none().then_some(args.duration),
            "warmup_secs": args.count.is_none().then_some(args.warmup),
            "count_per_sender": args.count,
        }),
        server,
        raw_quinn: raw,
        database,
        observed_commit_batch: observed_batch,
        server_delivery_latency_mean_us: delivery_mean,
        sweep,
        p99_send_receive_at_half_peak_us: p99_half,
        knee_percent_of_peak: knee,
        ratios,
    })
}

/// The highest swept load whose p99 send → receive is at most twice the
/// lowest swept load's (and that kept up with what was offered, within
/// 10 %).
fn knee(sweep: &[SweepPoint]) -> Option<f64> {
    let base = sweep.first()?.outcome.send_receive.p99_us.max(1);
    sweep
        .iter()
        .filter(|p| {
            let o = &p.outcome;
            let kept_up = o.offered_per_s.is_none_or(|r| o.acks_per_s >= 0.9 * r);
            o.send_receive.p99_us <= 2 * base && kept_up
        })
        .map(|p| p.percent_of_peak)
        .fold(None, |m: Option<f64>, p| Some(m.map_or(p, |m| m.max(p))))
}

fn phase_row(name: &str, o: &PhaseOutcome) -> Vec<String> {
    vec![
        name.to_string(),
        report::rate(o.acks_per_s, "msg/s"),
        report::us(o.send_ack.p50_us),
        report::us(o.send_ack.p99_us),
        report::us(o.send_ack.p999_us),
        report::us(o.send_receive.p50_us),
        report::us(o.send_receive.p99_us),
        report::us(o.send_receive.p999_us),
        report::percent(o.server_cpu_percent),
        o.failures.count.to_string(),
    ]
}

impl Render for MessagesReport {
    fn tables(&self) -> Vec<Table> {
        let header = [
            "",
            "acks/s",
            "ack p50",
            "ack p99",
            "ack p999",
            "recv p50",
            "recv p99",
            "recv p999",
            "srv CPU",
            "fail",
        ];
        let mut t = Table::new(
            format!("messages: {}", report::params(&self.params)),
            &header,
        );
        t.row(phase_row("server", &self.server));
        t.row(phase_row("bare quinn", &self.raw_quinn));
        let r = &self.ratios;
        t.row(vec![
            "server/quinn".into(),
            report::ratio(r.acks_per_s_vs_raw),
            report::ratio(r.send_ack_vs_raw.p50),
            report::ratio(r.send_ack_vs_raw.p99),
            report::ratio(r.send_ack_vs_raw.p999),
            report::ratio(r.send_receive_vs_raw.p50),
            report::ratio(r.send_receive_vs_raw.p99),
            report::ratio(r.send_receive_vs_raw.p999),
            String::new(),
            String::new(),
        ]);
        let mut tables = vec![t];
        let mut db = Table::new(
            format!(
                "messages: database insert loop ({}; server mean commit batch: {})",
                self.database
                    .first()
                    .map(|d| d.backend.as_str())
                    .unwrap_or("-"),
                self.observed_commit_batch
                    .map(|b| format!("{b:.2}"))
                    .unwrap_or_else(|| "not exported".into())
            ),
            &[
                "batch",
                "rows/s",
                "commits/s",
                "tx p50",
                "tx p99",
                "server acks/s ÷ rows/s",
            ],
        );
        for (d, r) in self.database.iter().zip(&self.ratios.acks_per_s_vs_db) {
            db.row(vec![
                format!("{} ({})", d.batch, d.source),
                report::rate(d.rows_per_s, "rows/s"),
                report::rate(d.commits_per_s, "/s"),
                report::us(d.commit.p50_us),
                report::us(d.commit.p99_us),
                report::ratio(r.ratio),
            ]);
        }
        tables.push(db);
        if !self.sweep.is_empty() {
            let mut s = Table::new(
                format!(
                    "messages: offered-load sweep (peak {}; p99 send→receive at 50 %: {}; knee: {})",
                    report::rate(self.server.acks_per_s, "msg/s"),
                    self.p99_send_receive_at_half_peak_us
                        .map(report::us)
                        .unwrap_or_else(|| "-".into()),
                    self.knee_percent_of_peak
                        .map(|k| format!("{k:.0} % of peak"))
                        .unwrap_or_else(|| "-".into())
                ),
                &header,
            );
            for p in &self.sweep {
                let row = phase_row(
                    &format!(
                        "{:.0} % ({})",
                        p.percent_of_peak,
                        report::rate(p.outcome.offered_per_s.unwrap_or(0.0), "/s")
                    ),
                    &p.outcome,
                );
                s.row(row);
            }
            tables.push(s);
        }
        tables
    }

    fn plot(&self, dir: &std::path::Path) -> Result<Vec<std::path::PathBuf>> {
        let mut files = Vec::new();
        let path = dir.join("messages-latency.svg");
        plots::latency_distribution(
            &path,
            "messages: latency distribution",
            &[
                ("server send→ack", &self.server.ack_hist),
                ("server send→receive", &self.server.recv_hist),
                ("bare quinn send→ack", &self.raw_quinn.ack_hist),
                ("bare quinn send→receive", &self.raw_quinn.recv_hist),
            ],
        )?;
        files.push(path);
        if !self.sweep.is_empty() {
            let path = dir.join("messages-sweep.svg");
            let pts = |f: fn(&PhaseOutcome) -> u64| -> Vec<(f64, f64)> {
                self.sweep
                    .iter()
                    .map(|p| (p.outcome.acks_per_s, f(&p.outcome) as f64 / 1000.0))
                    .collect()
            };
            plots::lines(
                &path,
                "messages: latency against load",
                "durable messages/s",
                "latency (ms)",
                &[
                    ("send→receive p99", pts(|o| o.send_receive.p99_us)),
                    ("send→receive p50", pts(|o| o.send_receive.p50_us)),
                    ("send→ack p99", pts(|o| o.send_ack.p99_us)),
                ],
            )?;
            files.push(path);
        }
        Ok(files)
    }
}
