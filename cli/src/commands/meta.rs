//! `completions` and `manpage`: documents generated from the command-line
//! definition itself, so they never drift from `--help`. Neither needs a
//! profile or a server.

use std::io::Write;
use std::path::Path;

use anyhow::{Context as _, Result};
use clap::CommandFactory;

use crate::args::Cli;

/// `completions SHELL`: the completion script on stdout.
pub fn completions(shell: clap_complete::Shell) -> Result<()> {
    let mut command = Cli::command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(shell, &mut command, "quichat", &mut out);
    out.flush().context("cannot write to stdout")
}

/// `manpage [--dir DIR]`: quichat(1) on stdout, or every page into DIR.
pub fn manpage(dir: Option<&Path>) -> Result<()> {
    let command = Cli::command();
    match dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(command, dir)
                .with_context(|| format!("cannot write the manual pages into {}", dir.display()))
        }
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(command)
                .render(&mut out)
                .and_then(|()| out.flush())
                .context("cannot write to stdout")
        }
    }
}
