//! The gate in front of argon2id: at most `concurrency` password hashes
//! run at once (each takes 19 MiB and a core for tens of milliseconds),
//! and at most `queue` more wait. A request beyond that is answered
//! `rate_limited` at once instead of piling up memory and latency: 40
//! concurrent registrations from one address used to run 30 hashes at
//! once and keep the server's RSS 500 MiB higher.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::error::ServiceError;

/// How long a refused caller is told to wait.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Bounds concurrent password hashing.
#[derive(Debug)]
pub struct HashGate {
    permits: Arc<Semaphore>,
    queue: usize,
    waiting: AtomicUsize,
    running: AtomicUsize,
    peak: AtomicUsize,
}

impl HashGate {
    /// `concurrency` hashes at once (0: one per CPU core), `queue` waiting.
    pub fn new(concurrency: u32, queue: u32) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let concurrency = match concurrency {
            0 => cores,
            n => n as usize,
        };
        HashGate {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            queue: queue as usize,
            waiting: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    /// Runs `work` on the blocking pool once a slot is free, or refuses
    /// with `rate_limited` when the queue is full.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, ServiceError> + Send + 'static,
    ) -> Result<T, ServiceError> {
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.queue {
                    self.waiting.fetch_sub(1, Ordering::SeqCst);
                    return Err(ServiceError::RateLimited {
                        retry_after: RETRY_AFTER,
                    });
                }
                let permit = self.permits.clone().acquire_owned().await;
                self.waiting.fetch_sub(1, Ordering::SeqCst);
                permit.map_err(|_| ServiceError::Internal("password hashing stopped".into()))?
            }
        };
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        let result = tokio::task::spawn_blocking(work).await;
        self.running.fetch_sub(1, Ordering::SeqCst);
        drop(permit);
        result.map_err(|e| ServiceError::Internal(format!("password task: {e}")))?
    }

    /// The most hashes that ran at once so far (for tests and metrics).
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}
