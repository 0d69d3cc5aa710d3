//! Profiles and the user directory.

use quichat_proto::rpc::profile::{Request, Response};
use quichat_proto::social::{Profile, ProfileUpdate};

use super::reply;
use crate::{Client, ClientError};

impl Client {
    /// A user's profile (`unknown_user` for one who blocked you, as for
    /// one that does not exist).
    pub async fn profile(&self, username: &str) -> Result<Profile, ClientError> {
        let request = Request::Get {
            username: username.into(),
        };
        reply!(self.call(request).await?, Response::Profile(p) => p)
    }

    /// Changes your profile; returns it as others now see it.
    pub async fn update_profile(&self, update: ProfileUpdate) -> Result<Profile, ClientError> {
        reply!(self.call(Request::Update(update)).await?, Response::Profile(p) => p)
    }

    /// One page of users whose username or display name starts with
    /// `prefix`, after the username `after`; and whether more exist.
    pub async fn search_users(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<Profile>, bool), ClientError> {
        let request = Request::Search {
            prefix: prefix.into(),
            after: after.map(Into::into),
            limit,
        };
        reply!(self.call(request).await?, Response::Found { users, has_more } => (users, has_more))
    }
}
