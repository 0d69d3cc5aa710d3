//! Paged history of one conversation.

use quichat_proto::rpc::history::{Request, Response};

use crate::accounts::Session;
use crate::ctx::ConnCtx;
use crate::error::ServiceError;

pub async fn handle(
    ctx: &ConnCtx,
    session: &Session,
    request: Request,
) -> Result<Response, ServiceError> {
    match request {
        Request::Page {
            conversation,
            before_seq,
            limit,
        } => {
            let (conversation_id, messages, has_more) = ctx
                .state
                .history
                .page(session, &conversation, before_seq, limit)
                .await?;
            Ok(Response::Page {
                conversation_id,
                messages,
                has_more,
            })
        }
    }
}
