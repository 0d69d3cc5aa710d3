//! The database baseline: a plain insert loop through sqlx on the same
//! backend and settings as the server (SQLite: WAL, `synchronous = FULL`,
//! as `server/src/store.rs` sets), rows of the message's size, one
//! transaction per batch. What the server's durable sends cost at least.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;
use sqlx::Connection;

use crate::stats::{Latency, Summary};
use crate::target::Target;

/// When an insert loop stops.
#[derive(Debug, Clone, Copy)]
pub enum Limit {
    /// After this long.
    Time(Duration),
    /// After this many rows.
    Rows(u64),
}

/// One insert loop's figures.
#[derive(Debug, Clone, Serialize)]
pub struct DbRun {
    /// Rows per transaction.
    pub batch: usize,
    /// Why this batch size: `1`, `observed` (the server's mean group
    /// commit) or `flag` (--baseline-batch).
    pub source: &'static str,
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// Rows inserted.
    pub rows: u64,
    /// Wall time, seconds.
    pub secs: f64,
    /// Durable rows per second.
    pub rows_per_s: f64,
    /// Commits per second.
    pub commits_per_s: f64,
    /// Time of one transaction (begin, inserts, commit).
    pub commit: Summary,
}

const SQLITE_TABLE: &str = "CREATE TABLE IF NOT EXISTS bench_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    sender_id INTEGER NOT NULL,
    client_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (conversation_id, seq),
    UNIQUE (sender_id, client_id))";

const POSTGRES_TABLE: &str = "CREATE TABLE IF NOT EXISTS bench_messages (
    id BIGSERIAL PRIMARY KEY,
    conversation_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    sender_id BIGINT NOT NULL,
    client_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (conversation_id, seq),
    UNIQUE (sender_id, client_id))";

const INSERT: &str = "INSERT INTO bench_messages \
    (conversation_id, seq, sender_id, client_id, kind, body, created_at) \
    VALUES ($1, $2, $3, $4, 'text', $5, $6)";

/// The insert loop, for either connection type (sqlx's generic executor
/// bounds are heavier than the loop itself).
macro_rules! insert_loop {
    ($conn:expr, $batch:expr, $body:expr, $limit:expr) => {{
        let start = Instant::now();
        let mut hist = Latency::new();
        let mut rows = 0u64;
        let mut seq = 0i64;
        loop {
            match $limit {
                Limit::Time(d) if start.elapsed() >= d => break,
                Limit::Rows(n) if rows >= n => break,
                _ => {}
            }
            let t0 = Instant::now();
            let mut tx = $conn.begin().await.context("begin")?;
            for _ in 0..$batch {
                seq += 1;
                sqlx::query(INSERT)
                    .bind(1i64)
                    .bind(seq)
                    .bind(1i64)
                    .bind(uuid::Uuid::now_v7().to_string())
                    .bind($body)
                    .bind(seq)
                    .execute(&mut *tx)
                    .await
                    .context("insert")?;
            }
            tx.commit().await.context("commit")?;
            hist.record(t0.elapsed());
            rows += $batch as u64;
        }
        anyhow::Ok((rows, start.elapsed().as_secs_f64(), hist))
    }};
}

/// Runs the insert loop at `batch` rows per transaction with `size`-byte
/// bodies, on the backend the target uses (SQLite in the scratch dir, or
/// a table in the PostgreSQL database it was given, dropped afterwards).
pub async fn run(
    target: &Target,
    batch: usize,
    source: &'static str,
    size: usize,
    limit: Limit,
) -> Result<DbRun> {
    let batch = batch.max(1);
    let body = "x".repeat(size);
    match target.database_url.as_deref() {
        Some(url) if url.starts_with("postgres") => {
            let mut conn = sqlx::PgConnection::connect(url)
                .await
                .context("connecting to PostgreSQL for the database baseline")?;
            sqlx::query("DROP TABLE IF EXISTS bench_messages")
                .execute(&mut conn)
                .await?;
            sqlx::query(POSTGRES_TABLE).execute(&mut conn).await?;
            let result = async { insert_loop!(conn, batch, body.as_str(), limit) }.await;
            sqlx::query("DROP TABLE IF EXISTS bench_messages")
                .execute(&mut conn)
                .await?;
            let (rows, secs, hist) = result?;
            Ok(finish(batch, source, "postgres", rows, secs, &hist))
        }
        _ => {
            use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
            let path = target
                .scratch
                .path()
                .join(format!("baseline-{batch}-{}.db", rand::random::<u32>()));
            let options = SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full);
            let mut conn = sqlx::SqliteConnection::connect_with(&options)
                .await
                .with_context(|| format!("opening {}", path.display()))?;
            sqlx::query(SQLITE_TABLE).execute(&mut conn).await?;
            let (rows, secs, hist) = insert_loop!(conn, batch, body.as_str(), limit)?;
            conn.close().await?;
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
            Ok(finish(batch, source, "sqlite", rows, secs, &hist))
        }
    }
}

fn finish(
    batch: usize,
    source: &'static str,
    backend: &str,
    rows: u64,
    secs: f64,
    hist: &Latency,
) -> DbRun {
    DbRun {
        batch,
        source,
        backend: backend.to_string(),
        rows,
        secs,
        rows_per_s: crate::stats::per_second(rows as f64, secs),
        commits_per_s: crate::stats::per_second(hist.len() as f64, secs),
        commit: hist.summary(),
    }
}
