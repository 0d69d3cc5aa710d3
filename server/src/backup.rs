//! Online backup and restore of the embedded setup: the SQLite database,
//! the local media directory and the certificates.
//!
//! `backup` runs beside a live server: `VACUUM INTO` writes a consistent
//! snapshot of the database (one read transaction, WAL included) without
//! stopping writers. Media objects are content-addressed and appear only
//! when an upload completes, so copying the directory after the snapshot
//! gives every object the snapshot references (objects uploaded later are
//! merely unreferenced); in-progress multipart files (`#` in their name)
//! are skipped. PostgreSQL and S3 deployments use `pg_dump`/PITR and bucket
//! versioning instead (docs/DEPLOY.md): this refuses them with that hint.
//!
//! `restore` puts a backup in place for a stopped server; it refuses to
//! overwrite an existing database unless forced.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::store::{sqlite_file, Store};

/// Why a backup or restore failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// Not the embedded setup.
    #[error("{0}")]
    Unsupported(String),
    /// The destination is not usable.
    #[error("{0}")]
    Destination(String),
    /// The database could not be read or written.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// Opening the database failed.
    #[error(transparent)]
    Store(#[from] crate::error::StoreError),
    /// A file could not be copied.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        reason: std::io::Error,
    },
}

/// What a backup wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// The database snapshot.
    pub database: PathBuf,
    /// Media files copied (0 without media).
    pub media_files: u64,
    /// Their bytes.
    pub media_bytes: u64,
}

/// The database file name inside a backup.
const DB_FILE: &str = "quichat.db";

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |reason| BackupError::Io {
        path: path.display().to_string(),
        reason,
    }
}

/// The SQLite file of `config`, or why there is none to back up.
fn database_file(config: &Config) -> Result<PathBuf, BackupError> {
    let url = config.effective_database_url();
    if !url.starts_with("sqlite:") {
        return Err(BackupError::Unsupported(
            "this server uses PostgreSQL: back it up with pg_dump or point-in-time recovery \
             (docs/DEPLOY.md, section 6)"
                .into(),
        ));
    }
    sqlite_file(&url).ok_or_else(|| {
        BackupError::Unsupported("an in-memory database has nothing to back up".into())
    })
}

/// The local media directory of `config`, if media is local.
fn media_dir(config: &Config) -> Option<PathBuf> {
    config
        .effective_media_url()
        .strip_prefix("file://")
        .map(PathBuf::from)
}

/// Writes a backup of a (possibly running) server into `dest`, which must
/// not exist or be empty: the database, the certificates, and with
/// `with_media` the local media directory.
pub async fn backup(
    config: &Config,
    dest: &Path,
    with_media: bool,
) -> Result<BackupReport, BackupError> {
    let db = database_file(config)?;
    if !db.exists() {
        return Err(BackupError::Destination(format!(
            "there is no database at {}",
            db.display()
        )));
    }
    let media = if with_media {
        Some(media_dir(config).ok_or_else(|| {
            BackupError::Unsupported(
                "media is in S3: back the bucket up with versioning or replication \
                 (docs/DEPLOY.md, section 6); run without --media"
                    .into(),
            )
        })?)
    } else {
        None
    };
    if dest.exists() && std::fs::read_dir(dest).map_err(io(dest))?.next().is_some() {
        return Err(BackupError::Destination(format!(
            "{} is not empty; back up into a new directory",
            dest.display()
        )));
    }
    crate::private_fs::create_dir(dest).map_err(io(dest))?;
    let snapshot = dest.join(DB_FILE);
    let store = Store::connect(&config.effective_database_url(), 1).await?;
    let written = sqlx::query("VACUUM INTO $1")
        .bind(snapshot.display().to_string())
        .execute(store.pool())
        .await;
    store.close().await;
    written?;
    restrict(&snapshot)?;
    let certs = config.data_dir.join("certs");
    if certs.is_dir() {
        copy_tree(&certs, &dest.join("certs"))?;
    }
    let (media_files, media_bytes) = match media {
        Some(dir) if dir.is_dir() => copy_tree(&dir, &dest.join("media"))?,
        _ => (0, 0),
    };
    Ok(BackupReport {
        database: snapshot,
        media_files,
        media_bytes,
    })
}

/// Puts the backup in `src` in place for `config` (the server must be
/// stopped). Refuses to replace an existing database unless `force`.
pub fn restore(config: &Config, src: &Path, force: bool) -> Result<(), BackupError> {
    let db = database_file(config)?;
    let snapshot = src.join(DB_FILE);
    if !snapshot.is_file() {
        return Err(BackupError::Destination(format!(
            "{} is not a quichat backup (no {DB_FILE})",
            src.display()
        )));
    }
    if db.exists() && !force {
        return Err(BackupError::Destination(format!(
            "{} exists; stop the server and pass --force to replace it",
            db.display()
        )));
    }
    if let Some(dir) = db.parent() {
        crate::private_fs::create_dir(dir).map_err(io(dir))?;
    }
    // The old database's WAL must not be replayed onto the restored file.
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", db.display()));
        match std::fs::remove_file(&side) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&side)(e)),
        }
    }
    std::fs::copy(&snapshot, &db).map_err(io(&db))?;
    restrict(&db)?;
    if src.join("certs").is_dir() {
        copy_tree(&src.join("certs"), &config.data_dir.join("certs"))?;
    }
    if let (Some(dir), true) = (media_dir(config), src.join("media").is_dir()) {
        copy_tree(&src.join("media"), &dir)?;
    }
    Ok(())
}

/// Mode 0600 on Unix.
fn restrict(file: &Path) -> Result<(), BackupError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600)).map_err(io(file))?;
    }
    Ok(())
}

/// Copies `from` into `to` (merging), skipping in-progress multipart files;
/// returns the files and bytes copied.
fn copy_tree(from: &Path, to: &Path) -> Result<(u64, u64), BackupError> {
    crate::private_fs::create_dir(to).map_err(io(to))?;
    let (mut files, mut bytes) = (0, 0);
    for entry in std::fs::read_dir(from).map_err(io(from))? {
        let entry = entry.map_err(io(from))?;
        let path = entry.path();
        let target = to.join(entry.file_name());
        let kind = entry.file_type().map_err(io(&path))?;
        if kind.is_dir() {
            let (f, b) = copy_tree(&path, &target)?;
            files += f;
            bytes += b;
        } else if kind.is_file() && !entry.file_name().to_string_lossy().contains('#') {
            bytes += std::fs::copy(&path, &target).map_err(io(&target))?;
            files += 1;
        }
    }
    Ok((files, bytes))
}
