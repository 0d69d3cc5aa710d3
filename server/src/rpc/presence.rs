//! Friends' presence, hiding one's own, typing notices.

use quichat_proto::rpc::presence::{Request, Response};

use crate::accounts::Session;
use crate::ctx::ConnCtx;
use crate::error::ServiceError;

pub async fn handle(
    ctx: &ConnCtx,
    session: &Session,
    request: Request,
) -> Result<Response, ServiceError> {
    let s = &ctx.state;
    match request {
        Request::Friends => Ok(Response::Friends(s.presence.friends(session).await?)),
        Request::SetHidden { hidden } => {
            s.presence.set_hidden(session, hidden).await?;
            Ok(Response::Done)
        }
        Request::Typing { to } => {
            s.presence
                .typing(session, &to, &s.limits.typing_per_user)
                .await?;
            Ok(Response::Done)
        }
    }
}
