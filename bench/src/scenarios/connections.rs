//! `connections`: N authenticated idle connections spread over several
//! client endpoints. Set-up rate, server memory per connection, idle
//! server CPU, and RSS against the number of connections.
//!
//! Baseline in the same run: a bare quinn server (its own process) with
//! the same transport parameters holding the same number of idle
//! connections from the same number of endpoints.
//!
//! `quichat_client::Connector` owns one endpoint (one UDP socket) and
//! makes any number of connections from it, so the connections are spread
//! round-robin over `--endpoints` connectors (each also keeps the TLS
//! session tickets, so most set-ups after the first on a connector are
//! 0-RTT resumptions with the token authentication in the first flight).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use futures::StreamExt;
use quichat_client::{Client, Connector};
use serde::Serialize;

use crate::cli::ConnectionsArgs;
use crate::plots;
use crate::procfs::{self, CpuMeter};
use crate::raw::RawServer;
use crate::report::{self, Headline, Table};
use crate::scenarios::Render;
use crate::stats::{ratio, Failures, Latency, Summary};
use crate::target::Target;
use crate::users;

/// One side's figures (the server or the baseline).
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    /// Connections requested.
    pub requested: usize,
    /// Connections established (and, for the server, authenticated).
    pub connected: usize,
    /// Failed set-ups.
    pub failures: Failures,
    /// Wall time of all set-ups, seconds.
    pub setup_secs: f64,
    /// Established connections per second.
    pub setup_per_s: f64,
    /// Time of one set-up.
    pub setup_latency: Summary,
    /// Server RSS before the connections, bytes.
    pub rss_before: u64,
    /// Server RSS with all of them open, bytes.
    pub rss_after: u64,
    /// (after − before) / connected, bytes.
    pub rss_per_connection: f64,
    /// Server CPU while they idle, % of one core.
    pub idle_cpu_percent: f64,
    /// This bench process's RSS per connection (the client side), bytes.
    pub client_rss_per_connection: f64,
    /// `(open connections, server RSS bytes)` while connecting.
    pub rss_samples: Vec<(usize, u64)>,
}

/// Server ÷ baseline.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionRatios {
    /// RSS per connection.
    pub rss_per_connection: Option<f64>,
    /// Set-up rate.
    pub setup_per_s: Option<f64>,
    /// Idle CPU.
    pub idle_cpu: Option<f64>,
}

/// The `connections` report.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionsReport {
    /// Set-up rate and failures of the server's connections.
    pub summary: Headline,
    /// Count, endpoints, users, concurrency.
    pub params: serde_json::Value,
    /// The quichat server.
    pub server: Side,
    /// Server connections whose hello and authentication rode in 0-RTT.
    pub zero_rtt: usize,
    /// `quichat_connections_open` with everything connected.
    pub server_connections_open: Option<f64>,
    /// The bare quinn server.
    pub raw_quinn: Side,
    /// Server ÷ bare quinn.
    pub ratios: ConnectionRatios,
}

/// Drives `n` set-ups, `concurrency` at a time, sampling `pid`'s RSS
/// `samples` times; returns what the set-ups produced.
async fn connect_many<T, F, Fut>(
    n: usize,
    concurrency: usize,
    samples: usize,
    pid: u32,
    make: F,
) -> (Vec<T>, Failures, Latency, f64, Vec<(usize, u64)>)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let step = n.div_ceil(samples.max(1)).max(1);
    let mut next_sample = step;
    let mut out = Vec::with_capacity(n);
    let mut failures = Failures::default();
    let mut hist = Latency::new();
    let mut rss_samples = Vec::new();
    let start = Instant::now();
    let mut attempts = futures::stream::iter(0..n)
        .map(|i| {
            let fut = make(i);
            async move {
                let t0 = Instant::now();
                (fut.await, t0.elapsed())
            }
        })
        .buffer_unordered(concurrency.max(1));
    let mut done = 0;
    while let Some((result, took)) = attempts.next().await {
        done += 1;
        match result {
            Ok(v) => {
                hist.record(took);
                out.push(v);
            }
            Err(e) => failures.note(format!("{e:#}")),
        }
        if done >= next_sample || done == n {
            next_sample += step;
            if let Ok(rss) = procfs::rss(pid) {
                rss_samples.push((out.len(), rss));
            }
        }
    }
    (
        out,
        failures,
        hist,
        start.elapsed().as_secs_f64(),
        rss_samples,
    )
}

async fn idle_cpu(pid: u32, secs: f64) -> Result<f64> {
    let meter = CpuMeter::start(pid)?;
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    meter.percent()
}

fn per(delta: i128, n: usize) -> f64 {
    if n == 0 {
        0.0
    } else {
        delta as f64 / n as f64
    }
}

/// Runs the scenario.
pub async fn run(target: &mut Target, args: &ConnectionsArgs) -> Result<ConnectionsReport> {
    let pid = target.require_pid()?;
    let n = args.count;
    let endpoints = args.endpoints.max(1);
    let settle = Duration::from_secs_f64(args.settle);
    let me = std::process::id();
    tracing::info!("connections: registering {} accounts", args.users.max(1));
    let names = (0..args.users.max(1))
        .map(|i| users::username("c", i))
        .collect();
    let accounts = users::register_all(target, names).await?;
    let tokens: Vec<String> = accounts.iter().map(|a| a.token.clone()).collect();
    users::close_all(&accounts);
    drop(accounts);
    let config = target.client_config();
    let mut connectors = Vec::new();
    for _ in 0..endpoints {
        connectors.push(Connector::new(&config).await.context("client endpoint")?);
    }
    tokio::time::sleep(settle).await;
    let rss_before = procfs::rss(pid)?;
    let client_before = procfs::rss(me)?;
    tracing::info!("connections: {n} authenticated connections over {endpoints} endpoints");
    let (clients, failures, hist, secs, rss_samples) =
        connect_many(n, args.concurrency, args.samples, pid, |i| {
            let connector = connectors[i % endpoints].clone();
            let token = tokens[i % tokens.len()].clone();
            async move {
                let (client, _session) = connector
                    .connect_authenticated(&token)
                    .await
                    .context("connect + authenticate")?;
                anyhow::Ok(client)
            }
        })
        .await;
    target.check_alive()?;
    tokio::time::sleep(settle).await;
    let rss_after = procfs::rss(pid)?;
    let client_after = procfs::rss(me)?;
    let open = target
        .scrape()
        .await
        .and_then(|s| s.get("quichat_connections_open"));
    tracing::info!("connections: idle for {} s", args.idle_secs);
    let cpu = idle_cpu(pid, args.idle_secs).await?;
    let zero_rtt = clients.iter().filter(|c: &&Client| c.used_0rtt()).count();
    let connected = clients.len();
    close_clients(&clients).await;
    drop(clients);
    let server = Side {
        requested: n,
        connected,
        failures,
        setup_secs: secs,
        setup_per_s: crate::stats::per_second(connected as f64, secs),
        setup_latency: hist.summary(),
        rss_before,
        rss_after,
        rss_per_connection: per(i128::from(rss_after) - i128::from(rss_before), connected),
        idle_cpu_percent: cpu,
        client_rss_per_connection: per(
            i128::from(client_after) - i128::from(client_before),
            connected,
        ),
        rss_samples,
    };

    tracing::info!("connections: bare quinn baseline");
    let raw_server = RawServer::start(target.scratch.path(), &target.info.transport).await?;
    let raw = raw_side(&raw_server, args).await;
    raw_server.stop().await;
    let raw = raw?;
    Ok(ConnectionsReport {
        summary: Headline {
            throughput: server.setup_per_s,
            unit: "conn/s",
            failures: server.failures.count + raw.failures.count,
            first_failure: server
                .failures
                .first
                .clone()
                .or_else(|| raw.failures.first.clone()),
        },
        params: serde_json::json!({
            "count": n,
            "endpoints": endpoints,
            "users": args.users.max(1),
            "concurrency": args.concurrency,
            "idle_secs": args.idle_secs,
        }),
        ratios: ConnectionRatios {
            rss_per_connection: ratio(server.rss_per_connection, raw.rss_per_connection),
            setup_per_s: ratio(server.setup_per_s, raw.setup_per_s),
            idle_cpu: ratio(server.idle_cpu_percent, raw.idle_cpu_percent),
        },
        server,
        zero_rtt,
        server_connections_open: open,
        raw_quinn: raw,
    })
}

async fn close_clients(clients: &[Client]) {
    for c in clients {
        c.connection().close(0u32.into(), b"bench done");
    }
    // Let the close frames go out before the endpoints are dropped.
    if let Some(c) = clients.first() {
        let _ = tokio::time::timeout(Duration::from_secs(2), c.endpoint().wait_idle()).await;
    }
}

async fn raw_side(server: &RawServer, args: &ConnectionsArgs) -> Result<Side> {
    let endpoints = (0..args.endpoints.max(1))
        .map(|_| server.endpoint())
        .collect::<Result<Vec<_>>>()?;
    let me = std::process::id();
    let settle = Duration::from_secs_f64(args.settle);
    tokio::time::sleep(settle).await;
    let rss_before = procfs::rss(server.pid)?;
    let client_before = procfs::rss(me)?;
    let (conns, failures, hist, secs, rss_samples) = connect_many(
        args.count,
        args.concurrency,
        args.samples,
        server.pid,
        |i| {
            let endpoint = endpoints[i % endpoints.len()].clone();
            async move { server.connect(&endpoint).await }
        },
    )
    .await;
    tokio::time::sleep(settle).await;
    let rss_after = procfs::rss(server.pid)?;
    let client_after = procfs::rss(me)?;
    let cpu = idle_cpu(server.pid, args.idle_secs).await?;
    let connected = conns.len();
    for c in &conns {
        c.close(0u32.into(), b"done");
    }
    if let Some(e) = endpoints.first() {
        let _ = tokio::time::timeout(Duration::from_secs(2), e.wait_idle()).await;
    }
    Ok(Side {
        requested: args.count,
        connected,
        failures,
        setup_secs: secs,
        setup_per_s: crate::stats::per_second(connected as f64, secs),
        setup_latency: hist.summary(),
        rss_before,
        rss_after,
        rss_per_connection: per(i128::from(rss_after) - i128::from(rss_before), connected),
        idle_cpu_percent: cpu,
        client_rss_per_connection: per(
            i128::from(client_after) - i128::from(client_before),
            connected,
        ),
        rss_samples,
    })
}

fn side_row(name: &str, s: &Side) -> Vec<String> {
    vec![
        name.into(),
        format!("{}/{}", s.connected, s.requested),
        report::rate(s.setup_per_s, "conn/s"),
        report::us(s.setup_latency.p50_us),
        report::us(s.setup_latency.p99_us),
        report::bytes(s.rss_per_connection),
        format!(
            "{} → {}",
            report::bytes(s.rss_before as f64),
            report::bytes(s.rss_after as f64)
        ),
        report::percent(Some(s.idle_cpu_percent)),
        report::bytes(s.client_rss_per_connection),
        s.failures.count.to_string(),
    ]
}

impl Render for ConnectionsReport {
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new(
            format!(
                "connections: {} (0-RTT set-ups: {}; server says {} open)",
                report::params(&self.params),
                self.zero_rtt,
                self.server_connections_open
                    .map(|o| format!("{o:.0}"))
                    .unwrap_or_else(|| "-".into())
            ),
            &[
                "",
                "connected",
                "set-up rate",
                "set-up p50",
                "set-up p99",
                "RSS/conn",
                "RSS",
                "idle CPU",
                "client RSS/conn",
                "fail",
            ],
        );
        t.row(side_row("server", &self.server));
        t.row(side_row("bare quinn", &self.raw_quinn));
        t.row(vec![
            "server/quinn".into(),
            String::new(),
            report::ratio(self.ratios.setup_per_s),
            String::new(),
            String::new(),
            report::ratio(self.ratios.rss_per_connection),
            String::new(),
            report::ratio(self.ratios.idle_cpu),
            String::new(),
            String::new(),
        ]);
        let mut out = vec![t];
        if let Some(first) = &self.server.failures.first {
            let mut f = Table::new("connections: first failure", &["side", "error"]);
            f.row(vec!["server".into(), first.clone()]);
            out.push(f);
        }
        out
    }

    fn plot(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        let path = dir.join("connections-rss.svg");
        let mib = |s: &Side| -> Vec<(f64, f64)> {
            std::iter::once((0.0, s.rss_before as f64 / 1048576.0))
                .chain(
                    s.rss_samples
                        .iter()
                        .map(|(n, rss)| (*n as f64, *rss as f64 / 1048576.0)),
                )
                .collect()
        };
        plots::lines(
            &path,
            "connections: server RSS against open connections",
            "open connections",
            "RSS (MiB)",
            &[
                ("quichat-server", mib(&self.server)),
                ("bare quinn", mib(&self.raw_quinn)),
            ],
        )?;
        Ok(vec![path])
    }
}
