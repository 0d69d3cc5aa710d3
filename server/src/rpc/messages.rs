//! Operations on sent messages (edit, recall, delete for me, forward,
//! reactions); their events fan out live.

use quichat_proto::rpc::messages::{Request, Response};

use crate::accounts::Session;
use crate::ctx::ConnCtx;
use crate::error::{retry_conflicts, ServiceError};
use crate::fanout::Fanout;

pub async fn handle(
    ctx: &ConnCtx,
    session: &Session,
    request: Request,
) -> Result<Response, ServiceError> {
    let ops = &ctx.state.message_ops;
    let (response, fanout) = match request {
        Request::Edit {
            conversation_id,
            seq,
            text,
        } => {
            let (edit, fanout) =
                retry_conflicts!(ops.edit(session, conversation_id, seq, &text).await)?;
            (Response::Edited(edit), fanout)
        }
        Request::Recall {
            conversation_id,
            seq,
        } => {
            let (recall, fanout) =
                retry_conflicts!(ops.recall(session, conversation_id, seq).await)?;
            (Response::Recalled(recall), fanout)
        }
        Request::DeleteForMe {
            conversation_id,
            seq,
        } => {
            let (place, fanout) =
                retry_conflicts!(ops.delete_for_me(session, conversation_id, seq).await)?;
            (Response::Hidden(place), fanout)
        }
        Request::Forward {
            conversation_id,
            seq,
            to,
            client_id,
        } => {
            // Stored through the commit writer, which publishes it.
            let ack = ops
                .forward(session, conversation_id, seq, to, client_id)
                .await?;
            (Response::Forwarded(ack), Fanout::new())
        }
        Request::React {
            conversation_id,
            seq,
            emoji,
            add,
        } => {
            let (reactions, fanout) =
                retry_conflicts!(ops.react(session, conversation_id, seq, &emoji, add).await)?;
            (Response::Reactions(reactions), fanout)
        }
        Request::Reactions {
            conversation_id,
            seq,
        } => (
            Response::Reactions(ops.reactions(session, conversation_id, seq).await?),
            Fanout::new(),
        ),
    };
    ctx.state.hub.publish(fanout);
    Ok(response)
}
