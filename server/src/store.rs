//! The SQL store: one sqlx `AnyPool` over SQLite or PostgreSQL.
//!
//! Queries are written once with `$n` placeholders, which both backends
//! accept. Schema lives in `migrations/<backend>/` and is embedded.
//!
//! Writes go through [`Store::begin_write`]. On SQLite it also takes an
//! in-process mutex, so there is one writer at a time and no
//! `SQLITE_BUSY` upgrade deadlocks; WAL keeps readers unblocked. On
//! PostgreSQL, row locks on the counters (`conversations.last_seq`,
//! `users.event_seq`) serialize what must be serialized.

use std::sync::Arc;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyPool, ConnectOptions, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::error::StoreError;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");

/// Which database is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite (WAL, synchronous=FULL).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// Placeholders for a statement with many parameters, in the order they
/// appear in its text (and are bound): `$1, $2, ...` on PostgreSQL, plain
/// `?` on SQLite. SQLite keeps numbered and named parameters (`$N`,
/// `?N`) in a list it scans linearly for each one, when parsing and again
/// for each bind (sqlx asks every parameter's name), which is quadratic in
/// the statement's parameter count: with 4,400 parameters that scan was
/// a fifth of the server's CPU in a 1,000-member fan-out. Plain `?` has no
/// name to look up.
#[derive(Debug)]
pub struct Params {
    postgres: bool,
    next: usize,
}

impl Params {
    /// Placeholders for `backend`, starting at the first parameter.
    pub fn new(backend: Backend) -> Self {
        Params {
            postgres: backend == Backend::Postgres,
            next: 0,
        }
    }

    /// The next placeholder.
    pub fn one(&mut self) -> String {
        self.next += 1;
        if self.postgres {
            format!("${}", self.next)
        } else {
            "?".to_string()
        }
    }

    /// The next `n` placeholders, comma-separated.
    pub fn list(&mut self, n: usize) -> String {
        (0..n).map(|_| self.one()).collect::<Vec<_>>().join(", ")
    }
}

/// Shared handle to the database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    write_lock: Option<Arc<Mutex<()>>>,
}

/// A write transaction. Dropping it without `commit` rolls back.
#[derive(Debug)]
pub struct WriteTx {
    /// The transaction; use `&mut *tx.tx` as the executor.
    pub tx: Transaction<'static, Any>,
    _guard: Option<OwnedMutexGuard<()>>,
}

impl WriteTx {
    /// Commits the transaction.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }

    /// Rolls the transaction back now (dropping it would roll back lazily,
    /// when its connection is next used).
    pub async fn rollback(self) -> Result<(), StoreError> {
        self.tx.rollback().await?;
        Ok(())
    }
}

/// Maps the URL scheme to a backend.
pub fn backend_of(url: &str) -> Result<Backend, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Backend::Postgres)
    } else {
        Err(StoreError::UnsupportedUrl(redact_url(url)))
    }
}

/// The URL with any password replaced, for logs and errors.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl Store {
    /// Opens a pool. For SQLite the file and its directory are created.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = backend_of(url)?;
        if backend == Backend::Sqlite {
            create_sqlite_dir(url)?;
        }
        let mut options = AnyPoolOptions::new().max_connections(max_connections.max(1));
        if backend == Backend::Sqlite {
            // Set on every connection, not assumed (sqlx's URL options
            // leave the rollback journal): WAL lets readers run beside the
            // writer, and synchronous=FULL makes each commit durable
            // (fsynced) before the ack that follows it.
            options = options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    use sqlx::Executor;
                    conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")
                        .await?;
                    Ok(())
                })
            });
        }
        // Every statement at TRACE, not DEBUG: the transcription and
        // outbox pollers would otherwise flood `RUST_LOG=debug`. Slow ones
        // still show, as warnings.
        let connect = <sqlx::any::AnyConnectOptions as std::str::FromStr>::from_str(url)?
            .log_statements(log::LevelFilter::Trace)
            .log_slow_statements(log::LevelFilter::Warn, std::time::Duration::from_secs(1));
        let pool = options.connect_with(connect).await?;
        let write_lock = (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(())));
        Ok(Store {
            pool,
            backend,
            write_lock,
        })
    }

    /// Applies pending migrations for this backend.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    /// The pool, for reads.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// SQLite's `journal_mode` and `synchronous` on a pooled connection
    /// (`None` on PostgreSQL), to check what is in force.
    pub async fn sqlite_pragmas(&self) -> Result<Option<(String, i64)>, StoreError> {
        use sqlx::Row;
        if self.backend != Backend::Sqlite {
            return Ok(None);
        }
        let mut conn = self.pool.acquire().await?;
        let mode: String = sqlx::query("PRAGMA journal_mode")
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?;
        let sync: i64 = sqlx::query("PRAGMA synchronous")
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?;
        Ok(Some((mode, sync)))
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a write transaction (see the module docs).
    pub async fn begin_write(&self) -> Result<WriteTx, StoreError> {
        let guard = match &self.write_lock {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        };
        let tx = self.pool.begin().await?;
        Ok(WriteTx { tx, _guard: guard })
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The file a `sqlite:` URL names (`None` for `:memory:` or no path).
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    Some(std::path::PathBuf::from(path))
}

fn create_sqlite_dir(url: &str) -> Result<(), StoreError> {
    let Some(file) = sqlite_file(url) else {
        return Ok(());
    };
    let file = file.as_path();
    if let Some(dir) = file.parent() {
        if !dir.as_os_str().is_empty() {
            crate::private_fs::create_dir(dir).map_err(|reason| StoreError::CreateDir {
                path: dir.display().to_string(),
                reason,
            })?;
        }
    }
    // Created here with mode 0600 (SQLite gives its -wal and -shm files the
    // same mode), rather than by SQLite with the umask's 0644.
    crate::private_fs::create_file(file).map_err(|reason| StoreError::CreateDir {
        path: file.display().to_string(),
        reason,
    })?;
    Ok(())
}

/// Reads an `i64` column that is known to be non-negative as `u64`.
pub fn get_u64(row: &AnyRow, col: &str) -> Result<u64, sqlx::Error> {
    use sqlx::Row;
    let v: i64 = row.try_get(col)?;
    Ok(u64::try_from(v).unwrap_or(0))
}

/// Converts a protocol `u64` into a database `i64`, saturating.
pub fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Current time in Unix milliseconds.
pub fn now_ms() -> i64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://bob:secret@db:5432/q"),
            "postgres://bob:***@db:5432/q"
        );
        assert_eq!(redact_url("postgres://bob@db/q"), "postgres://bob@db/q");
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }

    #[test]
    fn backends_by_scheme() {
        assert_eq!(backend_of("sqlite://a.db").ok(), Some(Backend::Sqlite));
        assert_eq!(
            backend_of("postgresql://h/db").ok(),
            Some(Backend::Postgres)
        );
        assert!(backend_of("mysql://h/db").is_err());
    }
}
