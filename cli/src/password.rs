//! Reading a password: from the terminal without echo, or as the first
//! line of stdin (`--password-stdin`) for scripts.

use std::io::BufRead;

use anyhow::{Context, Result};

use crate::error::CliError;

/// Reads the password. `confirm` asks twice on a terminal (registration).
pub fn read(from_stdin: bool, confirm: bool) -> Result<String> {
    if from_stdin {
        return read_line(&mut std::io::stdin().lock());
    }
    let first = prompt("Password: ")?;
    if confirm {
        let second = prompt("Repeat password: ")?;
        if first != second {
            return Err(CliError::new("password_mismatch", "the passwords do not match").into());
        }
    }
    Ok(first)
}

/// The current and the new password of `passwd`: prompted (the new one
/// twice), or the first two lines of stdin.
pub fn read_change(from_stdin: bool) -> Result<(String, String)> {
    if from_stdin {
        let mut stdin = std::io::stdin().lock();
        let current = read_line(&mut stdin)?;
        let new = read_line(&mut stdin).map_err(|_| {
            CliError::new(
                "password",
                "no new password on stdin (the second line; the first is the current one)",
            )
        })?;
        return Ok((current, new));
    }
    let current = prompt("Current password: ")?;
    let new = prompt("New password: ")?;
    if prompt("Repeat new password: ")? != new {
        return Err(CliError::new("password_mismatch", "the new passwords do not match").into());
    }
    Ok((current, new))
}

fn prompt(text: &str) -> Result<String> {
    rpassword::prompt_password(text).map_err(|e| {
        anyhow::Error::new(e).context(CliError::new(
            "password",
            "cannot read the password from the terminal (use --password-stdin in scripts)",
        ))
    })
}

/// The first line of `input` without its line ending.
fn read_line(input: &mut impl BufRead) -> Result<String> {
    let mut line = String::new();
    let n = input
        .read_line(&mut line)
        .context("cannot read the password from stdin")?;
    if n == 0 {
        return Err(CliError::new("password", "no password on stdin").into());
    }
    if line.ends_with('\n') {
        line.pop();
        if line.ends_with('\r') {
            line.pop();
        }
    }
    Ok(line)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn first_line_without_newline() {
        assert_eq!(
            read_line(&mut &b"s3cret pw\nnext\n"[..]).unwrap(),
            "s3cret pw"
        );
        assert_eq!(read_line(&mut &b"crlf\r\n"[..]).unwrap(), "crlf");
        assert_eq!(read_line(&mut &b"no newline"[..]).unwrap(), "no newline");
        assert_eq!(read_line(&mut &b"\n"[..]).unwrap(), "");
        assert!(read_line(&mut &b""[..]).is_err());
    }
}
