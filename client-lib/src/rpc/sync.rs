//! Paging through the caller's event log.

use quichat_proto::event::Event;
use quichat_proto::notify::Flagged;
use quichat_proto::rpc::sync::{Request, Response};

use super::reply;
use crate::{Client, ClientError};

impl Client {
    /// One page of events after `after`.
    pub async fn sync_page(
        &self,
        after: u64,
        limit: u32,
    ) -> Result<(Vec<Event>, bool), ClientError> {
        reply!(
            self.call(Request::Page { after, limit }).await?,
            Response::Page { events, has_more } => (events, has_more)
        )
    }

    /// One page of events after `after`, each with the flags the server
    /// would push it with now (silent, mention, reply).
    pub async fn sync_flagged_page(
        &self,
        after: u64,
        limit: u32,
    ) -> Result<(Vec<Flagged>, bool), ClientError> {
        reply!(
            self.call(Request::FlaggedPage { after, limit }).await?,
            Response::FlaggedPage { events, has_more } => (events, has_more)
        )
    }
}
