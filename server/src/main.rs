//! `quichat-server`: reads flags, environment and the config file, installs
//! logging and signal handlers, and runs the library.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use quichat_server::{store::Store, Config, Server};

/// Self-hosted messenger server over QUIC.
#[derive(Debug, Parser)]
#[command(name = "quichat-server", version, about, long_about = None)]
struct Cli {
    /// TOML config file (see quichat.example.toml).
    #[arg(long, global = true, env = "QUICHAT_CONFIG", value_name = "PATH")]
    config: Option<PathBuf>,
    /// UDP address to listen on [default: 127.0.0.1:4433].
    #[arg(long, global = true, env = "QUICHAT_LISTEN", value_name = "ADDR")]
    listen: Option<std::net::SocketAddr>,
    /// Serve /metrics, /health and /ready over HTTP on this TCP address
    /// (e.g. 127.0.0.1:9464) [default: off].
    #[arg(
        long,
        global = true,
        env = "QUICHAT_METRICS_LISTEN",
        value_name = "ADDR"
    )]
    metrics_listen: Option<std::net::SocketAddr>,
    /// Data directory [default: ./quichat-data].
    #[arg(long, global = true, env = "QUICHAT_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// sqlite://PATH or postgres://... [default: <data-dir>/quichat.db].
    #[arg(
        long,
        global = true,
        env = "QUICHAT_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    database_url: Option<String>,
    /// Certificate chain (PEM) to use instead of the generated dev CA.
    #[arg(
        long,
        global = true,
        env = "QUICHAT_CERT",
        value_name = "PEM",
        requires = "key"
    )]
    cert: Option<PathBuf>,
    /// Private key (PEM) for --cert.
    #[arg(
        long,
        global = true,
        env = "QUICHAT_KEY",
        value_name = "PEM",
        requires = "cert"
    )]
    key: Option<PathBuf>,
    /// Extra hostname or IP for the generated certificate (repeatable).
    #[arg(
        long = "hostname",
        global = true,
        env = "QUICHAT_HOSTNAMES",
        value_delimiter = ',',
        value_name = "NAME"
    )]
    hostnames: Vec<String>,
    /// Media store: file:///dir or s3://bucket[/prefix] [default: file://<data-dir>/media].
    #[arg(long, global = true, env = "QUICHAT_MEDIA_URL", value_name = "URL")]
    media_url: Option<String>,
    /// S3 endpoint for MinIO/Garage (omit for AWS).
    #[arg(long, global = true, env = "QUICHAT_S3_ENDPOINT", value_name = "URL")]
    s3_endpoint: Option<String>,
    /// S3 region [default: us-east-1].
    #[arg(long, global = true, env = "QUICHAT_S3_REGION", value_name = "NAME")]
    s3_region: Option<String>,
    /// Allow plain HTTP to the S3 endpoint (local MinIO/Garage).
    #[arg(long, global = true, env = "QUICHAT_S3_ALLOW_HTTP")]
    s3_allow_http: bool,
    /// ggml Whisper model for voice transcription.
    #[arg(
        long,
        global = true,
        env = "QUICHAT_WHISPER_MODEL",
        value_name = "PATH"
    )]
    whisper_model: Option<PathBuf>,
    /// Transcription workers in this process.
    #[arg(long, global = true, env = "QUICHAT_WORKERS", value_name = "N")]
    workers: Option<u32>,
    /// CPU threads per transcription.
    #[arg(long, global = true, env = "QUICHAT_WHISPER_THREADS", value_name = "N")]
    whisper_threads: Option<u32>,
    /// Transcription language: `auto` or a code such as `en`.
    #[arg(
        long,
        global = true,
        env = "QUICHAT_WHISPER_LANGUAGE",
        value_name = "LANG"
    )]
    whisper_language: Option<String>,
    /// Decoding: `greedy` or `beam`.
    #[arg(long, global = true, env = "QUICHAT_WHISPER_DECODING", value_name = "MODE", value_parser = ["greedy", "beam"])]
    whisper_decoding: Option<String>,
    /// This node's id in a cluster (0-65535), carried in its connection
    /// IDs so a QUIC-LB-aware balancer routes back to it [default: 0].
    #[arg(long, global = true, env = "QUICHAT_NODE_ID", value_name = "N")]
    node_id: Option<u16>,
    /// The cluster's connection-ID key: 32 hex digits, the same on every
    /// node and the balancer [default: a key kept in the data dir].
    #[arg(
        long,
        global = true,
        env = "QUICHAT_CID_KEY",
        value_name = "HEX",
        hide_env_values = true
    )]
    cid_key: Option<String>,
    /// NATS that carries events between the nodes sharing this database
    /// (nats://host:4222) [default: none, a single node].
    #[arg(
        long,
        global = true,
        env = "QUICHAT_NATS_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    nats_url: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Run transcription workers only (no QUIC listener), sharing the
    /// database and media store with `serve` processes.
    Worker,
    /// Apply database migrations and exit.
    Migrate,
    /// Print the effective configuration as TOML and exit.
    PrintConfig,
    /// Print the node a connection ID (hex, as a balancer or a packet
    /// capture shows it) names, under the cluster's CID key.
    DecodeCid {
        /// The connection ID, in hexadecimal.
        cid: String,
    },
    /// Write a consistent backup of the SQLite database and the
    /// certificates (and with --media the local media directory) into a
    /// new directory; safe while the server runs. PostgreSQL and S3: use
    /// pg_dump and bucket versioning (docs/DEPLOY.md).
    Backup {
        /// A new (or empty) directory for the backup.
        dest: PathBuf,
        /// Copy the local media directory too.
        #[arg(long)]
        media: bool,
    },
    /// Put a backup made by `backup` in place; stop the server first.
    Restore {
        /// The backup directory.
        src: PathBuf,
        /// Replace an existing database.
        #[arg(long)]
        force: bool,
    },
    /// Speech model tools.
    #[command(subcommand)]
    Model(ModelCommand),
    /// Operator actions on the accounts and the server's state; works
    /// while the server runs (kicks reach it within a second).
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// List accounts, or those whose username or display name starts
    /// with SEARCH.
    Users {
        /// Username or display-name prefix.
        search: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Disable an account: no login, and every connection is closed.
    Disable {
        /// Username.
        user: String,
    },
    /// Enable a disabled account again.
    Enable {
        /// Username.
        user: String,
    },
    /// Revoke every device of an account (each must log in again).
    RevokeDevices {
        /// Username.
        user: String,
    },
    /// Set a new password (read from stdin, one line) and revoke every
    /// device of the account.
    ResetPassword {
        /// Username.
        user: String,
    },
    /// Make a user a server administrator: they may send broadcasts
    /// (`quichat broadcast`).
    Grant {
        /// Username.
        user: String,
    },
    /// Take the server-administrator role back.
    Revoke {
        /// Username.
        user: String,
    },
    /// List the server administrators.
    Admins,
    /// Send a broadcast to every user, from the server (read from stdin
    /// when TEXT is `-`). Running servers deliver it within a second, in
    /// the background; offline users get it on their next sync.
    Broadcast {
        /// The text; several words are joined with spaces.
        #[arg(required = true)]
        text: Vec<String>,
    },
    /// The transcription queue by state.
    Queue,
    /// Media storage use and the biggest uploaders.
    Storage,
}

#[derive(Debug, Subcommand)]
enum ModelCommand {
    /// Convert a CTranslate2 Whisper model directory (model.bin,
    /// vocabulary.txt, config.json; as used by faster-whisper) into a
    /// whisper.cpp ggml file.
    ImportCt2 {
        /// The CTranslate2 model directory.
        dir: PathBuf,
        /// Where to write the ggml model.
        #[arg(short, long, value_name = "FILE.bin")]
        output: PathBuf,
    },
}

fn load_config(cli: &Cli) -> Result<Config> {
    let mut config = match &cli.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read config file {}", path.display()))?;
            toml::from_str(&text)
                .with_context(|| format!("invalid config file {}", path.display()))?
        }
        None => Config::default(),
    };
    if let Some(v) = cli.metrics_listen {
        config.metrics.listen = Some(v);
    }
    if let Some(v) = cli.node_id {
        config.cluster.node_id = v;
    }
    if let Some(v) = &cli.cid_key {
        config.cluster.cid_key = Some(v.clone());
    }
    if let Some(v) = &cli.nats_url {
        config.cluster.nats_url = Some(v.clone());
    }
    if let Some(v) = cli.listen {
        config.listen = v;
    }
    if let Some(v) = &cli.data_dir {
        config.data_dir = v.clone();
    }
    if let Some(v) = &cli.database_url {
        config.database_url = Some(v.clone());
    }
    if let Some(v) = &cli.cert {
        config.cert = Some(v.clone());
    }
    if let Some(v) = &cli.key {
        config.key = Some(v.clone());
    }
    if !cli.hostnames.is_empty() {
        config.hostnames = cli.hostnames.clone();
    }
    if let Some(v) = &cli.media_url {
        config.media.url = Some(v.clone());
    }
    if let Some(v) = &cli.s3_endpoint {
        config.media.s3_endpoint = Some(v.clone());
    }
    if let Some(v) = &cli.s3_region {
        config.media.s3_region = v.clone();
    }
    if cli.s3_allow_http {
        config.media.s3_allow_http = true;
    }
    if let Some(v) = &cli.whisper_model {
        config.transcription.model = Some(v.clone());
    }
    if let Some(v) = cli.workers {
        config.transcription.workers = v;
    }
    if let Some(v) = cli.whisper_threads {
        config.transcription.threads = v;
    }
    if let Some(v) = &cli.whisper_language {
        config.transcription.language = v.clone();
    }
    if let Some(v) = &cli.whisper_decoding {
        config.transcription.decoding = v.clone();
    }
    Ok(config)
}

#[tokio::main]
async fn main() {
    use std::io::IsTerminal;
    // Colours only on a terminal, and never with NO_COLOR set
    // (https://no-color.org): logs piped to a file or journald stay plain.
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .init();
    if let Err(e) = real_main().await {
        eprintln!("quichat-server: error: {e:#}");
        std::process::exit(1);
    }
}

async fn real_main() -> Result<()> {
    let cli = Cli::parse();
    let config = load_config(&cli)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Worker => {
            let handle = quichat_server::worker::start(config).await?;
            eprintln!("transcription worker running; Ctrl-C to stop");
            wait_for_signal().await;
            handle.stop().await;
            Ok(())
        }
        Command::Admin(action) => admin(&config, action).await,
        Command::Backup { dest, media } => {
            let report = quichat_server::backup::backup(&config, &dest, media).await?;
            println!(
                "backed up the database to {} ({} media files, {} bytes)",
                report.database.display(),
                report.media_files,
                report.media_bytes
            );
            Ok(())
        }
        Command::Restore { src, force } => {
            quichat_server::backup::restore(&config, &src, force)?;
            println!(
                "restored {} into {}",
                src.display(),
                config.data_dir.display()
            );
            Ok(())
        }
        Command::Migrate => {
            let store = Store::connect(&config.effective_database_url(), 1).await?;
            store.migrate().await?;
            store.close().await;
            println!("migrations applied");
            Ok(())
        }
        Command::Model(ModelCommand::ImportCt2 { dir, output }) => {
            let report =
                tokio::task::spawn_blocking(move || quichat_model::import_ct2(&dir, &output))
                    .await??;
            eprintln!(
                "wrote {} ({} tensors, {} vocabulary entries)",
                report.output.display(),
                report.tensors,
                report.vocab
            );
            Ok(())
        }
        Command::DecodeCid { cid } => {
            let key = quichat_server::transport::cid_key(&config.data_dir, &config.cluster)?;
            let bytes = hex::decode(cid.trim())
                .map_err(|e| anyhow::anyhow!("the connection ID is not hexadecimal: {e}"))?;
            match quichat_server::cid::decode(&key, &bytes) {
                Some(node) => {
                    println!("{node}");
                    Ok(())
                }
                None => anyhow::bail!(
                    "not a quichat connection ID: expected {} bytes starting with 0x10",
                    quichat_server::cid::CID_LEN
                ),
            }
        }
        Command::PrintConfig => {
            // The values in effect, defaults resolved, secrets masked.
            let mut shown = config.clone();
            if shown.media.s3_secret_access_key.is_some() {
                shown.media.s3_secret_access_key = Some("***".into());
            }
            if shown.cluster.cid_key.is_some() {
                shown.cluster.cid_key = Some("***".into());
            }
            shown.cluster.nats_url = config
                .cluster
                .nats_url
                .as_deref()
                .map(quichat_server::store::redact_url);
            shown.database_url = Some(quichat_server::store::redact_url(
                &config.effective_database_url(),
            ));
            shown.media.url = Some(config.effective_media_url());
            print!("{}", toml::to_string_pretty(&shown)?);
            Ok(())
        }
    }
}

async fn admin(config: &Config, action: AdminCommand) -> Result<()> {
    use quichat_server::admin::Admin;
    let store = Store::connect(&config.effective_database_url(), 2).await?;
    store.migrate().await?;
    let admin = Admin::new(store.clone());
    match action {
        AdminCommand::Users { search, limit } => {
            for u in admin.users(search.as_deref(), limit).await? {
                println!(
                    "{:>6}  {:<32}  {:>3} devices  {:>12} bytes{}{}",
                    u.id,
                    u.username,
                    u.devices,
                    u.storage_bytes,
                    if u.display_name.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "  ({})",
                            u.display_name.chars().take(40).collect::<String>()
                        )
                    },
                    if u.disabled { "  DISABLED" } else { "" }
                );
            }
        }
        AdminCommand::Disable { user } => {
            let changed = admin.set_disabled(&user, true).await?;
            println!(
                "{user} {}; its connections are being closed",
                if changed {
                    "disabled"
                } else {
                    "was already disabled"
                }
            );
        }
        AdminCommand::Enable { user } => {
            let changed = admin.set_disabled(&user, false).await?;
            println!(
                "{user} {}",
                if changed {
                    "enabled"
                } else {
                    "was not disabled"
                }
            );
        }
        AdminCommand::RevokeDevices { user } => {
            let n = admin.revoke_devices(&user).await?;
            println!("revoked {n} devices of {user}; its connections are being closed");
        }
        AdminCommand::ResetPassword { user } => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("reading the new password from stdin")?;
            let password = line.trim_end_matches(['\r', '\n']);
            let n = admin.reset_password(&user, password).await?;
            println!("new password set for {user}; {n} devices revoked");
        }
        AdminCommand::Grant { user } => {
            let changed = admin.set_admin(&user, true).await?;
            println!(
                "{user} {}",
                if changed {
                    "is now a server administrator"
                } else {
                    "was already a server administrator"
                }
            );
        }
        AdminCommand::Revoke { user } => {
            let changed = admin.set_admin(&user, false).await?;
            println!(
                "{user} {}",
                if changed {
                    "is no longer a server administrator"
                } else {
                    "was not a server administrator"
                }
            );
        }
        AdminCommand::Admins => {
            for name in admin.admins().await? {
                println!("{name}");
            }
        }
        AdminCommand::Broadcast { text } => {
            let text = if text == ["-"] {
                let mut all = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut all)
                    .context("reading the broadcast from stdin")?;
                all
            } else {
                text.join(" ")
            };
            let (id, recipients) = admin.broadcast(&text).await?;
            println!(
                "broadcast {id} stored for {recipients} users; running servers deliver it now"
            );
        }
        AdminCommand::Queue => {
            let q = admin.queue().await?;
            println!(
                "transcription jobs: {} queued, {} running, {} done, {} failed",
                q.queued, q.running, q.done, q.failed
            );
        }
        AdminCommand::Storage => {
            let s = admin.storage().await?;
            println!("media: {} objects, {} bytes", s.objects, s.bytes);
            for (user, bytes) in s.top_users {
                println!("  {bytes:>14}  {user}");
            }
        }
    }
    store.close().await;
    Ok(())
}

async fn serve(config: Config) -> Result<()> {
    // Installed before anything is printed: a SIGHUP that arrives once the
    // address is out must reload, not kill the process (its default).
    #[cfg(unix)]
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let handle = Server::start(config).await?;
    let addr = handle.local_addr();
    println!("quichat server listening on {addr} (QUIC, ALPN quichat/1)");
    println!("  database:        {}", handle.database());
    println!(
        "  media:           {}",
        handle.state().media_store.description()
    );
    if let Some(m) = handle.metrics_addr() {
        println!("  metrics:         http://{m}/metrics (and /health, /ready)");
    }
    match handle.ca_path() {
        Some(ca) => {
            println!("  dev CA:          {}", ca.display());
            println!("  CA SHA-256:      {}", handle.fingerprint());
            println!("connect with:");
            println!(
                "  quichat --server {addr} --ca {} register <username>",
                ca.display()
            );
            println!("  (or pin the CA: --pin {})", handle.fingerprint());
        }
        None => {
            println!("  cert SHA-256:    {}", handle.fingerprint());
            println!(
                "connect with:  quichat --server <host>:{} register <username>",
                addr.port()
            );
        }
    }
    // SIGHUP: read the certificate files again (after a renewal) without
    // dropping anyone. SIGTERM / Ctrl-C: shut down gracefully.
    #[cfg(unix)]
    {
        let stop = wait_for_signal();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                _ = hup.recv() => match handle.reload_tls() {
                    Ok(fingerprint) => eprintln!("reloaded the TLS certificate (SHA-256 {fingerprint})"),
                    Err(e) => eprintln!("quichat-server: keeping the old certificate: {e}"),
                },
            }
        }
    }
    #[cfg(not(unix))]
    wait_for_signal().await;
    eprintln!("shutting down...");
    handle.stop().await;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
