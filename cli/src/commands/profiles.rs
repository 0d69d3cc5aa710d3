//! `profiles`: every profile on this computer, with its server, its user
//! and whether its saved session still works (like `gh auth status`).

use anyhow::Result;
use quichat_proto::ErrorCode;

use crate::args::GlobalOpts;
use crate::error::code_of;
use crate::profile::ProfileFile;
use crate::render::{LocalProfileLine, ProfileState};
use crate::session::Context;

/// `profiles [--offline]`: one line per profile, checked against their
/// servers concurrently (each within `--connect-timeout`).
pub async fn list(ctx: &Context, offline: bool) -> Result<()> {
    let files = ProfileFile::all()?;
    if files.is_empty() {
        return ctx
            .printer
            .note("no profiles yet; `quichat register USER` or `quichat login USER` creates one");
    }
    let checks = files.into_iter().map(|file| {
        let current = file.name() == ctx.file.name();
        let opts = own_settings(&ctx.opts, file.name());
        async move { check(opts, file, current, offline).await }
    });
    let lines = futures::future::join_all(checks).await;
    if ctx.opts.json {
        for line in lines {
            ctx.printer.emit("", line)?;
        }
        return Ok(());
    }
    for row in LocalProfileLine::human(&lines) {
        ctx.printer.note(&row)?;
    }
    Ok(())
}

/// The global options for checking the profile `name` with its own saved
/// server and trust anchor: `--server`, `--ca` and `--pin` (and their
/// environment variables) are meant for the current profile only.
fn own_settings(opts: &GlobalOpts, name: &str) -> GlobalOpts {
    GlobalOpts {
        server: None,
        ca: None,
        pin: None,
        profile: name.to_string(),
        ..opts.clone()
    }
}

/// One profile's line, asking its server unless `offline`.
async fn check(
    opts: GlobalOpts,
    file: ProfileFile,
    current: bool,
    offline: bool,
) -> LocalProfileLine {
    let name = file.name().to_string();
    let loaded = file.load();
    let mut line = LocalProfileLine {
        name,
        current,
        server: None,
        username: None,
        device_id: None,
        state: ProfileState::Unknown,
        reason: None,
    };
    let profile = match loaded {
        Ok(profile) => profile,
        Err(e) => {
            line.reason = Some(format!("{e:#}"));
            return line;
        }
    };
    line.server = profile.server.clone();
    line.username = profile.username.clone();
    line.device_id = profile.device_id;
    if profile.token.is_none() {
        line.state = ProfileState::LoggedOut;
        return line;
    }
    if offline {
        return line;
    }
    let ctx = Context::with_profile(opts, file, profile);
    match ctx.session().await {
        Ok((client, _)) => {
            client.close().await;
            line.state = ProfileState::Valid;
        }
        Err(e) if code_of(&e) == ErrorCode::InvalidToken.as_str() => {
            line.state = ProfileState::Invalid;
        }
        Err(e) => line.reason = Some(format!("{e:#}")),
    }
    line
}
