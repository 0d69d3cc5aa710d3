//! The per-connection push task: delivers committed events from the hub
//! to one authenticated connection.
//!
//! Messages go on the chat stream when the client opened one (so they
//! arrive with the acks), everything else on the control stream. When the
//! hub had to drop pushes for this device (its queue was full), the task
//! tells the client to sync with a `SyncHint`. Ephemeral pushes (presence,
//! typing) go on the control stream. A protocol-2 connection gets each
//! event with its flags (`Flagged`), a protocol-1 connection without.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use quichat_proto::chat::ServerChat;
use quichat_proto::control::ServerControl;
use quichat_proto::event::EventBody;
use quichat_proto::notify::Flagged;
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::ctx::{ConnCtx, Out};
use crate::hub::{Push, Registration};

/// Starts the push task; it ends with the connection, and unregisters the
/// device from the hub when it does.
pub fn spawn(ctx: Arc<ConnCtx>, registration: Registration, mut pushes: mpsc::Receiver<Push>) {
    let tracker = ctx.tracker.clone();
    tracker.spawn(
        async move {
            let user_id = ctx.session().map(|s| s.user_id);
            let flagged = ctx.protocol() >= 2;
            loop {
                let push = tokio::select! {
                    p = pushes.recv() => p,
                    _ = ctx.conn.closed() => None,
                    _ = ctx.shutdown.cancelled() => None,
                };
                let (event, flags) = match push {
                    None => break,
                    Some(Push::Event(event, flags)) => (*event, flags),
                    Some(Push::Ephemeral(frame)) => {
                        if ctx.control_out.send(Out::Frame(*frame)).await.is_err() {
                            break;
                        }
                        continue;
                    }
                };
                let seq = event.seq;
                if let EventBody::Message(m) = &event.body {
                    let m_ = &ctx.state.metrics;
                    m_.messages_delivered.inc();
                    let age_ms = crate::store::now_ms().saturating_sub(m.sent_at_ms).max(0);
                    m_.delivery_latency.observe(age_ms as f64 / 1000.0);
                }
                let sent = match (&event.body, ctx.chat_out()) {
                    (EventBody::Message(_), Some(chat)) => {
                        let frame = if flagged {
                            ServerChat::Flagged(Flagged { flags, event })
                        } else {
                            ServerChat::Event(event)
                        };
                        chat.send(Out::Frame(frame)).await.is_ok()
                    }
                    _ => {
                        let frame = if flagged {
                            ServerControl::Flagged(Flagged { flags, event })
                        } else {
                            ServerControl::Event(event)
                        };
                        ctx.control_out.send(Out::Frame(frame)).await.is_ok()
                    }
                };
                if !sent {
                    break;
                }
                if registration.lagged.swap(false, Ordering::Relaxed) {
                    let head = match user_id {
                        Some(user) => ctx.state.events.head(user).await.unwrap_or(seq),
                        None => seq,
                    };
                    let _ = ctx
                        .control_out
                        .send(Out::Frame(ServerControl::SyncHint { head }))
                        .await;
                }
            }
            drop(registration);
        }
        .in_current_span(),
    );
}
