//! Delivered and read watermarks; their receipts fan out live.

use quichat_proto::rpc::receipts::{Request, Response};

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
        Request::Delivered {
            conversation_id,
            up_to_seq,
        } => {
            s.receipts
                .delivered(session, conversation_id, up_to_seq)
                .await?;
        }
        Request::MarkRead {
            conversation_id,
            up_to_seq,
        } => {
            s.receipts
                .mark_read(session, conversation_id, up_to_seq)
                .await?;
        }
        Request::WhoRead {
            conversation_id,
            seq,
        } => {
            let (read, delivered, waiting) =
                s.receipts.who_read(session, conversation_id, seq).await?;
            return Ok(Response::WhoRead {
                read,
                delivered,
                waiting,
            });
        }
    }
    // The commit writer published the receipt events.
    Ok(Response::Recorded)
}
