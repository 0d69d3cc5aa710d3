//! `mute`, `unmute` and `dnd`: notification settings, which the server
//! applies to every device of the account through the flags of each
//! pushed event.

use std::collections::HashMap;

use anyhow::Result;
use quichat_proto::notify::{Dnd, DndMode, NotifySettings};

use super::messages::with_target;
use crate::args::DndAction;
use crate::error::CliError;
use crate::render::{DndLine, MutedLine};
use crate::session::Context;
use crate::target::{conversation_id, label, Target};

/// `mute CONV [--for DURATION]`.
pub async fn mute(ctx: &Context, target: &Target, duration: Option<u64>) -> Result<()> {
    let (with, id, settings) = with_target(ctx, target, async |client, _, to| {
        let id = conversation_id(client, &to).await?;
        let until_ms = match duration {
            Some(secs) => {
                let ms = i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX);
                Some(chrono::Utc::now().timestamp_millis().saturating_add(ms))
            }
            None => None,
        };
        let settings = client.mute(id, until_ms).await?;
        Ok((label(&to), id, settings))
    })
    .await?;
    let mute = settings
        .mutes
        .iter()
        .find(|m| m.conversation_id == id)
        .ok_or_else(|| CliError::new("internal", "the server did not keep the mute"))?;
    ctx.printer.emit(
        &MutedLine::human(Some(mute), &with),
        MutedLine::muted(mute, Some(with.clone())),
    )
}

/// `unmute CONV`.
pub async fn unmute(ctx: &Context, target: &Target) -> Result<()> {
    let (with, id) = with_target(ctx, target, async |client, _, to| {
        let id = conversation_id(client, &to).await?;
        client.unmute(id).await?;
        Ok((label(&to), id))
    })
    .await?;
    ctx.printer.emit(
        &MutedLine::human(None, &with),
        MutedLine::unmuted(id, Some(with.clone())),
    )
}

/// `dnd [status|on|off|schedule]`: changes do-not-disturb (keeping the
/// parts the command does not name), then shows the settings.
pub async fn dnd(ctx: &Context, action: DndAction) -> Result<()> {
    let (client, _) = ctx.session().await?;
    let result = async {
        let current = client.notify_settings().await?;
        let settings = match action {
            DndAction::Status => current,
            DndAction::Off => {
                let dnd = Dnd {
                    mode: DndMode::Off,
                    ..current.dnd
                };
                client.set_dnd(dnd).await?
            }
            DndAction::On { allow_mentions } => {
                let dnd = Dnd {
                    mode: DndMode::On,
                    allow_mentions,
                    ..current.dnd
                };
                client.set_dnd(dnd).await?
            }
            DndAction::Schedule {
                window: (start_min, end_min),
                tz,
                allow_mentions,
            } => {
                let time_zone = match tz {
                    Some(tz) => tz,
                    None => local_zone()?,
                };
                client
                    .set_dnd(Dnd {
                        mode: DndMode::Scheduled { start_min, end_min },
                        time_zone,
                        allow_mentions,
                    })
                    .await?
            }
        };
        let labels: HashMap<_, _> = client
            .conversation_overview()
            .await?
            .iter()
            .map(|c| (c.summary.id, label(&c.summary.peer)))
            .collect();
        anyhow::Ok((settings, labels))
    }
    .await;
    client.close().await;
    let (settings, labels) = result?;
    show(ctx, &settings, &labels)
}

fn show(ctx: &Context, settings: &NotifySettings, labels: &HashMap<i64, String>) -> Result<()> {
    ctx.printer
        .emit(&DndLine::human(&settings.dnd), DndLine::new(&settings.dnd))?;
    for mute in &settings.mutes {
        let with = labels.get(&mute.conversation_id).cloned();
        let shown = with
            .clone()
            .unwrap_or_else(|| format!("conversation {}", mute.conversation_id));
        ctx.printer.emit(
            &MutedLine::human(Some(mute), &shown),
            MutedLine::muted(mute, with),
        )?;
    }
    Ok(())
}

/// This computer's IANA time zone (`TZ`, else the system's).
fn local_zone() -> Result<String, CliError> {
    if let Ok(tz) = std::env::var("TZ") {
        let tz = tz.trim_start_matches(':');
        // An IANA name; POSIX rules such as `CET-1` are not names.
        if tz == "UTC" || tz.contains('/') {
            return Ok(tz.to_string());
        }
    }
    iana_time_zone::get_timezone().map_err(|e| {
        CliError::new(
            "usage",
            format!("cannot tell this computer's time zone ({e}); name one with --tz Europe/Paris"),
        )
    })
}
