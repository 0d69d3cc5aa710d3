//! Paging through the caller's event log.

use quichat_proto::rpc::sync::{Request, Response};

use crate::accounts::Session;
use crate::ctx::ConnCtx;
use crate::error::ServiceError;

pub async fn handle(
    ctx: &ConnCtx,
    session: &Session,
    request: Request,
) -> Result<Response, ServiceError> {
    match request {
        Request::Page { after, limit } => {
            let (events, has_more) = ctx.state.events.sync(session.user_id, after, limit).await?;
            Ok(Response::Page { events, has_more })
        }
    }
}
