//! Group commit: many writes share one transaction and one fsync.
//!
//! Sends and receipts from every connection are queued to one writer
//! task. It takes whatever has queued up (at most `max_batch`), runs the
//! writes in one transaction, and commits once. A write that fails fails
//! alone: the batch is rolled back and its other writes run again, each in
//! its own savepoint (so the common, failure-free batch pays no savepoint
//! statements, and a batch with failures at most twice the work). For a
//! second after a failure, batches start with savepoints, so failures
//! that keep coming cost savepoints, not reruns. Only after the commit are the
//! batch's events published to the hub (in commit order) and the callers
//! answered, so an ack still means "committed and fsynced".
//!
//! There is no artificial delay: under light load a batch holds one write
//! and commits at once; under load, writes queue while a commit is in
//! flight and the next batch takes them all (as PostgreSQL's group commit
//! does). On SQLite the writer takes the store's write lock per batch, so
//! other writers still interleave between batches.

use std::sync::Arc;

use futures::future::BoxFuture;
use sqlx::{Any, Transaction};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::error::{ServiceError, StoreError};
use crate::events::Fanout;
use crate::hub::Hub;
use crate::metrics::Metrics;
use crate::store::Store;

/// Writes waiting for the writer; beyond this, submitters wait.
pub const QUEUE: usize = 4096;

/// Most writes in one transaction.
pub const MAX_BATCH: usize = 256;

/// A write: runs inside the batch's transaction and returns its value and
/// the events to publish once committed. It may run more than once (a
/// batch that had a failure runs again), each time in a fresh transaction.
pub type WriteFn<T> = Box<
    dyn for<'a> Fn(
            &'a mut Transaction<'static, Any>,
        ) -> BoxFuture<'a, Result<(T, Fanout), ServiceError>>
        + Send
        + Sync,
>;

/// Boxes a write closure as a [`WriteFn`] (the bound lets the compiler
/// infer the closure's higher-ranked signature).
pub fn job<T, F>(f: F) -> WriteFn<T>
where
    F: for<'a> Fn(
            &'a mut Transaction<'static, Any>,
        ) -> BoxFuture<'a, Result<(T, Fanout), ServiceError>>
        + Send
        + Sync
        + 'static,
{
    Box::new(f)
}

/// One queued write, its type erased. [`Committer::write`] wraps a
/// [`WriteFn`] in one; a service that merges many callers' writes into
/// one (receipts) implements it itself and answers its callers in
/// [`Job::finish`].
pub trait Job: Send {
    /// Runs the write; keeps its value until [`Job::finish`].
    fn run<'a>(
        &'a mut self,
        tx: &'a mut Transaction<'static, Any>,
    ) -> BoxFuture<'a, Result<Fanout, ServiceError>>;
    /// Answers the caller: the kept value once committed, or `error`.
    fn finish(self: Box<Self>, error: Option<ServiceError>);
}

struct Typed<T> {
    write: WriteFn<T>,
    value: Option<T>,
    reply: oneshot::Sender<Result<T, ServiceError>>,
}

impl<T: Send + 'static> Job for Typed<T> {
    fn run<'a>(
        &'a mut self,
        tx: &'a mut Transaction<'static, Any>,
    ) -> BoxFuture<'a, Result<Fanout, ServiceError>> {
        Box::pin(async move {
            let (value, fanout) = (self.write)(tx).await?;
            self.value = Some(value);
            Ok(fanout)
        })
    }

    fn finish(self: Box<Self>, error: Option<ServiceError>) {
        let result = match (error, self.value) {
            (Some(e), _) => Err(e),
            (None, Some(v)) => Ok(v),
            (None, None) => Err(ServiceError::Internal("a write did not run".into())),
        };
        let _ = self.reply.send(result);
    }
}

/// Handle to the commit writer; cheap to clone.
#[derive(Debug, Clone)]
pub struct Committer {
    queue: mpsc::Sender<Box<dyn Job>>,
}

/// What the writer needs.
#[derive(Debug)]
pub struct Writer {
    queue: mpsc::Receiver<Box<dyn Job>>,
    store: Store,
    hub: Arc<Hub>,
    metrics: Arc<Metrics>,
    max_batch: usize,
    /// When a write last failed: until [`GUARDED_AFTER_FAILURE`] later,
    /// batches run with savepoints from the start, so a client whose
    /// writes keep failing (resends, receipts for foreign conversations)
    /// cannot make every batch run twice.
    last_failure: Option<std::time::Instant>,
}

/// How long batches stay guarded after a failed write.
pub const GUARDED_AFTER_FAILURE: std::time::Duration = std::time::Duration::from_secs(1);

/// A committer and the writer that serves it; run the writer with
/// [`Writer::run`].
pub fn channel(store: Store, hub: Arc<Hub>, metrics: Arc<Metrics>) -> (Committer, Writer) {
    let (tx, rx) = mpsc::channel(QUEUE);
    (
        Committer { queue: tx },
        Writer {
            queue: rx,
            store,
            hub,
            metrics,
            max_batch: MAX_BATCH,
            last_failure: None,
        },
    )
}

fn shutting_down() -> ServiceError {
    ServiceError::Internal("the server is shutting down; retry".into())
}

impl Committer {
    /// Queues `write` and returns a future of its result, which resolves
    /// once the write's batch has committed (or the write failed). Waits
    /// only while the queue is full, so calls made in order are committed
    /// in that order.
    pub async fn enqueue<T: Send + 'static>(
        &self,
        write: WriteFn<T>,
    ) -> Result<impl std::future::Future<Output = Result<T, ServiceError>>, ServiceError> {
        let (reply, rx) = oneshot::channel();
        let job: Box<dyn Job> = Box::new(Typed {
            write,
            value: None,
            reply,
        });
        self.queue.send(job).await.map_err(|_| shutting_down())?;
        Ok(async move { rx.await.unwrap_or_else(|_| Err(shutting_down())) })
    }

    /// Queues a job of its own kind, waiting only while the queue is full;
    /// it answers its callers itself.
    pub async fn submit(&self, job: Box<dyn Job>) -> Result<(), Box<dyn Job>> {
        self.queue.send(job).await.map_err(|e| e.0)
    }

    /// Queues `write` and waits for its result.
    pub async fn write<T: Send + 'static>(&self, write: WriteFn<T>) -> Result<T, ServiceError> {
        self.enqueue(write).await?.await
    }
}

impl Writer {
    /// Commits batches until `cancel`; then commits what is still queued
    /// and stops.
    pub async fn run(mut self, cancel: CancellationToken) {
        let mut batch = Vec::with_capacity(self.max_batch);
        loop {
            let n = tokio::select! {
                n = self.queue.recv_many(&mut batch, self.max_batch) => n,
                _ = cancel.cancelled() => break,
            };
            if n == 0 {
                return;
            }
            self.commit(std::mem::take(&mut batch)).await;
        }
        self.queue.close();
        while self.queue.recv_many(&mut batch, self.max_batch).await > 0 {
            self.commit(std::mem::take(&mut batch)).await;
        }
    }

    async fn commit(&mut self, batch: Vec<Box<dyn Job>>) {
        self.metrics.commit_batches.inc();
        self.metrics.commit_batch_size.observe(batch.len() as f64);
        // Writes that failed are answered only after the batch is over: a
        // resend that collided with its original in this very batch must
        // find the original committed when it looks it up.
        let mut failed: Vec<(Box<dyn Job>, ServiceError)> = Vec::new();
        let guarded = self
            .last_failure
            .is_some_and(|t| t.elapsed() < GUARDED_AFTER_FAILURE);
        let started = std::time::Instant::now();
        let outcome = self.run_batch(batch, guarded, &mut failed).await;
        self.metrics
            .commit_duration
            .observe(started.elapsed().as_secs_f64());
        if !failed.is_empty() {
            self.last_failure = Some(std::time::Instant::now());
        }
        match outcome {
            Ok(done) => {
                for (job, fanout) in done {
                    self.hub.publish(fanout);
                    job.finish(None);
                }
            }
            Err((jobs, e)) => {
                warn!("group commit failed: {e}");
                for job in jobs {
                    job.finish(Some(batch_error(&e)));
                }
            }
        }
        for (job, error) in failed {
            job.finish(Some(error));
        }
    }

    /// Runs and commits one batch: the committed writes with their events,
    /// or (when the transaction itself failed) every write not yet in
    /// `failed`, with the cause.
    #[allow(clippy::type_complexity)]
    async fn run_batch(
        &self,
        mut batch: Vec<Box<dyn Job>>,
        guarded: bool,
        failed: &mut Vec<(Box<dyn Job>, ServiceError)>,
    ) -> Result<Vec<(Box<dyn Job>, Fanout)>, (Vec<Box<dyn Job>>, StoreError)> {
        if batch.len() > 1 && !guarded {
            match self.run_optimistic(batch, failed).await? {
                Ok(done) => return Ok(done),
                Err(rest) => batch = rest,
            }
            if batch.is_empty() {
                return Ok(Vec::new());
            }
        }
        self.run_guarded(batch, failed).await
    }

    /// Runs a batch with no savepoints. When a write fails, it goes to
    /// `failed`, the transaction is rolled back, and the other writes are
    /// returned (`Ok(Err(rest))`) to run again with savepoints.
    #[allow(clippy::type_complexity)]
    async fn run_optimistic(
        &self,
        batch: Vec<Box<dyn Job>>,
        failed: &mut Vec<(Box<dyn Job>, ServiceError)>,
    ) -> Result<
        Result<Vec<(Box<dyn Job>, Fanout)>, Vec<Box<dyn Job>>>,
        (Vec<Box<dyn Job>>, StoreError),
    > {
        let mut w = match self.store.begin_write().await {
            Ok(w) => w,
            Err(e) => return Err((batch, e)),
        };
        let mut done: Vec<(Box<dyn Job>, Fanout)> = Vec::with_capacity(batch.len());
        let mut jobs = batch.into_iter();
        while let Some(mut job) = jobs.next() {
            match job.run(&mut w.tx).await {
                Ok(fanout) => done.push((job, fanout)),
                Err(error) => {
                    failed.push((job, error));
                    let rest: Vec<_> = done.into_iter().map(|(j, _)| j).chain(jobs).collect();
                    if let Err(e) = w.rollback().await {
                        return Err((rest, e));
                    }
                    return Ok(Err(rest));
                }
            }
        }
        match w.commit().await {
            Ok(()) => Ok(Ok(done)),
            Err(e) => Err((done.into_iter().map(|(j, _)| j).collect(), e)),
        }
    }

    /// Runs a batch with each write in its own savepoint (none for a batch
    /// of one), so a failing write is rolled back alone.
    #[allow(clippy::type_complexity)]
    async fn run_guarded(
        &self,
        batch: Vec<Box<dyn Job>>,
        failed: &mut Vec<(Box<dyn Job>, ServiceError)>,
    ) -> Result<Vec<(Box<dyn Job>, Fanout)>, (Vec<Box<dyn Job>>, StoreError)> {
        let mut w = match self.store.begin_write().await {
            Ok(w) => w,
            Err(e) => return Err((batch, e)),
        };
        // A batch of one needs no savepoint: its failure rolls back the
        // whole transaction, which holds nothing else.
        let single = batch.len() == 1;
        let mut done: Vec<(Box<dyn Job>, Fanout)> = Vec::with_capacity(batch.len());
        let mut jobs = batch.into_iter();
        let unusable = |done: Vec<(Box<dyn Job>, Fanout)>,
                        current: Box<dyn Job>,
                        rest: std::vec::IntoIter<Box<dyn Job>>,
                        e: StoreError| {
            let all = done
                .into_iter()
                .map(|(j, _)| j)
                .chain(std::iter::once(current))
                .chain(rest)
                .collect();
            Err((all, e))
        };
        while let Some(mut job) = jobs.next() {
            if !single {
                if let Err(e) = exec(&mut w.tx, "SAVEPOINT qc_write").await {
                    return unusable(done, job, jobs, e);
                }
            }
            match job.run(&mut w.tx).await {
                Ok(fanout) => {
                    if !single {
                        if let Err(e) = exec(&mut w.tx, "RELEASE SAVEPOINT qc_write").await {
                            return unusable(done, job, jobs, e);
                        }
                    }
                    done.push((job, fanout));
                }
                Err(error) => {
                    if !single {
                        let undone = match exec(&mut w.tx, "ROLLBACK TO SAVEPOINT qc_write").await {
                            Ok(()) => exec(&mut w.tx, "RELEASE SAVEPOINT qc_write").await,
                            Err(e) => Err(e),
                        };
                        if let Err(e) = undone {
                            failed.push((job, error));
                            let all = done.into_iter().map(|(j, _)| j).chain(jobs).collect();
                            return Err((all, e));
                        }
                    }
                    failed.push((job, error));
                }
            }
        }
        if done.is_empty() {
            // Everything failed: nothing to commit. Rolled back now, not
            // lazily when the connection is next used, so the next batch
            // does not wait on this one's lock.
            if let Err(e) = w.rollback().await {
                warn!("rolling back a failed write: {e}");
            }
            return Ok(done);
        }
        match w.commit().await {
            Ok(()) => Ok(done),
            Err(e) => Err((done.into_iter().map(|(j, _)| j).collect(), e)),
        }
    }
}

async fn exec(tx: &mut Transaction<'static, Any>, sql: &str) -> Result<(), StoreError> {
    sqlx::query(sql).execute(&mut **tx).await?;
    Ok(())
}

fn batch_error(e: &StoreError) -> ServiceError {
    ServiceError::Store(StoreError::Batch(e.to_string()))
}
