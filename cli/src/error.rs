//! Errors of the CLI itself and the stable codes printed for every error
//! (`{"type":"error","code":...}` with `--json`).

use std::fmt;

use quichat_client::ClientError;

/// A failure detected by the CLI (not by the server or the client
/// library), with a stable machine-readable code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    /// Stable code, e.g. `not_logged_in`.
    pub code: &'static str,
    /// Message for people.
    pub message: String,
}

impl CliError {
    /// Builds an error.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        CliError {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// The code of a client library error: the server's [`ErrorCode`] name
/// when the server sent one, else a name for the local failure.
///
/// [`ErrorCode`]: quichat_proto::ErrorCode
pub fn client_code(e: &ClientError) -> &'static str {
    match e {
        ClientError::Server(w) => w.code.as_str(),
        ClientError::Config(_) => "config",
        ClientError::Connect { .. } => "connect",
        ClientError::Closed { .. } => "closed",
        ClientError::Protocol(_) => "protocol",
        ClientError::Io { .. } => "file",
        ClientError::Integrity(_) => "hash_mismatch",
        ClientError::FileExists(_) => "file_exists",
        ClientError::Timeout(_) => "timeout",
        _ => "client",
    }
}

/// The code for any error: a [`ClientError`] or [`CliError`] anywhere in
/// it (under any context) decides; anything else is `error`.
pub fn code_of(err: &anyhow::Error) -> &'static str {
    // `anyhow::Error::downcast_ref` sees through `.context(...)` layers,
    // which `chain()` items do not.
    if let Some(e) = err.downcast_ref::<ClientError>() {
        return client_code(e);
    }
    if let Some(e) = err.downcast_ref::<CliError>() {
        return e.code;
    }
    if let Some(e) = err.downcast_ref::<std::io::Error>() {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return "broken_pipe";
        }
    }
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<ClientError>() {
            return client_code(e);
        }
        if let Some(e) = cause.downcast_ref::<CliError>() {
            return e.code;
        }
    }
    "error"
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use anyhow::Context;
    use quichat_proto::{ErrorCode, WireError};

    #[test]
    fn codes_come_from_the_chain() {
        let server: anyhow::Error =
            ClientError::Server(WireError::new(ErrorCode::WrongPassword, "no")).into();
        assert_eq!(code_of(&server.context("login failed")), "wrong_password");
        let local: anyhow::Error = CliError::new("not_logged_in", "x").into();
        assert_eq!(code_of(&local), "not_logged_in");
        let nested: anyhow::Error = std::io::Error::other("tty").into();
        assert_eq!(
            code_of(&nested.context(CliError::new("password", "p"))),
            "password"
        );
        let other: Result<(), std::fmt::Error> = Err(std::fmt::Error);
        assert_eq!(code_of(&other.context("y").unwrap_err()), "error");
    }
}
