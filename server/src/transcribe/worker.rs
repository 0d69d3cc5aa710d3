//! Transcription workers: claim, fetch, decode, transcribe, store.

use std::sync::Arc;
use std::time::Duration;

use object_store::path::Path as ObjectPath;
use quichat_audio::AudioError;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn, Instrument};

use super::engine::Engine;
use super::jobs::{Job, Jobs, Outcome};
use crate::config::TranscriptionConfig;
use crate::hub::Hub;
use crate::media::MediaStore;

/// What workers need.
#[derive(Debug, Clone)]
pub struct WorkerDeps {
    /// The queue.
    pub jobs: Jobs,
    /// Where audio is.
    pub media: MediaStore,
    /// The loaded model.
    pub engine: Arc<Engine>,
    /// Settings.
    pub config: TranscriptionConfig,
    /// In `serve`: publish events directly. In `worker`: `None`, events
    /// go through the outbox.
    pub hub: Option<Arc<Hub>>,
    /// Woken when a job is queued in this process.
    pub ready: Arc<tokio::sync::Notify>,
    /// Where job outcomes and durations are counted.
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// Starts `config.workers` workers on `tracker`.
pub fn spawn_workers(
    deps: &WorkerDeps,
    tracker: &TaskTracker,
    cancel: &CancellationToken,
    name: &str,
) {
    for i in 0..deps.config.workers {
        let id = format!("{name}-{}-{i}", std::process::id());
        let span = tracing::info_span!("worker", id = %id);
        tracker.spawn(run(deps.clone(), id, cancel.clone()).instrument(span));
    }
}

/// The dedicated thread a worker decodes and transcribes on.
///
/// Not tokio's blocking pool: glibc keeps the memory whisper.cpp frees
/// after a run (its state, ~30 MiB for tiny.en) cached in the arena of the
/// thread that freed it, and on the pool's changing threads every voice
/// note could leave one more such copy behind (the soak test saw RSS grow
/// ~37 MiB per voice note, +263 MiB after seven, under mixed load). On one
/// thread per worker at most one copy per worker is retained, as for the
/// password hashes (`hashing.rs`).
#[derive(Debug)]
struct Lane {
    work: std::sync::mpsc::Sender<Box<dyn FnOnce() + Send>>,
}

impl Lane {
    /// Starts the thread; it ends when the lane is dropped.
    fn start(name: &str) -> std::io::Result<Lane> {
        let (work, rx) = std::sync::mpsc::channel::<Box<dyn FnOnce() + Send>>();
        std::thread::Builder::new()
            .name(format!("whisper-{name}"))
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    // A panicking job fails its own caller (its answer is
                    // dropped), not the thread.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                }
            })?;
        Ok(Lane { work })
    }

    /// Runs `f` on the lane's thread.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, &'static str> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.work
            .send(Box::new(move || {
                let _ = tx.send(f());
            }))
            .map_err(|_| "the worker thread is gone")?;
        rx.await.map_err(|_| "the job panicked")
    }
}

/// One worker's loop.
pub async fn run(deps: WorkerDeps, id: String, cancel: CancellationToken) {
    let lane = match Lane::start(&id) {
        Ok(lane) => lane,
        Err(e) => {
            tracing::error!("cannot start the transcription thread: {e}");
            return;
        }
    };
    let lease = Duration::from_secs(deps.config.lease_secs.max(1));
    let poll = Duration::from_millis(deps.config.poll_ms.max(50));
    loop {
        if cancel.is_cancelled() {
            return;
        }
        match deps.jobs.claim(&id, lease).await {
            Ok(Some(job)) => {
                let started = std::time::Instant::now();
                let outcome = tokio::select! {
                    o = process(&deps, &lane, &job) => o,
                    // Shutdown: leave the job running; its lease expires
                    // and another worker takes it over.
                    _ = cancel.cancelled() => return,
                };
                deps.metrics
                    .transcription_duration
                    .observe(started.elapsed().as_secs_f64());
                let kind = match &outcome {
                    Outcome::Done(_) => "done",
                    Outcome::Retry { .. } => "retry",
                    Outcome::Failed { .. } => "failed",
                };
                crate::metrics::Metrics::count(&deps.metrics.transcription_jobs, kind);
                match deps
                    .jobs
                    .finish(
                        &job,
                        &id,
                        outcome,
                        deps.config.max_attempts,
                        deps.hub.is_none(),
                    )
                    .await
                {
                    Ok(fanout) => {
                        if let Some(hub) = &deps.hub {
                            hub.publish(fanout);
                        }
                    }
                    Err(e) => warn!(job = job.id, "cannot record job result: {e}"),
                }
            }
            Ok(None) => {
                tokio::select! {
                    _ = deps.ready.notified() => {}
                    _ = tokio::time::sleep(poll) => {}
                    _ = cancel.cancelled() => return,
                }
            }
            Err(e) => {
                warn!("cannot claim jobs: {e}");
                tokio::select! {
                    _ = tokio::time::sleep(poll) => {}
                    _ = cancel.cancelled() => return,
                }
            }
        }
    }
}

async fn process(deps: &WorkerDeps, lane: &Lane, job: &Job) -> Outcome {
    let started = std::time::Instant::now();
    let key = match deps.jobs.object_key(job).await {
        Ok(k) => k,
        Err(e) => {
            return Outcome::Retry {
                error: e.to_string(),
            }
        }
    };
    let bytes = match deps.media.get(&ObjectPath::from(key)).await {
        Ok(b) => b,
        Err(e) => {
            return Outcome::Retry {
                error: e.to_string(),
            }
        }
    };
    let max = deps.config.max_audio_secs;
    let decoded = lane
        .run(move || quichat_audio::to_whisper(&bytes, max))
        .await;
    let samples = match decoded {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            let reason = match e {
                AudioError::Unsupported(_) | AudioError::Corrupt(_) | AudioError::Empty => {
                    format!("the audio cannot be decoded: {e}")
                }
                other => other.to_string(),
            };
            return Outcome::Failed { reason };
        }
        Err(e) => {
            return Outcome::Retry {
                error: format!("decoder task: {e}"),
            }
        }
    };
    let audio_secs = samples.len() as f64 / 16_000.0;
    let engine = deps.engine.clone();
    let result = lane.run(move || engine.transcribe(&samples)).await;
    match result {
        Ok(Ok(transcript)) => {
            let took = started.elapsed().as_secs_f64();
            info!(
                job = job.id,
                audio_secs = format!("{audio_secs:.1}"),
                secs = format!("{took:.2}"),
                rtf = format!("{:.2}", took / audio_secs.max(0.01)),
                "transcribed"
            );
            Outcome::Done(transcript)
        }
        Ok(Err(e)) => Outcome::Retry {
            error: e.to_string(),
        },
        Err(e) => Outcome::Retry {
            error: format!("whisper task: {e}"),
        },
    }
}
