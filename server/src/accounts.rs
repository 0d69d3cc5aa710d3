//! Accounts and devices: registration, login, device tokens.
//!
//! Passwords are hashed with argon2id (default parameters: 19 MiB, t=2,
//! p=1) on the blocking pool. Device tokens are 32 random bytes; only
//! their SHA-256 is stored, which is enough for high-entropy secrets.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use base64::Engine;
use quichat_proto::types::{DeviceId, DeviceInfo, UserId};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::Row;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::ServiceError;
use crate::hashing::HashGate;
use crate::store::{now_ms, Store};

/// Minimum password length in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Maximum password length in bytes (bounds hashing cost).
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Longest device name kept.
const MAX_DEVICE_NAME: usize = 64;
/// Prefix that makes tokens recognisable (for secret scanners, too).
const TOKEN_PREFIX: &str = "qct_";

/// Longest prefix of a client-supplied name that an error repeats back.
const ECHO_CHARS: usize = 40;

/// What an error may repeat of a name the client sent: a short, trimmed
/// prefix (a 900,000-character name must not come back in the error).
pub fn echo(name: &str) -> String {
    let name = name.trim();
    let mut out: String = name.chars().take(ECHO_CHARS).collect();
    if name.chars().nth(ECHO_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// An authenticated device.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Session {
    /// User.
    pub user_id: UserId,
    /// Username.
    pub username: String,
    /// Device.
    pub device_id: DeviceId,
}

/// Lower-cases and validates a username: 3–32 characters of `a-z`, `0-9`,
/// `_`, `.`, `-`, starting with a letter.
pub fn normalize_username(raw: &str) -> Result<String, ServiceError> {
    let name = raw.trim().to_ascii_lowercase();
    let len = name.chars().count();
    if !(3..=32).contains(&len) {
        return Err(ServiceError::InvalidUsername(
            "must be 3 to 32 characters long".into(),
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(ServiceError::InvalidUsername(
            "must start with a letter".into(),
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-')))
    {
        return Err(ServiceError::InvalidUsername(format!(
            "character {bad:?} is not allowed (use a-z, 0-9, '_', '.', '-')"
        )));
    }
    Ok(name)
}

fn check_password(password: &str) -> Result<(), ServiceError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ServiceError::WeakPassword(format!(
            "password must be at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(ServiceError::WeakPassword(format!(
            "password must be at most {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    Ok(())
}

/// The error a disabled account's login gets.
fn disabled() -> ServiceError {
    ServiceError::Forbidden("this account is disabled; ask the server's administrator".into())
}

/// Hashes a new password after checking it (for `admin reset-password`).
pub async fn new_password_hash(gate: &HashGate, password: &str) -> Result<String, ServiceError> {
    check_password(password)?;
    hash_password(gate, password.to_string()).await
}

async fn hash_password(gate: &HashGate, password: String) -> Result<String, ServiceError> {
    gate.run(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ServiceError::Internal(format!("hash password: {e}")))
    })
    .await
}

async fn verify_password(
    gate: &HashGate,
    password: String,
    stored: String,
) -> Result<bool, ServiceError> {
    gate.run(move || {
        let parsed = PasswordHash::new(&stored)
            .map_err(|e| ServiceError::Internal(format!("stored hash: {e}")))?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn clean_device_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_DEVICE_NAME)
        .collect();
    if cleaned.trim().is_empty() {
        "unnamed device".into()
    } else {
        cleaned.trim().to_string()
    }
}

/// The accounts service.
#[derive(Debug, Clone)]
pub struct Accounts {
    store: Store,
    hashing: Arc<HashGate>,
    /// Devices seen since the last flush, and when: an authentication
    /// records here instead of writing (and fsyncing) a row, so the
    /// connection rate is not bounded by commits. Flushed in one
    /// transaction by [`Accounts::flush_last_seen`] (every
    /// [`LAST_SEEN_FLUSH`] and at shutdown).
    seen: Arc<Mutex<HashMap<DeviceId, i64>>>,
    /// Username → id of users looked up lately. Both never change (a
    /// username is never renamed nor reused, a user never deleted), so
    /// the cache cannot go stale; it is emptied when it reaches
    /// [`USER_ID_CACHE`] entries, which bounds it.
    ids: Arc<Mutex<HashMap<String, UserId>>>,
}

/// Most usernames [`Accounts::user_id`] keeps resolved in memory.
pub const USER_ID_CACHE: usize = 65_536;

/// How often the in-memory last-seen times are written.
pub const LAST_SEEN_FLUSH: std::time::Duration = std::time::Duration::from_secs(30);

impl Accounts {
    /// Wraps the store; password hashing goes through `hashing`.
    pub fn new(store: Store, hashing: Arc<HashGate>) -> Self {
        Accounts {
            store,
            hashing,
            seen: Arc::new(Mutex::new(HashMap::new())),
            ids: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn ids(&self) -> std::sync::MutexGuard<'_, HashMap<String, UserId>> {
        self.ids.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, HashMap<DeviceId, i64>> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes the last-seen times recorded since the previous flush, in
    /// one transaction. On failure they are kept for the next one.
    pub async fn flush_last_seen(&self) -> Result<usize, ServiceError> {
        let batch: Vec<(DeviceId, i64)> = std::mem::take(&mut *self.seen()).into_iter().collect();
        if batch.is_empty() {
            return Ok(0);
        }
        let written = async {
            let mut w = self.store.begin_write().await?;
            for (device_id, at) in &batch {
                sqlx::query(
                    "UPDATE devices SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $1",
                )
                .bind(*at)
                .bind(*device_id)
                .execute(&mut *w.tx)
                .await?;
            }
            w.commit().await?;
            Ok::<_, ServiceError>(())
        }
        .await;
        if let Err(e) = written {
            let mut seen = self.seen();
            for (device_id, at) in batch {
                let slot = seen.entry(device_id).or_insert(at);
                *slot = (*slot).max(at);
            }
            return Err(e);
        }
        Ok(batch.len())
    }

    /// The most password hashes that ran at once (tests, metrics).
    pub fn hashing_peak(&self) -> usize {
        self.hashing.peak()
    }

    /// Looks up a user id by (normalized) username.
    pub async fn user_id(&self, username: &str) -> Result<UserId, ServiceError> {
        let name =
            normalize_username(username).map_err(|_| ServiceError::UnknownUser(echo(username)))?;
        let cached = self.ids().get(&name).copied();
        if let Some(id) = cached {
            return Ok(id);
        }
        let row = sqlx::query("SELECT id FROM users WHERE username = $1")
            .bind(&name)
            .fetch_optional(self.store.pool())
            .await?;
        match row {
            Some(row) => {
                let id: UserId = row.try_get("id")?;
                let mut ids = self.ids();
                if ids.len() >= USER_ID_CACHE {
                    ids.clear();
                }
                ids.insert(name, id);
                Ok(id)
            }
            // Not cached: the name may be registered a moment later.
            None => Err(ServiceError::UnknownUser(name)),
        }
    }

    /// Creates an account and its first device; returns the session and
    /// the device token.
    pub async fn register(
        &self,
        username: &str,
        password: &str,
        device_name: &str,
    ) -> Result<(Session, String), ServiceError> {
        let name = normalize_username(username)?;
        check_password(password)?;
        let hash = hash_password(&self.hashing, password.to_string()).await?;
        let mut w = self.store.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO users (username, password_hash, event_seq, created_at) \
             VALUES ($1, $2, 0, $3) RETURNING id",
        )
        .bind(&name)
        .bind(&hash)
        .bind(now_ms())
        .fetch_one(&mut *w.tx)
        .await;
        let user_id: UserId = match inserted {
            Ok(row) => row.try_get("id")?,
            Err(e) => {
                let e = crate::error::StoreError::Db(e);
                if e.is_unique_violation() {
                    return Err(ServiceError::UsernameTaken(name));
                }
                return Err(e.into());
            }
        };
        let (device_id, token) = insert_device(&mut w.tx, user_id, device_name).await?;
        w.commit().await?;
        tracing::info!(user = %name, device_id, "registered");
        Ok((
            Session {
                user_id,
                username: name,
                device_id,
            },
            token,
        ))
    }

    /// Checks the password and creates a new device.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        device_name: &str,
    ) -> Result<(Session, String), ServiceError> {
        let name =
            normalize_username(username).map_err(|_| ServiceError::UnknownUser(echo(username)))?;
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(ServiceError::WrongPassword);
        }
        let row =
            sqlx::query("SELECT id, password_hash, disabled_at FROM users WHERE username = $1")
                .bind(&name)
                .fetch_optional(self.store.pool())
                .await?
                .ok_or_else(|| ServiceError::UnknownUser(name.clone()))?;
        let user_id: UserId = row.try_get("id")?;
        let stored: String = row.try_get("password_hash")?;
        if !verify_password(&self.hashing, password.to_string(), stored).await? {
            tracing::info!(user = %name, "login failed: wrong password");
            return Err(ServiceError::WrongPassword);
        }
        // Said only to whoever knows the password.
        if row.try_get::<Option<i64>, _>("disabled_at")?.is_some() {
            return Err(disabled());
        }
        let mut w = self.store.begin_write().await?;
        let (device_id, token) = insert_device(&mut w.tx, user_id, device_name).await?;
        w.commit().await?;
        tracing::info!(user = %name, device_id, "logged in");
        Ok((
            Session {
                user_id,
                username: name,
                device_id,
            },
            token,
        ))
    }

    /// Resolves a device token.
    pub async fn authenticate(&self, token: &str) -> Result<Session, ServiceError> {
        if !token.starts_with(TOKEN_PREFIX) || token.len() > 128 {
            return Err(ServiceError::InvalidToken);
        }
        let session: Session = sqlx::query_as(
            "SELECT d.id AS device_id, d.user_id, u.username FROM devices d \
             JOIN users u ON u.id = d.user_id \
             WHERE d.token_hash = $1 AND d.revoked_at IS NULL AND u.disabled_at IS NULL",
        )
        .bind(token_hash(token))
        .fetch_optional(self.store.pool())
        .await?
        .ok_or(ServiceError::InvalidToken)?;
        self.seen().insert(session.device_id, now_ms());
        Ok(session)
    }

    /// The user's devices, newest first, revoked ones excluded.
    pub async fn list_devices(&self, session: &Session) -> Result<Vec<DeviceInfo>, ServiceError> {
        #[derive(sqlx::FromRow)]
        struct DeviceRow {
            id: DeviceId,
            name: String,
            created_at: i64,
            last_seen_at: i64,
        }
        let rows: Vec<DeviceRow> = sqlx::query_as(
            "SELECT id, name, created_at, last_seen_at FROM devices \
             WHERE user_id = $1 AND revoked_at IS NULL ORDER BY id DESC",
        )
        .bind(session.user_id)
        .fetch_all(self.store.pool())
        .await?;
        let seen = self.seen();
        Ok(rows
            .into_iter()
            .map(|r| DeviceInfo {
                id: r.id,
                name: r.name,
                created_at_ms: r.created_at,
                // Not flushed yet: the newer time is in memory.
                last_seen_ms: seen
                    .get(&r.id)
                    .map_or(r.last_seen_at, |&at| at.max(r.last_seen_at)),
                current: r.id == session.device_id,
            })
            .collect())
    }

    /// Changes the caller's password after checking the current one; with
    /// `sign_out_others`, revokes every other device of the account in the
    /// same transaction. Returns the revoked devices, whose connections
    /// the caller must close.
    pub async fn change_password(
        &self,
        session: &Session,
        current: &str,
        new: &str,
        sign_out_others: bool,
    ) -> Result<Vec<DeviceId>, ServiceError> {
        // Checked before any hashing: a weak new password costs nothing.
        check_password(new)?;
        if current.len() > MAX_PASSWORD_BYTES {
            return Err(ServiceError::WrongPassword);
        }
        let stored: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
            .bind(session.user_id)
            .fetch_one(self.store.pool())
            .await?;
        if !verify_password(&self.hashing, current.to_string(), stored.clone()).await? {
            tracing::info!(user = %session.username, "password change refused: wrong password");
            return Err(ServiceError::WrongPassword);
        }
        let hash = hash_password(&self.hashing, new.to_string()).await?;
        let mut w = self.store.begin_write().await?;
        // Compare-and-set: two concurrent changes cannot both win with
        // the same old password.
        let changed =
            sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3")
                .bind(hash)
                .bind(session.user_id)
                .bind(stored)
                .execute(&mut *w.tx)
                .await?;
        if changed.rows_affected() == 0 {
            return Err(ServiceError::WrongPassword);
        }
        let revoked: Vec<DeviceId> = if sign_out_others {
            sqlx::query_scalar(
                "UPDATE devices SET revoked_at = $1 \
                 WHERE user_id = $2 AND id <> $3 AND revoked_at IS NULL RETURNING id",
            )
            .bind(now_ms())
            .bind(session.user_id)
            .bind(session.device_id)
            .fetch_all(&mut *w.tx)
            .await?
        } else {
            Vec::new()
        };
        w.commit().await?;
        tracing::info!(
            user = %session.username,
            signed_out = revoked.len(),
            "password changed"
        );
        Ok(revoked)
    }

    /// Revokes one of the caller's devices.
    pub async fn revoke_device(
        &self,
        session: &Session,
        device_id: DeviceId,
    ) -> Result<(), ServiceError> {
        let mut w = self.store.begin_write().await?;
        let done = sqlx::query(
            "UPDATE devices SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
        )
        .bind(now_ms())
        .bind(device_id)
        .bind(session.user_id)
        .execute(&mut *w.tx)
        .await?;
        w.commit().await?;
        if done.rows_affected() == 0 {
            return Err(ServiceError::NotFound(format!(
                "you have no active device with id {device_id}"
            )));
        }
        tracing::info!(user = %session.username, device_id, "device revoked");
        Ok(())
    }
}

async fn insert_device(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    user_id: UserId,
    device_name: &str,
) -> Result<(DeviceId, String), ServiceError> {
    let token = new_token();
    let now = now_ms();
    let row = sqlx::query(
        "INSERT INTO devices (user_id, name, token_hash, created_at, last_seen_at) \
         VALUES ($1, $2, $3, $4, $4) RETURNING id",
    )
    .bind(user_id)
    .bind(clean_device_name(device_name))
    .bind(token_hash(&token))
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok((row.try_get("id")?, token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_rules() {
        assert_eq!(normalize_username(" Alice ").unwrap(), "alice");
        assert!(normalize_username("al").is_err());
        assert!(normalize_username("1alice").is_err());
        assert!(normalize_username("ali ce").is_err());
        assert!(normalize_username(&"a".repeat(33)).is_err());
        assert!(normalize_username("a.b-c_d9").is_ok());
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }

    #[test]
    fn password_minimum() {
        assert!(check_password("short").is_err());
        assert!(check_password("long enough").is_ok());
    }
}
