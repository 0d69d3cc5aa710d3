//! `quichat`: the command-line client of a quichat server.
//!
//! `main` parses the arguments, installs logging (`RUST_LOG`, to stderr,
//! default `warn`), runs one command and turns a failure into one line on
//! stderr (`quichat: error: ...`), plus a `{"type":"error"}` line on stdout
//! with `--json`, and exit status 1. Usage errors exit with 2.

mod args;
mod commands;
mod desktop;
mod error;
mod output;
mod password;
mod profile;
mod progress;
mod render;
mod session;
mod signals;
mod target;
mod tui;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::fmt::writer::MakeWriterExt;
use tracing_subscriber::EnvFilter;

use crate::args::Cli;
use crate::output::write_line;
use crate::render::{ErrorLine, Line};
use crate::session::Context;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    init_logging();
    let json = cli.global.json;
    let result = async {
        // Generated documents need no profile (nor a config directory).
        if let Some(done) = commands::without_profile(&cli.command) {
            return done;
        }
        let ctx = Context::load(cli.global)?;
        commands::run(&ctx, cli.command).await
    }
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e, json),
    }
}

fn init_logging() {
    // Our own warnings only: a library's log line (symphonia's probe
    // giving up on a non-audio file, say) is noise before the real error.
    // `RUST_LOG` turns anything on.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("off,quichat=warn,quichat_client=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Nothing on the terminal while `chat` draws on it.
        .with_writer(std::io::stderr.with_filter(|_| !tui::is_active()))
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// Prints a failed command's error and picks the exit status.
fn report(e: &anyhow::Error, json: bool) -> ExitCode {
    let message = format!("{e:#}");
    eprintln!("quichat: error: {message}");
    if json {
        let line = Line::from(ErrorLine::new(error::code_of(e), &message));
        if let Ok(text) = serde_json::to_string(&line) {
            let _ = write_line(&text);
        }
    }
    ExitCode::from(1)
}

/// `--help` and `--version` print and exit 0; real usage errors exit 2,
/// with a `{"type":"error","code":"usage"}` line too when JSON was asked
/// for.
fn usage_error(e: &clap::Error) -> ExitCode {
    if !e.use_stderr() {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    if json_requested() {
        // The first paragraph, on one line, without clap's "error: ".
        let rendered = e.render().to_string();
        let summary = rendered
            .split("\n\n")
            .next()
            .unwrap_or("usage error")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let first = summary.trim_start_matches("error: ");
        if let Ok(text) = serde_json::to_string(&Line::from(ErrorLine::new("usage", first))) {
            let _ = write_line(&text);
        }
    }
    let _ = e.print();
    ExitCode::from(2)
}

/// Whether `--json` (or `QUICHAT_JSON`) was given, for errors that happen
/// before the arguments could be parsed.
fn json_requested() -> bool {
    let flag = std::env::args_os().skip(1).any(|a| a == "--json");
    let env = std::env::var("QUICHAT_JSON")
        .map(|v| {
            matches!(
                v.to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "on" | "y"
            )
        })
        .unwrap_or(false);
    flag || env
}
