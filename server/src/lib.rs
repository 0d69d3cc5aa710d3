//! quichat server library.
//!
//! [`Server::start`] takes a [`Config`], opens the store, prepares
//! certificates, binds the QUIC endpoint and returns a [`ServerHandle`]
//! with `shutdown()`/`join()`. Only `main.rs` reads argv, environment and
//! config files, installs logging and handles signals. Tests use the same
//! handle on port 0.
//!
//! Code map (dependencies point down this list): `conn` accepts a
//! connection and routes its streams; the stream handlers `control` (with
//! `rpc/<domain>` for requests), `chat` and `media` work on a `ctx`
//! (per-connection state); they call the domain services (`accounts`,
//! `messages`, `conversations`, `history`, `receipts`, `events`), which
//! own their SQL over `store`; `hub` fans committed events out to online
//! devices, and `push` delivers them to one connection.

pub mod accounts;
pub mod admin;
pub mod admission;
pub mod backup;
pub mod broadcasts;
pub mod bus;
pub mod certs;
pub mod chat;
pub mod cid;
pub mod commit;
pub mod config;
pub mod conn;
pub mod contacts;
pub mod control;
pub mod conversations;
pub mod ctx;
pub mod error;
pub mod events;
pub mod fanout;
pub mod framed;
pub mod groups;
pub mod hashing;
pub mod history;
pub mod hub;
pub mod media;
pub mod mentions;
pub mod message_ops;
pub mod message_rows;
pub mod messages;
pub mod metrics;
pub mod notify;
pub mod ops_http;
pub mod presence;
pub mod private_fs;
pub mod profiles;
pub mod push;
pub mod rate_limit;
pub mod receipts;
pub mod rpc;
pub mod store;
pub mod transcribe;
pub mod transport;
pub mod worker;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use quichat_proto::error::close;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, Instrument};

pub use config::Config;
pub use error::{ServiceError, StartError, StoreError};

use accounts::Accounts;
use conversations::Conversations;
use events::Events;
use history::History;
use hub::Hub;
use messages::Messages;
use rate_limit::RateLimits;
use receipts::Receipts;
use store::Store;

/// Services shared by all connections.
#[derive(Debug)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// Accounts and devices.
    pub accounts: Accounts,
    /// Sending messages.
    pub messages: Messages,
    /// Membership and the conversation list.
    pub conversations: Conversations,
    /// Paged history.
    pub history: History,
    /// Profiles and the directory.
    pub profiles: profiles::Profiles,
    /// Friends, requests, categories, blocks.
    pub contacts: contacts::Contacts,
    /// Groups: lifecycle, members, roles, invites.
    pub groups: groups::Groups,
    /// Presence and typing.
    pub presence: presence::PresenceService,
    /// Delivered/read watermarks.
    pub receipts: Receipts,
    /// The group-commit writer's queue.
    pub committer: commit::Committer,
    /// Edit, recall, delete for me.
    pub message_ops: message_ops::MessageOps,
    /// Server broadcasts and their delivery.
    pub broadcasts: Arc<broadcasts::Broadcasts>,
    /// Event log reads.
    pub events: Events,
    /// Notification settings (mute, do-not-disturb).
    pub notify: notify::Notify,
    /// Online devices.
    pub hub: Arc<Hub>,
    /// Rate limiters.
    pub limits: RateLimits,
    /// Media bytes.
    pub media_store: media::MediaStore,
    /// Media metadata.
    pub media_meta: media::MediaMeta,
    /// Uploads in progress.
    pub uploads: media::Uploads,
    /// Transcription queue.
    pub jobs: transcribe::jobs::Jobs,
    /// Counters.
    pub metrics: Arc<metrics::Metrics>,
    /// Connection caps per address.
    pub admission: admission::Admission,
    /// Streams a connection may open once authenticated.
    pub streams_after_auth: u32,
}

/// Entry point of the library.
#[derive(Debug)]
pub struct Server;

/// A running server.
#[derive(Debug)]
pub struct ServerHandle {
    local_addr: SocketAddr,
    ca_path: Option<PathBuf>,
    fingerprint: String,
    database: String,
    cancel: CancellationToken,
    task: JoinHandle<()>,
    state: Arc<AppState>,
    metrics_addr: Option<SocketAddr>,
    endpoint: quinn::Endpoint,
    config: Config,
}

/// The certificate `config` names (operator PEM files), or the dev CA's.
fn load_identity(config: &Config) -> Result<certs::ServerIdentity, StartError> {
    match (&config.cert, &config.key) {
        (Some(cert), Some(key)) => certs::load_pem(cert, key),
        (None, None) => {
            certs::ensure_dev_identity(&config.data_dir.join("certs"), &config.hostnames)
        }
        _ => Err(StartError::Certs(
            "--cert and --key must be given together".into(),
        )),
    }
}

impl Server {
    /// Opens storage (running migrations), loads or generates certificates,
    /// binds the endpoint and starts accepting connections.
    pub async fn start(config: Config) -> Result<ServerHandle, StartError> {
        let url = config.effective_database_url();
        let store = Store::connect(&url, config.db_max_connections).await?;
        store.migrate().await?;
        let identity = load_identity(&config)?;
        let server_config = transport::server_config(&identity, &config.transport)?;
        let socket =
            std::net::UdpSocket::bind(config.listen).map_err(|reason| StartError::Bind {
                addr: config.listen,
                reason,
            })?;
        let runtime = quinn::default_runtime()
            .ok_or_else(|| StartError::Tls("no async runtime for quinn".into()))?;
        let endpoint = quinn::Endpoint::new(
            transport::endpoint_config(&config.data_dir, &config.cluster)?,
            Some(server_config),
            socket,
            runtime,
        )
        .map_err(|reason| StartError::Bind {
            addr: config.listen,
            reason,
        })?;
        let local_addr = endpoint.local_addr().map_err(|reason| StartError::Bind {
            addr: config.listen,
            reason,
        })?;
        let media_store = media::MediaStore::from_config(&config.media, &config.data_dir)?;
        let media_meta = media::MediaMeta::new(store.clone());
        let accounts = Accounts::new(
            store.clone(),
            Arc::new(hashing::HashGate::new(
                config.limits.password_hashes,
                config.limits.password_queue,
            )),
        );
        let contacts =
            contacts::Contacts::new(store.clone(), accounts.clone(), config.contacts.clone());
        let hub = Arc::new(Hub::default());
        let metrics = Arc::new(metrics::Metrics::default());
        let (committer, commit_writer) =
            commit::channel(store.clone(), hub.clone(), metrics.clone());
        let messages = Messages::new(
            store.clone(),
            accounts.clone(),
            media_meta.clone(),
            contacts.clone(),
            committer.clone(),
        );
        let conversations = Conversations::new(store.clone(), accounts.clone());
        let (presence_tx, presence_rx) = tokio::sync::mpsc::unbounded_channel();
        hub.add_presence_sink(presence_tx);
        let presence = presence::PresenceService::new(
            store.clone(),
            hub.clone(),
            accounts.clone(),
            contacts.clone(),
            conversations.clone(),
        );
        let spill_dir = config.data_dir.join("uploads");
        media::Uploads::prepare_spill_dir(&spill_dir).map_err(error::MediaError::Io)?;
        let uploads = media::Uploads::new(
            media_store.clone(),
            media_meta.clone(),
            accounts.clone(),
            conversations.clone(),
            config.media.clone(),
            spill_dir,
        );
        info!(media = %media_store.description(), "media store ready");
        let engine = load_engine(&config.transcription).await;
        let profiles = profiles::Profiles::new(store.clone(), media_meta.clone());
        let message_ops = message_ops::MessageOps::new(
            store.clone(),
            media_store.clone(),
            messages.clone(),
            config.messages.clone(),
        );
        let state = Arc::new(AppState {
            jobs: transcribe::jobs::Jobs::new(store.clone()),
            metrics: metrics.clone(),
            media_store,
            groups: groups::Groups::new(
                store.clone(),
                accounts.clone(),
                contacts.clone(),
                profiles.clone(),
                config.groups.clone(),
            ),
            profiles,
            media_meta,
            uploads,
            receipts: Receipts::new(store.clone(), conversations.clone(), committer.clone()),
            committer,
            message_ops,
            broadcasts: Arc::new(broadcasts::Broadcasts::new(
                store.clone(),
                hub.clone(),
                config.messages.broadcast_batch,
            )),
            history: History::new(store.clone(), conversations.clone()),
            contacts,
            presence,
            conversations,
            events: Events::new(store.clone()),
            notify: notify::Notify::new(store.clone()),
            hub,
            limits: RateLimits::new(&config.limits, &metrics),
            admission: admission::Admission::new(config.limits.max_connections_per_ip),
            streams_after_auth: config.transport.max_concurrent_bidi_streams,
            accounts,
            messages,
            store,
        });
        let cancel = CancellationToken::new();
        let tracker = TaskTracker::new();
        let metrics_addr = match config.metrics.listen {
            Some(addr) => Some(
                ops_http::start(addr, state.clone(), &tracker, cancel.clone())
                    .await
                    .map_err(|reason| StartError::Bind { addr, reason })?,
            ),
            None => None,
        };
        if let Some(url) = &config.cluster.nats_url {
            let client = bus::connect(url).await?;
            bus::spawn(
                client,
                bus::BusConfig {
                    cluster: config.cluster.name.clone(),
                    node: config.cluster.node_id,
                },
                state.hub.clone(),
                state.notify.clone(),
                state.metrics.clone(),
                &tracker,
                cancel.clone(),
            );
            info!(nats = %store::redact_url(url), node = config.cluster.node_id, "joined the cluster bus");
        }
        tracker.spawn(commit_writer.run(cancel.clone()));
        tracker.spawn(state.broadcasts.clone().run(cancel.clone()));
        tracker.spawn(presence::run(
            state.presence.clone(),
            presence_rx,
            cancel.clone(),
        ));
        if let Some(engine) = engine {
            let deps = transcribe::worker::WorkerDeps {
                jobs: state.jobs.clone(),
                media: state.media_store.clone(),
                engine,
                config: config.transcription.clone(),
                hub: Some(state.hub.clone()),
                ready: state.messages.jobs_ready.clone(),
                metrics: state.metrics.clone(),
            };
            transcribe::worker::spawn_workers(&deps, &tracker, &cancel, "serve");
        }
        tracker.spawn(transcribe::outbox::relay(
            state.store.clone(),
            state.events.clone(),
            state.hub.clone(),
            cancel.clone(),
        ));
        let endpoint_handle = endpoint.clone();
        let task = tokio::spawn(
            run(endpoint, state.clone(), cancel.clone(), tracker)
                .instrument(tracing::info_span!("server", addr = %local_addr)),
        );
        info!(%local_addr, database = %store::redact_url(&url), "server started");
        Ok(ServerHandle {
            local_addr,
            ca_path: identity.ca_path.clone(),
            fingerprint: identity.fingerprint.clone(),
            database: store::redact_url(&url),
            cancel,
            task,
            state,
            metrics_addr,
            endpoint: endpoint_handle,
            config,
        })
    }
}

impl ServerHandle {
    /// The bound UDP address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Where `/metrics`, `/health` and `/ready` are served, if enabled.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// Path of the generated dev CA, if in use.
    pub fn ca_path(&self) -> Option<&PathBuf> {
        self.ca_path.as_ref()
    }

    /// SHA-256 fingerprint (hex) clients can pin.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The database URL with any password redacted.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// Shared services (for tests and tools).
    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// Reads the certificate files again (after a renewal) and serves new
    /// connections with them; connections already open carry on with the
    /// certificate they were made with, so nothing drops. Returns the new
    /// SHA-256 fingerprint. On any error the old certificate stays in use.
    pub fn reload_tls(&self) -> Result<String, StartError> {
        if self.cancel.is_cancelled() {
            return Err(StartError::Certs("the server is shutting down".into()));
        }
        let identity = load_identity(&self.config)?;
        let server_config = transport::server_config(&identity, &self.config.transport)?;
        self.endpoint.set_server_config(Some(server_config));
        info!(fingerprint = %identity.fingerprint, "TLS certificate reloaded");
        Ok(identity.fingerprint.clone())
    }

    /// Asks the server to stop: no new connections, existing ones closed
    /// with [`close::SHUTTING_DOWN`].
    pub fn shutdown(&self) {
        self.cancel.cancel();
    }

    /// Waits until the server has fully stopped.
    pub async fn join(self) {
        let _ = self.task.await;
    }

    /// `shutdown()` then `join()`.
    pub async fn stop(self) {
        self.shutdown();
        self.join().await;
    }
}

/// Loads the Whisper model if one is configured. Without a model (or in a
/// build without the `transcribe` feature) this process runs no workers,
/// and voice notes wait for a `quichat-server worker` elsewhere.
pub async fn load_engine(
    config: &config::TranscriptionConfig,
) -> Option<Arc<transcribe::engine::Engine>> {
    let Some(path) = config.model.clone() else {
        info!("transcription: no Whisper model configured; voice notes wait for a worker process");
        return None;
    };
    let cfg = config.clone();
    let loaded =
        tokio::task::spawn_blocking(move || transcribe::engine::Engine::load(&path, &cfg)).await;
    match loaded {
        Ok(Ok(engine)) => {
            info!(
                workers = config.workers,
                threads = config.threads,
                "transcription enabled"
            );
            Some(Arc::new(engine))
        }
        Ok(Err(e)) => {
            tracing::warn!("transcription disabled: {e}");
            None
        }
        Err(e) => {
            tracing::warn!("transcription disabled: {e}");
            None
        }
    }
}

async fn run(
    endpoint: quinn::Endpoint,
    state: Arc<AppState>,
    cancel: CancellationToken,
    tracker: TaskTracker,
) {
    let mut prune = tokio::time::interval(Duration::from_secs(60));
    let mut last_seen = tokio::time::interval(accounts::LAST_SEEN_FLUSH);
    loop {
        tokio::select! {
            incoming = endpoint.accept() => match incoming {
                Some(incoming) => {
                    tracker.spawn(conn::handle(state.clone(), incoming, tracker.clone(), cancel.clone()));
                }
                None => break,
            },
            _ = prune.tick() => {
                state.limits.prune();
                state.uploads.sweep().await;
            }
            _ = last_seen.tick() => {
                if let Err(e) = state.accounts.flush_last_seen().await {
                    tracing::warn!("writing last-seen times: {e}");
                }
            }
            _ = cancel.cancelled() => break,
        }
    }
    info!("shutting down: refusing new connections");
    endpoint.set_server_config(None);
    cancel.cancel();
    tracker.close();
    if tokio::time::timeout(Duration::from_secs(10), tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("some connection tasks did not finish within 10 s");
    }
    endpoint.close(close::SHUTTING_DOWN.into(), b"server shutting down");
    state.uploads.abort_all().await;
    if let Err(e) = state.accounts.flush_last_seen().await {
        tracing::warn!("writing last-seen times at shutdown: {e}");
    }
    endpoint.wait_idle().await;
    state.store.close().await;
    info!("shutdown complete");
}
