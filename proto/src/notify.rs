//! Notification settings and the flags each pushed event carries.
//!
//! The server decides, per recipient, whether an event should alert its
//! user: [`PushFlags`] rides on every event pushed to a protocol-2
//! connection ([`Flagged`]) and on every event of a flagged sync page, so
//! all clients agree and none needs the settings to decide. The settings
//! themselves are per user: conversations muted for a while or forever
//! ([`Mute`]) and do-not-disturb ([`Dnd`]), on, off or as a daily schedule
//! in the user's time zone.

use serde::{Deserialize, Serialize};

use crate::event::Event;
use crate::types::ConversationId;

/// What the server decided about one event for its recipient. A bit set;
/// unknown bits are ignored by clients (later versions may add some).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PushFlags(pub u8);

impl PushFlags {
    /// Do not alert: the conversation is muted, do-not-disturb is on, the
    /// event is the user's own doing, or its kind never alerts.
    pub const SILENT: u8 = 1;
    /// The event is a message that mentions the user (by name or `@all`).
    pub const MENTION: u8 = 2;
    /// The event is a message that replies to one of the user's messages.
    pub const REPLY: u8 = 4;

    /// The flags with `bit` set too.
    #[must_use]
    pub fn with(self, bit: u8) -> Self {
        PushFlags(self.0 | bit)
    }

    /// [`Self::SILENT`] is set.
    pub fn silent(self) -> bool {
        self.0 & Self::SILENT != 0
    }

    /// [`Self::MENTION`] is set.
    pub fn mention(self) -> bool {
        self.0 & Self::MENTION != 0
    }

    /// [`Self::REPLY`] is set.
    pub fn reply(self) -> bool {
        self.0 & Self::REPLY != 0
    }
}

/// An event with the flags the server set for its recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flagged {
    /// What to do about it.
    pub flags: PushFlags,
    /// The event.
    pub event: Event,
}

/// A muted conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mute {
    /// The conversation.
    pub conversation_id: ConversationId,
    /// Muted until this time (Unix ms); `None`: until unmuted.
    pub until_ms: Option<i64>,
}

/// When do-not-disturb is on.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum DndMode {
    /// Never.
    Off,
    /// Always, until turned off.
    On,
    /// Every day from `start_min` to `end_min`, in minutes after midnight
    /// in the user's time zone; a window whose end is before its start
    /// runs past midnight (22:00–07:00). The two differ.
    Scheduled {
        /// Start, 0..1440.
        start_min: u16,
        /// End, 0..1440.
        end_min: u16,
    },
}

/// Do-not-disturb: while it is on, every event is silent, except
/// mentions and replies when `allow_mentions` says so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dnd {
    /// When it is on.
    pub mode: DndMode,
    /// IANA time zone of the schedule (`Europe/Paris`, `UTC`).
    pub time_zone: String,
    /// Mentions and replies to the user still alert during do-not-disturb.
    pub allow_mentions: bool,
}

impl Default for Dnd {
    fn default() -> Self {
        Dnd {
            mode: DndMode::Off,
            time_zone: "UTC".into(),
            allow_mentions: false,
        }
    }
}

/// A user's notification settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifySettings {
    /// Do-not-disturb.
    pub dnd: Dnd,
    /// Conversations muted now (expired mutes are left out).
    pub mutes: Vec<Mute>,
}
