//! The caller's conversation list.

use quichat_proto::rpc::conversations::{Request, Response};

use crate::accounts::Session;
use crate::ctx::ConnCtx;
use crate::error::ServiceError;

pub async fn handle(
    ctx: &ConnCtx,
    session: &Session,
    request: Request,
) -> Result<Response, ServiceError> {
    match request {
        Request::List => Ok(Response::List(ctx.state.conversations.list(session).await?)),
    }
}
