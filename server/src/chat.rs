//! The chat stream: check each send, queue it for group commit, ack it.
//!
//! One task reads and checks sends in order and queues each for the
//! commit writer; a second answers them in the same order as their
//! commits complete. So a client can keep up to [`MAX_IN_FLIGHT`] sends
//! in flight on one stream, they are stored in the order it sent them,
//! acks come back in that order, and an ack is written only after its
//! message's commit.

use std::sync::Arc;

use quichat_proto::chat::{ClientChat, ServerChat};
use quichat_proto::error::close;
use quichat_proto::types::SendMessage;
use quichat_proto::{ErrorCode, WireError};
use tokio::sync::mpsc;
use tracing::debug;

use crate::accounts::Session;
use crate::ctx::{fatal, frame_error, ConnCtx, Out, StreamOut};
use crate::framed::FrameReader;
use crate::messages::PendingSend;
use crate::metrics::Metrics;

/// Sends one chat stream may have queued or committing at once; the
/// stream is not read further until the oldest is answered.
pub const MAX_IN_FLIGHT: usize = 64;

/// An answer, in stream order: ready now, or once its commit completes.
enum Answer {
    Now(Box<Out<ServerChat>>),
    Committing {
        client_id: uuid::Uuid,
        ack: PendingSend,
    },
}

/// Runs a chat stream until it ends.
pub async fn run(ctx: Arc<ConnCtx>, out: StreamOut<ServerChat>, reader: FrameReader) {
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
    let (answers, queue) = mpsc::channel(MAX_IN_FLIGHT);
    let acker = ctx
        .tracker
        .spawn(answer_in_order(queue, out, ctx.state.metrics.clone()));
    read_sends(&ctx, &session, reader, answers).await;
    // Dropping `answers` lets the acker finish what is in flight.
    let _ = acker.await;
}

/// Reads sends, checks and queues them; ends with the stream, a bad frame
/// or a revocation.
async fn read_sends(
    ctx: &ConnCtx,
    session: &Session,
    mut reader: FrameReader,
    answers: mpsc::Sender<Answer>,
) {
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
                    let _ = answers
                        .send(Answer::Now(Box::new(fatal(err, code, ServerChat::Error))))
                        .await;
                }
                return;
            }
        };
        if let Err(error) = ctx.live_session() {
            // Revoked meanwhile: the kick has closed the connection; store
            // nothing more, whatever is still in flight.
            let _ = answers
                .send(Answer::Now(Box::new(Out::Frame(ServerChat::Rejected {
                    client_id: msg.client_id,
                    error: error.into(),
                }))))
                .await;
            return;
        }
        let answer = submit(ctx, session, &msg).await;
        if answers.send(answer).await.is_err() {
            return;
        }
    }
}

async fn submit(ctx: &ConnCtx, session: &Session, msg: &SendMessage) -> Answer {
    let rejected = |error: WireError| {
        Answer::Now(Box::new(Out::Frame(ServerChat::Rejected {
            client_id: msg.client_id,
            error,
        })))
    };
    if let Err(e) = ctx.state.limits.sends_per_user.check(&session.user_id) {
        return rejected(e.to_wire());
    }
    match ctx.state.messages.submit(session, msg).await {
        Ok(ack) => Answer::Committing {
            client_id: msg.client_id,
            ack,
        },
        // Storage failures are logged by `to_wire`.
        Err(e) => rejected(e.to_wire()),
    }
}

/// Writes the answers in order, each once its commit completed. The
/// commit writer has already published the events.
async fn answer_in_order(
    mut queue: mpsc::Receiver<Answer>,
    out: StreamOut<ServerChat>,
    metrics: Arc<Metrics>,
) {
    while let Some(answer) = queue.recv().await {
        let frame = match answer {
            Answer::Now(frame) => *frame,
            Answer::Committing { client_id, ack } => Out::Frame(match ack.await {
                Ok(ack) => {
                    if !ack.duplicate {
                        metrics.messages_stored.inc();
                    }
                    ServerChat::Ack(ack)
                }
                Err(e) => ServerChat::Rejected {
                    client_id,
                    error: e.to_wire(),
                },
            }),
        };
        if out.send(frame).await.is_err() {
            return;
        }
    }
}
