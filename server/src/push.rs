//! The per-connection push task: delivers committed events from the hub
//! to one authenticated connection.
//!
//! Messages go on the chat stream when the client opened one (so they
//! arrive with the acks), everything else on the control stream. When the
//! hub had to drop pushes for this device (its queue was full), the task
//! tells the client to sync with a `SyncHint`. Ephemeral pushes (presence,
//! typing) go on the control stream. A protocol-2 connection gets each
//! event with its flags (`Flagged`), a protocol-1 connection without.
//!
//! An event's body is encoded once for all its recipients
//! ([`SharedBody::wire`]); each connection writes its own frame head
//! (variant, flags, seq) and then those shared bytes.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use quichat_proto::control::ServerControl;
use quichat_proto::event::EventBody;
use quichat_proto::notify::PushFlags;
use quichat_proto::push::{frame_head, PushStream};
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::ctx::{ConnCtx, Out};
use crate::fanout::SharedBody;
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
                let (seq, body, flags) = match push {
                    None => break,
                    Some(Push::Event { seq, body, flags }) => (seq, body, flags),
                    Some(Push::Ephemeral(frame)) => {
                        if ctx.control_out.send(Out::Frame(*frame)).await.is_err() {
                            break;
                        }
                        continue;
                    }
                };
                if let EventBody::Message(m) = body.body() {
                    let m_ = &ctx.state.metrics;
                    m_.messages_delivered.inc();
                    let age_ms = crate::store::now_ms().saturating_sub(m.sent_at_ms).max(0);
                    m_.delivery_latency.observe(age_ms as f64 / 1000.0);
                }
                ctx.state.metrics.events_pushed.inc();
                let flags = flagged.then_some(flags);
                let sent = match (body.body(), ctx.chat_out()) {
                    (EventBody::Message(_), Some(chat)) => {
                        match encoded(&ctx, PushStream::Chat, flags, seq, &body) {
                            Some(out) => chat.send(out).await.is_ok(),
                            None => false,
                        }
                    }
                    _ => match encoded(&ctx, PushStream::Control, flags, seq, &body) {
                        Some(out) => ctx.control_out.send(out).await.is_ok(),
                        None => false,
                    },
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

/// The frame of event `seq` (with `flags` on protocol 2): this
/// connection's head, then the body's shared encoding (made once, by
/// whichever recipient's task gets here first). `None` if the body does
/// not encode: the push stops, as a writer stops on a frame it cannot
/// encode.
fn encoded<T>(
    ctx: &ConnCtx,
    stream: PushStream,
    flags: Option<PushFlags>,
    seq: u64,
    body: &SharedBody,
) -> Option<Out<T>> {
    let wire = body.wire(|| {
        ctx.state.metrics.push_encodes.inc();
    })?;
    let head = frame_head(stream, flags, seq, wire.len())
        .inspect_err(|e| tracing::error!("a pushed event's frame head does not encode: {e}"))
        .ok()?;
    Some(Out::Encoded {
        head: head.into(),
        body: wire.clone(),
    })
}
