//! Server broadcasts (server administrators).

use quichat_proto::rpc::broadcast::{Request, Response};
use quichat_proto::types::BroadcastId;

use super::reply;
use crate::{Client, ClientError};

impl Client {
    /// Sends a broadcast to every user of the server; only server
    /// administrators may (`forbidden` otherwise). Returns its id and how
    /// many users it goes to; it arrives as
    /// [`EventBody::Broadcast`](quichat_proto::event::EventBody::Broadcast).
    pub async fn broadcast(&self, text: &str) -> Result<(BroadcastId, u64), ClientError> {
        reply!(
            self.call(Request::Send { text: text.into() }).await?,
            Response::Sent { id, recipients } => (id, recipients)
        )
    }
}
