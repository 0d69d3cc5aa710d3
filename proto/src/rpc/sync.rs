//! The sync domain: page through the caller's event log.

use serde::{Deserialize, Serialize};

use crate::event::Event;

/// Sync requests.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum Request {
    /// Events after `after`, oldest first. Answered by [`Response::Page`].
    Page {
        /// The device's cursor (0 for a new device).
        after: u64,
        /// Page size, at most [`super::MAX_PAGE`].
        limit: u32,
    },
    /// As [`Request::Page`], each event with the flags the server sets on
    /// its pushes (computed with the settings in force now). Answered by
    /// [`Response::FlaggedPage`].
    FlaggedPage {
        /// The device's cursor (0 for a new device).
        after: u64,
        /// Page size, at most [`super::MAX_PAGE`].
        limit: u32,
    },
}

/// Sync responses.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum Response {
    /// A page of events.
    Page {
        /// Events in seq order.
        events: Vec<Event>,
        /// More events exist after the last one.
        has_more: bool,
    },
    /// A page of events with their flags.
    FlaggedPage {
        /// Events in seq order.
        events: Vec<crate::notify::Flagged>,
        /// More events exist after the last one.
        has_more: bool,
    },
}
