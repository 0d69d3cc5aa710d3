//! `broadcast`: an administrator's broadcast to U accounts (100,000 by
//! default) while a chat pair keeps talking. Reports how long delivery to
//! every account's log takes (users/s) and whether it blocks the server:
//! the pair's send→ack latency during the delivery, beside the same pair
//! idle just before it, in the same run.
//!
//! The accounts are inserted straight into the server's database (one
//! registration is an argon2id hash: 100,000 would take an hour); they
//! cannot log in, and they need not: a broadcast goes to every account's
//! log, online or not. A few real accounts are online and get it live.
//! Needs the server's database: it runs on a server the bench starts
//! (SQLite by default, or `--postgres`/`--database-url`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use quichat_client::proto::event::EventBody;
use quichat_client::proto::types::{MessageBody, Recipient, SendMessage};
use serde::Serialize;
use sqlx::{Connection, Row};
use uuid::Uuid;

use crate::cli::BroadcastArgs;
use crate::plots;
use crate::report::{self, Headline, Table};
use crate::scenarios::Render;
use crate::stats::{per_second, Failures, Latency, Summary, SummaryRatio};
use crate::target::Target;
use crate::users;

/// Accounts per seeding `INSERT` (3 binds each).
const SEED_CHUNK: usize = 1000;

/// How long delivery may take before the run counts it as failed.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(1800);

/// The report.
#[derive(Debug, Serialize)]
pub struct BroadcastReport {
    /// Headline: accounts delivered per second.
    pub summary: Headline,
    /// The run's sizes.
    pub params: serde_json::Value,
    /// Accounts the broadcast went to (as the server counted them).
    pub recipients: u64,
    /// Broadcast events found in the logs afterwards.
    pub delivered: u64,
    /// From the send to the broadcast marked delivered to everyone.
    pub delivery_secs: f64,
    /// Accounts delivered per second.
    pub users_per_s: f64,
    /// The broadcast request itself (it stores the row and returns).
    pub send_ms: f64,
    /// Send → each online account's live copy.
    pub online_received: Summary,
    /// The chat pair's send→ack before the broadcast.
    pub chat_idle: Summary,
    /// The same during the delivery.
    pub chat_during: Summary,
    /// During ÷ idle.
    pub chat_ratio: SummaryRatio,
    /// What went wrong.
    pub failures: Failures,
    #[serde(skip)]
    idle_hist: Latency,
    #[serde(skip)]
    during_hist: Latency,
}

/// Inserts `n` accounts that cannot log in, in chunks.
async fn seed(url: &str, n: usize) -> Result<()> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url)
        .await
        .context("connecting to the server's database to seed accounts")?;
    let mut done = 0;
    while done < n {
        let k = SEED_CHUNK.min(n - done);
        let values = (0..k)
            .map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
            .collect::<Vec<_>>()
            .join(", ");
        let sql =
            format!("INSERT INTO users (username, password_hash, created_at) VALUES {values}");
        let mut q = sqlx::query(&sql);
        for i in done..done + k {
            // Not a PHC string: nobody can log in as a seeded account.
            q = q.bind(users::username("s", i)).bind("!seeded").bind(now);
        }
        q.execute(&mut conn).await.context("seeding accounts")?;
        done += k;
    }
    conn.close().await?;
    Ok(())
}

/// Polls until broadcast `id` is marked delivered to everyone.
async fn wait_delivered(url: &str, id: i64) -> Result<Duration> {
    let start = Instant::now();
    let mut conn = sqlx::AnyConnection::connect(url).await?;
    loop {
        let done: Option<i64> = sqlx::query("SELECT done_at FROM broadcasts WHERE id = $1")
            .bind(id)
            .fetch_one(&mut conn)
            .await?
            .try_get("done_at")?;
        if done.is_some() {
            return Ok(start.elapsed());
        }
        if start.elapsed() > DELIVERY_TIMEOUT {
            bail!("broadcast {id} not delivered after {DELIVERY_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The chat pair: sends every `interval`, recording send→ack into the
/// idle histogram until `during` is set, then into the other, until
/// `stop` (and one sample at least in each phase it reached).
fn spawn_chat(
    sender: quichat_client::Client,
    to: String,
    interval: Duration,
    during: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<(Latency, Latency, Failures)> {
    tokio::spawn(async move {
        let (mut idle, mut busy, mut failures) =
            (Latency::new(), Latency::new(), Failures::default());
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // At least one sample during the delivery, however short it was.
        while !(stop.load(Ordering::Relaxed) && busy.len() > 0) {
            tick.tick().await;
            let phase = during.load(Ordering::Relaxed);
            let t0 = Instant::now();
            let msg = SendMessage {
                client_id: Uuid::now_v7(),
                to: Recipient::User(to.clone()),
                body: MessageBody::Text("beside a broadcast".into()),
            };
            match sender.send(msg).await {
                Ok(_) if phase => busy.record(t0.elapsed()),
                Ok(_) => idle.record(t0.elapsed()),
                Err(e) => failures.note(format!("chat send: {e}")),
            }
        }
        (idle, busy, failures)
    })
}

/// Runs the scenario.
pub async fn run(target: &mut Target, args: &BroadcastArgs) -> Result<BroadcastReport> {
    let url = target.database().context(
        "the broadcast scenario seeds accounts in the server's database: \
         run it on a server the bench starts",
    )?;
    tracing::info!("broadcast: seeding {} accounts", args.users);
    seed(&url, args.users).await?;
    let online = args.online.max(1);
    let names = (0..online + 3).map(|i| users::username("bc", i)).collect();
    let accounts = users::register_all(target, names).await?;
    let (admin, chat_from, chat_to) = (&accounts[0], &accounts[1], &accounts[2]);
    {
        let mut conn = sqlx::AnyConnection::connect(&url).await?;
        sqlx::query("UPDATE users SET admin_since = $1 WHERE username = $2")
            .bind(1_i64)
            .bind(&admin.username)
            .execute(&mut conn)
            .await
            .context("making the bench's admin account a server administrator")?;
    }
    let received: Arc<Mutex<Vec<Instant>>> = Arc::default();
    for a in &accounts[3..] {
        let mut feed = a.client.subscribe(0).await?;
        let received = received.clone();
        tokio::spawn(async move {
            while let Some(Ok(event)) = feed.next().await {
                if matches!(event.body, EventBody::Broadcast(_)) {
                    received
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(Instant::now());
                }
            }
        });
    }
    chat_from.client.open_chat_stream().await?;
    let (during, stop) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let chat = spawn_chat(
        chat_from.client.clone(),
        chat_to.username.clone(),
        Duration::from_millis(args.chat_interval_ms.max(1)),
        during.clone(),
        stop.clone(),
    );
    tracing::info!("broadcast: {} s of idle chat", args.idle_secs);
    tokio::time::sleep(Duration::from_secs_f64(args.idle_secs)).await;
    during.store(true, Ordering::Relaxed);
    let t0 = Instant::now();
    let (id, recipients) = admin
        .client
        .broadcast("quichat-bench broadcast")
        .await
        .context("sending the broadcast")?;
    let send_ms = t0.elapsed().as_secs_f64() * 1000.0;
    tracing::info!("broadcast: delivering to {recipients} accounts");
    let mut failures = Failures::default();
    let delivery = match wait_delivered(&url, id).await {
        Ok(_) => t0.elapsed(),
        Err(e) => {
            failures.note(e);
            t0.elapsed()
        }
    };
    stop.store(true, Ordering::Relaxed);
    let (idle, busy, chat_failures) = chat.await.context("chat task")?;
    failures.absorb(&chat_failures);
    let wait_live = Instant::now() + Duration::from_secs(10);
    while received.lock().unwrap_or_else(|p| p.into_inner()).len() < online
        && Instant::now() < wait_live
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut online_hist = Latency::new();
    for at in received.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        online_hist.record(at.saturating_duration_since(t0));
    }
    if online_hist.len() < online as u64 {
        failures.note(format!(
            "{} of {online} online accounts got the broadcast live",
            online_hist.len()
        ));
    }
    let delivered: i64 = {
        let mut conn = sqlx::AnyConnection::connect(&url).await?;
        sqlx::query("SELECT COUNT(*) AS n FROM events WHERE broadcast_id = $1")
            .bind(id)
            .fetch_one(&mut conn)
            .await?
            .try_get("n")?
    };
    let delivered = delivered.max(0) as u64;
    if delivered != recipients {
        failures.note(format!(
            "{delivered} broadcast events for {recipients} accounts"
        ));
    }
    users::close_all(&accounts);
    let secs = delivery.as_secs_f64();
    let users_per_s = per_second(delivered as f64, secs);
    Ok(BroadcastReport {
        summary: Headline {
            throughput: users_per_s,
            unit: "users/s",
            failures: failures.count,
            first_failure: failures.first.clone(),
        },
        params: serde_json::json!({
            "seeded": args.users,
            "online": online,
            "chat_interval_ms": args.chat_interval_ms,
        }),
        recipients,
        delivered,
        delivery_secs: secs,
        users_per_s,
        send_ms,
        online_received: online_hist.summary(),
        chat_idle: idle.summary(),
        chat_during: busy.summary(),
        chat_ratio: SummaryRatio::of(&busy.summary(), &idle.summary()),
        failures,
        idle_hist: idle,
        during_hist: busy,
    })
}

impl Render for BroadcastReport {
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new(
            format!("broadcast: {}", report::params(&self.params)),
            &[
                "accounts",
                "delivered",
                "delivery",
                "users/s",
                "request",
                "online p99",
                "fail",
            ],
        );
        t.row(vec![
            self.recipients.to_string(),
            self.delivered.to_string(),
            format!("{:.1} s", self.delivery_secs),
            report::rate(self.users_per_s, "/s"),
            format!("{:.1} ms", self.send_ms),
            report::us(self.online_received.p99_us),
            self.failures.count.to_string(),
        ]);
        let mut c = Table::new(
            "broadcast: the chat pair's send→ack beside the delivery",
            &["", "samples", "p50", "p99", "p999", "max"],
        );
        for (name, s) in [
            ("idle", &self.chat_idle),
            ("during delivery", &self.chat_during),
        ] {
            c.row(vec![
                name.into(),
                s.count.to_string(),
                report::us(s.p50_us),
                report::us(s.p99_us),
                report::us(s.p999_us),
                report::us(s.max_us),
            ]);
        }
        c.row(vec![
            "ratio".into(),
            String::new(),
            report::ratio(self.chat_ratio.p50),
            report::ratio(self.chat_ratio.p99),
            report::ratio(self.chat_ratio.p999),
            String::new(),
        ]);
        vec![t, c]
    }

    fn plot(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        let path = dir.join("broadcast-chat.svg");
        plots::latency_distribution(
            &path,
            "broadcast: chat send → ack",
            &[
                ("idle", &self.idle_hist),
                ("during delivery", &self.during_hist),
            ],
        )?;
        Ok(vec![path])
    }
}
