//! The profile domain: read and change profiles, search the directory.

use serde::{Deserialize, Serialize};

use crate::social::{Profile, ProfileUpdate};

/// Profile requests.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum Request {
    /// A user's profile (the caller's own too). Answered by
    /// [`Response::Profile`]; a user who blocked the caller is
    /// `unknown_user`, like one that does not exist.
    Get {
        /// Whose.
        username: String,
    },
    /// Change the caller's profile; friends see it on sync. Answered by
    /// [`Response::Profile`] with the new profile.
    Update(ProfileUpdate),
    /// Users whose username or display name starts with `prefix`
    /// (case-insensitive), ordered by username, after `after` (paging).
    /// Never lists a user who blocked the caller. Answered by
    /// [`Response::Found`].
    Search {
        /// At least one character.
        prefix: String,
        /// The last username of the previous page.
        after: Option<String>,
        /// Page size, at most [`super::MAX_PAGE`].
        limit: u32,
    },
}

/// Profile responses.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum Response {
    /// A profile.
    Profile(Profile),
    /// A page of search results.
    Found {
        /// Matching users, by username.
        users: Vec<Profile>,
        /// More results exist after the last one.
        has_more: bool,
    },
}
