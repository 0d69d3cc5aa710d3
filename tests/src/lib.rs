//! Test harness for end-to-end tests: real servers on 127.0.0.1:0, real
//! SQLite files and real PostgreSQL databases, real QUIC clients.
//!
//! PostgreSQL: every test that runs on PostgreSQL gets a fresh database
//! created through `QUICHAT_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and dropped afterwards.
//! Set `QUICHAT_TEST_SKIP_POSTGRES=1` to opt out explicitly; otherwise an
//! unreachable PostgreSQL fails the tests.

#![allow(clippy::unwrap_used)]

pub mod relay;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use quichat_client::proto::event::{Event, EventBody};
use quichat_client::{Client, ClientConfig, EventStream, Trust};
use quichat_server::{Config, Server, ServerHandle};
use sqlx::Connection;
use sqlx::Executor;

/// Default admin URL for creating per-test databases.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in the test's data dir.
    Sqlite,
    /// A fresh PostgreSQL database.
    Postgres,
}

/// Where media bytes go in a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaBackend {
    /// A local directory in the test's data dir.
    Local,
    /// The Garage (or other S3) server named by `QUICHAT_TEST_S3_*`, under
    /// a fresh prefix per test.
    S3,
}

/// True when S3 tests were explicitly switched off.
pub fn s3_skipped() -> bool {
    std::env::var("QUICHAT_TEST_SKIP_S3").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Points `config.media` at the test S3 server (see `scripts/garage-up.sh`,
/// which `scripts/test.sh` runs), under a unique prefix.
pub fn use_s3(config: &mut Config) -> Result<()> {
    let var = |name: &str| {
        std::env::var(name).with_context(|| {
            format!(
                "{name} is not set: run the tests through scripts/test.sh (which starts Garage), \
                 or `eval \"$(scripts/garage-up.sh)\"` first; QUICHAT_TEST_SKIP_S3=1 opts out"
            )
        })
    };
    config.media.url = Some(format!(
        "s3://{}/test-{}",
        var("QUICHAT_TEST_S3_BUCKET")?,
        uuid::Uuid::now_v7().simple()
    ));
    config.media.s3_endpoint = Some(var("QUICHAT_TEST_S3_ENDPOINT")?);
    config.media.s3_region = var("QUICHAT_TEST_S3_REGION")?;
    config.media.s3_access_key_id = Some(var("QUICHAT_TEST_S3_ACCESS_KEY_ID")?);
    config.media.s3_secret_access_key = Some(var("QUICHAT_TEST_S3_SECRET_ACCESS_KEY")?);
    config.media.s3_allow_http = true;
    Ok(())
}

/// True when the cluster (NATS) tests were explicitly switched off.
pub fn nats_skipped() -> bool {
    std::env::var("QUICHAT_TEST_SKIP_NATS").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// The NATS the cluster tests use: `QUICHAT_TEST_NATS_URL`, default the
/// local one (`.ci/run` starts it when it is missing).
pub fn nats_url() -> String {
    std::env::var("QUICHAT_TEST_NATS_URL")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "nats://127.0.0.1:4222".into())
}

/// True when PostgreSQL tests were explicitly switched off.
pub fn postgres_skipped() -> bool {
    std::env::var("QUICHAT_TEST_SKIP_POSTGRES").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Installs a test log subscriber once (RUST_LOG controls it).
pub fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
}

/// A database that exists for one test.
#[derive(Debug)]
pub struct TestDb {
    /// URL for the server.
    pub url: String,
    pg: Option<(String, String)>,
}

impl TestDb {
    /// Creates the database for `backend` (SQLite lives in `dir`).
    pub async fn create(backend: Backend, dir: &std::path::Path) -> Result<TestDb> {
        match backend {
            Backend::Sqlite => Ok(TestDb {
                url: format!("sqlite://{}?mode=rwc", dir.join("quichat.db").display()),
                pg: None,
            }),
            Backend::Postgres => {
                let admin = std::env::var("QUICHAT_TEST_POSTGRES_URL")
                    .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string());
                let name = format!("quichat_test_{}", uuid::Uuid::now_v7().simple());
                let mut conn = sqlx::PgConnection::connect(&admin).await.with_context(|| {
                    format!(
                        "PostgreSQL is required for these tests (set QUICHAT_TEST_POSTGRES_URL, \
                         or QUICHAT_TEST_SKIP_POSTGRES=1 to opt out); cannot connect to {admin}"
                    )
                })?;
                conn.execute(format!("CREATE DATABASE {name}").as_str())
                    .await?;
                conn.close().await?;
                let base = admin
                    .rsplit_once('/')
                    .map(|(b, _)| b.to_string())
                    .unwrap_or(admin.clone());
                Ok(TestDb {
                    url: format!("{base}/{name}"),
                    pg: Some((admin, name)),
                })
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg.take() {
            // Drop on a separate thread with its own runtime: Drop cannot await.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                rt.block_on(async move {
                    let mut conn = sqlx::PgConnection::connect(&admin).await?;
                    conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                        .await?;
                    conn.close().await
                })
                .map_err(std::io::Error::other)
            })
            .join();
        }
    }
}

/// A server with its data directory and database.
#[derive(Debug)]
pub struct TestServer {
    /// The running server (None while stopped).
    pub handle: Option<ServerHandle>,
    /// Address clients connect to.
    pub addr: SocketAddr,
    /// The dev CA (PEM).
    pub ca_pem: Vec<u8>,
    /// The configuration it runs with.
    pub config: Config,
    /// Database lifetime guard.
    pub db: Arc<TestDb>,
    /// Data dir guard.
    pub dir: Arc<tempfile::TempDir>,
}

impl TestServer {
    /// Starts a server on `backend` with default limits.
    pub async fn start(backend: Backend) -> Result<TestServer> {
        Self::start_with(backend, |_| {}).await
    }

    /// Starts a server with the given database and media store.
    pub async fn start_media(
        db: Backend,
        media: MediaBackend,
        tweak: impl FnOnce(&mut Config),
    ) -> Result<TestServer> {
        let s3 = match media {
            MediaBackend::S3 => {
                let mut c = Config::default();
                use_s3(&mut c)?;
                Some(c.media)
            }
            MediaBackend::Local => None,
        };
        Self::start_with(db, move |c| {
            if let Some(m) = s3 {
                c.media = m;
            }
            tweak(c);
        })
        .await
    }

    /// Starts a server after letting `tweak` adjust the config.
    pub async fn start_with(
        backend: Backend,
        tweak: impl FnOnce(&mut Config),
    ) -> Result<TestServer> {
        init_logging();
        let dir = Arc::new(tempfile::tempdir()?);
        let db = Arc::new(TestDb::create(backend, dir.path()).await?);
        let mut config = Config {
            listen: "127.0.0.1:0".parse()?,
            data_dir: dir.path().to_path_buf(),
            database_url: Some(db.url.clone()),
            ..Config::default()
        };
        tweak(&mut config);
        let handle = Server::start(config.clone()).await?;
        let ca_path: PathBuf = handle.ca_path().context("dev CA expected")?.clone();
        Ok(TestServer {
            addr: handle.local_addr(),
            ca_pem: std::fs::read(ca_path)?,
            handle: Some(handle),
            config,
            db,
            dir,
        })
    }

    /// Stops the server gracefully.
    pub async fn stop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.stop().await;
        }
    }

    /// Stops and starts again on the same address, data dir and database.
    pub async fn restart(&mut self) -> Result<()> {
        self.stop().await;
        let mut config = self.config.clone();
        config.listen = self.addr;
        // quinn's endpoint driver may hold the UDP port for a moment after
        // the handle stopped: retry the bind briefly.
        let mut tries = 0;
        loop {
            match Server::start(config.clone()).await {
                Ok(h) => {
                    self.handle = Some(h);
                    return Ok(());
                }
                Err(quichat_server::StartError::Bind { .. }) if tries < 50 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Client config trusting this server's CA.
    pub fn client_config(&self) -> ClientConfig {
        ClientConfig::new(self.addr.to_string(), Trust::CaPem(self.ca_pem.clone()))
    }

    /// A new, unauthenticated connection.
    pub async fn connect(&self) -> Result<Client> {
        Ok(Client::connect(&self.client_config()).await?)
    }

    /// Registers `name` and returns the logged-in client and its token.
    pub async fn register(&self, name: &str) -> Result<(Client, String)> {
        let c = self.connect().await?;
        let (_, token) = c.register(name, &password_of(name), "test-device").await?;
        Ok((c, token))
    }

    /// A new device for an existing user (a second login).
    pub async fn login(&self, name: &str) -> Result<(Client, String)> {
        let c = self.connect().await?;
        let (_, token) = c.login(name, &password_of(name), "second-device").await?;
        Ok((c, token))
    }

    /// A new connection authenticated with an existing token.
    pub async fn resume(&self, token: &str) -> Result<Client> {
        let c = self.connect().await?;
        c.authenticate(token).await?;
        Ok(c)
    }
}

/// The password tests use for a user.
pub fn password_of(name: &str) -> String {
    format!("{name}-secret-password")
}

/// Waits for the next event from a feed, failing after 10 s.
pub async fn next_event(feed: &mut EventStream) -> Result<Event> {
    match tokio::time::timeout(Duration::from_secs(10), feed.next()).await {
        Ok(Some(Ok(e))) => Ok(e),
        Ok(Some(Err(e))) => Err(e.into()),
        Ok(None) => anyhow::bail!("event feed ended"),
        Err(_) => anyhow::bail!("no event within 10 s"),
    }
}

/// Waits for an event matching `pred`, skipping others, failing after 10 s.
pub async fn wait_for(
    feed: &mut EventStream,
    mut pred: impl FnMut(&EventBody) -> bool,
) -> Result<Event> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, feed.next()).await {
            Ok(Some(Ok(e))) if pred(&e.body) => return Ok(e),
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(e))) => return Err(e.into()),
            Ok(None) => anyhow::bail!("event feed ended"),
            Err(_) => anyhow::bail!("expected event did not arrive within 10 s"),
        }
    }
}

/// Waits for an event matching `pred`, with its flags, skipping others,
/// failing after 10 s.
pub async fn wait_for_flagged(
    feed: &mut EventStream,
    mut pred: impl FnMut(&EventBody) -> bool,
) -> Result<quichat_client::proto::notify::Flagged> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, feed.next_flagged()).await {
            Ok(Some(Ok(f))) if pred(&f.event.body) => return Ok(f),
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(e))) => return Err(e.into()),
            Ok(None) => anyhow::bail!("event feed ended"),
            Err(_) => anyhow::bail!("expected event did not arrive within 10 s"),
        }
    }
}

/// Asserts that no event arrives within `wait`.
pub async fn assert_quiet(feed: &mut EventStream, wait: Duration) -> Result<()> {
    match tokio::time::timeout(wait, feed.next()).await {
        Err(_) => Ok(()),
        Ok(other) => anyhow::bail!("expected no event, got {other:?}"),
    }
}

/// Generates `local::<name>` (SQLite + local directory, the embedded
/// defaults) and `s3::<name>` (PostgreSQL + Garage, the production setup)
/// tests from `async fn <name>(db: Backend, media: MediaBackend)`.
#[macro_export]
macro_rules! on_both_media_backends {
    ($($name:ident),* $(,)?) => {
        mod local {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() -> anyhow::Result<()> {
                    super::$name($crate::Backend::Sqlite, $crate::MediaBackend::Local).await
                }
            )*
        }
        mod s3 {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() -> anyhow::Result<()> {
                    if $crate::s3_skipped() {
                        eprintln!("QUICHAT_TEST_SKIP_S3 is set: skipping");
                        return Ok(());
                    }
                    let db = if $crate::postgres_skipped() {
                        $crate::Backend::Sqlite
                    } else {
                        $crate::Backend::Postgres
                    };
                    super::$name(db, $crate::MediaBackend::S3).await
                }
            )*
        }
    };
}

/// Generates `<name>_sqlite` and `<name>_postgres` tests from
/// `async fn <name>(backend: Backend) -> anyhow::Result<()>`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() -> anyhow::Result<()> {
                    super::$name($crate::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() -> anyhow::Result<()> {
                    if $crate::postgres_skipped() {
                        eprintln!("QUICHAT_TEST_SKIP_POSTGRES is set: skipping");
                        return Ok(());
                    }
                    super::$name($crate::Backend::Postgres).await
                }
            )*
        }
    };
}

/// A bare QUIC connection to the server, for speaking raw bytes.
pub async fn raw_connect(server: &TestServer) -> Result<quinn::Connection> {
    let tls = quichat_client::trust::tls_config(&Trust::CaPem(server.ca_pem.clone()))?;
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls)?;
    let mut endpoint = quinn::Endpoint::client("127.0.0.1:0".parse()?)?;
    endpoint.set_default_client_config(quinn::ClientConfig::new(Arc::new(crypto)));
    Ok(endpoint.connect(server.addr, "localhost")?.await?)
}

/// Reads one frame of type `T` from a raw stream, failing after 10 s.
/// Reads only as far as that frame (byte by byte after the header), so
/// the stream can be read on.
pub async fn read_frame<T: serde::de::DeserializeOwned>(recv: &mut quinn::RecvStream) -> Result<T> {
    use quichat_client::proto::frame::{announced_len, decode_body, HEADER_LEN, MAX_FRAME};
    let read = async {
        let mut header = [0u8; HEADER_LEN];
        recv.read_exact(&mut header).await?;
        let len = announced_len(&header).unwrap_or(usize::MAX);
        anyhow::ensure!(len <= MAX_FRAME, "frame of {len} bytes is over the limit");
        let mut body = vec![0u8; len];
        recv.read_exact(&mut body).await?;
        Ok::<_, anyhow::Error>(decode_body::<T>(&body)?)
    };
    match tokio::time::timeout(Duration::from_secs(10), read).await {
        Ok(result) => result.map_err(|e| anyhow::anyhow!("no frame: {e}")),
        Err(_) => anyhow::bail!("no frame within 10 s"),
    }
}

/// Waits for the connection to close and returns the application close
/// code, failing after 10 s or on a non-application close.
pub async fn close_code(conn: &quinn::Connection) -> Result<u64> {
    match tokio::time::timeout(Duration::from_secs(10), conn.closed()).await {
        Ok(quinn::ConnectionError::ApplicationClosed(a)) => Ok(a.error_code.into_inner()),
        Ok(other) => anyhow::bail!("connection closed without an application code: {other}"),
        Err(_) => anyhow::bail!("connection not closed within 10 s"),
    }
}

/// Deterministic pseudo-random content of any size, generated on the fly
/// (nothing large is committed or held in memory). Seekable.
#[derive(Debug, Clone)]
pub struct PatternReader {
    seed: u64,
    size: u64,
    pos: u64,
}

impl PatternReader {
    /// `size` bytes derived from `seed`.
    pub fn new(seed: u64, size: u64) -> Self {
        PatternReader { seed, size, pos: 0 }
    }

    fn block(&self, index: u64) -> [u8; 8] {
        // splitmix64 of (seed, block index)
        let mut z = self.seed ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)).to_le_bytes()
    }

    /// All bytes (only for small sizes).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut r = self.clone();
        r.pos = 0;
        let mut out = Vec::with_capacity(self.size as usize);
        while r.pos < r.size {
            let b = r.block(r.pos / 8);
            out.push(b[(r.pos % 8) as usize]);
            r.pos += 1;
        }
        out
    }
}

impl tokio::io::AsyncRead for PatternReader {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let left = self.size - self.pos;
        let n = (buf.remaining() as u64).min(left) as usize;
        let mut written = 0;
        while written < n {
            let b = self.block(self.pos / 8);
            let off = (self.pos % 8) as usize;
            let take = (8 - off).min(n - written);
            buf.put_slice(&b[off..off + take]);
            written += take;
            self.pos += take as u64;
        }
        std::task::Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncSeek for PatternReader {
    fn start_seek(
        mut self: std::pin::Pin<&mut Self>,
        position: std::io::SeekFrom,
    ) -> std::io::Result<()> {
        let new = match position {
            std::io::SeekFrom::Start(p) => p as i128,
            std::io::SeekFrom::End(d) => self.size as i128 + d as i128,
            std::io::SeekFrom::Current(d) => self.pos as i128 + d as i128,
        };
        if new < 0 || new > self.size as i128 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "seek out of range",
            ));
        }
        self.pos = new as u64;
        Ok(())
    }

    fn poll_complete(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<u64>> {
        std::task::Poll::Ready(Ok(self.pos))
    }
}

/// SHA-256 of a pattern.
pub async fn pattern_sha(seed: u64, size: u64) -> Result<[u8; 32]> {
    let (sha, _) = quichat_client::media::hash_reader(&mut PatternReader::new(seed, size)).await?;
    Ok(sha)
}

/// The upload request for pattern `seed` of `size` bytes, sent to `to`,
/// with the client's stable upload id (so a repeat resumes it).
pub async fn pattern_request(
    client: &Client,
    to: &str,
    seed: u64,
    size: u64,
) -> Result<quichat_client::proto::media::UploadRequest> {
    let sha256 = pattern_sha(seed, size).await?;
    Ok(quichat_client::proto::media::UploadRequest {
        upload_id: client.stable_upload_id(&sha256, size),
        size,
        sha256,
        mime: "application/octet-stream".into(),
        filename: format!("pattern-{seed}.bin"),
        kind: quichat_client::proto::media::MediaKind::File,
        duration_ms: None,
        conversation: quichat_client::proto::types::ConversationRef::Direct(to.into()),
    })
}

/// Downloads a whole media object; returns its SHA-256 and length.
pub async fn download_sha(client: &Client, id: uuid::Uuid) -> Result<([u8; 32], u64)> {
    let mut sink = HashSink::default();
    let (_, n) = client
        .download(
            id,
            quichat_client::proto::media::MediaVariant::Original,
            0,
            None,
            &mut sink,
            |_, _| {},
        )
        .await?;
    Ok((sink.sha(), n))
}

/// A sink that hashes what it receives.
#[derive(Debug, Default)]
pub struct HashSink {
    hasher: sha2::Sha256,
    /// Bytes written.
    pub len: u64,
}

impl HashSink {
    /// The digest of everything written.
    pub fn sha(self) -> [u8; 32] {
        use sha2::Digest;
        self.hasher.finalize().into()
    }
}

impl tokio::io::AsyncWrite for HashSink {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        use sha2::Digest;
        self.hasher.update(buf);
        self.len += buf.len() as u64;
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// The Whisper test model: `QUICHAT_TEST_WHISPER_MODEL`, which
/// `scripts/test.sh` sets after running `scripts/fetch-test-model.sh`.
/// `QUICHAT_TEST_SKIP_WHISPER=1` skips the voice tests explicitly.
pub fn whisper_model() -> Result<Option<PathBuf>> {
    if std::env::var("QUICHAT_TEST_SKIP_WHISPER").is_ok_and(|v| !v.is_empty() && v != "0") {
        return Ok(None);
    }
    let path = std::env::var("QUICHAT_TEST_WHISPER_MODEL").context(
        "QUICHAT_TEST_WHISPER_MODEL is not set: run the tests through scripts/test.sh, or \
         `export QUICHAT_TEST_WHISPER_MODEL=$(scripts/fetch-test-model.sh)`; \
         QUICHAT_TEST_SKIP_WHISPER=1 opts out",
    )?;
    let path = PathBuf::from(path);
    anyhow::ensure!(
        path.is_file(),
        "Whisper model {} does not exist",
        path.display()
    );
    Ok(Some(path))
}

/// Speaks `text` into a 16-bit WAV with espeak-ng (22.05 kHz mono).
pub fn speak_wav(text: &str, out: &std::path::Path) -> Result<()> {
    let status = std::process::Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "150", "-w"])
        .arg(out)
        .arg(text)
        .status()
        .context("espeak-ng is required for the voice tests (apt install espeak-ng)")?;
    anyhow::ensure!(status.success(), "espeak-ng failed");
    Ok(())
}

/// Converts audio with sox (`extra` are output options, e.g. `-r 48000`).
pub fn sox(input: &std::path::Path, output: &std::path::Path, extra: &[&str]) -> Result<()> {
    let status = std::process::Command::new("sox")
        .arg(input)
        .args(extra)
        .arg(output)
        .status()
        .context("sox is required for the voice tests (apt install sox libsox-fmt-all)")?;
    anyhow::ensure!(status.success(), "sox failed");
    Ok(())
}

/// Encodes Ogg/Opus with opusenc (what phones record).
pub fn opusenc(input: &std::path::Path, output: &std::path::Path) -> Result<()> {
    let status = std::process::Command::new("opusenc")
        .args(["--quiet", "--bitrate", "24"])
        .arg(input)
        .arg(output)
        .status()
        .context("opusenc is required for the voice tests (apt install opus-tools)")?;
    anyhow::ensure!(status.success(), "opusenc failed");
    Ok(())
}

/// Word error rate: word-level Levenshtein distance between the
/// normalised hypothesis and reference (lower case, letters, digits and
/// apostrophes only), divided by the number of reference words.
pub fn word_error_rate(reference: &str, hypothesis: &str) -> f64 {
    fn words(s: &str) -> Vec<String> {
        s.to_lowercase()
            .split(|c: char| !(c.is_alphanumeric() || c == '\''))
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect()
    }
    let r = words(reference);
    let h = words(hypothesis);
    if r.is_empty() {
        return if h.is_empty() { 0.0 } else { 1.0 };
    }
    let mut prev: Vec<usize> = (0..=h.len()).collect();
    for (i, rw) in r.iter().enumerate() {
        let mut cur = vec![i + 1; h.len() + 1];
        for (j, hw) in h.iter().enumerate() {
            let sub = prev[j] + usize::from(rw != hw);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[h.len()] as f64 / r.len() as f64
}

#[cfg(test)]
mod wer_tests {
    use super::word_error_rate;

    #[test]
    fn wer_counts_substitutions_insertions_deletions() {
        assert_eq!(word_error_rate("the cat sat", "The cat, sat!"), 0.0);
        assert!((word_error_rate("the cat sat", "the bat sat") - 1.0 / 3.0).abs() < 1e-9);
        assert!((word_error_rate("the cat sat", "the cat") - 1.0 / 3.0).abs() < 1e-9);
        assert!((word_error_rate("the cat sat", "the cat sat down") - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(word_error_rate("a b", ""), 1.0);
    }
}
