//! `quichat-bench`: the quichat benchmark tool. Every scenario reports
//! its figures beside a baseline measured in the same run, as a ratio.

mod cli;
mod db_baseline;
mod payload;
mod plots;
mod procfs;
mod quic;
mod raw;
mod report;
mod scenarios;
mod scrape;
mod stats;
mod target;
mod users;

use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Parser;

use crate::cli::{Cli, Command, Common};
use crate::scenarios::{Report, Scenario};
use crate::target::Target;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_filter = match cli.command {
        Command::RawServer(_) => "warn",
        _ => "quichat_bench=info,warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none(),
        )
        .with_target(false)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("quichat-bench: error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(real_main(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quichat-bench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn real_main(cli: Cli) -> Result<()> {
    let scenarios = match cli.command {
        Command::RawServer(args) => return raw::serve(args).await,
        Command::PrintLimits => {
            print!("{}", target::LIMITS_TOML);
            return Ok(());
        }
        Command::Messages(a) => vec![Scenario::Messages(a)],
        Command::Connections(a) => vec![Scenario::Connections(a)],
        Command::Hol(a) => vec![Scenario::Hol(a)],
        Command::Media(a) => vec![Scenario::Media(a)],
        Command::Fanout(a) => vec![Scenario::Fanout(a)],
        Command::Broadcast(a) => vec![Scenario::Broadcast(a)],
        Command::Soak(a) => vec![Scenario::Soak(a)],
        Command::All(a) => Scenario::all(a.preset)?,
    };
    let common = cli.common;
    if let Some(dir) = &common.plot {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the plot directory {}", dir.display()))?;
    }
    let mut out = serde_json::Map::new();
    out.insert("tool".into(), "quichat-bench".into());
    out.insert("version".into(), env!("CARGO_PKG_VERSION").into());
    let mut results = serde_json::Map::new();
    let mut failed = Vec::new();
    for scenario in scenarios {
        let report = run_one(&common, &scenario).await?;
        if !common.json {
            for table in report.tables() {
                println!("{}", table.render());
            }
        }
        if let Some(dir) = &common.plot {
            for file in report.plot(dir)? {
                tracing::info!("wrote {}", file.display());
            }
        }
        if let Some(why) = &report.failed {
            failed.push(format!("{}: {why}", scenario.name()));
        }
        results.insert(scenario.name().into(), report.json);
    }
    out.insert("scenarios".into(), serde_json::Value::Object(results));
    let text = serde_json::to_string_pretty(&serde_json::Value::Object(out))?;
    if common.json {
        println!("{text}");
    }
    if let Some(path) = &common.json_out {
        std::fs::write(path, format!("{text}\n"))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if !failed.is_empty() {
        bail!("{}", failed.join("; "));
    }
    Ok(())
}

/// Starts the target, runs one scenario (Ctrl-C or SIGTERM stop it), and
/// stops the target whatever happened.
async fn run_one(common: &Common, scenario: &Scenario) -> Result<Report> {
    let mut target = Target::start(common).await?;
    let result = tokio::select! {
        r = scenario.run(&mut target) => r,
        _ = interrupted() => Err(anyhow::anyhow!("interrupted")),
    };
    let info = target.info.clone();
    target.stop().await;
    let mut report = result.with_context(|| format!("scenario {}", scenario.name()))?;
    if let serde_json::Value::Object(map) = &mut report.json {
        map.insert("target".into(), serde_json::to_value(&info)?);
    } else {
        bail!("a report is a JSON object");
    }
    Ok(report)
}

async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
