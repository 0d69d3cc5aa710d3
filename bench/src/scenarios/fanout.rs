//! `fanout`: a group of G members, all online with their event feeds
//! open; one member sends. Per message, the time until the last member
//! has it; deliveries/s and p99.
//!
//! Baseline in the same run: the same sends to a group with one
//! recipient (the sender and one member), so the ratio is what fanning
//! out to G − 1 members costs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use quichat_client::proto::event::EventBody;
use quichat_client::proto::types::{ConversationId, MessageBody, Recipient, SendMessage};
use quichat_client::{Client, EventStream};
use serde::Serialize;
use uuid::Uuid;

use crate::cli::FanoutArgs;
use crate::payload;
use crate::plots;
use crate::report::{self, Headline, Table};
use crate::scenarios::Render;
use crate::stats::{ratio, Failures, Latency, Summary, SummaryRatio};
use crate::target::Target;
use crate::users;

/// Body tag of the unmeasured warm-up sends.
const WARMUP_TAG: u32 = 0;
/// Warm-up sends to each group.
const WARMUP: u64 = 10;

#[derive(Debug, Clone, Copy)]
struct Delivery {
    tag: u32,
    index: u64,
    latency: Duration,
    at: Instant,
}

type Deliveries = Arc<Mutex<Vec<Delivery>>>;

fn lock(d: &Deliveries) -> std::sync::MutexGuard<'_, Vec<Delivery>> {
    d.lock().unwrap_or_else(|p| p.into_inner())
}

fn spawn_member(mut events: EventStream, sink: Deliveries) {
    tokio::spawn(async move {
        while let Some(Ok(event)) = events.next().await {
            let at = Instant::now();
            if let EventBody::Message(m) = &event.body {
                if let MessageBody::Text(text) = &m.body {
                    if let Some((tag, index, sent)) = payload::parse(text) {
                        lock(&sink).push(Delivery {
                            tag,
                            index,
                            latency: at.saturating_duration_since(sent),
                            at,
                        });
                    }
                }
            }
        }
    });
}

/// One group's figures.
#[derive(Debug, Clone, Serialize)]
pub struct FanoutOutcome {
    /// Members other than the sender.
    pub recipients: usize,
    /// Messages acknowledged.
    pub acked: u64,
    /// Deliveries (message events on members' feeds).
    pub deliveries: u64,
    /// Acknowledged messages × recipients.
    pub expected_deliveries: u64,
    /// Seconds from the first send to the last delivery.
    pub secs: f64,
    /// Deliveries per second.
    pub deliveries_per_s: f64,
    /// Messages per second (each fully delivered).
    pub messages_per_s: f64,
    /// Send → ack.
    pub send_ack: Summary,
    /// Send → each member's receipt.
    pub delivery: Summary,
    /// Send → the last member's receipt, per message.
    pub last_member: Summary,
    /// Send errors and missing deliveries.
    pub failures: Failures,
    #[serde(skip)]
    last_hist: Latency,
}

/// Fanned out ÷ one recipient.
#[derive(Debug, Clone, Serialize)]
pub struct FanoutRatios {
    /// Deliveries/s.
    pub deliveries_per_s: Option<f64>,
    /// Messages/s.
    pub messages_per_s: Option<f64>,
    /// Last-member latency percentiles.
    pub last_member: SummaryRatio,
    /// Send → ack percentiles.
    pub send_ack: SummaryRatio,
}

/// The `fanout` report.
#[derive(Debug, Clone, Serialize)]
pub struct FanoutReport {
    /// Deliveries/s of the big group; failures of both.
    pub summary: Headline,
    /// Members, messages, window, body size.
    pub params: serde_json::Value,
    /// The group of G members.
    pub group: FanoutOutcome,
    /// The group with one recipient.
    pub one_recipient: FanoutOutcome,
    /// Group ÷ one recipient.
    pub ratios: FanoutRatios,
}

#[allow(clippy::too_many_arguments)]
async fn send_to_group(
    sender: &Client,
    group: ConversationId,
    members: &[Deliveries],
    tag: u32,
    messages: u64,
    window: usize,
    size: usize,
    drain: Duration,
) -> Result<FanoutOutcome> {
    let counter = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..window.max(1) {
        let sender = sender.clone();
        let counter = counter.clone();
        workers.push(tokio::spawn(async move {
            let mut ack = Latency::new();
            let mut acked = Vec::new();
            let mut failures = Failures::default();
            loop {
                let k = counter.fetch_add(1, Ordering::Relaxed);
                if k >= messages {
                    break;
                }
                let t0 = Instant::now();
                let msg = SendMessage {
                    client_id: Uuid::now_v7(),
                    to: Recipient::Group(group),
                    body: MessageBody::Text(payload::stamp(tag, k, t0, size)),
                };
                match sender.send(msg).await {
                    Ok(_) => {
                        ack.record(t0.elapsed());
                        acked.push(k);
                    }
                    Err(e) => failures.note(format!("send: {e}")),
                }
            }
            (ack, acked, failures)
        }));
    }
    let mut ack = Latency::new();
    let mut acked = Vec::new();
    let mut failures = Failures::default();
    for w in workers {
        let (a, k, f) = w.await.context("send worker")?;
        ack.merge(&a)?;
        acked.extend(k);
        failures.absorb(&f);
    }
    let want = acked.len();
    let until = Instant::now() + drain;
    while Instant::now() < until {
        let done = members
            .iter()
            .all(|m| lock(m).iter().filter(|d| d.tag == tag).count() >= want);
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let per_member: Vec<HashMap<u64, Delivery>> = members
        .iter()
        .map(|m| {
            lock(m)
                .iter()
                .filter(|d| d.tag == tag)
                .map(|d| (d.index, *d))
                .collect()
        })
        .collect();
    let mut delivery = Latency::new();
    let mut last_hist = Latency::new();
    let mut last_at = start;
    let mut deliveries = 0u64;
    for m in &per_member {
        for d in m.values() {
            delivery.record(d.latency);
            deliveries += 1;
            last_at = last_at.max(d.at);
        }
    }
    let mut missing = 0u64;
    for k in &acked {
        let got: Vec<Duration> = per_member
            .iter()
            .filter_map(|m| m.get(k).map(|d| d.latency))
            .collect();
        missing += (per_member.len() - got.len()) as u64;
        if got.len() == per_member.len() {
            if let Some(last) = got.into_iter().max() {
                last_hist.record(last);
            }
        }
    }
    if missing > 0 {
        failures.count += missing;
        if failures.first.is_none() {
            failures.first = Some(format!(
                "{missing} deliveries missing {:.0} s after the last ack",
                drain.as_secs_f64()
            ));
        }
    }
    let secs = last_at.saturating_duration_since(start).as_secs_f64();
    let per_s = |n: u64| crate::stats::per_second(n as f64, secs);
    Ok(FanoutOutcome {
        recipients: members.len(),
        acked: want as u64,
        deliveries,
        expected_deliveries: want as u64 * members.len() as u64,
        secs,
        deliveries_per_s: per_s(deliveries),
        messages_per_s: per_s(last_hist.len()),
        send_ack: ack.summary(),
        delivery: delivery.summary(),
        last_member: last_hist.summary(),
        failures,
        last_hist,
    })
}

/// Runs the scenario.
pub async fn run(target: &mut Target, args: &FanoutArgs) -> Result<FanoutReport> {
    let g = args.members.max(2);
    let size = payload::body_size(args.size);
    let drain = Duration::from_secs_f64(args.drain);
    tracing::info!("fanout: registering {g} accounts");
    let names = (0..g).map(|i| users::username("f", i)).collect();
    let accounts = users::register_all(target, names).await?;
    let sender = accounts[0].client.clone();
    let others: Vec<String> = accounts[1..].iter().map(|a| a.username.clone()).collect();
    let group = sender
        .create_group("bench fan-out", "", &others)
        .await
        .context("creating the group")?;
    let pair = sender
        .create_group("bench one recipient", "", &others[..1])
        .await
        .context("creating the one-recipient group")?;
    let mut feeds = Vec::new();
    for a in &accounts[1..] {
        let sink = Deliveries::default();
        spawn_member(a.client.subscribe(0).await?, sink.clone());
        feeds.push(sink);
    }
    sender.open_chat_stream().await?;
    for gid in [pair.id, group.id] {
        send_to_group(
            &sender,
            gid,
            &feeds[..1],
            WARMUP_TAG,
            WARMUP,
            1,
            size,
            drain,
        )
        .await?;
    }
    tracing::info!(
        "fanout: {} messages to a group with one recipient",
        args.messages
    );
    let one = send_to_group(
        &sender,
        pair.id,
        &feeds[..1],
        1,
        args.messages,
        args.window,
        size,
        drain,
    )
    .await?;
    tracing::info!(
        "fanout: {} messages to a group with {} recipients",
        args.messages,
        g - 1
    );
    let big = send_to_group(
        &sender,
        group.id,
        &feeds,
        3,
        args.messages,
        args.window,
        size,
        drain,
    )
    .await?;
    users::close_all(&accounts);
    let mut failures = big.failures.clone();
    failures.absorb(&one.failures);
    Ok(FanoutReport {
        summary: Headline {
            throughput: big.deliveries_per_s,
            unit: "deliveries/s",
            failures: failures.count,
            first_failure: failures.first,
        },
        params: serde_json::json!({
            "members": g,
            "messages": args.messages,
            "window": args.window,
            "body_bytes": size,
        }),
        ratios: FanoutRatios {
            deliveries_per_s: ratio(big.deliveries_per_s, one.deliveries_per_s),
            messages_per_s: ratio(big.messages_per_s, one.messages_per_s),
            last_member: SummaryRatio::of(&big.last_member, &one.last_member),
            send_ack: SummaryRatio::of(&big.send_ack, &one.send_ack),
        },
        group: big,
        one_recipient: one,
    })
}

fn row(name: &str, o: &FanoutOutcome) -> Vec<String> {
    vec![
        name.into(),
        format!("{}/{}", o.deliveries, o.expected_deliveries),
        report::rate(o.deliveries_per_s, "/s"),
        report::rate(o.messages_per_s, "msg/s"),
        report::us(o.send_ack.p50_us),
        report::us(o.send_ack.p99_us),
        report::us(o.last_member.p50_us),
        report::us(o.last_member.p99_us),
        report::us(o.last_member.p999_us),
        o.failures.count.to_string(),
    ]
}

impl Render for FanoutReport {
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new(
            format!("fanout: {}", report::params(&self.params)),
            &[
                "",
                "deliveries",
                "deliveries/s",
                "messages/s",
                "ack p50",
                "ack p99",
                "last p50",
                "last p99",
                "last p999",
                "fail",
            ],
        );
        t.row(row(
            &format!("{} recipients", self.group.recipients),
            &self.group,
        ));
        t.row(row("1 recipient", &self.one_recipient));
        let r = &self.ratios;
        t.row(vec![
            "ratio".into(),
            String::new(),
            report::ratio(r.deliveries_per_s),
            report::ratio(r.messages_per_s),
            report::ratio(r.send_ack.p50),
            report::ratio(r.send_ack.p99),
            report::ratio(r.last_member.p50),
            report::ratio(r.last_member.p99),
            report::ratio(r.last_member.p999),
            String::new(),
        ]);
        vec![t]
    }

    fn plot(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        let path = dir.join("fanout-latency.svg");
        let big = format!("{} recipients: last member", self.group.recipients);
        plots::latency_distribution(
            &path,
            "fanout: send → last member received",
            &[
                (big.as_str(), &self.group.last_hist),
                ("1 recipient", &self.one_recipient.last_hist),
            ],
        )?;
        Ok(vec![path])
    }
}
