//! The gate in front of argon2id: at most `concurrency` password hashes
//! run at once (each takes 19 MiB and a core for tens of milliseconds),
//! and at most `queue` more wait. A request beyond that is answered
//! `rate_limited` at once instead of piling up memory and latency: 40
//! concurrent registrations from one address used to run 30 hashes at
//! once and keep the server's RSS 500 MiB higher.
//!
//! Hashes run on `concurrency` dedicated threads, not on tokio's blocking
//! pool: glibc keeps a freed 19 MiB block cached in the arena of the
//! thread that freed it, so hashes spread over the pool's many threads
//! left one such block behind per thread (RSS ~700 MiB after a hundred
//! logins). On a fixed set of threads at most `concurrency` blocks are
//! ever retained.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use tokio::sync::{oneshot, Semaphore};

use crate::error::ServiceError;

/// How long a refused caller is told to wait.
const RETRY_AFTER: Duration = Duration::from_secs(1);

type Work = Box<dyn FnOnce() + Send>;

/// Bounds concurrent password hashing.
#[derive(Debug)]
pub struct HashGate {
    permits: Arc<Semaphore>,
    /// Work for the hashing threads; they stop when the gate is dropped.
    work: Mutex<mpsc::Sender<Work>>,
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
        let concurrency = concurrency.max(1);
        let (work, rx) = mpsc::channel::<Work>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..concurrency {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || loop {
                    let next = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    match next {
                        // A panicking hash fails its own caller (its
                        // answer is dropped), not the thread.
                        Ok(job) => {
                            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                        }
                        Err(_) => return,
                    }
                });
            if let Err(e) = spawned {
                tracing::error!("cannot start a password-hashing thread: {e}");
            }
        }
        HashGate {
            permits: Arc::new(Semaphore::new(concurrency)),
            work: Mutex::new(work),
            queue: queue as usize,
            waiting: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    /// Runs `work` on a hashing thread once a slot is free, or refuses
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
        let (tx, rx) = oneshot::channel();
        let queued = self
            .work
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(Box::new(move || {
                let _ = tx.send(work());
            }));
        let result = match queued {
            Ok(()) => rx
                .await
                .map_err(|_| ServiceError::Internal("a password-hashing thread stopped".into())),
            Err(_) => Err(ServiceError::Internal(
                "password hashing threads are gone".into(),
            )),
        };
        self.running.fetch_sub(1, Ordering::SeqCst);
        drop(permit);
        result?
    }

    /// The most hashes that ran at once so far (for tests and metrics).
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}
