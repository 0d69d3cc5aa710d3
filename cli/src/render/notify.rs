//! Lines about notification settings: `mute`, `unmute` and `dnd`.

use quichat_proto::notify::{Dnd, DndMode, Mute};
use quichat_proto::types::ConversationId;
use serde::Serialize;

use crate::output::{local_time, rfc3339};

/// `HH:MM` of minutes after midnight.
fn clock(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// `{"type":"muted"}`: a conversation is muted (`until` null: until
/// unmuted), or, with `muted: false`, was unmuted.
#[derive(Debug, Serialize)]
pub struct MutedLine {
    conversation_id: ConversationId,
    /// `bob` or `#12` when known.
    with: Option<String>,
    muted: bool,
    until: Option<String>,
}

impl MutedLine {
    /// A mute in force.
    pub fn muted(mute: &Mute, with: Option<String>) -> Self {
        MutedLine {
            conversation_id: mute.conversation_id,
            with,
            muted: true,
            until: mute.until_ms.map(rfc3339),
        }
    }

    /// After `unmute`.
    pub fn unmuted(conversation_id: ConversationId, with: Option<String>) -> Self {
        MutedLine {
            conversation_id,
            with,
            muted: false,
            until: None,
        }
    }

    /// `🔕 bob muted until 2026-12-07 08:00:00`, `🔔 bob unmuted`.
    pub fn human(mute: Option<&Mute>, with: &str) -> String {
        match mute {
            Some(Mute {
                until_ms: Some(until),
                ..
            }) => format!("🔕 {with} muted until {}", local_time(*until)),
            Some(_) => format!("🔕 {with} muted until you unmute it"),
            None => format!("🔔 {with} unmuted"),
        }
    }
}

/// `{"type":"dnd"}`: the do-not-disturb setting.
#[derive(Debug, Serialize)]
pub struct DndLine {
    /// `off`, `on` or `scheduled`.
    mode: &'static str,
    /// `HH:MM` of a schedule.
    start: Option<String>,
    end: Option<String>,
    time_zone: String,
    allow_mentions: bool,
}

impl DndLine {
    /// From the setting.
    pub fn new(dnd: &Dnd) -> Self {
        let (mode, start, end) = match dnd.mode {
            DndMode::Off => ("off", None, None),
            DndMode::On => ("on", None, None),
            DndMode::Scheduled { start_min, end_min } => {
                ("scheduled", Some(clock(start_min)), Some(clock(end_min)))
            }
        };
        DndLine {
            mode,
            start,
            end,
            time_zone: dnd.time_zone.clone(),
            allow_mentions: dnd.allow_mentions,
        }
    }

    /// `do not disturb: every day 22:00–07:00 (Europe/Paris); mentions
    /// and replies still alert`.
    pub fn human(dnd: &Dnd) -> String {
        let when = match dnd.mode {
            DndMode::Off => return "do not disturb: off".into(),
            DndMode::On => "on".to_string(),
            DndMode::Scheduled { start_min, end_min } => format!(
                "every day {}–{} ({})",
                clock(start_min),
                clock(end_min),
                dnd.time_zone
            ),
        };
        let mentions = if dnd.allow_mentions {
            "mentions and replies still alert"
        } else {
            "nothing alerts, mentions included"
        };
        format!("⛔ do not disturb: {when}; {mentions}")
    }
}
