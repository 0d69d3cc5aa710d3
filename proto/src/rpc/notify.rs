//! Notification settings: mute and unmute conversations, do-not-disturb.
//! Every request is answered with the caller's settings after it
//! ([`Response::Settings`]); they apply to every device of the user at
//! once, through the flags of each pushed event ([`crate::notify`]).

use serde::{Deserialize, Serialize};

use crate::notify::{Dnd, NotifySettings};
use crate::types::ConversationId;

/// Notification requests.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum Request {
    /// The caller's settings.
    Get,
    /// Mute a conversation the caller is in (`not_found` otherwise) until
    /// `until_ms` (Unix ms, in the future), or until unmuted (`None`).
    /// Muting again replaces the end.
    Mute {
        /// The conversation.
        conversation_id: ConversationId,
        /// The end of the mute; `None`: until unmuted.
        until_ms: Option<i64>,
    },
    /// Unmute a conversation (muted or not).
    Unmute {
        /// The conversation.
        conversation_id: ConversationId,
    },
    /// Replace the do-not-disturb setting. The time zone must be an IANA
    /// name and a schedule's start and end must differ and be below 1440
    /// (`invalid_argument` otherwise).
    SetDnd(Dnd),
}

/// Notification responses.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum Response {
    /// The caller's settings (after the change).
    Settings(NotifySettings),
}
