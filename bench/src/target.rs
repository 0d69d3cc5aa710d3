//! The server under test: a `quichat-server` child process on embedded
//! defaults in a fresh temporary data dir (the default), or a running
//! server named by `--server ADDR --ca PATH`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use quichat_client::{ClientConfig, Trust};
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::cli::Common;
use crate::quic::TransportParams;
use crate::scrape::{scrape, Scrape};

/// The `[limits]` the bench raises: everything that would throttle load
/// from one address (127.0.0.1), one user, or one connection. Nothing
/// else in the server's configuration is changed.
pub const LIMITS_TOML: &str = "\
# Written by quichat-bench: only [limits] is raised, so that load from
# 127.0.0.1 is not throttled. Everything else is the server's default.
[limits]
login_per_user_ip = { burst = 1000000, per_minute = 1000000000 }
login_per_user = { burst = 1000000, per_minute = 1000000000 }
auth_per_ip = { burst = 1000000, per_minute = 1000000000 }
sends_per_user = { burst = 1000000000, per_minute = 1000000000 }
requests_per_connection = { burst = 1000000000, per_minute = 1000000000 }
password_queue = 100000
max_connections_per_ip = 1000000
max_connections_per_user = 1000000
";

/// How long a starting server may take to listen (a debug build on a
/// busy machine runs its migrations slowly).
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// What the report says about the server under test.
#[derive(Debug, Clone, Serialize)]
pub struct TargetInfo {
    /// Its QUIC address.
    pub addr: String,
    /// `child` (started by the bench) or `external`.
    pub kind: &'static str,
    /// The binary, for a child.
    pub binary: Option<String>,
    /// `sqlite`, `postgres`, or `unknown` (an external server).
    pub database: String,
    /// The transport parameters the baselines copy, and where they came
    /// from.
    pub transport: TransportParams,
    /// `print-config` of the binary, or `defaults` (external server).
    pub transport_source: &'static str,
    /// The Whisper model given to a child (`--whisper-model`).
    pub whisper_model: Option<String>,
    /// Extra environment of a child (`--server-env`).
    pub env: Vec<String>,
}

/// A running server to benchmark.
#[derive(Debug)]
pub struct Target {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its CA certificate.
    pub ca: PathBuf,
    /// Its `/metrics` endpoint, when known.
    pub metrics: Option<SocketAddr>,
    /// Its process id, when known (memory and CPU).
    pub pid: Option<u32>,
    /// The report's description.
    pub info: TargetInfo,
    /// Scratch space for baselines (certificates, SQLite files).
    pub scratch: tempfile::TempDir,
    /// The database URL the server uses, when the bench chose or was
    /// given it (the database baseline uses the same backend).
    pub database_url: Option<String>,
    child: Option<tokio::process::Child>,
    /// A database this bench created: `(admin URL, name)`, dropped at the
    /// end.
    fresh_db: Option<(String, String)>,
}

/// `quichat-server` beside this executable, or `--server-bin`.
pub fn server_binary(common: &Common) -> Result<PathBuf> {
    if let Some(bin) = &common.server_bin {
        if !bin.is_file() {
            bail!("--server-bin {} does not exist", bin.display());
        }
        return Ok(bin.clone());
    }
    let exe = std::env::current_exe().context("locating this executable")?;
    let dir = exe
        .parent()
        .context("this executable has no parent directory")?;
    let bin = dir.join(format!("quichat-server{}", std::env::consts::EXE_SUFFIX));
    if !bin.is_file() {
        bail!(
            "quichat-server not found at {} (it is looked for next to quichat-bench); \
             build it with `cargo build --release -p quichat-server` (or without --release \
             for a debug bench), or pass --server-bin PATH",
            bin.display()
        );
    }
    Ok(bin)
}

fn free_udp_port() -> Result<u16> {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").context("finding a free UDP port")?;
    Ok(s.local_addr()?.port())
}

fn free_tcp_port() -> Result<u16> {
    let s = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free TCP port")?;
    Ok(s.local_addr()?.port())
}

fn backend_of(url: Option<&str>) -> String {
    match url {
        None => "sqlite".into(),
        Some(u) if u.starts_with("postgres") => "postgres".into(),
        Some(u) if u.starts_with("sqlite") => "sqlite".into(),
        Some(_) => "unknown".into(),
    }
}

/// The last lines of a log file, for error messages.
fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

impl Target {
    /// Starts a child server, or describes the external one.
    pub async fn start(common: &Common) -> Result<Target> {
        let scratch = tempfile::Builder::new()
            .prefix("quichat-bench-")
            .tempdir()
            .context("creating a temporary directory")?;
        if let Some(addr) = &common.server {
            let ca = common
                .ca
                .clone()
                .context("--server needs --ca PATH (the server's CA certificate)")?;
            let addr = tokio::net::lookup_host(addr)
                .await
                .with_context(|| format!("resolving {addr}"))?
                .next()
                .with_context(|| format!("{addr} has no address"))?;
            return Ok(Target {
                addr,
                ca,
                metrics: common.metrics_addr,
                pid: common.server_pid,
                info: TargetInfo {
                    addr: addr.to_string(),
                    kind: "external",
                    binary: None,
                    database: match &common.database_url {
                        Some(url) => backend_of(Some(url)),
                        None => "unknown".into(),
                    },
                    transport: TransportParams::default(),
                    transport_source: "defaults",
                    whisper_model: None,
                    env: Vec::new(),
                },
                scratch,
                database_url: common.database_url.clone(),
                child: None,
                fresh_db: None,
            });
        }
        let bin = server_binary(common)?;
        let (database_url, fresh_db) = match &common.postgres {
            Some(admin) => {
                let (url, name) = create_database(admin).await?;
                (Some(url), Some((admin.clone(), name)))
            }
            None => (common.database_url.clone(), None),
        };
        let started = Self::spawn(common, bin, scratch, database_url).await;
        match started {
            Ok(mut target) => {
                target.fresh_db = fresh_db;
                Ok(target)
            }
            Err(e) => {
                if let Some((admin, name)) = fresh_db {
                    drop_database(&admin, &name).await;
                }
                Err(e)
            }
        }
    }

    async fn spawn(
        common: &Common,
        bin: PathBuf,
        scratch: tempfile::TempDir,
        database_url: Option<String>,
    ) -> Result<Target> {
        let config = scratch.path().join("bench-limits.toml");
        std::fs::write(&config, LIMITS_TOML).context("writing the server config")?;
        let data = scratch.path().join("data");
        let transport = print_config_transport(&bin, &config).await?;
        let port = free_udp_port()?;
        let metrics_port = free_tcp_port()?;
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let metrics: SocketAddr = ([127, 0, 0, 1], metrics_port).into();
        let log_path = scratch.path().join("server.log");
        let log = std::fs::File::create(&log_path).context("creating the server log")?;
        let mut cmd = tokio::process::Command::new(&bin);
        cmd.arg("--config")
            .arg(&config)
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--data-dir")
            .arg(&data)
            .arg("--metrics-listen")
            .arg(metrics.to_string());
        if let Some(url) = &database_url {
            cmd.arg("--database-url").arg(url);
        }
        if let Some(model) = &common.whisper_model {
            if !model.is_file() {
                bail!("--whisper-model {} does not exist", model.display());
            }
            cmd.arg("--whisper-model").arg(model);
        }
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("QUICHAT_") {
                cmd.env_remove(key);
            }
        }
        for pair in &common.server_env {
            let (key, value) = pair
                .split_once('=')
                .with_context(|| format!("--server-env {pair}: expected KEY=VALUE"))?;
            cmd.env(key, value);
        }
        cmd.arg("serve")
            .env("RUST_LOG", &common.server_log)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        tracing::info!("starting {} on {addr}", bin.display());
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let pid = child.id().context("the server exited at once")?;
        let stdout = child.stdout.take().context("server stdout")?;
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            let mut ready = Some(ready_tx);
            // Keep reading to the end so the server never blocks on a full
            // pipe.
            while let Ok(Some(line)) = lines.next_line().await {
                if line.starts_with("quichat server listening on") {
                    if let Some(tx) = ready.take() {
                        let _ = tx.send(());
                    }
                }
            }
        });
        tokio::select! {
            r = tokio::time::timeout(START_TIMEOUT, ready_rx) => match r {
                Ok(Ok(())) => {}
                Ok(Err(_)) => bail!(
                    "the server closed its output before listening; its log:\n{}",
                    tail(&log_path, 20)
                ),
                Err(_) => bail!(
                    "the server did not listen within {} s; its log:\n{}",
                    START_TIMEOUT.as_secs(),
                    tail(&log_path, 20)
                ),
            },
            status = child.wait() => bail!(
                "the server exited ({}) before listening; its log:\n{}",
                status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string()),
                tail(&log_path, 20)
            ),
        }
        let ca = data.join("certs").join("ca.pem");
        if !ca.is_file() {
            bail!("the server listens but wrote no dev CA at {}", ca.display());
        }
        Ok(Target {
            addr,
            ca,
            metrics: Some(metrics),
            pid: Some(pid),
            info: TargetInfo {
                addr: addr.to_string(),
                kind: "child",
                binary: Some(bin.display().to_string()),
                database: backend_of(database_url.as_deref()),
                transport,
                transport_source: "print-config",
                whisper_model: common
                    .whisper_model
                    .as_ref()
                    .map(|m| m.display().to_string()),
                env: common.server_env.clone(),
            },
            scratch,
            database_url,
            child: Some(child),
            fresh_db: None,
        })
    }

    /// The database URL the server uses: the one the bench gave it, or
    /// the SQLite file in a started server's data dir.
    pub fn database(&self) -> Option<String> {
        self.database_url.clone().or_else(|| {
            self.child.as_ref().map(|_| {
                format!(
                    "sqlite://{}?mode=rw",
                    self.scratch
                        .path()
                        .join("data")
                        .join("quichat.db")
                        .display()
                )
            })
        })
    }

    /// Client settings for this server.
    pub fn client_config(&self) -> ClientConfig {
        let mut cfg = ClientConfig::new(self.addr.to_string(), Trust::CaFile(self.ca.clone()));
        cfg.client_name = format!("quichat-bench/{}", env!("CARGO_PKG_VERSION"));
        cfg.connect_timeout = Duration::from_secs(30);
        cfg
    }

    /// The server's pid, or an error saying memory/CPU cannot be read.
    pub fn require_pid(&self) -> Result<u32> {
        self.pid.context(
            "the server's process id is unknown: pass --server-pid with --server \
             (or let the bench start its own server)",
        )
    }

    /// Scrapes `/metrics`, when the endpoint is known.
    pub async fn scrape(&self) -> Option<Scrape> {
        let addr = self.metrics?;
        match scrape(addr).await {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!("scraping /metrics failed: {e:#}");
                None
            }
        }
    }

    /// Fails if the child server has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        if let Some(child) = &mut self.child {
            if let Some(status) = child.try_wait()? {
                bail!(
                    "the server exited ({status}); its log:\n{}",
                    tail(&self.scratch.path().join("server.log"), 20)
                );
            }
        }
        Ok(())
    }

    /// Stops the child server (SIGKILL: its data is thrown away), drops
    /// a database the bench created, and removes the temporary directory.
    pub async fn stop(mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
        }
        if let Some((admin, name)) = self.fresh_db.take() {
            drop_database(&admin, &name).await;
        }
    }
}

/// Creates a fresh database through `admin`; its URL and name.
async fn create_database(admin: &str) -> Result<(String, String)> {
    use sqlx::{Connection, Executor};
    let name = format!("quichat_bench_{}", uuid::Uuid::now_v7().simple());
    let mut conn = sqlx::PgConnection::connect(admin)
        .await
        .with_context(|| format!("connecting to PostgreSQL at {admin}"))?;
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .with_context(|| format!("creating database {name}"))?;
    conn.close().await?;
    let base = admin.rsplit_once('/').map_or(admin, |(b, _)| b);
    Ok((format!("{base}/{name}"), name))
}

/// Drops a database the bench created (a failure is only logged).
async fn drop_database(admin: &str, name: &str) {
    use sqlx::{Connection, Executor};
    let result = async {
        let mut conn = sqlx::PgConnection::connect(admin).await?;
        conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
            .await?;
        conn.close().await
    }
    .await;
    if let Err(e) = result {
        tracing::warn!("could not drop the bench database {name}: {e}");
    }
}

/// The `[transport]` values the binary would run with under `config`.
async fn print_config_transport(bin: &Path, config: &Path) -> Result<TransportParams> {
    let out = tokio::process::Command::new(bin)
        .arg("--config")
        .arg(config)
        .arg("print-config")
        .env_remove("QUICHAT_CONFIG")
        .stdin(Stdio::null())
        .output()
        .await
        .with_context(|| format!("running {} print-config", bin.display()))?;
    if !out.status.success() {
        bail!(
            "{} print-config refused the bench's config ({}): {}",
            bin.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    TransportParams::from_config_toml(&String::from_utf8_lossy(&out.stdout))
}
