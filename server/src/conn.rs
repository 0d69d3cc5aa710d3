//! One QUIC connection: route streams by kind, own the per-connection state.
//!
//! Flow: the client opens the control stream first and sends a
//! [`StreamHeader`]; [`crate::control`] runs it (hello, auth, requests).
//! Further streams are accepted concurrently and routed by their header:
//! chat to [`crate::chat`], media (reserved) refused with a typed error.
//! Every stream's send half is owned by a writer task fed by a channel, so
//! responses, acks and pushes never interleave mid-frame.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use quichat_proto::chat::ServerChat;
use quichat_proto::control::ServerControl;
use quichat_proto::error::close;
use quichat_proto::frame::MAX_FRAME;
use quichat_proto::stream::{StreamHeader, StreamKind};
use quichat_proto::{ErrorCode, ProtoError, WireError};
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info_span, Instrument};

use crate::accounts::Session;
use crate::framed::{write_frame, FrameReader, ReadFrameError};
use crate::rate_limit::Direct;
use crate::AppState;

/// How long a client has to open its control stream.
const FIRST_STREAM_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a stream header may take to arrive.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long we wait for a final error frame to be acknowledged before closing.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);
/// Queue depth of each stream writer.
const WRITER_QUEUE: usize = 256;

/// What a stream writer task should do next.
#[derive(Debug)]
pub enum Out<T> {
    /// Write a frame.
    Frame(T),
    /// Write a final frame, wait for the peer to get it, then close the
    /// whole connection.
    FrameThenClose {
        /// Last frame.
        frame: T,
        /// Application close code.
        code: u32,
        /// Readable reason.
        reason: String,
    },
}

/// Per-connection state shared by its stream tasks.
#[derive(Debug)]
pub struct ConnCtx {
    /// The QUIC connection.
    pub conn: quinn::Connection,
    /// Services.
    pub state: Arc<AppState>,
    /// Peer address at accept time.
    pub remote: SocketAddr,
    /// Peer address last seen (see [`ConnCtx::note_path`]).
    pub path: Mutex<SocketAddr>,
    /// Set once by successful authentication.
    pub session: OnceLock<Session>,
    /// Set by [`crate::hub::Hub::kick_device`] when this device is revoked.
    pub revoked: Arc<AtomicBool>,
    /// This connection's id in the hub, once registered.
    pub hub_id: OnceLock<u64>,
    /// Control stream writer.
    pub control_out: mpsc::Sender<Out<ServerControl>>,
    /// Chat stream writer, once the client opened one.
    pub chat_out: Mutex<Option<mpsc::Sender<Out<ServerChat>>>>,
    /// Per-connection request limiter.
    pub requests: Direct,
    /// Tracks every task of this server.
    pub tracker: TaskTracker,
    /// Server shutdown signal.
    pub shutdown: CancellationToken,
}

impl ConnCtx {
    /// Notices when the client's address changed: QUIC connection
    /// migration (the phone moved networks) or NAT rebinding. quinn
    /// validates the new path itself; the session, its streams and sync
    /// state are unaffected, so it is only logged and counted. Called for
    /// each control and chat frame, so idle connections cost no timer.
    pub fn note_path(&self) {
        let now = self.conn.remote_address();
        let mut last = self.path.lock().unwrap_or_else(|p| p.into_inner());
        if *last != now {
            debug!(from = %*last, to = %now, "client path changed (migration)");
            crate::metrics::Metrics::incr(&self.state.metrics.path_changes);
            *last = now;
        }
    }

    /// The session, if authenticated.
    pub fn session(&self) -> Option<&Session> {
        self.session.get()
    }

    /// The session, if authenticated and not revoked since: every request,
    /// send and transfer goes through this gate.
    pub fn live_session(&self) -> Result<&Session, WireError> {
        let session = self.session().ok_or_else(|| {
            WireError::new(ErrorCode::Unauthenticated, "log in or authenticate first")
        })?;
        if self.is_revoked() {
            return Err(WireError::new(
                ErrorCode::InvalidToken,
                "this device was revoked or logged out; log in again",
            ));
        }
        Ok(session)
    }

    /// Whether this connection's device has been revoked.
    pub fn is_revoked(&self) -> bool {
        self.revoked.load(Ordering::SeqCst)
    }

    /// What the hub needs to cut this connection off.
    pub fn kickable(&self) -> crate::hub::Kickable {
        crate::hub::Kickable {
            conn: self.conn.clone(),
            revoked: self.revoked.clone(),
        }
    }

    /// Current chat writer, if any.
    pub fn chat_out(&self) -> Option<mpsc::Sender<Out<ServerChat>>> {
        self.chat_out
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Spawns the writer task for a stream's send half.
pub fn spawn_writer<T>(
    tracker: &TaskTracker,
    conn: quinn::Connection,
    mut send: quinn::SendStream,
) -> mpsc::Sender<Out<T>>
where
    T: Serialize + Send + Sync + 'static,
{
    let (tx, mut rx) = mpsc::channel::<Out<T>>(WRITER_QUEUE);
    tracker.spawn(
        async move {
            while let Some(out) = rx.recv().await {
                match out {
                    Out::Frame(frame) => {
                        if let Err(e) = write_frame(&mut send, &frame).await {
                            debug!("stream write ended: {e}");
                            break;
                        }
                    }
                    Out::FrameThenClose {
                        frame,
                        code,
                        reason,
                    } => {
                        let _ = write_frame(&mut send, &frame).await;
                        let _ = send.finish();
                        let _ = tokio::time::timeout(FLUSH_TIMEOUT, send.stopped()).await;
                        conn.close(code.into(), reason.as_bytes());
                        break;
                    }
                }
            }
        }
        .in_current_span(),
    );
    tx
}

/// The typed error and close code for a frame that could not be read, or
/// `None` when the stream simply failed (connection lost).
pub fn frame_error(e: &ReadFrameError) -> Option<(WireError, u32)> {
    match e {
        ReadFrameError::Proto(ProtoError::FrameTooLarge { len, max }) => Some((
            WireError::new(
                ErrorCode::FrameTooLarge,
                format!("frame of {len} bytes exceeds the {max}-byte limit"),
            ),
            close::FRAME_TOO_LARGE,
        )),
        ReadFrameError::Proto(p) => Some((
            WireError::new(ErrorCode::BadFrame, p.to_string()),
            close::PROTOCOL_ERROR,
        )),
        ReadFrameError::Read(_) => None,
    }
}

/// Builds the "error then close" output for a fatal error.
pub fn fatal<T>(error: WireError, code: u32, to_frame: fn(WireError) -> T) -> Out<T> {
    let reason = error.message.clone();
    Out::FrameThenClose {
        frame: to_frame(error),
        code,
        reason,
    }
}

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
        crate::metrics::Metrics::incr(&state.metrics.connections_accepted);
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
        let mut reader = FrameReader::new(recv, MAX_FRAME);
        match read_header(&mut reader).await {
            Ok(StreamKind::Control) => {}
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
        let ctx = Arc::new(ConnCtx {
            conn: conn.clone(),
            remote,
            path: Mutex::new(remote),
            session: OnceLock::new(),
            revoked: Arc::new(AtomicBool::new(false)),
            hub_id: OnceLock::new(),
            control_out,
            chat_out: Mutex::new(None),
            requests: Direct::new(state.limits.config.requests_per_connection),
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
async fn read_header(reader: &mut FrameReader) -> Result<StreamKind, Option<(WireError, u32)>> {
    match tokio::time::timeout(HEADER_TIMEOUT, reader.next::<StreamHeader>()).await {
        Ok(Ok(Some(h))) => Ok(h.kind),
        Ok(Ok(None)) => Err(Some((
            WireError::new(ErrorCode::BadFrame, "stream ended before its header"),
            close::PROTOCOL_ERROR,
        ))),
        Ok(Err(e)) => Err(frame_error(&e)),
        Err(_) => Err(Some((
            WireError::new(ErrorCode::BadFrame, "no stream header within 10 s"),
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
                let mut reader = FrameReader::new(recv, MAX_FRAME);
                match read_header(&mut reader).await {
                    Ok(StreamKind::Chat) => {
                        let out = spawn_writer::<ServerChat>(&ctx.tracker, ctx.conn.clone(), send);
                        crate::chat::run(ctx, out, reader).await;
                    }
                    Ok(StreamKind::Media) => crate::media::run_stream(ctx, send, reader).await,
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
