//! Notification settings: mute, unmute, do-not-disturb. Each change goes
//! to the hub at once, so the user's next push on this node carries it.

use quichat_proto::rpc::notify::{Request, Response};

use crate::accounts::Session;
use crate::ctx::ConnCtx;
use crate::error::ServiceError;

pub async fn handle(
    ctx: &ConnCtx,
    session: &Session,
    request: Request,
) -> Result<Response, ServiceError> {
    let notify = &ctx.state.notify;
    let user = session.user_id;
    let settings = match request {
        Request::Get => notify.load(user).await?,
        Request::Mute {
            conversation_id,
            until_ms,
        } => notify.mute(user, conversation_id, until_ms).await?,
        Request::Unmute { conversation_id } => notify.unmute(user, conversation_id).await?,
        Request::SetDnd(dnd) => notify.set_dnd(user, &dnd).await?,
    };
    let wire = settings.to_wire(crate::store::now_ms());
    ctx.state.hub.set_notify(user, settings);
    Ok(Response::Settings(wire))
}
