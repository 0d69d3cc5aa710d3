//! The scenarios, one module each.

pub mod broadcast;
pub mod connections;
pub mod fanout;
pub mod hol;
pub mod media;
pub mod messages;
pub mod soak;

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Serialize;

use crate::cli::{
    parse_args, BroadcastArgs, ConnectionsArgs, FanoutArgs, HolArgs, MediaArgs, MessagesArgs,
    Preset, SoakArgs,
};
use crate::report::Table;
use crate::target::Target;

/// What a scenario's report can do besides being JSON.
pub trait Render {
    /// Its tables.
    fn tables(&self) -> Vec<Table>;
    /// Writes its charts into `dir`; the files written.
    fn plot(&self, dir: &Path) -> Result<Vec<PathBuf>>;
}

/// A finished scenario: its JSON and its tables and charts.
pub struct Report {
    /// Every figure.
    pub json: serde_json::Value,
    /// Why the run failed, for scenarios whose checks decide the exit
    /// status (`soak`); reported after the output is written.
    pub failed: Option<String>,
    inner: Box<dyn Render + Send>,
}

impl std::fmt::Debug for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Report").field("json", &self.json).finish()
    }
}

impl Report {
    fn of<R: Render + Serialize + Send + 'static>(r: R) -> Result<Report> {
        Ok(Report {
            json: serde_json::to_value(&r)?,
            failed: None,
            inner: Box::new(r),
        })
    }

    /// Its tables.
    pub fn tables(&self) -> Vec<Table> {
        self.inner.tables()
    }

    /// Writes its charts.
    pub fn plot(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        self.inner.plot(dir)
    }
}

/// A scenario with its options.
#[derive(Debug, Clone)]
pub enum Scenario {
    /// `messages`.
    Messages(MessagesArgs),
    /// `connections`.
    Connections(ConnectionsArgs),
    /// `hol`.
    Hol(HolArgs),
    /// `media`.
    Media(MediaArgs),
    /// `fanout`.
    Fanout(FanoutArgs),
    /// `broadcast`.
    Broadcast(BroadcastArgs),
    /// `soak`.
    Soak(SoakArgs),
}

impl Scenario {
    /// Every scenario, in priority order, at a preset's sizes.
    pub fn all(preset: Preset) -> Result<Vec<Scenario>> {
        Ok(vec![
            Scenario::Messages(parse_args(preset.messages())?),
            Scenario::Connections(parse_args(preset.connections())?),
            Scenario::Hol(parse_args(preset.hol())?),
            Scenario::Media(parse_args(preset.media())?),
            Scenario::Fanout(parse_args(preset.fanout())?),
            Scenario::Broadcast(parse_args(preset.broadcast())?),
        ])
    }

    /// Its name (the subcommand, and its key in the JSON).
    pub fn name(&self) -> &'static str {
        match self {
            Scenario::Messages(_) => "messages",
            Scenario::Connections(_) => "connections",
            Scenario::Hol(_) => "hol",
            Scenario::Media(_) => "media",
            Scenario::Fanout(_) => "fanout",
            Scenario::Broadcast(_) => "broadcast",
            Scenario::Soak(_) => "soak",
        }
    }

    /// Runs it against `target`.
    pub async fn run(&self, target: &mut Target) -> Result<Report> {
        match self {
            Scenario::Messages(a) => Report::of(messages::run(target, a).await?),
            Scenario::Connections(a) => Report::of(connections::run(target, a).await?),
            Scenario::Hol(a) => Report::of(hol::run(target, a).await?),
            Scenario::Media(a) => Report::of(media::run(target, a).await?),
            Scenario::Fanout(a) => Report::of(fanout::run(target, a).await?),
            Scenario::Broadcast(a) => Report::of(broadcast::run(target, a).await?),
            Scenario::Soak(a) => {
                let r = soak::run(target, a).await?;
                let failed = (!r.passed).then(|| {
                    r.summary
                        .first_failure
                        .clone()
                        .unwrap_or_else(|| "a check failed".into())
                });
                let mut report = Report::of(r)?;
                report.failed = failed;
                Ok(report)
            }
        }
    }
}
