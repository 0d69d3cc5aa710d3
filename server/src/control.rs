//! The control stream's state machine: hello first, authentication within
//! [`AUTH_TIMEOUT`], then requests answered in order through
//! [`crate::rpc::dispatch`].
//!
//! Each request is answered by exactly one response with the same
//! `req_id`. Pushed events go through the writer queue independently
//! ([`crate::push`]), so they are never stuck behind a request.

use std::sync::Arc;
use std::time::Duration;

use quichat_proto::control::{ClientControl, Request, Response, ServerControl};
use quichat_proto::error::close;
use quichat_proto::frame::MAX_FRAME;
use quichat_proto::rpc::session;
use quichat_proto::{ErrorCode, WireError, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION};
use tracing::debug;

use crate::ctx::{fatal, frame_error, ConnCtx, Out};
use crate::framed::FrameReader;

/// A connection must authenticate within this time.
const AUTH_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs the control stream until it ends or the server stops.
pub async fn run(ctx: Arc<ConnCtx>, mut reader: FrameReader) {
    let mut hello_done = false;
    let auth_deadline = tokio::time::sleep(AUTH_TIMEOUT);
    tokio::pin!(auth_deadline);
    loop {
        let frame = tokio::select! {
            f = reader.next::<ClientControl>() => {
                ctx.note_path();
                f
            }
            _ = ctx.shutdown.cancelled() => {
                ctx.conn.close(close::SHUTTING_DOWN.into(), b"server shutting down");
                return;
            }
            _ = &mut auth_deadline, if ctx.session().is_none() => {
                let err = WireError::new(ErrorCode::Unauthenticated, "not authenticated within 30 s");
                let _ = ctx.control_out.send(fatal(err, close::AUTH_FAILED, ServerControl::Error)).await;
                return;
            }
        };
        let ClientControl { req_id, request } = match frame {
            Ok(Some(f)) => f,
            Ok(None) => {
                ctx.conn
                    .close(close::NORMAL.into(), b"control stream finished");
                return;
            }
            Err(e) => {
                if let Some((err, code)) = frame_error(&e) {
                    debug!("bad control frame: {}", err.message);
                    let _ = ctx
                        .control_out
                        .send(fatal(err, code, ServerControl::Error))
                        .await;
                }
                return;
            }
        };
        if !hello_done {
            match hello(&ctx, request).await {
                Some(welcome) => {
                    hello_done = true;
                    if !respond(&ctx, req_id, Ok(welcome)).await {
                        return;
                    }
                    continue;
                }
                None => return,
            }
        }
        // Boxed: the state of every request kind's handler lives on the
        // heap while it runs, not in this (long-lived, mostly idle) task.
        let result = Box::pin(crate::rpc::dispatch(&ctx, request)).await;
        if ctx.session().is_some() && reader.max_frame() < MAX_FRAME {
            reader.set_max_frame(MAX_FRAME);
        }
        if result.is_ok() && ctx.is_revoked() {
            // This connection revoked its own device (logout, or revoking
            // itself): answer, then close like every other connection of
            // the device already was.
            let frame = ServerControl::Response { req_id, result };
            let _ = ctx
                .control_out
                .send(Out::FrameThenClose {
                    frame,
                    code: close::LOGGED_OUT,
                    reason: "logged out".into(),
                })
                .await;
            return;
        }
        if !respond(&ctx, req_id, result).await {
            return;
        }
    }
}

/// The first request must be a `Hello` in a protocol version this server
/// speaks ([`MIN_PROTOCOL_VERSION`] to [`PROTOCOL_VERSION`]), which the
/// connection then uses; anything else closes the connection with a typed
/// error (`None`).
async fn hello(ctx: &ConnCtx, request: Request) -> Option<Response> {
    let err = match request {
        Request::Session(session::Request::Hello { version, client }) => {
            if (MIN_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&version) {
                debug!(client = %client.chars().take(64).collect::<String>(), version, "hello");
                let _ = ctx.protocol.set(version);
                return Some(
                    session::Response::Welcome {
                        version,
                        server: format!("quichat-server {}", env!("CARGO_PKG_VERSION")),
                    }
                    .into(),
                );
            }
            WireError::new(
                ErrorCode::UnsupportedVersion,
                format!(
                    "client speaks protocol {version}; this server speaks \
                     {MIN_PROTOCOL_VERSION} to {PROTOCOL_VERSION}"
                ),
            )
        }
        _ => WireError::new(
            ErrorCode::UnexpectedFrame,
            "the first request must be Hello",
        ),
    };
    let _ = ctx
        .control_out
        .send(fatal(err, close::PROTOCOL_ERROR, ServerControl::Error))
        .await;
    None
}

async fn respond(ctx: &ConnCtx, req_id: u32, result: Result<Response, WireError>) -> bool {
    ctx.control_out
        .send(Out::Frame(ServerControl::Response { req_id, result }))
        .await
        .is_ok()
}
