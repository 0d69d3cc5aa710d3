//! Errors: [`ProtoError`] for local encode/decode failures and
//! [`WireError`]/[`ErrorCode`] for typed errors that travel to the peer.

use serde::{Deserialize, Serialize};

/// A failure to encode or decode a frame.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtoError {
    /// The length prefix announces more bytes than the stream allows.
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    FrameTooLarge {
        /// Announced length.
        len: usize,
        /// Limit for this stream.
        max: usize,
    },
    /// The frame body is not a valid postcard encoding of the expected type.
    #[error("malformed frame: {0}")]
    Malformed(String),
    /// The stream ended in the middle of a frame.
    #[error("stream ended inside a frame ({have} of {want} bytes)")]
    Truncated {
        /// Bytes received.
        have: usize,
        /// Bytes announced.
        want: usize,
    },
    /// A value could not be encoded.
    #[error("could not encode frame: {0}")]
    Encode(String),
}

/// Error codes that cross the wire. Each has a stable meaning; the
/// accompanying message in [`WireError`] is for people.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::EnumCount,
    strum::IntoStaticStr,
)]
#[strum(serialize_all = "snake_case")]
pub enum ErrorCode {
    /// The peer sent bytes that do not decode as the expected frame.
    BadFrame,
    /// The peer sent a frame larger than the stream's limit.
    FrameTooLarge,
    /// The client speaks a protocol version the server does not support.
    UnsupportedVersion,
    /// A frame arrived that is not valid in the current state (for example a
    /// request before the hello, or a chat stream before authentication).
    UnexpectedFrame,
    /// The request needs an authenticated session.
    Unauthenticated,
    /// The username breaks the charset or length rule.
    InvalidUsername,
    /// The password is shorter than the minimum.
    WeakPassword,
    /// Registration with a username that already exists.
    UsernameTaken,
    /// Login for a username that does not exist, or a message to one.
    UnknownUser,
    /// Login with a wrong password.
    WrongPassword,
    /// The device token is unknown, malformed or revoked.
    InvalidToken,
    /// Too many requests; retry later.
    RateLimited,
    /// The thing asked for does not exist or is not visible to the caller.
    NotFound,
    /// The caller may not do this.
    Forbidden,
    /// A message body is empty or over the size limit.
    InvalidMessage,
    /// A request argument is out of range.
    InvalidArgument,
    /// The server is shutting down; reconnect later.
    ShuttingDown,
    /// Something failed on the server; the request may be retried.
    Internal,
    /// A file is larger than the server's maximum upload size.
    TooLarge,
    /// The upload would exceed the user's storage quota.
    QuotaExceeded,
    /// The uploaded bytes do not match the announced size or SHA-256.
    HashMismatch,
    /// An upload ended before all bytes arrived; resume it.
    Incomplete,
    /// The server will not deliver this to that user. Deliberately says
    /// no more (a block must not be revealed).
    CannotDeliver,
    /// The group has reached its member limit.
    GroupFull,
    /// The invite code is unknown, revoked, expired or used up.
    InvalidInvite,
}

impl ErrorCode {
    /// A short, stable, human-readable name (used in CLI JSON output):
    /// the variant in snake case, `bad_frame`, `wrong_password`, ...
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A typed error sent to the peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct WireError {
    /// Machine-readable code.
    pub code: ErrorCode,
    /// Human-readable explanation; never contains secrets.
    pub message: String,
    /// For [`ErrorCode::RateLimited`]: milliseconds until a retry may succeed.
    pub retry_after_ms: Option<u64>,
}

impl WireError {
    /// Builds an error with a code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        WireError {
            code,
            message: message.into(),
            retry_after_ms: None,
        }
    }
}

/// QUIC application close codes. The close reason carries readable text.
pub mod close {
    /// Normal close by either side.
    pub const NORMAL: u32 = 0;
    /// The peer violated the framing or the protocol.
    pub const PROTOCOL_ERROR: u32 = 1;
    /// Authentication failed or the device was revoked.
    pub const AUTH_FAILED: u32 = 2;
    /// The server is shutting down.
    pub const SHUTTING_DOWN: u32 = 3;
    /// The device logged out or was revoked elsewhere.
    pub const LOGGED_OUT: u32 = 4;
    /// A frame exceeded the size limit.
    pub const FRAME_TOO_LARGE: u32 = 5;
    /// Internal server error.
    pub const INTERNAL: u32 = 6;
    /// Too many connections from this address.
    pub const TOO_MANY_CONNECTIONS: u32 = 7;

    /// A human-readable name for a close code.
    pub fn describe(code: u64) -> &'static str {
        match code {
            0 => "normal close",
            1 => "protocol error",
            2 => "authentication failed",
            3 => "server shutting down",
            4 => "logged out",
            5 => "frame too large",
            6 => "internal server error",
            7 => "too many connections",
            _ => "unknown close code",
        }
    }
}
