//! `soak`: a seeded mix of everything clients do, against a real server,
//! for a set time; then checks that nothing acknowledged was lost and that
//! the server gave its memory and connections back.
//!
//! Each of U users runs one actor on its own connection. Every choice
//! (operation, peer, size, content, pauses) comes from a generator seeded
//! with `--seed` and the actor's index, so a run is repeatable up to
//! timing. The mix (weights out of 100):
//!
//! | op | weight | what |
//! |---|---|---|
//! | text | 40 | one text message to a random peer |
//! | burst | 8 | 8 texts pipelined on the chat stream |
//! | history | 10 | a page of a conversation's history |
//! | reconnect | 6 | close the connection, connect and authenticate again (token) |
//! | churn | 6 | a second, short-lived connection: authenticate, ping, close |
//! | upload | 10 | a file (1 KiB..`--max-upload-kib`), a quarter of them content another user already stored (deduplication, proof of possession), then a media message |
//! | download | 12 | one of the actor's uploads, whole or a random range, compared byte for byte |
//! | voice | 4 | a 1–2 s voice note (WAV), transcribed by the server's worker; at most one every `--voice-every` s (else a text) |
//! | revoke | 4 | log in a new device, send from it, revoke it from the main connection: its connection must close with code 4, a send after that must fail and its token must be refused; at most one every `--revoke-every` s (else a text) |
//! | login | 0 | log in a new device with the password, log it out (only with `--mix login=N`; shares the revoke rate gate) |
//!
//! Checks (any failure makes the run fail, `quichat-bench` exits 1):
//! - every operation succeeded;
//! - **no acked message is lost**: every acknowledged (conversation, seq,
//!   client id) is in the history afterwards, exactly once, each
//!   conversation's seqs are dense (1..n), and the send attempted after a
//!   revocation is not stored;
//! - every voice note got a `done` transcript;
//! - **memory**: the server's RSS after the load (all clients gone,
//!   transcription queue empty, `--settle` seconds) is at most the
//!   baseline plus `--rss-tolerance-mib` (32 MiB). The baseline is the
//!   same state before the load: users registered, every kind of
//!   operation done once and then `--warmup` seconds of the mix (so the
//!   high-water marks of buffers and the allocator's caches at this
//!   concurrency are in it), no client connected, settled. Growth that
//!   keeps coming with more work (a leak) fails; a one-off plateau
//!   reached during the warm-up does not;
//! - **connections**: `quichat_connections_open` is back to its baseline.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use quichat_client::proto::error::close;
use quichat_client::proto::media::{MediaId, MediaKind, MediaVariant, UploadRequest};
use quichat_client::proto::types::{
    ConversationRef, Message, MessageBody, SendAck, SendMessage, TranscriptStatus,
};
use quichat_client::proto::ErrorCode;
use quichat_client::{Client, ClientConfig, ClientError};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::cli::SoakArgs;
use crate::procfs::{self, PeakSampler};
use crate::report::{self, Headline, Table};
use crate::scenarios::Render;
use crate::target::Target;
use crate::users::{self, Account, PASSWORD};

const MIB: f64 = 1024.0 * 1024.0;
/// How often the RSS timeline is sampled.
const RSS_EVERY: Duration = Duration::from_secs(2);
/// How long a revoked device's connection may take to close.
const REVOKE_CLOSE_WITHIN: Duration = Duration::from_secs(10);
/// Texts per burst.
const BURST: usize = 8;
/// One operation may take this long before it counts as failed.
const OP_TIMEOUT: Duration = Duration::from_secs(120);

/// The operations, in the order of the table in the module doc.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Op {
    Text,
    Burst,
    History,
    Reconnect,
    Churn,
    Upload,
    Download,
    Voice,
    Revoke,
    Login,
}

impl Op {
    const ALL: [(Op, u32); 10] = [
        (Op::Text, 40),
        (Op::Burst, 8),
        (Op::History, 10),
        (Op::Reconnect, 6),
        (Op::Churn, 6),
        (Op::Upload, 10),
        (Op::Download, 12),
        (Op::Voice, 4),
        (Op::Revoke, 4),
        (Op::Login, 0),
    ];

    fn name(self) -> &'static str {
        match self {
            Op::Text => "text",
            Op::Burst => "burst",
            Op::History => "history",
            Op::Reconnect => "reconnect",
            Op::Churn => "churn",
            Op::Upload => "upload",
            Op::Download => "download",
            Op::Voice => "voice",
            Op::Revoke => "revoke",
            Op::Login => "login",
        }
    }

    /// The weights: the defaults, with `--mix NAME=WEIGHT` overrides.
    fn weights(mix: &[String]) -> Result<Vec<(Op, u32)>> {
        let mut weights = Op::ALL.to_vec();
        for item in mix {
            let (name, weight) = item
                .split_once('=')
                .with_context(|| format!("--mix {item}: expected NAME=WEIGHT"))?;
            let weight: u32 = weight
                .parse()
                .with_context(|| format!("--mix {item}: the weight is not a number"))?;
            let slot = weights
                .iter_mut()
                .find(|(op, _)| op.name() == name)
                .with_context(|| {
                    let names: Vec<&str> = Op::ALL.iter().map(|(op, _)| op.name()).collect();
                    format!(
                        "--mix {item}: no operation {name} (one of {})",
                        names.join(", ")
                    )
                })?;
            slot.1 = weight;
        }
        if weights.iter().all(|(_, w)| *w == 0) {
            bail!("--mix leaves every operation at weight 0");
        }
        Ok(weights)
    }

    fn pick(weights: &[(Op, u32)], rng: &mut StdRng) -> Op {
        let total: u32 = weights.iter().map(|(_, w)| w).sum();
        let mut x = rng.gen_range(0..total.max(1));
        for &(op, w) in weights {
            if x < w {
                return op;
            }
            x -= w;
        }
        Op::Text
    }
}

/// What kind of message an ack is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Media,
    Voice,
}

/// One acknowledged send.
#[derive(Debug, Clone)]
struct Acked {
    conversation_id: i64,
    seq: u64,
    client_id: Uuid,
    sender: String,
    kind: Kind,
}

/// An uploaded file an actor can download again.
#[derive(Debug, Clone, Copy)]
struct Stored {
    media: MediaId,
    content: u64,
    size: usize,
}

/// State all actors share.
struct Shared {
    config: ClientConfig,
    users: Vec<(String, String)>,
    scratch: PathBuf,
    args: SoakArgs,
    weights: Vec<(Op, u32)>,
    voice: bool,
    acked: Mutex<Vec<Acked>>,
    /// Client ids sent after their device was revoked: must not be stored.
    forbidden: Mutex<Vec<(String, Uuid)>>,
    /// Contents stored so far (content seed, size), for deduplicated uploads.
    contents: Mutex<Vec<(u64, usize)>>,
    ops: Mutex<BTreeMap<&'static str, OpStats>>,
    failures: Mutex<crate::stats::Failures>,
    gates: Mutex<HashMap<Op, Instant>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    fn fail(&self, what: impl std::fmt::Display) {
        let text = what.to_string();
        tracing::warn!("soak: {text}");
        lock(&self.failures).note(text);
    }

    fn record(&self, ack: &SendAck, sender: &str, kind: Kind) {
        lock(&self.acked).push(Acked {
            conversation_id: ack.conversation_id,
            seq: ack.seq,
            client_id: ack.client_id,
            sender: sender.to_string(),
            kind,
        });
    }

    /// Whether a rate-gated op may run now (and, if so, books the slot).
    fn gate(&self, op: Op, every: f64) -> bool {
        let mut gates = lock(&self.gates);
        let now = Instant::now();
        match gates.get(&op) {
            Some(next) if *next > now => false,
            _ => {
                gates.insert(op, now + Duration::from_secs_f64(every.max(0.0)));
                true
            }
        }
    }
}

/// Counts of one operation.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OpStats {
    /// Times it ran.
    pub count: u64,
    /// Times it failed.
    pub errors: u64,
    /// Total seconds spent in it.
    pub secs: f64,
}

/// The message check.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MessageCheck {
    /// Acknowledged sends (text, media and voice).
    pub acked: u64,
    /// Of those, found in the history at their (conversation, seq) with
    /// their client id, exactly once.
    pub found_once: u64,
    /// Acked but not in the history (lost).
    pub missing: u64,
    /// Acked client ids present more than once.
    pub duplicated: u64,
    /// Conversations checked.
    pub conversations: u64,
    /// Messages the history holds in them.
    pub history_messages: u64,
    /// Missing seqs inside 1..=last (gaps).
    pub seq_gaps: u64,
    /// Sends attempted after their device was revoked that are stored.
    pub stored_after_revocation: u64,
}

/// Voice notes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VoiceCheck {
    /// Sent.
    pub sent: u64,
    /// Transcribed (`done`).
    pub done: u64,
    /// Failed transcriptions.
    pub failed: u64,
    /// Still pending when the wait ended.
    pub pending: u64,
}

/// Memory and connections.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MemoryCheck {
    /// RSS before the load (bytes).
    pub baseline_rss: u64,
    /// Highest RSS sampled during the load.
    pub peak_rss: u64,
    /// RSS after the load and the settle time.
    pub after_rss: u64,
    /// `after − baseline`, MiB (negative: below the baseline).
    pub growth_mib: f64,
    /// The allowed growth, MiB.
    pub tolerance_mib: f64,
    /// `quichat_connections_open` at the baseline and after.
    pub connections_open: (Option<f64>, Option<f64>),
    /// `(seconds since the load started, RSS bytes)`.
    pub timeline: Vec<(f64, u64)>,
}

/// One pass/fail check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What.
    pub name: &'static str,
    /// Passed.
    pub ok: bool,
    /// The figures behind it.
    pub detail: String,
}

/// The `soak` report.
#[derive(Debug, Clone, Serialize)]
pub struct SoakReport {
    /// Acked messages per second of load; failures = failed operations
    /// plus failed checks.
    pub summary: Headline,
    /// The options.
    pub params: serde_json::Value,
    /// Seconds of load.
    pub load_secs: f64,
    /// Per operation.
    pub ops: BTreeMap<&'static str, OpStats>,
    /// No message lost.
    pub messages: MessageCheck,
    /// Voice notes.
    pub voice: VoiceCheck,
    /// Memory and connections.
    pub memory: MemoryCheck,
    /// Every check.
    pub checks: Vec<Check>,
    /// Whether every check passed.
    pub passed: bool,
}

/// Runs the scenario.
pub async fn run(target: &mut Target, args: &SoakArgs) -> Result<SoakReport> {
    let pid = target.require_pid()?;
    let voice = !args.no_voice;
    if voice && target.info.kind == "child" && target.info.whisper_model.is_none() {
        bail!(
            "soak sends voice notes: give the server a model with --whisper-model PATH \
             (scripts/fetch-test-model.sh fetches one), or pass --no-voice"
        );
    }
    if target.metrics.is_none() {
        bail!("soak reads quichat_connections_open and quichat_transcription_queue: pass --metrics-addr with --server");
    }
    let users = args.users.max(2);
    let names: Vec<String> = (0..users).map(|i| users::username("s", i)).collect();
    tracing::info!("soak: registering {users} users");
    let accounts = users::register_all(target, names).await?;
    let shared = Arc::new(Shared {
        config: target.client_config(),
        users: accounts
            .iter()
            .map(|a| (a.username.clone(), a.token.clone()))
            .collect(),
        scratch: target.scratch.path().to_path_buf(),
        args: args.clone(),
        weights: Op::weights(&args.mix)?,
        voice,
        acked: Mutex::new(Vec::new()),
        forbidden: Mutex::new(Vec::new()),
        contents: Mutex::new(Vec::new()),
        ops: Mutex::new(BTreeMap::new()),
        failures: Mutex::new(crate::stats::Failures::default()),
        gates: Mutex::new(HashMap::new()),
    });

    // Warm-up: every kind of operation once per actor, so that pools,
    // caches, the allocator's arenas and the Whisper context exist before
    // the baseline (they are not leaks).
    tracing::info!("soak: warm-up");
    let mut actors = Vec::new();
    for (i, account) in accounts.iter().enumerate() {
        actors.push(Actor::new(shared.clone(), i, account));
    }
    let warm = futures::future::join_all(actors.iter_mut().map(|a| a.warm_up())).await;
    for r in warm {
        r?;
    }
    // Then the mix itself for a while: the server's high-water marks under
    // this concurrency (buffers, the allocator's cached blocks) belong to
    // the baseline, growth afterwards does not.
    let warm_until = Instant::now() + Duration::from_secs_f64(args.warmup.max(0.0));
    futures::future::join_all(actors.iter_mut().map(|a| a.run(warm_until))).await;
    for a in &actors {
        a.client.close().await;
    }
    drop(accounts);
    wait_for_transcripts(target, args.transcript_wait).await?;
    settle(args.settle).await;
    let baseline_rss = procfs::rss(pid)?;
    let baseline_conns = open_connections(target).await;
    tracing::info!(
        "soak: baseline RSS {:.1} MiB, {} connections open",
        baseline_rss as f64 / MIB,
        baseline_conns.map_or("?".into(), |c| c.to_string())
    );
    // The warm-up's own sends are checked like the rest.
    // The load.
    let load = Duration::from_secs_f64(args.minutes.max(0.0) * 60.0);
    tracing::info!(
        "soak: {:.1} min of mixed load, seed {}",
        args.minutes,
        args.seed
    );
    let started = Instant::now();
    let deadline = started + load;
    let peak = PeakSampler::start(pid, Duration::from_millis(200));
    let timeline = Arc::new(Mutex::new(Vec::new()));
    let sampler = {
        let timeline = timeline.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(RSS_EVERY);
            loop {
                tick.tick().await;
                if let Ok(rss) = procfs::rss(pid) {
                    lock(&timeline).push((started.elapsed().as_secs_f64(), rss));
                }
            }
        })
    };
    let mut tasks = Vec::new();
    for mut actor in actors {
        tasks.push(tokio::spawn(async move {
            actor.reconnect().await?;
            actor.run(deadline).await;
            actor.client.close().await;
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        if let Err(e) = t.await.context("actor task")? {
            shared.fail(format!("actor: {e:#}"));
        }
    }
    let load_secs = started.elapsed().as_secs_f64();
    target.check_alive()?;
    tracing::info!("soak: load done after {load_secs:.0} s; waiting for transcripts");
    wait_for_transcripts(target, args.transcript_wait).await?;
    settle(args.settle).await;
    let after_rss = procfs::rss(pid)?;
    let after_conns = open_connections(target).await;
    sampler.abort();
    let peak_rss = peak.stop().await?.max(after_rss);
    let mut timeline = std::mem::take(&mut *lock(&timeline));
    timeline.push((started.elapsed().as_secs_f64(), after_rss));

    // The history, from a fresh connection per user.
    tracing::info!("soak: checking every acked message");
    let (messages, voice_check) = verify(&shared).await?;
    target.check_alive()?;

    let tolerance_mib = args.rss_tolerance_mib;
    let growth_mib = (after_rss as f64 - baseline_rss as f64) / MIB;
    let memory = MemoryCheck {
        baseline_rss,
        peak_rss,
        after_rss,
        growth_mib,
        tolerance_mib,
        connections_open: (baseline_conns, after_conns),
        timeline,
    };
    let ops = lock(&shared.ops).clone();
    let op_failures = lock(&shared.failures).clone();
    let checks = vec![
        Check {
            name: "operations",
            ok: op_failures.count == 0,
            detail: format!(
                "{} failed of {}{}",
                op_failures.count,
                ops.values().map(|o| o.count).sum::<u64>(),
                op_failures
                    .first
                    .as_deref()
                    .map(|f| format!("; first: {f}"))
                    .unwrap_or_default()
            ),
        },
        Check {
            name: "acked messages in history exactly once",
            ok: messages.acked > 0
                && messages.found_once == messages.acked
                && messages.missing == 0
                && messages.duplicated == 0,
            detail: format!(
                "{} acked, {} found once, {} missing, {} duplicated",
                messages.acked, messages.found_once, messages.missing, messages.duplicated
            ),
        },
        Check {
            name: "dense seqs",
            ok: messages.seq_gaps == 0,
            detail: format!(
                "{} gaps in {} conversations ({} messages)",
                messages.seq_gaps, messages.conversations, messages.history_messages
            ),
        },
        Check {
            name: "nothing stored after revocation",
            ok: messages.stored_after_revocation == 0,
            detail: format!(
                "{} of {} sends after a revocation stored",
                messages.stored_after_revocation,
                lock(&shared.forbidden).len()
            ),
        },
        Check {
            name: "voice notes transcribed",
            ok: voice_check.done == voice_check.sent && (!voice || voice_check.sent > 0),
            detail: format!(
                "{} sent, {} done, {} failed, {} pending{}",
                voice_check.sent,
                voice_check.done,
                voice_check.failed,
                voice_check.pending,
                if voice { "" } else { " (voice off)" }
            ),
        },
        Check {
            name: "RSS back near the baseline",
            ok: growth_mib <= tolerance_mib,
            detail: format!(
                "baseline {:.1} MiB, peak {:.1} MiB, after {:.1} MiB: {:+.1} MiB (tolerance {:.0} MiB)",
                baseline_rss as f64 / MIB,
                peak_rss as f64 / MIB,
                after_rss as f64 / MIB,
                growth_mib,
                tolerance_mib
            ),
        },
        Check {
            name: "connections closed",
            ok: baseline_conns.is_some() && after_conns == baseline_conns,
            detail: format!(
                "quichat_connections_open {} before, {} after",
                baseline_conns.map_or("?".into(), |c| c.to_string()),
                after_conns.map_or("?".into(), |c| c.to_string())
            ),
        },
    ];
    let failed: Vec<&Check> = checks.iter().filter(|c| !c.ok).collect();
    let passed = failed.is_empty();
    Ok(SoakReport {
        summary: Headline {
            throughput: crate::stats::per_second(messages.acked as f64, load_secs),
            unit: "msg/s",
            failures: op_failures.count + failed.len() as u64,
            first_failure: failed
                .first()
                .map(|c| format!("{}: {}", c.name, c.detail))
                .or(op_failures.first),
        },
        params: serde_json::json!({
            "minutes": args.minutes,
            "seed": args.seed,
            "users": users,
            "max_upload_kib": args.max_upload_kib,
            "voice": voice,
            "voice_every_secs": args.voice_every,
            "revoke_every_secs": args.revoke_every,
            "settle_secs": args.settle,
            "warmup_secs": args.warmup,
            "rss_tolerance_mib": tolerance_mib,
            "mix": args.mix,
        }),
        load_secs,
        ops,
        messages,
        voice: voice_check,
        memory,
        checks,
        passed,
    })
}

/// Waits `secs`: closing connections finish, freed memory is returned.
async fn settle(secs: f64) {
    tokio::time::sleep(Duration::from_secs_f64(secs.max(0.0))).await;
}

async fn open_connections(target: &Target) -> Option<f64> {
    target
        .scrape()
        .await
        .and_then(|s| s.get("quichat_connections_open"))
}

/// Waits until the transcription queue is empty.
async fn wait_for_transcripts(target: &Target, secs: f64) -> Result<()> {
    let until = Instant::now() + Duration::from_secs_f64(secs.max(1.0));
    loop {
        let queued = target
            .scrape()
            .await
            .and_then(|s| s.get("quichat_transcription_queue"))
            .unwrap_or(0.0);
        if queued == 0.0 {
            return Ok(());
        }
        if Instant::now() > until {
            bail!("{queued} transcription jobs still queued after {secs:.0} s");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// One user's load.
struct Actor {
    shared: Arc<Shared>,
    index: usize,
    username: String,
    token: String,
    client: Client,
    rng: StdRng,
    stored: Vec<Stored>,
    sent: u64,
}

impl Actor {
    fn new(shared: Arc<Shared>, index: usize, account: &Account) -> Actor {
        let seed = shared.args.seed ^ (index as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        Actor {
            shared,
            index,
            username: account.username.clone(),
            token: account.token.clone(),
            client: account.client.clone(),
            rng: StdRng::seed_from_u64(seed),
            stored: Vec::new(),
            sent: 0,
        }
    }

    /// A random other user.
    fn peer(&mut self) -> String {
        let n = self.shared.users.len();
        let mut i = self.rng.gen_range(0..n - 1);
        if i >= self.index {
            i += 1;
        }
        self.shared.users[i].0.clone()
    }

    /// Every operation once (the voice note only if voice is on).
    async fn warm_up(&mut self) -> Result<()> {
        let mut ops = vec![
            Op::Text,
            Op::Burst,
            Op::History,
            Op::Upload,
            Op::Download,
            Op::Churn,
            Op::Reconnect,
        ];
        if self.index == 0 {
            ops.push(Op::Revoke);
            if self.shared.voice {
                ops.push(Op::Voice);
            }
        }
        for op in ops {
            self.timed(op).await;
        }
        let failures = lock(&self.shared.failures).clone();
        if failures.count > 0 {
            bail!("the warm-up failed: {}", failures.first.unwrap_or_default());
        }
        Ok(())
    }

    async fn run(&mut self, deadline: Instant) {
        while Instant::now() < deadline {
            let mut op = Op::pick(&self.shared.weights, &mut self.rng);
            let (voice_every, revoke_every) =
                (self.shared.args.voice_every, self.shared.args.revoke_every);
            let gated = match op {
                Op::Voice => !self.shared.voice || !self.shared.gate(op, voice_every),
                Op::Revoke | Op::Login => !self.shared.gate(op, revoke_every),
                _ => false,
            };
            if gated {
                op = Op::Text;
            }
            self.timed(op).await;
            let pause = self.rng.gen_range(0..=self.shared.args.pause_ms);
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
    }

    async fn timed(&mut self, op: Op) {
        let start = Instant::now();
        let result = match tokio::time::timeout(OP_TIMEOUT, self.one(op)).await {
            Ok(r) => r,
            Err(_) => Err(anyhow::anyhow!(
                "timed out after {} s",
                OP_TIMEOUT.as_secs()
            )),
        };
        let secs = start.elapsed().as_secs_f64();
        {
            let mut ops = lock(&self.shared.ops);
            let s = ops.entry(op.name()).or_default();
            s.count += 1;
            s.secs += secs;
            if result.is_err() {
                s.errors += 1;
            }
        }
        if let Err(e) = result {
            self.shared
                .fail(format!("{} by {}: {e:#}", op.name(), self.username));
            // Start the next operation on a healthy connection.
            if let Err(e) = self.reconnect().await {
                self.shared
                    .fail(format!("reconnect after a failure: {e:#}"));
            }
        }
    }

    async fn one(&mut self, op: Op) -> Result<()> {
        match op {
            Op::Text => self.text().await,
            Op::Burst => self.burst().await,
            Op::History => {
                let peer = self.peer();
                self.client
                    .history(ConversationRef::Direct(peer), None, 50)
                    .await?;
                Ok(())
            }
            Op::Reconnect => self.reconnect().await,
            Op::Churn => {
                let c = Client::connect(&self.shared.config).await?;
                c.authenticate(&self.token).await?;
                c.ping().await?;
                c.close().await;
                Ok(())
            }
            Op::Upload => self.upload().await,
            Op::Download => self.download().await,
            Op::Voice => self.voice().await,
            Op::Revoke => self.revoke().await,
            Op::Login => {
                let c = Client::connect(&self.shared.config).await?;
                c.login(&self.username, PASSWORD, "soak-login").await?;
                c.logout().await?;
                c.close().await;
                Ok(())
            }
        }
    }

    fn text_body(&mut self) -> String {
        self.sent += 1;
        let len = self.rng.gen_range(8..400);
        let mut text = format!("soak {} #{} ", self.username, self.sent);
        while text.len() < len {
            text.push(char::from(b'a' + self.rng.gen_range(0..26u8)));
        }
        text
    }

    async fn text(&mut self) -> Result<()> {
        let peer = self.peer();
        let text = self.text_body();
        let ack = self.client.send_text(peer.as_str(), &text).await?;
        self.shared.record(&ack, &self.username, Kind::Text);
        Ok(())
    }

    async fn burst(&mut self) -> Result<()> {
        let mut sends = Vec::new();
        for _ in 0..BURST {
            let peer = self.peer();
            let text = self.text_body();
            let client = self.client.clone();
            sends.push(async move { client.send_text(peer.as_str(), &text).await });
        }
        let mut first_error = None;
        for r in futures::future::join_all(sends).await {
            match r {
                Ok(ack) => self.shared.record(&ack, &self.username, Kind::Text),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    async fn reconnect(&mut self) -> Result<()> {
        self.client.close().await;
        let c = Client::connect(&self.shared.config).await?;
        c.authenticate(&self.token).await?;
        self.client = c;
        Ok(())
    }

    async fn upload(&mut self) -> Result<()> {
        let peer = self.peer();
        // A quarter of the uploads store content that is already stored.
        let known = {
            let contents = lock(&self.shared.contents);
            (!contents.is_empty() && self.rng.gen_range(0..4) == 0)
                .then(|| contents[self.rng.gen_range(0..contents.len())])
        };
        let (seed, size) = match known {
            Some(c) => c,
            None => {
                let max = usize::try_from(self.shared.args.max_upload_kib.max(1) * 1024)?;
                (
                    self.rng.next_u64(),
                    self.rng.gen_range(1024..=max.max(1024)),
                )
            }
        };
        let data = content(seed, size);
        let sha256: [u8; 32] = Sha256::digest(&data).into();
        let request = UploadRequest {
            upload_id: self.client.stable_upload_id(&sha256, size as u64),
            size: size as u64,
            sha256,
            mime: "application/octet-stream".into(),
            filename: format!("soak-{seed:016x}.bin"),
            kind: MediaKind::File,
            duration_ms: None,
            conversation: ConversationRef::Direct(peer.clone()),
        };
        let outcome = self
            .client
            .upload(&mut Cursor::new(data), request, |_, _| {})
            .await?;
        if outcome.media.size != size as u64 || outcome.media.sha256 != sha256 {
            bail!(
                "the server stored {:?} for a {size}-byte upload",
                outcome.media
            );
        }
        let ack = self
            .client
            .send_media(peer.as_str(), outcome.media.clone(), "soak file")
            .await?;
        self.shared.record(&ack, &self.username, Kind::Media);
        self.stored.push(Stored {
            media: outcome.media.id,
            content: seed,
            size,
        });
        if known.is_none() {
            lock(&self.shared.contents).push((seed, size));
        }
        Ok(())
    }

    async fn download(&mut self) -> Result<()> {
        if self.stored.is_empty() {
            return self.upload().await;
        }
        let s = self.stored[self.rng.gen_range(0..self.stored.len())];
        let (offset, length) = if self.rng.gen_bool(0.5) {
            (0, None)
        } else {
            let offset = self.rng.gen_range(0..s.size);
            (offset, Some(self.rng.gen_range(0..=s.size - offset)))
        };
        let mut got = Vec::new();
        let (_, n) = self
            .client
            .download(
                s.media,
                MediaVariant::Original,
                offset as u64,
                length.map(|l| l as u64),
                &mut got,
                |_, _| {},
            )
            .await?;
        let want = content(s.content, s.size);
        let want = &want[offset..length.map_or(s.size, |l| offset + l)];
        if n as usize != want.len() || got != want {
            bail!(
                "download of {} [{offset}, +{length:?}) returned {} bytes that differ from what was uploaded",
                s.media,
                got.len()
            );
        }
        Ok(())
    }

    async fn voice(&mut self) -> Result<()> {
        let peer = self.peer();
        let secs = self.rng.gen_range(1.0..2.0);
        let path = self
            .shared
            .scratch
            .join(format!("voice-{}-{}.wav", self.index, self.sent));
        std::fs::write(&path, voice_wav(self.rng.next_u64(), secs))
            .with_context(|| format!("writing {}", path.display()))?;
        let result = self
            .client
            .send_voice(peer.as_str(), &path, "", |_, _| {})
            .await;
        let _ = std::fs::remove_file(&path);
        let (ack, _) = result?;
        self.shared.record(&ack, &self.username, Kind::Voice);
        Ok(())
    }

    async fn revoke(&mut self) -> Result<()> {
        let extra = Client::connect(&self.shared.config).await?;
        let (session, token) = extra.login(&self.username, PASSWORD, "soak-extra").await?;
        let peer = self.peer();
        let text = self.text_body();
        let ack = extra.send_text(peer.as_str(), &text).await?;
        self.shared.record(&ack, &self.username, Kind::Text);
        self.client.revoke_device(session.device_id).await?;
        match tokio::time::timeout(REVOKE_CLOSE_WITHIN, extra.closed()).await {
            Ok(ClientError::Closed { code, .. }) if code == Some(u64::from(close::LOGGED_OUT)) => {}
            Ok(other) => bail!("the revoked device's connection closed with {other}"),
            Err(_) => bail!(
                "the revoked device's connection is still open after {} s",
                REVOKE_CLOSE_WITHIN.as_secs()
            ),
        }
        // A send on the dead connection must not be stored.
        let client_id = Uuid::now_v7();
        lock(&self.shared.forbidden).push((self.username.clone(), client_id));
        let late = extra
            .send(SendMessage {
                client_id,
                to: peer.as_str().into(),
                body: MessageBody::Text("sent after revocation".into()),
            })
            .await;
        if let Ok(ack) = late {
            bail!("a send after the revocation was acked: {ack:?}");
        }
        // And the token is refused on a new connection.
        let probe = Client::connect(&self.shared.config).await?;
        let auth = probe.authenticate(&token).await;
        probe.close().await;
        match auth {
            Err(e) if e.code() == Some(ErrorCode::InvalidToken) => Ok(()),
            Err(e) => bail!("the revoked token was refused with {e} (expected invalid_token)"),
            Ok(_) => bail!("the revoked token still authenticates"),
        }
    }
}

/// `len` bytes determined by `seed`.
fn content(seed: u64, len: usize) -> Vec<u8> {
    let mut data = vec![0u8; len];
    StdRng::seed_from_u64(seed).fill_bytes(&mut data);
    data
}

/// A 16 kHz mono 16-bit WAV of `secs` seconds: a gliding, pulsing tone
/// (speech-like enough for Whisper to run its full pipeline on it).
fn voice_wav(seed: u64, secs: f64) -> Vec<u8> {
    const RATE: u32 = 16_000;
    let mut rng = StdRng::seed_from_u64(seed);
    let base = rng.gen_range(120.0..260.0);
    let frames = (secs * f64::from(RATE)) as usize;
    let data: Vec<u8> = (0..frames)
        .flat_map(|i| {
            let t = i as f64 / f64::from(RATE);
            let f = base * (1.0 + 0.3 * (t * 1.7).sin());
            let envelope = 0.5 + 0.5 * (t * 2.0 * std::f64::consts::PI * 3.0).sin();
            let s = (t * f * 2.0 * std::f64::consts::PI).sin() * envelope * 9_000.0;
            (s as i16).to_le_bytes()
        })
        .collect();
    let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
    let mut w = b"RIFF".to_vec();
    w.extend((36 + len).to_le_bytes());
    w.extend(b"WAVEfmt ");
    w.extend(16u32.to_le_bytes());
    w.extend(1u16.to_le_bytes()); // PCM
    w.extend(1u16.to_le_bytes()); // mono
    w.extend(RATE.to_le_bytes());
    w.extend((RATE * 2).to_le_bytes());
    w.extend(2u16.to_le_bytes());
    w.extend(16u16.to_le_bytes());
    w.extend(b"data");
    w.extend(len.to_le_bytes());
    w.extend(data);
    w
}

/// Reads every conversation in the ledger back from the history (one
/// fresh connection per user) and compares.
async fn verify(shared: &Shared) -> Result<(MessageCheck, VoiceCheck)> {
    let acked = lock(&shared.acked).clone();
    let forbidden: HashSet<Uuid> = lock(&shared.forbidden).iter().map(|(_, id)| *id).collect();
    let mut by_conv: BTreeMap<i64, Vec<&Acked>> = BTreeMap::new();
    for a in &acked {
        by_conv.entry(a.conversation_id).or_default().push(a);
    }
    let mut clients: HashMap<String, Client> = HashMap::new();
    let mut check = MessageCheck {
        acked: acked.len() as u64,
        conversations: by_conv.len() as u64,
        ..MessageCheck::default()
    };
    let mut voice = VoiceCheck::default();
    for (conv, sends) in &by_conv {
        // Any member can read it: the sender of its first ack.
        let reader = &sends[0].sender;
        if !clients.contains_key(reader) {
            let token = shared
                .users
                .iter()
                .find(|(u, _)| u == reader)
                .map(|(_, t)| t.clone())
                .context("an ack from an unknown user")?;
            let c = Client::connect(&shared.config).await?;
            c.authenticate(&token).await?;
            clients.insert(reader.clone(), c);
        }
        let client = &clients[reader];
        let history = full_history(client, *conv).await?;
        check.history_messages += history.len() as u64;
        let mut by_seq: HashMap<u64, &Message> = HashMap::new();
        let mut by_client: HashMap<Uuid, u64> = HashMap::new();
        for m in &history {
            by_seq.insert(m.seq, m);
            *by_client.entry(m.client_id).or_default() += 1;
            if forbidden.contains(&m.client_id) {
                check.stored_after_revocation += 1;
            }
        }
        let last = history.iter().map(|m| m.seq).max().unwrap_or(0);
        check.seq_gaps += (1..=last).filter(|s| !by_seq.contains_key(s)).count() as u64;
        for a in sends {
            let once = by_client.get(&a.client_id).copied().unwrap_or(0);
            if once > 1 {
                check.duplicated += 1;
            }
            match by_seq.get(&a.seq) {
                Some(m) if m.client_id == a.client_id && m.sender == a.sender && once == 1 => {
                    check.found_once += 1;
                }
                Some(_) if once > 1 => {}
                _ => {
                    check.missing += 1;
                    tracing::warn!(
                        "soak: acked message lost: conversation {conv} seq {} client id {}",
                        a.seq,
                        a.client_id
                    );
                }
            }
            if a.kind == Kind::Voice {
                voice.sent += 1;
                match by_seq
                    .get(&a.seq)
                    .and_then(|m| m.transcript.as_ref())
                    .map(|t| &t.status)
                {
                    Some(TranscriptStatus::Done) => voice.done += 1,
                    Some(TranscriptStatus::Failed { reason }) => {
                        voice.failed += 1;
                        tracing::warn!("soak: a voice note's transcription failed: {reason}");
                    }
                    _ => voice.pending += 1,
                }
            }
        }
    }
    for c in clients.values() {
        c.close().await;
    }
    Ok((check, voice))
}

/// Every message of a conversation, paging back from the newest.
async fn full_history(client: &Client, conversation: i64) -> Result<Vec<Message>> {
    let mut out = Vec::new();
    let mut before = None;
    loop {
        let page = client
            .history(
                ConversationRef::Id(conversation),
                before,
                quichat_client::proto::rpc::MAX_PAGE,
            )
            .await?;
        let oldest = page.messages.iter().map(|m| m.seq).min();
        out.extend(page.messages);
        match oldest {
            Some(seq) if page.has_more && seq > 1 => before = Some(seq),
            _ => return Ok(out),
        }
    }
}

impl Render for SoakReport {
    fn tables(&self) -> Vec<Table> {
        let mut checks = Table::new(
            format!(
                "soak: {} ({:.0} s of load) — {}",
                report::params(&self.params),
                self.load_secs,
                if self.passed { "PASSED" } else { "FAILED" }
            ),
            &["check", "", "figures"],
        );
        for c in &self.checks {
            checks.row(vec![
                c.name.into(),
                if c.ok { "ok" } else { "FAILED" }.into(),
                c.detail.clone(),
            ]);
        }
        let mut ops = Table::new("soak: operations", &["op", "count", "errors", "mean"]);
        for (name, s) in &self.ops {
            ops.row(vec![
                (*name).into(),
                s.count.to_string(),
                s.errors.to_string(),
                if s.count > 0 {
                    format!("{:.1} ms", 1000.0 * s.secs / s.count as f64)
                } else {
                    "-".into()
                },
            ]);
        }
        vec![checks, ops]
    }

    fn plot(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        let path = dir.join("soak-rss.svg");
        let base = self.memory.baseline_rss as f64 / MIB;
        let pts: Vec<(f64, f64)> = self
            .memory
            .timeline
            .iter()
            .map(|(t, rss)| (*t, *rss as f64 / MIB))
            .collect();
        let end = pts.last().map_or(1.0, |p| p.0);
        crate::plots::lines(
            &path,
            "soak: server RSS",
            "seconds",
            "MiB",
            &[
                ("RSS", pts),
                ("baseline", vec![(0.0, base), (end, base)]),
                (
                    "baseline + tolerance",
                    vec![
                        (0.0, base + self.memory.tolerance_mib),
                        (end, base + self.memory.tolerance_mib),
                    ],
                ),
            ],
        )?;
        Ok(vec![path])
    }
}
