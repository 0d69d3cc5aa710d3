//! The line of a failed command.

use serde::Serialize;

/// `{"type":"error"}`: why a command failed.
#[derive(Debug, Serialize)]
pub struct ErrorLine<'a> {
    code: &'a str,
    message: &'a str,
}

impl<'a> ErrorLine<'a> {
    /// An error with a stable code.
    pub fn new(code: &'a str, message: &'a str) -> Self {
        ErrorLine { code, message }
    }
}
