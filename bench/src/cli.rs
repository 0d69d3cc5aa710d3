//! Command-line arguments.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// quichat benchmarks. Every scenario reports its figures beside a
/// baseline measured in the same run, and the ratio: absolute numbers on
/// a shared, noisy machine mean little.
///
/// By default each scenario starts its own quichat-server (the binary
/// next to this one) on a fresh temporary data dir with raised rate
/// limits, and kills it at the end.
#[derive(Debug, Parser)]
#[command(name = "quichat-bench", version, about, long_about)]
pub struct Cli {
    /// Options every scenario shares.
    #[command(flatten)]
    pub common: Common,
    /// The scenario.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every scenario shares.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// The quichat-server binary to start [default: quichat-server next to
    /// this executable]. Point it at an older build for before/after.
    #[arg(long, global = true, value_name = "PATH")]
    pub server_bin: Option<PathBuf>,
    /// Benchmark a running server at ADDR instead of starting one (needs
    /// --ca).
    #[arg(long, global = true, value_name = "ADDR")]
    pub server: Option<String>,
    /// The running server's CA certificate (with --server).
    #[arg(long, global = true, value_name = "PATH")]
    pub ca: Option<PathBuf>,
    /// The running server's /metrics address (with --server).
    #[arg(long, global = true, value_name = "ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// The running server's process id (with --server), for its memory
    /// and CPU.
    #[arg(long, global = true, value_name = "PID")]
    pub server_pid: Option<u32>,
    /// Database for the started server (passed as --database-url), e.g.
    /// postgres://postgres@127.0.0.1:5432/<fresh db>; the database
    /// baseline then uses it too [default: SQLite in the temp dir].
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Run each started server on a fresh PostgreSQL database created
    /// through ADMIN_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres)
    /// and dropped afterwards.
    #[arg(
        long,
        global = true,
        value_name = "ADMIN_URL",
        conflicts_with = "database_url"
    )]
    pub postgres: Option<String>,
    /// RUST_LOG for the started server (its log goes to a file in the
    /// temp dir; verbose logging costs server CPU).
    #[arg(long, global = true, value_name = "FILTER", default_value = "warn")]
    pub server_log: String,
    /// Print one JSON object with every figure on stdout instead of the
    /// tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// Also write that JSON object to FILE.
    #[arg(long, global = true, value_name = "FILE")]
    pub json_out: Option<PathBuf>,
    /// Write SVG charts into DIR.
    #[arg(long, global = true, value_name = "DIR")]
    pub plot: Option<PathBuf>,
    /// A ggml Whisper model for the started server (passed as
    /// --whisper-model; `soak` needs it for its voice notes).
    #[arg(long, global = true, value_name = "PATH")]
    pub whisper_model: Option<PathBuf>,
    /// An environment variable for the started server (repeatable), e.g.
    /// the allocator setting deploy/ uses:
    /// `--server-env MALLOC_MMAP_THRESHOLD_=1048576`.
    #[arg(long, global = true, value_name = "KEY=VALUE")]
    pub server_env: Vec<String>,
}

/// The scenarios.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Durable messages/s and send→ack / send→receive latency, beside a
    /// bare-quinn relay and a plain database insert loop.
    Messages(MessagesArgs),
    /// Many authenticated idle connections: set-up rate, server memory per
    /// connection and idle CPU, beside a bare quinn server.
    Connections(ConnectionsArgs),
    /// Head-of-line blocking: chat latency on a connection while an upload
    /// saturates it, beside the same connection idle.
    Hol(HolArgs),
    /// Upload and download throughput, beside a bare-quinn bulk transfer.
    Media(MediaArgs),
    /// Group fan-out: time until the last member has a message, beside a
    /// group with one recipient.
    Fanout(FanoutArgs),
    /// A server broadcast to many accounts (seeded in the database):
    /// delivery time and users/s, and a chat pair's latency during it
    /// beside the same pair idle.
    Broadcast(BroadcastArgs),
    /// Every scenario in turn at preset sizes (each on its own server).
    All(AllArgs),
    /// Minutes of mixed load (messages, reconnects, uploads, downloads,
    /// voice notes, device revocations), then checks: no acked message
    /// lost, RSS back near its baseline, connections closed. Exits 1 when
    /// a check fails. Not part of `all`.
    Soak(SoakArgs),
    /// Print the `[limits]` config the bench gives the servers it starts
    /// (give it to a server you start yourself for --server).
    PrintLimits,
    /// The bare-quinn baseline server (started by the bench itself).
    #[command(hide = true)]
    RawServer(RawServerArgs),
}

/// `messages` options.
#[derive(Debug, Clone, Args)]
pub struct MessagesArgs {
    /// Sender/receiver pairs (each a user with its own connection).
    #[arg(long, default_value_t = 8)]
    pub pairs: usize,
    /// Sends in flight per sender (pipelined on its chat stream).
    #[arg(long, default_value_t = 32)]
    pub window: usize,
    /// Message body bytes (at least 48: the body carries its send time).
    #[arg(long, default_value_t = 100)]
    pub size: usize,
    /// Measured seconds of each run.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub duration: f64,
    /// Unmeasured seconds before each run.
    #[arg(long, value_name = "SECS", default_value_t = 1.0)]
    pub warmup: f64,
    /// Send this many messages per sender instead of running for
    /// --duration.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Also sweep rate-limited load at fractions of the measured peak.
    #[arg(long)]
    pub sweep: bool,
    /// The sweep's loads, percent of the peak.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "PCT,...",
        default_value = "10,25,50,75,100"
    )]
    pub sweep_points: Vec<f64>,
    /// Measured seconds of each sweep point.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub sweep_secs: f64,
    /// Extra database-baseline batch size (repeatable); batch 1 and the
    /// server's mean group-commit batch (if it exports
    /// quichat_commit_batch_size) always run.
    #[arg(long, value_name = "N")]
    pub baseline_batch: Vec<usize>,
    /// Seconds of each database-baseline run [default: --duration].
    #[arg(long, value_name = "SECS")]
    pub db_secs: Option<f64>,
    /// How long receivers may lag behind the last ack before a message
    /// counts as lost.
    #[arg(long, value_name = "SECS", default_value_t = 15.0)]
    pub drain: f64,
}

/// `connections` options.
#[derive(Debug, Clone, Args)]
pub struct ConnectionsArgs {
    /// Authenticated idle connections to open.
    #[arg(long, default_value_t = 2000)]
    pub count: usize,
    /// Client endpoints (UDP sockets) to spread them over.
    #[arg(long, default_value_t = 8)]
    pub endpoints: usize,
    /// Users the connections authenticate as (token authentication).
    #[arg(long, default_value_t = 4)]
    pub users: usize,
    /// Connection set-ups in flight at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Seconds over which idle CPU is measured.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub idle_secs: f64,
    /// RSS samples taken while connecting (for the chart).
    #[arg(long, default_value_t = 10)]
    pub samples: usize,
    /// Seconds to let memory settle before the before/after RSS readings.
    #[arg(long, value_name = "SECS", default_value_t = 2.0)]
    pub settle: f64,
}

/// `hol` options.
#[derive(Debug, Clone, Args)]
pub struct HolArgs {
    /// Chat sends measured in each phase (idle, loaded).
    #[arg(long, default_value_t = 200)]
    pub samples: usize,
    /// Milliseconds between chat sends (one at a time).
    #[arg(long, value_name = "MS", default_value_t = 20)]
    pub interval_ms: u64,
    /// Size of each upload, MiB (uploads repeat until the loaded phase has
    /// its samples).
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    pub upload_mib: u64,
    /// Message body bytes.
    #[arg(long, default_value_t = 100)]
    pub size: usize,
}

/// `media` options.
#[derive(Debug, Clone, Args)]
pub struct MediaArgs {
    /// File size, MiB.
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    pub mib: u64,
    /// Transfers each way (fresh content each upload); figures are over
    /// all of them.
    #[arg(long, default_value_t = 1)]
    pub repeat: u32,
}

/// `fanout` options.
#[derive(Debug, Clone, Args)]
pub struct FanoutArgs {
    /// Group members, all online (the sender is one of them).
    #[arg(long, default_value_t = 8)]
    pub members: usize,
    /// Messages sent to the group.
    #[arg(long, default_value_t = 500)]
    pub messages: u64,
    /// Sends in flight.
    #[arg(long, default_value_t = 8)]
    pub window: usize,
    /// Message body bytes.
    #[arg(long, default_value_t = 100)]
    pub size: usize,
    /// How long members may lag behind the last ack before a delivery
    /// counts as lost.
    #[arg(long, value_name = "SECS", default_value_t = 15.0)]
    pub drain: f64,
}

/// `broadcast` options.
#[derive(Debug, Clone, Args)]
pub struct BroadcastArgs {
    /// Accounts inserted into the database before the broadcast (they
    /// cannot log in; the broadcast goes to their logs).
    #[arg(long, default_value_t = 100_000)]
    pub users: usize,
    /// Real accounts online that get it live.
    #[arg(long, default_value_t = 8)]
    pub online: usize,
    /// The chat pair sends one message per this many milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 5)]
    pub chat_interval_ms: u64,
    /// Seconds of chat before the broadcast (the idle baseline).
    #[arg(long, value_name = "SECS", default_value_t = 3.0)]
    pub idle_secs: f64,
}

/// `soak` options.
#[derive(Debug, Clone, Args)]
pub struct SoakArgs {
    /// Minutes of load (fractions allowed).
    #[arg(long, value_name = "MIN", default_value_t = 10.0)]
    pub minutes: f64,
    /// Seed of every random choice (operations, peers, sizes, contents,
    /// pauses), so a run is repeatable up to timing.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Users, each one actor with its own connection.
    #[arg(long, default_value_t = 6)]
    pub users: usize,
    /// Largest upload, KiB (sizes are uniform from 1 KiB).
    #[arg(long, value_name = "KIB", default_value_t = 512)]
    pub max_upload_kib: u64,
    /// Longest pause between an actor's operations, ms (uniform from 0).
    #[arg(long, value_name = "MS", default_value_t = 50)]
    pub pause_ms: u64,
    /// At most one voice note every SECS seconds (all actors together;
    /// each costs a Whisper run on the server).
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub voice_every: f64,
    /// At most one device revocation every SECS seconds (each costs a
    /// password login, an argon2id hash).
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub revoke_every: f64,
    /// Seconds of the mix before the baseline is taken (part of the
    /// warm-up; its sends are checked too).
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub warmup: f64,
    /// Seconds to let the server settle before the baseline and the final
    /// RSS readings.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub settle: f64,
    /// Allowed RSS growth after the load over the baseline, MiB.
    #[arg(long, value_name = "MIB", default_value_t = 32.0)]
    pub rss_tolerance_mib: f64,
    /// Seconds to wait for the transcription queue to empty.
    #[arg(long, value_name = "SECS", default_value_t = 300.0)]
    pub transcript_wait: f64,
    /// No voice notes (a server without a Whisper model).
    #[arg(long)]
    pub no_voice: bool,
    /// Change the weight of operations, e.g. `--mix upload=0,voice=20`
    /// (text, burst, history, reconnect, churn, upload, download, voice,
    /// revoke, login; defaults 40, 8, 10, 6, 6, 10, 12, 4, 4, 0).
    #[arg(long, value_delimiter = ',', value_name = "OP=WEIGHT,...")]
    pub mix: Vec<String>,
}

/// Sizes for `all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Preset {
    /// Tiny: seconds in a debug build (the smoke test).
    Smoke,
    /// A few minutes in a release build.
    Quick,
    /// The full run (about ten minutes on 2 cores; see scripts/bench.sh).
    Full,
}

/// `all` options.
#[derive(Debug, Clone, Args)]
pub struct AllArgs {
    /// Sizes.
    #[arg(long, value_enum, default_value_t = Preset::Quick)]
    pub preset: Preset,
}

/// `raw-server` options (internal).
#[derive(Debug, Clone, Args)]
pub struct RawServerArgs {
    /// Certificate PEM.
    #[arg(long)]
    pub cert: PathBuf,
    /// Private key PEM.
    #[arg(long)]
    pub key: PathBuf,
    /// UDP address.
    #[arg(long)]
    pub listen: SocketAddr,
    /// Transport parameters, JSON.
    #[arg(long)]
    pub transport: String,
}

/// Parses one scenario's options from an argument list (the presets of
/// `all` are written as the flags a user would pass).
pub fn parse_args<T: Args>(args: &[&str]) -> Result<T, clap::Error> {
    #[derive(Parser)]
    struct Wrap<T: Args> {
        #[command(flatten)]
        inner: T,
    }
    let argv = std::iter::once("preset").chain(args.iter().copied());
    Ok(Wrap::<T>::try_parse_from(argv)?.inner)
}

impl Preset {
    /// The `messages` flags of this preset.
    pub fn messages(self) -> &'static [&'static str] {
        match self {
            Preset::Smoke => &[
                "--pairs",
                "2",
                "--window",
                "4",
                "--count",
                "40",
                "--sweep",
                "--sweep-points",
                "50",
                "--sweep-secs",
                "0.5",
                "--warmup",
                "0.2",
                "--drain",
                "10",
            ],
            Preset::Quick => &["--duration", "5", "--sweep", "--sweep-secs", "3"],
            Preset::Full => &[
                "--duration",
                "15",
                "--sweep",
                "--sweep-secs",
                "6",
                "--db-secs",
                "10",
            ],
        }
    }

    /// The `connections` flags.
    pub fn connections(self) -> &'static [&'static str] {
        match self {
            Preset::Smoke => &[
                "--count",
                "40",
                "--endpoints",
                "2",
                "--users",
                "2",
                "--idle-secs",
                "0.5",
                "--samples",
                "4",
                "--settle",
                "0.2",
            ],
            Preset::Quick => &["--count", "2000", "--idle-secs", "5"],
            Preset::Full => &["--count", "20000", "--endpoints", "16"],
        }
    }

    /// The `hol` flags.
    pub fn hol(self) -> &'static [&'static str] {
        match self {
            Preset::Smoke => &["--samples", "20", "--interval-ms", "5", "--upload-mib", "8"],
            Preset::Quick => &["--samples", "200", "--upload-mib", "64"],
            Preset::Full => &["--samples", "500", "--upload-mib", "256"],
        }
    }

    /// The `media` flags.
    pub fn media(self) -> &'static [&'static str] {
        match self {
            Preset::Smoke => &["--mib", "4"],
            Preset::Quick => &["--mib", "64"],
            Preset::Full => &["--mib", "256", "--repeat", "3"],
        }
    }

    /// The `broadcast` flags.
    pub fn broadcast(self) -> &'static [&'static str] {
        match self {
            Preset::Smoke => &["--users", "300", "--online", "2", "--idle-secs", "0.5"],
            Preset::Quick => &["--users", "20000"],
            Preset::Full => &["--users", "100000"],
        }
    }

    /// The `fanout` flags.
    pub fn fanout(self) -> &'static [&'static str] {
        match self {
            Preset::Smoke => &["--members", "3", "--messages", "20", "--window", "4"],
            Preset::Quick => &["--members", "8", "--messages", "500"],
            Preset::Full => &["--members", "32", "--messages", "2000"],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_parses() {
        for p in [Preset::Smoke, Preset::Quick, Preset::Full] {
            parse_args::<MessagesArgs>(p.messages()).expect("messages preset");
            parse_args::<ConnectionsArgs>(p.connections()).expect("connections preset");
            parse_args::<HolArgs>(p.hol()).expect("hol preset");
            parse_args::<MediaArgs>(p.media()).expect("media preset");
            parse_args::<FanoutArgs>(p.fanout()).expect("fanout preset");
            parse_args::<BroadcastArgs>(p.broadcast()).expect("broadcast preset");
        }
    }

    #[test]
    fn the_cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
