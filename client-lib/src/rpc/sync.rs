//! Paging through the event log.

use quichat_proto::event::Event;
use quichat_proto::rpc::sync::{Request, Response};

use crate::{Client, ClientError};

impl Client {
    /// One page of events after `after`.
    pub async fn sync_page(
        &self,
        after: u64,
        limit: u32,
    ) -> Result<(Vec<Event>, bool), ClientError> {
        let Response::Page { events, has_more } = self.call(Request::Page { after, limit }).await?;
        Ok((events, has_more))
    }
}
