//! Server configuration: one serde struct, every field defaulted.
//!
//! `main.rs` layers a TOML file, `QUICHAT_*` environment variables and flags
//! on top of these defaults; the library only ever sees the final struct.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Everything the server needs to run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// UDP address to listen on. The default only accepts local clients;
    /// use `0.0.0.0:4433` (or `[::]:4433`) to serve a network.
    pub listen: SocketAddr,
    /// Where the SQLite database, generated certificates and (later) media
    /// live when no other location is configured.
    pub data_dir: PathBuf,
    /// `sqlite://...` or `postgres://...`. Empty means
    /// `<data_dir>/quichat.db` (SQLite, WAL).
    pub database_url: Option<String>,
    /// Operator-supplied certificate chain (PEM). With `key`, replaces the
    /// generated dev certificates.
    pub cert: Option<PathBuf>,
    /// Operator-supplied private key (PEM).
    pub key: Option<PathBuf>,
    /// Extra DNS names or IPs for the generated server certificate, on top
    /// of `localhost`, `127.0.0.1` and `::1`.
    pub hostnames: Vec<String>,
    /// Maximum size of a database connection pool.
    pub db_max_connections: u32,
    /// QUIC transport tuning.
    pub transport: TransportConfig,
    /// Abuse protection.
    pub limits: LimitsConfig,
    /// Media storage and upload limits.
    pub media: MediaConfig,
    /// Voice transcription.
    pub transcription: TranscriptionConfig,
    /// Friends, blocking, who may message whom.
    pub contacts: ContactsConfig,
    /// Group limits.
    pub groups: GroupsConfig,
    /// Editing and recalling sent messages.
    pub messages: MessagesConfig,
    /// The operator's HTTP endpoint: metrics, health, readiness.
    pub metrics: MetricsConfig,
    /// This node's place in a cluster.
    pub cluster: ClusterConfig,
}

/// This node's place in a cluster of nodes behind one address.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// This node's id (0 to 65535), carried in every connection ID it
    /// issues (`server/src/cid.rs`), so a QUIC-LB-aware balancer routes a
    /// connection's packets back to it. Unique per node.
    pub node_id: u16,
    /// The AES-128 key (32 hex digits) that connection IDs are encrypted
    /// under, shared by every node and the balancer. A secret. Unset: a
    /// key kept in the data dir (fine for one node; a balancer cannot
    /// decode it).
    pub cid_key: Option<String>,
    /// NATS (`nats://host:4222`) that carries events between the nodes
    /// that share this database; unset: a single node.
    pub nats_url: Option<String>,
    /// The cluster's name: the prefix of its bus subjects, so several
    /// clusters can share one NATS.
    pub name: String,
}

/// The operator's HTTP endpoint (`/metrics`, `/health`, `/ready`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// TCP address to serve it on; off when unset. Plain HTTP: use a
    /// loopback or private address (e.g. `127.0.0.1:9464`).
    pub listen: Option<SocketAddr>,
}

/// Editing and recalling sent messages.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MessagesConfig {
    /// How long after sending its author may edit a text message
    /// (seconds).
    pub edit_window_secs: u64,
    /// How long after sending its author may recall a message (seconds),
    /// as WeChat does; group admins recall members' messages at any time.
    pub recall_window_secs: u64,
    /// Users a broadcast is delivered to per transaction, in the
    /// background (see `server/src/broadcasts.rs`).
    pub broadcast_batch: u32,
}

impl Default for MessagesConfig {
    fn default() -> Self {
        MessagesConfig {
            edit_window_secs: 15 * 60,
            recall_window_secs: 2 * 60,
            broadcast_batch: 500,
        }
    }
}

/// Group limits.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct GroupsConfig {
    /// Most members of one group (WhatsApp allows 1,024, WeChat 500).
    pub max_members: u32,
    /// Most live invite codes per group.
    pub max_invites: u32,
    /// Most groups one user may create per day.
    pub creates_per_day: u32,
}

impl Default for GroupsConfig {
    fn default() -> Self {
        GroupsConfig {
            max_members: 1000,
            max_invites: 100,
            creates_per_day: 50,
        }
    }
}

/// Who may send a direct message (or typing notices) to whom.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum MessagePolicy {
    /// Any user may message any user who has not blocked them.
    #[default]
    Anyone,
    /// Only friends may message each other.
    Friends,
}

/// Contacts settings and bounds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ContactsConfig {
    /// `anyone` (default) or `friends`.
    pub who_can_message: MessagePolicy,
    /// Most friends one user may have.
    pub max_friends: u32,
    /// Most pending friend requests one user may have sent.
    pub max_pending_requests: u32,
    /// Most friend categories per user.
    pub max_categories: u32,
    /// Most users one user may block.
    pub max_blocked: u32,
}

impl Default for ContactsConfig {
    fn default() -> Self {
        ContactsConfig {
            who_can_message: MessagePolicy::Anyone,
            max_friends: 5000,
            max_pending_requests: 200,
            max_categories: 100,
            max_blocked: 10_000,
        }
    }
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            node_id: 0,
            cid_key: None,
            nats_url: None,
            name: "quichat".into(),
        }
    }
}

impl std::fmt::Debug for ClusterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is a secret: never in logs.
        f.debug_struct("ClusterConfig")
            .field("node_id", &self.node_id)
            .field("cid_key", &self.cid_key.as_ref().map(|_| "***"))
            .field(
                "nats_url",
                &self.nats_url.as_deref().map(crate::store::redact_url),
            )
            .field("name", &self.name)
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 4433)),
            data_dir: PathBuf::from("quichat-data"),
            database_url: None,
            cert: None,
            key: None,
            hostnames: Vec::new(),
            db_max_connections: 16,
            transport: TransportConfig::default(),
            limits: LimitsConfig::default(),
            media: MediaConfig::default(),
            transcription: TranscriptionConfig::default(),
            contacts: ContactsConfig::default(),
            groups: GroupsConfig::default(),
            messages: MessagesConfig::default(),
            metrics: MetricsConfig::default(),
            cluster: ClusterConfig::default(),
        }
    }
}

impl Config {
    /// The database URL in effect.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) if !url.is_empty() => url.clone(),
            _ => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("quichat.db").display()
            ),
        }
    }

    /// The media URL in effect.
    pub fn effective_media_url(&self) -> String {
        self.media.effective_url(&self.data_dir)
    }
}

/// Where media bytes go and how big uploads may be.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MediaConfig {
    /// `file:///abs/dir` or `s3://bucket[/prefix]`. Empty means
    /// `file://<data_dir>/media`.
    pub url: Option<String>,
    /// S3 endpoint for MinIO/Garage (e.g. `http://127.0.0.1:3900`); empty
    /// for AWS.
    pub s3_endpoint: Option<String>,
    /// S3 region (`garage` for Garage).
    pub s3_region: String,
    /// Allow plain HTTP to the S3 endpoint (local MinIO/Garage only).
    pub s3_allow_http: bool,
    /// Access key id; falls back to `AWS_ACCESS_KEY_ID`.
    pub s3_access_key_id: Option<String>,
    /// Secret key; falls back to `AWS_SECRET_ACCESS_KEY`. Never logged.
    pub s3_secret_access_key: Option<String>,
    /// Multipart part size in bytes: the most an upload buffers in memory.
    /// At least 5 MiB on S3.
    pub part_size: u64,
    /// Largest file accepted (bytes).
    pub max_upload_bytes: u64,
    /// Bytes each user may store (sum of their uploads).
    pub quota_bytes: u64,
    /// Unfinished uploads idle for this long are aborted (seconds). An
    /// idle upload holds no memory meanwhile (its tail is spilled to disk);
    /// this is how long it stays resumable.
    pub upload_ttl_secs: u64,
    /// Unfinished uploads one user may have at once. Starting another
    /// evicts the least recently used idle one.
    pub max_unfinished_uploads: u32,
}

impl MediaConfig {
    /// The URL in effect: `url`, else `file://<data_dir>/media`.
    pub fn effective_url(&self, data_dir: &std::path::Path) -> String {
        match &self.url {
            Some(url) if !url.is_empty() => url.clone(),
            _ => format!("file://{}", data_dir.join("media").display()),
        }
    }
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            url: None,
            s3_endpoint: None,
            s3_region: "us-east-1".into(),
            s3_allow_http: false,
            s3_access_key_id: None,
            s3_secret_access_key: None,
            part_size: 8 * 1024 * 1024,
            max_upload_bytes: 2 * 1024 * 1024 * 1024,
            quota_bytes: 20 * 1024 * 1024 * 1024,
            upload_ttl_secs: 24 * 3600,
            max_unfinished_uploads: 8,
        }
    }
}

impl std::fmt::Debug for MediaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaConfig")
            .field("url", &self.url)
            .field("s3_endpoint", &self.s3_endpoint)
            .field("s3_region", &self.s3_region)
            .field("s3_allow_http", &self.s3_allow_http)
            .field("s3_access_key_id", &self.s3_access_key_id)
            .field(
                "s3_secret_access_key",
                &self.s3_secret_access_key.as_ref().map(|_| "***"),
            )
            .field("part_size", &self.part_size)
            .field("max_upload_bytes", &self.max_upload_bytes)
            .field("quota_bytes", &self.quota_bytes)
            .field("upload_ttl_secs", &self.upload_ttl_secs)
            .field("max_unfinished_uploads", &self.max_unfinished_uploads)
            .finish()
    }
}

/// Voice transcription workers (whisper.cpp).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TranscriptionConfig {
    /// ggml Whisper model. Without one, no worker runs in this process
    /// (jobs stay queued for a `quichat-server worker` elsewhere).
    pub model: Option<PathBuf>,
    /// Workers in this process (`serve` and `worker`).
    pub workers: u32,
    /// CPU threads per transcription. 1 measured fastest on 2 cores.
    pub threads: u32,
    /// `auto` or a language code such as `en`.
    pub language: String,
    /// `greedy` or `beam`.
    pub decoding: String,
    /// Beam width for `beam`.
    pub beam_size: u32,
    /// Attempts before a job is marked failed.
    pub max_attempts: u32,
    /// A claimed job whose worker is silent this long is taken over (s).
    pub lease_secs: u64,
    /// Longest voice note transcribed (s).
    pub max_audio_secs: u64,
    /// How often idle workers look for jobs (ms).
    pub poll_ms: u64,
}

impl Default for TranscriptionConfig {
    fn default() -> Self {
        TranscriptionConfig {
            model: None,
            workers: 1,
            threads: 1,
            language: "auto".into(),
            decoding: "greedy".into(),
            beam_size: 5,
            max_attempts: 5,
            lease_secs: 300,
            max_audio_secs: 600,
            poll_ms: 1000,
        }
    }
}

/// QUIC transport settings, chosen for phones behind NATs.
///
/// See ARCHITECTURE.md, "Transport settings", for the reasoning.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TransportConfig {
    /// A connection with no traffic for this long is closed (seconds).
    pub idle_timeout_secs: u64,
    /// Keep-alive interval the server uses (seconds); clients use their own.
    pub keep_alive_secs: u64,
    /// Per-stream receive window (bytes).
    pub stream_receive_window: u32,
    /// Per-connection receive window (bytes).
    pub receive_window: u32,
    /// Per-connection send window (bytes).
    pub send_window: u64,
    /// Concurrent bidirectional streams a client may open once
    /// authenticated.
    pub max_concurrent_bidi_streams: u32,
    /// Concurrent bidirectional streams before authentication (the control
    /// stream and one more); raised to `max_concurrent_bidi_streams` when
    /// the connection authenticates.
    pub streams_before_auth: u32,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            idle_timeout_secs: 60,
            keep_alive_secs: 0,
            stream_receive_window: 1024 * 1024,
            receive_window: 4 * 1024 * 1024,
            send_window: 4 * 1024 * 1024,
            max_concurrent_bidi_streams: 16,
            streams_before_auth: 2,
        }
    }
}

impl TransportConfig {
    /// Idle timeout as a duration.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs)
    }
}

/// Rate limits. Each is a token bucket: `burst` requests at once, refilled
/// at `per_minute`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Login attempts per username from one IP (the strict limit: a
    /// guesser on one address cannot lock the owner out of others).
    pub login_per_user_ip: RateLimit,
    /// Login attempts per username from all addresses together (a looser
    /// ceiling on distributed guessing).
    pub login_per_user: RateLimit,
    /// Login and registration attempts per client IP.
    pub auth_per_ip: RateLimit,
    /// Messages sent per user.
    pub sends_per_user: RateLimit,
    /// Control requests per connection.
    pub requests_per_connection: RateLimit,
    /// Typing notices per user.
    pub typing_per_user: RateLimit,
    /// How long a new stream may take to send its header, and a media
    /// stream its request, before it is refused (milliseconds). Bounds
    /// what a client can make the server buffer with frames it never
    /// finishes.
    pub first_frame_timeout_ms: u64,
    /// Password hashes (argon2id, 19 MiB each) running at once; 0 means
    /// one per CPU core.
    pub password_hashes: u32,
    /// Password hashes waiting for a slot; beyond that, logins and
    /// registrations get `rate_limited` at once.
    pub password_queue: u32,
    /// Largest control frame before authentication (bytes); after it, the
    /// protocol's 1 MiB. Hello, login and registration fit in far less.
    pub frame_before_auth: u32,
    /// Open connections from one IPv4 address or one IPv6 /64.
    pub max_connections_per_ip: u32,
    /// Authenticated connections of one user, all devices together.
    pub max_connections_per_user: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            login_per_user_ip: RateLimit {
                burst: 5,
                per_minute: 10,
            },
            login_per_user: RateLimit {
                burst: 30,
                per_minute: 60,
            },
            auth_per_ip: RateLimit {
                burst: 30,
                per_minute: 60,
            },
            sends_per_user: RateLimit {
                burst: 300,
                per_minute: 3000,
            },
            requests_per_connection: RateLimit {
                burst: 200,
                per_minute: 6000,
            },
            typing_per_user: RateLimit {
                burst: 5,
                per_minute: 30,
            },
            first_frame_timeout_ms: 10_000,
            password_hashes: 0,
            password_queue: 32,
            frame_before_auth: 16 * 1024,
            max_connections_per_ip: 256,
            max_connections_per_user: 32,
        }
    }
}

impl LimitsConfig {
    /// [`LimitsConfig::first_frame_timeout_ms`] as a duration.
    pub fn first_frame_timeout(&self) -> Duration {
        Duration::from_millis(self.first_frame_timeout_ms.max(1))
    }
}

/// One token bucket.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Requests allowed at once.
    pub burst: u32,
    /// Sustained requests per minute.
    pub per_minute: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_example_config_parses_and_matches_defaults_where_commented() {
        let text = include_str!("../../quichat.example.toml");
        let cfg: Config = toml::from_str(text).expect("example config must parse");
        assert_eq!(cfg.listen, Config::default().listen);
        assert_eq!(cfg.transport, TransportConfig::default());
        assert_eq!(cfg.limits, LimitsConfig::default());
        assert_eq!(cfg.media, MediaConfig::default());
        assert_eq!(cfg.transcription, TranscriptionConfig::default());
        assert_eq!(cfg.contacts, ContactsConfig::default());
        assert_eq!(cfg.cluster, ClusterConfig::default());
    }

    #[test]
    fn secrets_are_not_in_debug_output() {
        let mut cfg = Config::default();
        cfg.media.s3_secret_access_key = Some("very-secret".into());
        cfg.cluster.cid_key = Some("00112233445566778899aabbccddeeff".into());
        let shown = format!("{cfg:?}");
        assert!(!shown.contains("very-secret"));
        assert!(!shown.contains("00112233"), "{shown}");
    }

    #[test]
    fn default_database_is_sqlite_in_data_dir() {
        let url = Config::default().effective_database_url();
        assert!(url.starts_with("sqlite://"));
        assert!(url.contains("quichat.db"));
    }
}
