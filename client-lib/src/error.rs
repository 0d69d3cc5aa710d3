//! [`ClientError`]: everything a client call can fail with.

use quichat_proto::error::close;
use quichat_proto::{ErrorCode, ProtoError, WireError};

/// A failed client operation.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The client configuration is unusable (address, CA file, pin).
    #[error("configuration: {0}")]
    Config(String),
    /// The QUIC/TLS handshake failed (unreachable server, untrusted
    /// certificate, wrong ALPN).
    #[error("cannot connect to {server}: {reason}")]
    Connect {
        /// Server address as given.
        server: String,
        /// Why.
        reason: String,
    },
    /// The connection was closed or lost.
    #[error("connection closed: {reason}")]
    Closed {
        /// The QUIC application close code (see
        /// [`quichat_proto::error::close`]), when the peer sent one.
        code: Option<u64>,
        /// Readable explanation.
        reason: String,
    },
    /// The server answered with a typed error.
    #[error("{0}")]
    Server(WireError),
    /// The server sent something this client does not understand.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// A local file could not be read or written.
    #[error("{context}: {reason}")]
    Io {
        /// What was being done (usually with a path).
        context: String,
        /// Why.
        reason: String,
    },
    /// A download's target file exists and is not the media; it was left
    /// untouched.
    #[error("{0} already exists and is not this media; choose another path or replace it")]
    FileExists(String),
    /// Downloaded bytes do not match the media's size or SHA-256.
    #[error("integrity check failed: {0}")]
    Integrity(String),
    /// No answer in time.
    #[error("the server did not answer within {0} s")]
    Timeout(u64),
}

impl ClientError {
    /// The server's error code, when the server sent one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Server(e) => Some(e.code),
            _ => None,
        }
    }
}

impl From<WireError> for ClientError {
    fn from(e: WireError) -> Self {
        ClientError::Server(e)
    }
}

impl From<ProtoError> for ClientError {
    fn from(e: ProtoError) -> Self {
        ClientError::Protocol(e.to_string())
    }
}

impl ClientError {
    /// A closed-connection error without a close code.
    pub fn closed(reason: impl Into<String>) -> Self {
        ClientError::Closed {
            code: None,
            reason: reason.into(),
        }
    }
}

impl From<quinn::ConnectionError> for ClientError {
    fn from(e: quinn::ConnectionError) -> Self {
        let code = match &e {
            quinn::ConnectionError::ApplicationClosed(a) => Some(a.error_code.into_inner()),
            _ => None,
        };
        ClientError::Closed {
            code,
            reason: describe_connection_error(&e),
        }
    }
}

impl From<quinn::WriteError> for ClientError {
    fn from(e: quinn::WriteError) -> Self {
        match e {
            quinn::WriteError::ConnectionLost(c) => c.into(),
            other => ClientError::closed(other.to_string()),
        }
    }
}

impl From<quinn::ReadError> for ClientError {
    fn from(e: quinn::ReadError) -> Self {
        match e {
            quinn::ReadError::ConnectionLost(c) => c.into(),
            other => ClientError::closed(other.to_string()),
        }
    }
}

/// A readable description of why a connection ended.
pub fn describe_connection_error(e: &quinn::ConnectionError) -> String {
    match e {
        quinn::ConnectionError::ApplicationClosed(a) => {
            let code = a.error_code.into_inner();
            let reason = String::from_utf8_lossy(&a.reason);
            if reason.is_empty() || reason == close::describe(code) {
                format!("{} (code {code})", close::describe(code))
            } else {
                format!("{}: {reason} (code {code})", close::describe(code))
            }
        }
        quinn::ConnectionError::TimedOut => "the server stopped responding (idle timeout)".into(),
        quinn::ConnectionError::LocallyClosed => "closed by this client".into(),
        other => other.to_string(),
    }
}
