//! What the `quichat-server` binary shows an operator: a bind error that
//! names its cause once, `print-config` with the URLs in effect (secrets
//! masked), and logs without colour codes on a pipe and without one line
//! per SQL statement at `RUST_LOG=debug`.

#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};

const BIN: &str = env!("CARGO_BIN_EXE_quichat-server");

#[test]
fn bind_error_names_its_cause_once() -> Result<()> {
    let taken = std::net::UdpSocket::bind("127.0.0.1:0")?;
    let addr = taken.local_addr()?;
    let dir = tempfile::tempdir()?;
    let out = Command::new(BIN)
        .args(["--listen", &addr.to_string(), "--data-dir"])
        .arg(dir.path())
        .env("RUST_LOG", "off")
        .output()?;
    ensure!(out.status.code() == Some(1), "{out:?}");
    let stderr = String::from_utf8(out.stderr)?;
    ensure!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );
    ensure!(
        stderr.matches("in use").count() == 1,
        "the cause is repeated: {stderr}"
    );
    Ok(())
}

#[test]
fn print_config_shows_the_urls_in_effect() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let out = Command::new(BIN)
        .arg("--data-dir")
        .arg(dir.path())
        .arg("print-config")
        .output()?;
    ensure!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout)?;
    let d = dir.path().display();
    ensure!(
        text.contains(&format!("database_url = \"sqlite://{d}/quichat.db")),
        "{text}"
    );
    ensure!(
        text.contains(&format!("url = \"file://{d}/media\"")),
        "{text}"
    );

    let out = Command::new(BIN)
        .arg("--data-dir")
        .arg(dir.path())
        .args([
            "--database-url",
            "postgres://quichat:hunter2-secret@db.example:5432/quichat",
            "print-config",
        ])
        .output()?;
    ensure!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout)?;
    ensure!(
        !text.contains("hunter2-secret"),
        "the password leaked: {text}"
    );
    ensure!(text.contains("db.example:5432/quichat"), "{text}");
    Ok(())
}

/// Runs an idle server for two seconds with `RUST_LOG=level`, stderr on a
/// pipe, and returns what it logged.
fn idle_logs(level: &str) -> Result<String> {
    let dir = tempfile::tempdir()?;
    let mut child = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("RUST_LOG", level)
        .env_remove("NO_COLOR")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    // The transcription and outbox pollers query several times a second.
    std::thread::sleep(Duration::from_secs(2));
    child.kill()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait()?.is_none() {
        ensure!(Instant::now() < deadline, "the server did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .context("stderr")?
        .read_to_string(&mut stderr)?;
    ensure!(stderr.contains("server started"), "{stderr}");
    Ok(stderr)
}

fn sql_lines(logs: &str) -> usize {
    logs.lines().filter(|l| l.contains("sqlx::query")).count()
}

#[test]
fn logs_on_a_pipe_are_plain_and_debug_has_no_sql_flood() -> Result<()> {
    let debug = idle_logs("debug")?;
    ensure!(!debug.contains('\u{1b}'), "colour codes on a pipe");
    ensure!(
        sql_lines(&debug) == 0,
        "{} SQL statement lines at debug",
        sql_lines(&debug)
    );
    // They are still there for whoever asks for trace.
    let trace = idle_logs("trace")?;
    ensure!(sql_lines(&trace) > 0, "no SQL statements even at trace");
    Ok(())
}

#[test]
fn wire_errors_read_as_their_message() {
    let e = quichat_client::proto::WireError::new(
        quichat_client::proto::ErrorCode::WrongPassword,
        "wrong password",
    );
    assert_eq!(e.to_string(), "wrong password");
}
