//! The chat stream: store each send, ack it, fan it out.
//!
//! Sends on one stream are handled in order, so acks come back in the
//! order the client sent. The ack is written only after the commit.

use std::sync::Arc;

use quichat_proto::chat::{ClientChat, ServerChat};
use quichat_proto::error::close;
use quichat_proto::{ErrorCode, WireError};
use tokio::sync::mpsc;
use tracing::debug;

use crate::ctx::{fatal, frame_error, ConnCtx, Out};
use crate::framed::FrameReader;

/// Runs a chat stream until it ends.
pub async fn run(ctx: Arc<ConnCtx>, out: mpsc::Sender<Out<ServerChat>>, mut reader: FrameReader) {
    let Some(session) = ctx.session().cloned() else {
        let err = WireError::new(
            ErrorCode::Unauthenticated,
            "authenticate on the control stream before opening a chat stream",
        );
        let _ = out
            .send(fatal(err, close::AUTH_FAILED, ServerChat::Error))
            .await;
        return;
    };
    *ctx.chat_out.lock().unwrap_or_else(|p| p.into_inner()) = Some(out.clone());
    loop {
        let frame = tokio::select! {
            f = reader.next::<ClientChat>() => {
                ctx.note_path();
                f
            }
            _ = ctx.shutdown.cancelled() => return,
        };
        let msg = match frame {
            Ok(Some(ClientChat::Send(msg))) => msg,
            Ok(None) => return,
            Err(e) => {
                if let Some((err, code)) = frame_error(&e) {
                    debug!("bad chat frame: {}", err.message);
                    let _ = out.send(fatal(err, code, ServerChat::Error)).await;
                }
                return;
            }
        };
        if let Err(error) = ctx.live_session() {
            // Revoked meanwhile: the kick has closed the connection; store
            // nothing, whatever is still in flight.
            let _ = out
                .send(Out::Frame(ServerChat::Rejected {
                    client_id: msg.client_id,
                    error: error.into(),
                }))
                .await;
            return;
        }
        let reply = match ctx.state.limits.sends_per_user.check(&session.user_id) {
            Err(e) => ServerChat::Rejected {
                client_id: msg.client_id,
                error: e.to_wire(),
            },
            Ok(()) => match ctx.state.messages.send(&session, &msg).await {
                Ok((ack, fanout)) => {
                    if !ack.duplicate {
                        ctx.state.metrics.messages_stored.inc();
                    }
                    ctx.state.hub.publish(fanout);
                    ServerChat::Ack(ack)
                }
                // Storage failures are logged by `to_wire`.
                Err(e) => ServerChat::Rejected {
                    client_id: msg.client_id,
                    error: e.to_wire(),
                },
            },
        };
        if out.send(Out::Frame(reply)).await.is_err() {
            return;
        }
    }
}
