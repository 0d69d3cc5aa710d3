//! Per-connection state shared by a connection's stream handlers, and the
//! writer tasks that own each stream's send half.
//!
//! This module sits below the stream handlers (`control`, `chat`, `media`)
//! and above the services: handlers get everything they need from a
//! [`ConnCtx`], and [`crate::conn`] (which routes streams to handlers)
//! depends on them, never the other way round.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use quichat_proto::chat::ServerChat;
use quichat_proto::control::ServerControl;
use quichat_proto::error::close;
use quichat_proto::{ErrorCode, ProtoError, WireError};
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, Instrument};

use crate::accounts::Session;
use crate::error::ServiceError;
use crate::framed::{write_frame, ReadFrameError};
use crate::rate_limit::Direct;
use crate::AppState;

/// How long we wait for a final error frame to be acknowledged before closing.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);
/// Queue depth of each stream writer.
const WRITER_QUEUE: usize = 256;

/// What a stream writer task should do next.
#[derive(Debug)]
pub enum Out<T> {
    /// Write a frame.
    Frame(T),
    /// Write a frame encoded already: `head`, then `body` (a pushed
    /// event's body, shared with its other recipients' frames).
    Encoded {
        /// The frame's start, length header included.
        head: Bytes,
        /// The rest of the frame.
        body: Bytes,
    },
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

/// The sending side of a stream's writer task. Frames wait in its queue
/// boxed: tokio preallocates a block of 32 slots per channel, and a
/// pointer-sized slot keeps an idle connection's queue at 256 bytes where
/// an inline `Out` (288 bytes) would cost 9 KiB.
#[derive(Debug)]
pub struct StreamOut<T>(mpsc::Sender<Box<Out<T>>>);

impl<T> Clone for StreamOut<T> {
    fn clone(&self) -> Self {
        StreamOut(self.0.clone())
    }
}

/// The writer task has stopped (the stream or connection ended).
#[derive(Debug, thiserror::Error)]
#[error("the stream writer has stopped")]
pub struct WriterClosed;

impl<T> StreamOut<T> {
    /// Queues `out`, waiting while the queue is full.
    pub async fn send(&self, out: Out<T>) -> Result<(), WriterClosed> {
        self.0.send(Box::new(out)).await.map_err(|_| WriterClosed)
    }
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
    /// The protocol version agreed in the hello.
    pub protocol: OnceLock<u16>,
    /// Control stream writer.
    pub control_out: StreamOut<ServerControl>,
    /// Chat stream writer, once the client opened one.
    pub chat_out: Mutex<Option<StreamOut<ServerChat>>>,
    /// Per-connection request limiter.
    pub requests: Direct,
    /// Tracks every task of this server.
    pub tracker: TaskTracker,
    /// Server shutdown signal.
    pub shutdown: CancellationToken,
}

impl ConnCtx {
    /// The protocol version agreed in the hello (1 before it).
    pub fn protocol(&self) -> u16 {
        self.protocol.get().copied().unwrap_or(1)
    }

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
            self.state.metrics.path_changes.inc();
            *last = now;
        }
    }

    /// The session, if authenticated.
    pub fn session(&self) -> Option<&Session> {
        self.session.get()
    }

    /// The session, if authenticated and not revoked since: every request,
    /// send and transfer goes through this gate.
    pub fn live_session(&self) -> Result<&Session, ServiceError> {
        let session = self.session().ok_or(ServiceError::Unauthenticated)?;
        if self.is_revoked() {
            return Err(ServiceError::InvalidToken);
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
    pub fn chat_out(&self) -> Option<StreamOut<ServerChat>> {
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
) -> StreamOut<T>
where
    T: Serialize + Send + Sync + 'static,
{
    let (tx, mut rx) = mpsc::channel::<Box<Out<T>>>(WRITER_QUEUE);
    tracker.spawn(
        async move {
            while let Some(out) = rx.recv().await {
                match *out {
                    Out::Frame(frame) => {
                        if let Err(e) = write_frame(&mut send, &frame).await {
                            debug!("stream write ended: {e}");
                            break;
                        }
                    }
                    Out::Encoded { head, body } => {
                        if let Err(e) = send.write_all_chunks(&mut [head, body]).await {
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
    StreamOut(tx)
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
