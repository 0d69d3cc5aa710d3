//! `quichat-server worker`: transcription workers without a listener.
//!
//! They share the database and the object store with the serving
//! processes; results reach online devices through the event outbox.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::error::StartError;
use crate::media::MediaStore;
use crate::store::Store;
use crate::transcribe::jobs::Jobs;
use crate::transcribe::worker::{spawn_workers, WorkerDeps};

/// Running standalone workers.
#[derive(Debug)]
pub struct WorkerHandle {
    cancel: CancellationToken,
    tracker: TaskTracker,
    store: Store,
}

/// Opens storage (running migrations), loads the model and starts
/// `config.transcription.workers` workers.
pub async fn start(config: Config) -> Result<WorkerHandle, StartError> {
    let store = Store::connect(&config.effective_database_url(), config.db_max_connections).await?;
    store.migrate().await?;
    let media = MediaStore::from_config(&config.media, &config.data_dir)?;
    let path =
        config.transcription.model.clone().ok_or_else(|| {
            StartError::Transcription("a worker needs --whisper-model PATH".into())
        })?;
    let cfg = config.transcription.clone();
    let engine =
        tokio::task::spawn_blocking(move || crate::transcribe::engine::Engine::load(&path, &cfg))
            .await
            .map_err(|e| StartError::Transcription(e.to_string()))?
            .map_err(|e| StartError::Transcription(e.to_string()))?;
    let deps = WorkerDeps {
        jobs: Jobs::new(store.clone()),
        media,
        engine: Arc::new(engine),
        config: config.transcription.clone(),
        hub: None,
        ready: Arc::new(tokio::sync::Notify::new()),
        // A worker process serves no metrics endpoint; its counts stay
        // local (the serving nodes' queue depth covers its backlog).
        metrics: Arc::new(crate::metrics::Metrics::default()),
    };
    let cancel = CancellationToken::new();
    let tracker = TaskTracker::new();
    spawn_workers(&deps, &tracker, &cancel, "worker");
    tracker.close();
    Ok(WorkerHandle {
        cancel,
        tracker,
        store,
    })
}

impl WorkerHandle {
    /// Stops the workers (a job in progress is left to its lease) and
    /// closes the pool.
    pub async fn stop(self) {
        self.cancel.cancel();
        self.tracker.wait().await;
        self.store.close().await;
    }
}
