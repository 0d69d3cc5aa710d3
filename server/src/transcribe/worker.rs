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

/// One worker's loop.
pub async fn run(deps: WorkerDeps, id: String, cancel: CancellationToken) {
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
                    o = process(&deps, &job) => o,
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

async fn process(deps: &WorkerDeps, job: &Job) -> Outcome {
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
    let decoded = tokio::task::spawn_blocking(move || quichat_audio::to_whisper(&bytes, max)).await;
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
    let result = tokio::task::spawn_blocking(move || engine.transcribe(&samples)).await;
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
