//! The presence domain: friends' online state, hiding one's own, typing.

use serde::{Deserialize, Serialize};

use crate::social::Presence;

/// Presence requests.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum Request {
    /// The presence of every friend. Later changes are pushed as
    /// [`crate::control::ServerControl::Presence`]. Answered by
    /// [`Response::Friends`].
    Friends,
    /// Hide (or show) the caller's presence: others then see "offline,
    /// last seen hidden". Answered by [`Response::Done`].
    SetHidden {
        /// Hide it.
        hidden: bool,
    },
    /// The caller is typing to `to` (refresh every few seconds while
    /// typing). Never stored; rate-limited. Answered by
    /// [`Response::Done`].
    Typing {
        /// The other participant of the direct conversation.
        to: String,
    },
}

/// Presence responses.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum Response {
    /// Friends' presence, by username.
    Friends(Vec<Presence>),
    /// Done.
    Done,
}
