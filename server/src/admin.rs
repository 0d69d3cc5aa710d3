//! `quichat-server admin`: operator actions, run against the database
//! from any host that reaches it (the server may be running). Actions that
//! must end live sessions (disable, revoke devices, reset a password)
//! write a kick into `kick_outbox` in the same transaction; every serving
//! process closes that user's connections within its poll interval
//! (300 ms, `transcribe::outbox`).

use quichat_proto::types::UserId;
use sqlx::Row;

use crate::accounts::new_password_hash;
use crate::error::{ServiceError, StoreError};
use crate::hashing::HashGate;
use crate::profiles::like_prefix;
use crate::store::{get_u64, now_ms, Store};
use crate::transcribe::outbox::record_kick;

/// One account, as the admin listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    /// Id.
    pub id: UserId,
    /// Username.
    pub username: String,
    /// Display name (may be empty).
    pub display_name: String,
    /// Registration time, Unix ms.
    pub created_at_ms: i64,
    /// Disabled by an administrator.
    pub disabled: bool,
    /// Devices not revoked.
    pub devices: u64,
    /// Bytes of media the user uploaded.
    pub storage_bytes: u64,
}

/// The transcription queue, by state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueReport {
    /// Waiting for a worker.
    pub queued: u64,
    /// Leased by a worker now.
    pub running: u64,
    /// Finished.
    pub done: u64,
    /// Given up on.
    pub failed: u64,
}

/// Media storage use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StorageReport {
    /// Stored objects (deduplicated content).
    pub objects: u64,
    /// Their bytes.
    pub bytes: u64,
    /// The biggest uploaders: username and bytes, most first.
    pub top_users: Vec<(String, u64)>,
}

/// Operator actions on one database.
#[derive(Debug)]
pub struct Admin {
    store: Store,
    hashing: HashGate,
}

impl Admin {
    /// Works on `store` (migrated).
    pub fn new(store: Store) -> Self {
        Admin {
            store,
            hashing: HashGate::new(0, 4),
        }
    }

    /// Accounts whose username or display name starts with `search` (all
    /// without one), by username, at most `limit`.
    pub async fn users(
        &self,
        search: Option<&str>,
        limit: u32,
    ) -> Result<Vec<UserRow>, ServiceError> {
        let pattern = like_prefix(&search.unwrap_or_default().to_lowercase());
        let rows = sqlx::query(
            "SELECT u.id AS id, u.username AS username, u.display_name AS display_name, \
             u.created_at AS created_at, u.disabled_at AS disabled_at, \
             (SELECT COUNT(*) FROM devices d WHERE d.user_id = u.id AND d.revoked_at IS NULL) AS devices, \
             (SELECT CAST(COALESCE(SUM(md.size), 0) AS BIGINT) FROM media md WHERE md.uploader_id = u.id) AS storage \
             FROM users u \
             WHERE u.username LIKE $1 ESCAPE '\\' OR u.display_name_lower LIKE $1 ESCAPE '\\' \
             ORDER BY u.username LIMIT $2",
        )
        .bind(pattern)
        .bind(i64::from(limit.clamp(1, 10_000)))
        .fetch_all(self.store.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(UserRow {
                    id: r.try_get("id")?,
                    username: r.try_get("username")?,
                    display_name: r.try_get("display_name")?,
                    created_at_ms: r.try_get("created_at")?,
                    disabled: r.try_get::<Option<i64>, _>("disabled_at")?.is_some(),
                    devices: get_u64(r, "devices")?,
                    storage_bytes: get_u64(r, "storage")?,
                })
            })
            .collect()
    }

    async fn user_id(&self, username: &str) -> Result<UserId, ServiceError> {
        let name = username.trim().to_lowercase();
        sqlx::query("SELECT id FROM users WHERE username = $1")
            .bind(&name)
            .fetch_optional(self.store.pool())
            .await?
            .map(|r| r.try_get("id"))
            .transpose()?
            .ok_or(ServiceError::UnknownUser(name))
    }

    /// Makes `username` a server administrator (`true`: they may send
    /// broadcasts) or takes the role back. Returns whether anything
    /// changed.
    pub async fn set_admin(&self, username: &str, admin: bool) -> Result<bool, ServiceError> {
        let user = self.user_id(username).await?;
        let mut w = self.store.begin_write().await?;
        let done = if admin {
            sqlx::query("UPDATE users SET admin_since = $1 WHERE id = $2 AND admin_since IS NULL")
                .bind(now_ms())
                .bind(user)
                .execute(&mut *w.tx)
                .await
        } else {
            sqlx::query(
                "UPDATE users SET admin_since = NULL WHERE id = $1 AND admin_since IS NOT NULL",
            )
            .bind(user)
            .execute(&mut *w.tx)
            .await
        };
        let changed = done.map_err(StoreError::Db)?.rows_affected() > 0;
        w.commit().await?;
        Ok(changed)
    }

    /// The server administrators, by username.
    pub async fn admins(&self) -> Result<Vec<String>, ServiceError> {
        Ok(sqlx::query_scalar(
            "SELECT username FROM users WHERE admin_since IS NOT NULL ORDER BY username",
        )
        .fetch_all(self.store.pool())
        .await?)
    }

    /// Stores a broadcast from the operator to every user; the serving
    /// processes deliver it in the background (within a second). Returns
    /// its id and how many users it goes to.
    pub async fn broadcast(&self, text: &str) -> Result<(i64, u64), ServiceError> {
        crate::broadcasts::store(&self.store, None, text).await
    }

    /// Disables (no login, every connection closed) or enables an account.
    /// Returns whether anything changed.
    pub async fn set_disabled(&self, username: &str, disabled: bool) -> Result<bool, ServiceError> {
        let user = self.user_id(username).await?;
        let now = now_ms();
        let mut w = self.store.begin_write().await?;
        let done = if disabled {
            sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NULL")
                .bind(now)
                .bind(user)
                .execute(&mut *w.tx)
                .await
        } else {
            sqlx::query(
                "UPDATE users SET disabled_at = NULL WHERE id = $1 AND disabled_at IS NOT NULL",
            )
            .bind(user)
            .execute(&mut *w.tx)
            .await
        };
        let changed = done.map_err(StoreError::Db)?.rows_affected() > 0;
        if disabled {
            record_kick(
                &mut w.tx,
                user,
                "account disabled by the administrator",
                now,
            )
            .await?;
        }
        w.commit().await?;
        Ok(changed)
    }

    /// Revokes every device of the account and closes its connections;
    /// returns how many were revoked.
    pub async fn revoke_devices(&self, username: &str) -> Result<u64, ServiceError> {
        let user = self.user_id(username).await?;
        let now = now_ms();
        let mut w = self.store.begin_write().await?;
        let revoked = revoke_all(&mut w.tx, user, now).await?;
        record_kick(&mut w.tx, user, "devices revoked by the administrator", now).await?;
        w.commit().await?;
        Ok(revoked)
    }

    /// Sets a new password; every device is revoked (the user logs in
    /// again with it). Returns how many devices were revoked.
    pub async fn reset_password(
        &self,
        username: &str,
        password: &str,
    ) -> Result<u64, ServiceError> {
        let user = self.user_id(username).await?;
        let hash = new_password_hash(&self.hashing, password).await?;
        let now = now_ms();
        let mut w = self.store.begin_write().await?;
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(user)
            .execute(&mut *w.tx)
            .await
            .map_err(StoreError::Db)?;
        let revoked = revoke_all(&mut w.tx, user, now).await?;
        record_kick(&mut w.tx, user, "password reset by the administrator", now).await?;
        w.commit().await?;
        Ok(revoked)
    }

    /// The transcription queue by state.
    pub async fn queue(&self) -> Result<QueueReport, ServiceError> {
        let rows =
            sqlx::query("SELECT state, COUNT(*) AS n FROM transcription_jobs GROUP BY state")
                .fetch_all(self.store.pool())
                .await?;
        let mut report = QueueReport::default();
        for row in &rows {
            let n = get_u64(row, "n")?;
            match row.try_get::<String, _>("state")?.as_str() {
                "queued" => report.queued = n,
                "running" => report.running = n,
                "done" => report.done = n,
                "failed" => report.failed = n,
                _ => {}
            }
        }
        Ok(report)
    }

    /// Media storage use and the ten biggest uploaders.
    pub async fn storage(&self) -> Result<StorageReport, ServiceError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(size), 0) AS BIGINT) AS bytes FROM media_objects",
        )
        .fetch_one(self.store.pool())
        .await?;
        let top = sqlx::query(
            "SELECT u.username AS username, CAST(SUM(md.size) AS BIGINT) AS bytes \
             FROM media md JOIN users u ON u.id = md.uploader_id \
             GROUP BY u.username ORDER BY bytes DESC, u.username LIMIT 10",
        )
        .fetch_all(self.store.pool())
        .await?;
        Ok(StorageReport {
            objects: get_u64(&row, "n")?,
            bytes: get_u64(&row, "bytes")?,
            top_users: top
                .iter()
                .map(|r| Ok((r.try_get("username")?, get_u64(r, "bytes")?)))
                .collect::<Result<_, ServiceError>>()?,
        })
    }
}

async fn revoke_all(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    user: UserId,
    now: i64,
) -> Result<u64, ServiceError> {
    Ok(
        sqlx::query("UPDATE devices SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(user)
            .execute(&mut **tx)
            .await
            .map_err(StoreError::Db)?
            .rows_affected(),
    )
}
