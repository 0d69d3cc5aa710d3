//! One QUIC connection: accept it, route its streams by kind.
//!
//! Flow: the client opens the control stream first and sends a
//! [`StreamHeader`]; [`crate::control`] runs it (hello, auth, requests).
//! Further streams are accepted concurrently and routed by their header:
//! chat to [`crate::chat`], media to [`crate::media`]. Each stream's send
//! half is owned by a writer task ([`crate::ctx::spawn_writer`]), so
//! responses, acks and pushes never interleave mid-frame.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use quichat_proto::chat::ServerChat;
use quichat_proto::control::ServerControl;
use quichat_proto::error::close;
use quichat_proto::frame::MAX_FRAME;
use quichat_proto::stream::{StreamHeader, StreamKind};
use quichat_proto::{ErrorCode, WireError};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info_span, Instrument};

use crate::ctx::{fatal, frame_error, spawn_writer, ConnCtx};
use crate::framed::FrameReader;
use crate::metrics::Metrics;
use crate::rate_limit::Direct;
use crate::AppState;

/// How long a client has to open its control stream.
const FIRST_STREAM_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest stream header frame (shared with the fuzz targets).
const HEADER_FRAME_MAX: usize = quichat_proto::stream::MAX_HEADER_FRAME;

/// Serves one incoming connection until it closes or the server stops.
pub async fn handle(
    state: Arc<AppState>,
    incoming: quinn::Incoming,
    tracker: TaskTracker,
    shutdown: CancellationToken,
) {
    let remote = incoming.remote_address();
    let span = info_span!("conn", %remote);
    async move {
        // Accept 0.5-RTT: a resumed client's 0-RTT hello and token
        // authentication are answered before its handshake completes (one
        // round trip saved). Clients put only replay-safe requests in
        // 0-RTT; an attacker replaying them cannot finish the handshake, so
        // it can neither read the answers nor send anything else.
        let connecting = match incoming.accept() {
            Ok(c) => c,
            Err(e) => {
                debug!("refused: {e}");
                return;
            }
        };
        // Held until this task ends, that is until the connection closes.
        let Some(_seat) = state.admission.admit(remote.ip()) else {
            // Finish the handshake first: a close sent during it loses its
            // code and reason, and the user should read why.
            if let Ok(conn) = connecting.await {
                debug!("refused: too many connections from this address");
                let reason = format!(
                    "too many connections from {} (at most {})",
                    remote.ip(),
                    state.admission.max_per_address()
                );
                conn.close(close::TOO_MANY_CONNECTIONS.into(), reason.as_bytes());
            }
            return;
        };
        let conn = match connecting.into_0rtt() {
            Ok((conn, _accepted)) => conn,
            Err(connecting) => match connecting.await {
                Ok(conn) => conn,
                Err(e) => {
                    debug!("handshake failed: {e}");
                    return;
                }
            },
        };
        debug!("connected");
        state.metrics.connections_accepted.inc();
        let _open = crate::metrics::OpenConnection::new(&state.metrics.connections_open);
        Metrics::count(&state.metrics.streams_opened, "control");
        let first = tokio::select! {
            r = tokio::time::timeout(FIRST_STREAM_TIMEOUT, conn.accept_bi()) => r,
            _ = shutdown.cancelled() => {
                conn.close(close::SHUTTING_DOWN.into(), b"server shutting down");
                return;
            }
        };
        let (send, recv) = match first {
            Ok(Ok(pair)) => pair,
            Ok(Err(e)) => {
                debug!("closed before opening a control stream: {e}");
                return;
            }
            Err(_) => {
                conn.close(close::PROTOCOL_ERROR.into(), b"no control stream opened");
                return;
            }
        };
        let control_out = spawn_writer::<ServerControl>(&tracker, conn.clone(), send);
        let mut reader = FrameReader::new(recv, HEADER_FRAME_MAX);
        match read_header(&mut reader, state.limits.config.first_frame_timeout()).await {
            Ok(StreamKind::Control) => {
                // Until it authenticates, the control stream carries only
                // small frames (`control::run` raises the limit).
                reader.set_max_frame(state.limits.config.frame_before_auth as usize);
            }
            Ok(kind) => {
                let err = WireError::new(
                    ErrorCode::UnexpectedFrame,
                    format!("the first stream must be a control stream, not {kind:?}"),
                );
                let _ = control_out
                    .send(fatal(err, close::PROTOCOL_ERROR, ServerControl::Error))
                    .await;
                return;
            }
            Err(Some((err, code))) => {
                let _ = control_out.send(fatal(err, code, ServerControl::Error)).await;
                return;
            }
            Err(None) => return,
        }
        let refused = state
            .metrics
            .rate_limited
            .get_or_create(&crate::metrics::Kind::of("requests_per_connection"))
            .clone();
        let ctx = Arc::new(ConnCtx {
            conn: conn.clone(),
            remote,
            path: Mutex::new(remote),
            session: OnceLock::new(),
            revoked: Arc::new(AtomicBool::new(false)),
            hub_id: OnceLock::new(),
            protocol: OnceLock::new(),
            control_out,
            chat_out: Mutex::new(None),
            requests: Direct::new(state.limits.config.requests_per_connection, refused),
            tracker: tracker.clone(),
            shutdown: shutdown.clone(),
            state,
        });
        tracker.spawn(accept_streams(ctx.clone()).in_current_span());
        crate::control::run(ctx, reader).await;
        // Wait for the connection to finish so stream tasks end with it.
        tokio::select! {
            _ = conn.closed() => {}
            _ = shutdown.cancelled() => {
                conn.close(close::SHUTTING_DOWN.into(), b"server shutting down");
            }
        }
        debug!(reason = %conn.close_reason().map(|r| r.to_string()).unwrap_or_default(), "disconnected");
    }
    .instrument(span)
    .await
}

/// Reads the stream header. `Err(None)` means the stream died.
async fn read_header(
    reader: &mut FrameReader,
    limit: Duration,
) -> Result<StreamKind, Option<(WireError, u32)>> {
    match tokio::time::timeout(limit, reader.next::<StreamHeader>()).await {
        Ok(Ok(Some(h))) => Ok(h.kind),
        Ok(Ok(None)) => Err(Some((
            WireError::new(ErrorCode::BadFrame, "stream ended before its header"),
            close::PROTOCOL_ERROR,
        ))),
        Ok(Err(e)) => Err(frame_error(&e)),
        Err(_) => Err(Some((
            WireError::new(
                ErrorCode::BadFrame,
                format!("no stream header within {} ms", limit.as_millis()),
            ),
            close::PROTOCOL_ERROR,
        ))),
    }
}

async fn accept_streams(ctx: Arc<ConnCtx>) {
    loop {
        let (send, recv) = tokio::select! {
            r = ctx.conn.accept_bi() => match r {
                Ok(pair) => pair,
                Err(_) => return,
            },
            _ = ctx.shutdown.cancelled() => return,
        };
        let ctx = ctx.clone();
        let tracker = ctx.tracker.clone();
        tracker.spawn(
            async move {
                let mut reader = FrameReader::new(recv, HEADER_FRAME_MAX);
                let limit = ctx.state.limits.config.first_frame_timeout();
                let header = read_header(&mut reader, limit).await;
                reader.set_max_frame(MAX_FRAME);
                match header {
                    Ok(kind @ (StreamKind::Chat | StreamKind::Media)) => {
                        let name = if kind == StreamKind::Chat {
                            "chat"
                        } else {
                            "media"
                        };
                        Metrics::count(&ctx.state.metrics.streams_opened, name);
                        if kind == StreamKind::Media {
                            // Bulk bytes yield to control and chat frames
                            // when quinn fills a packet.
                            let _ = send.set_priority(quichat_proto::stream::MEDIA_STREAM_PRIORITY);
                            crate::media::run_stream(ctx, send, reader).await;
                            return;
                        }
                        let out = spawn_writer::<ServerChat>(&ctx.tracker, ctx.conn.clone(), send);
                        crate::chat::run(ctx, out, reader).await;
                    }
                    Ok(StreamKind::Control) => {
                        let out =
                            spawn_writer::<ServerControl>(&ctx.tracker, ctx.conn.clone(), send);
                        let err = WireError::new(
                            ErrorCode::UnexpectedFrame,
                            "a connection has exactly one control stream",
                        );
                        let _ = out
                            .send(fatal(err, close::PROTOCOL_ERROR, ServerControl::Error))
                            .await;
                    }
                    Err(Some((err, code))) => {
                        // Variant 0 is Error in every server enum, so any
                        // client can decode this whatever it meant to open.
                        let out =
                            spawn_writer::<ServerControl>(&ctx.tracker, ctx.conn.clone(), send);
                        let _ = out.send(fatal(err, code, ServerControl::Error)).await;
                    }
                    Err(None) => {}
                }
            }
            .in_current_span(),
        );
    }
}
