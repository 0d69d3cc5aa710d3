//! Error types at the server's boundaries.
//!
//! - [`StoreError`]: the database.
//! - [`ServiceError`]: domain services; each variant maps to one wire code.
//! - [`StartError`]: starting the server (config, certificates, socket).

use std::time::Duration;

use quichat_proto::{ErrorCode, WireError};

/// A database failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A query or connection failed.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// Applying migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database URL names an unsupported backend.
    #[error("unsupported database URL (expected sqlite:// or postgres://): {0}")]
    UnsupportedUrl(String),
    /// The SQLite file or its directory could not be created.
    #[error("cannot create {path}: {reason}")]
    CreateDir {
        /// The file or directory.
        path: String,
        /// Why (in the message once, not also as a source: error chains
        /// would print it twice).
        reason: std::io::Error,
    },
    /// The group commit this write was part of failed (the message says
    /// why); nothing of it was stored.
    #[error("database error (group commit): {0}")]
    Batch(String),
    /// PostgreSQL aborted a write shared with other callers for a
    /// serialization failure or a deadlock (the message says which);
    /// nothing of it was stored, and it is safe to retry.
    #[error("write conflict: {0}")]
    Conflict(String),
}

impl StoreError {
    /// True for a unique-constraint violation.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Db(e) => e
                .as_database_error()
                .is_some_and(|d| d.is_unique_violation()),
            _ => false,
        }
    }

    /// True for a PostgreSQL serialization failure or deadlock, which the
    /// caller should retry.
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Db(e) => e
                .as_database_error()
                .is_some_and(|d| matches!(d.code().as_deref(), Some("40001") | Some("40P01"))),
            StoreError::Conflict(_) => true,
            _ => false,
        }
    }
}

/// A failure in a domain service, as the client will see it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// The username breaks the rules.
    #[error("invalid username: {0}")]
    InvalidUsername(String),
    /// The password is too short or too long.
    #[error("{0}")]
    WeakPassword(String),
    /// Registration with a taken username.
    #[error("username '{0}' is already taken")]
    UsernameTaken(String),
    /// No such user.
    #[error("unknown user '{0}'")]
    UnknownUser(String),
    /// The password does not match.
    #[error("wrong password")]
    WrongPassword,
    /// The device token is unknown or revoked.
    #[error("invalid or revoked device token; log in again")]
    InvalidToken,
    /// The request needs an authenticated connection.
    #[error("log in or authenticate first")]
    Unauthenticated,
    /// A request that is not valid in the connection's state.
    #[error("{0}")]
    Unexpected(String),
    /// The addressee does not take this from the caller (a block; said
    /// neutrally, so the block is not revealed).
    #[error("cannot deliver to this user")]
    CannotDeliver,
    /// The group is at its member limit.
    #[error("{0}")]
    GroupFull(String),
    /// The invite code does not work (any reason: unknown, revoked,
    /// expired, used up).
    #[error("this invite code is unknown, revoked, expired or used up")]
    InvalidInvite,
    /// A connection cap was reached.
    #[error("{0}")]
    TooManyConnections(String),
    /// Too many attempts.
    #[error("too many requests; retry in {:.1}s", retry_after.as_secs_f64())]
    RateLimited {
        /// When a retry may succeed.
        retry_after: Duration,
    },
    /// Not found, or not visible to the caller.
    #[error("{0}")]
    NotFound(String),
    /// Not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// Bad message content.
    #[error("{0}")]
    InvalidMessage(String),
    /// Bad argument.
    #[error("{0}")]
    InvalidArgument(String),
    /// A file is over the size limit.
    #[error("{0}")]
    TooLarge(String),
    /// An upload would exceed the quota.
    #[error("{0}")]
    QuotaExceeded(String),
    /// Uploaded bytes do not match the announced size or hash.
    #[error("{0}")]
    HashMismatch(String),
    /// An upload stopped early; it can be resumed.
    #[error("{0}")]
    Incomplete(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The object store failed.
    #[error(transparent)]
    Media(#[from] MediaError),
    /// Something else failed on the server.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    /// The error code the client gets.
    pub fn code(&self) -> ErrorCode {
        match self {
            ServiceError::InvalidUsername(_) => ErrorCode::InvalidUsername,
            ServiceError::WeakPassword(_) => ErrorCode::WeakPassword,
            ServiceError::UsernameTaken(_) => ErrorCode::UsernameTaken,
            ServiceError::UnknownUser(_) => ErrorCode::UnknownUser,
            ServiceError::WrongPassword => ErrorCode::WrongPassword,
            ServiceError::InvalidToken => ErrorCode::InvalidToken,
            ServiceError::Unauthenticated => ErrorCode::Unauthenticated,
            ServiceError::Unexpected(_) => ErrorCode::UnexpectedFrame,
            ServiceError::CannotDeliver => ErrorCode::CannotDeliver,
            ServiceError::GroupFull(_) => ErrorCode::GroupFull,
            ServiceError::InvalidInvite => ErrorCode::InvalidInvite,
            ServiceError::RateLimited { .. } | ServiceError::TooManyConnections(_) => {
                ErrorCode::RateLimited
            }
            ServiceError::NotFound(_) => ErrorCode::NotFound,
            ServiceError::Forbidden(_) => ErrorCode::Forbidden,
            ServiceError::InvalidMessage(_) => ErrorCode::InvalidMessage,
            ServiceError::InvalidArgument(_) => ErrorCode::InvalidArgument,
            ServiceError::TooLarge(_) => ErrorCode::TooLarge,
            ServiceError::QuotaExceeded(_) => ErrorCode::QuotaExceeded,
            ServiceError::HashMismatch(_) => ErrorCode::HashMismatch,
            ServiceError::Incomplete(_) => ErrorCode::Incomplete,
            ServiceError::Store(_) | ServiceError::Internal(_) | ServiceError::Media(_) => {
                ErrorCode::Internal
            }
        }
    }

    /// The typed error sent to the client. Storage details stay in the log.
    pub fn to_wire(&self) -> WireError {
        let code = self.code();
        let message = match self {
            ServiceError::Store(_) | ServiceError::Internal(_) | ServiceError::Media(_) => {
                // The details stay here, in the log.
                tracing::error!("request failed: {self}");
                "the server could not complete the request; try again".to_string()
            }
            other => other.to_string(),
        };
        let mut err = WireError::new(code, message);
        if let ServiceError::RateLimited { retry_after } = self {
            err.retry_after_ms = Some(u64::try_from(retry_after.as_millis()).unwrap_or(u64::MAX));
        }
        err
    }
}

impl From<ServiceError> for WireError {
    fn from(e: ServiceError) -> Self {
        e.to_wire()
    }
}

/// Evaluates a write (an `async` expression giving `Result<_,
/// ServiceError>`) again, up to 3 times in all, when PostgreSQL aborted it
/// for a serialization failure or a deadlock; both are safe to retry
/// because the transaction rolled back whole.
macro_rules! retry_conflicts {
    ($op:expr) => {{
        let mut attempt = 0;
        loop {
            match $op {
                Err($crate::error::ServiceError::Store(e)) if e.is_retryable() && attempt < 2 => {
                    tracing::warn!("write conflict, retrying: {e}");
                    attempt += 1
                }
                other => break other,
            }
        }
    }};
}
pub(crate) use retry_conflicts;

impl From<sqlx::Error> for ServiceError {
    fn from(e: sqlx::Error) -> Self {
        ServiceError::Store(StoreError::Db(e))
    }
}

/// A failure while starting the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The media store could not be set up.
    #[error(transparent)]
    Media(#[from] MediaError),
    /// Transcription could not start.
    #[error("transcription: {0}")]
    Transcription(String),
    /// Certificates could not be generated or loaded.
    #[error("certificates: {0}")]
    Certs(String),
    /// TLS or QUIC configuration was rejected.
    #[error("TLS/QUIC configuration: {0}")]
    Tls(String),
    /// The cluster bus (NATS) could not be reached.
    #[error(transparent)]
    Bus(#[from] crate::bus::BusError),
    /// The UDP socket could not be bound.
    #[error("cannot listen on {addr}: {reason}")]
    Bind {
        /// Address.
        addr: std::net::SocketAddr,
        /// Why (in the message once, not also as a source: error chains
        /// would print it twice).
        reason: std::io::Error,
    },
}

/// A media storage failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// The object store failed.
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
    /// The media configuration is unusable.
    #[error("media configuration: {0}")]
    Config(String),
    /// Local I/O failed.
    #[error("media I/O: {0}")]
    Io(#[from] std::io::Error),
}
