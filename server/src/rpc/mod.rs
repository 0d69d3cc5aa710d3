//! Control requests, one module per domain, each with one `handle`.
//!
//! [`dispatch`] is the only place that knows the domains. It applies the
//! per-connection rate limit, then routes each domain in one line. Session
//! requests run unauthenticated (they authenticate); every other handler
//! takes the `&Session` that only the gate, [`ConnCtx::live_session`]
//! (authenticated and not revoked since), hands out, so no handler can
//! forget it. Handlers return [`crate::error::ServiceError`], which
//! becomes a [`WireError`] here, once (`?`, through `From`).

mod broadcast;
mod contacts;
mod conversations;
mod devices;
mod groups;
mod history;
mod messages;
mod notify;
mod presence;
mod profile;
mod receipts;
mod session;
mod sync;

use std::sync::Arc;

use quichat_proto::control::{Request, Response};
use quichat_proto::WireError;

use crate::ctx::ConnCtx;

/// Handles one control request (other than the first `Hello`, which
/// [`crate::control`] handles as part of the connection state machine).
pub async fn dispatch(ctx: &Arc<ConnCtx>, request: Request) -> Result<Response, WireError> {
    ctx.requests.check()?;
    let gate = || ctx.live_session();
    Ok(match request {
        Request::Session(r) => session::handle(ctx, r).await?.into(),
        Request::Devices(r) => devices::handle(ctx, gate()?, r).await?.into(),
        Request::Sync(r) => sync::handle(ctx, gate()?, r).await?.into(),
        Request::History(r) => history::handle(ctx, gate()?, r).await?.into(),
        Request::Conversations(r) => conversations::handle(ctx, gate()?, r).await?.into(),
        Request::Receipts(r) => receipts::handle(ctx, gate()?, r).await?.into(),
        Request::Profile(r) => profile::handle(ctx, gate()?, r).await?.into(),
        Request::Contacts(r) => contacts::handle(ctx, gate()?, r).await?.into(),
        Request::Presence(r) => presence::handle(ctx, gate()?, r).await?.into(),
        Request::Groups(r) => groups::handle(ctx, gate()?, r).await?.into(),
        Request::Messages(r) => messages::handle(ctx, gate()?, r).await?.into(),
        Request::Broadcast(r) => broadcast::handle(ctx, gate()?, r).await?.into(),
        Request::Notify(r) => notify::handle(ctx, gate()?, r).await?.into(),
    })
}
