//! Server broadcasts: sending one (server administrators only).

use quichat_proto::rpc::broadcast::{Request, Response};

use crate::accounts::Session;
use crate::ctx::ConnCtx;
use crate::error::ServiceError;

pub async fn handle(
    ctx: &ConnCtx,
    session: &Session,
    request: Request,
) -> Result<Response, ServiceError> {
    match request {
        Request::Send { text } => {
            let (id, recipients) = ctx.state.broadcasts.send(session.user_id, &text).await?;
            Ok(Response::Sent { id, recipients })
        }
    }
}
