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
    let entries = ctx.state.conversations.overview(session).await?;
    Ok(match request {
        Request::List => Response::List(entries.into_iter().map(|e| e.summary).collect()),
        Request::Overview => Response::Overview(entries),
    })
}
