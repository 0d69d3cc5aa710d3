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
    Ok(match request {
        Request::List => Response::List(
            ctx.state
                .conversations
                .overview(session)
                .await?
                .into_iter()
                .map(|e| e.summary)
                .collect(),
        ),
        Request::Overview => Response::Overview(ctx.state.conversations.overview(session).await?),
        Request::Mentions => {
            Response::Mentions(crate::mentions::unread(&ctx.state.store, session.user_id).await?)
        }
    })
}
