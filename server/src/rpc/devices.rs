//! The caller's devices: list and revoke.

use quichat_proto::error::close;
use quichat_proto::rpc::devices::{Request, Response};
use quichat_proto::types::DeviceId;

use crate::accounts::Session;
use crate::ctx::ConnCtx;
use crate::error::ServiceError;

pub async fn handle(
    ctx: &ConnCtx,
    session: &Session,
    request: Request,
) -> Result<Response, ServiceError> {
    match request {
        Request::List => Ok(Response::List(
            ctx.state.accounts.list_devices(session).await?,
        )),
        Request::Revoke { device_id } => {
            revoke(ctx, session, device_id, "device revoked").await?;
            Ok(Response::Revoked)
        }
    }
}

/// Revokes `device_id` in the database, then cuts off its connections at
/// once. This connection, if it is one of them, stays open long enough to
/// answer and then closes itself (see [`crate::control`]).
pub async fn revoke(
    ctx: &ConnCtx,
    session: &Session,
    device_id: DeviceId,
    reason: &str,
) -> Result<(), ServiceError> {
    ctx.state.accounts.revoke_device(session, device_id).await?;
    ctx.state.hub.kick_device(
        session.user_id,
        device_id,
        close::LOGGED_OUT,
        reason,
        ctx.hub_id.get().copied(),
    );
    Ok(())
}
