//! Profiles and the user directory.

use quichat_proto::rpc::profile::{Request, Response};

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
        Request::Get { username } => {
            Ok(Response::Profile(s.profiles.get(session, &username).await?))
        }
        Request::Update(update) => {
            let (profile, fanout) = s.profiles.update(session, &update).await?;
            s.hub.publish(fanout);
            Ok(Response::Profile(profile))
        }
        Request::Search {
            prefix,
            after,
            limit,
        } => {
            let (users, has_more) = s
                .profiles
                .search(session, &prefix, after.as_deref(), limit)
                .await?;
            Ok(Response::Found { users, has_more })
        }
    }
}
