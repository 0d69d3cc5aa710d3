//! Presence and typing.

use quichat_proto::rpc::presence::{Request, Response};
use quichat_proto::social::Presence;

use super::reply;
use crate::{Client, ClientError};

impl Client {
    /// Your friends' presence now; changes arrive as
    /// [`crate::Notice::Presence`] on [`Client::notices`].
    pub async fn presence(&self) -> Result<Vec<Presence>, ClientError> {
        reply!(self.call(Request::Friends).await?, Response::Friends(p) => p)
    }

    /// Hides (or shows) your presence from everyone.
    pub async fn set_presence_hidden(&self, hidden: bool) -> Result<(), ClientError> {
        reply!(self.call(Request::SetHidden { hidden }).await?, Response::Done => ())
    }

    /// Tells `to` you are typing; repeat every few seconds while you type.
    pub async fn typing(&self, to: &str) -> Result<(), ClientError> {
        reply!(self.call(Request::Typing { to: to.into() }).await?, Response::Done => ())
    }
}
