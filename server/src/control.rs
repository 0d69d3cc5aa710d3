//! The control stream: hello, authentication, and request dispatch.
//!
//! Each request is answered by exactly one response with the same
//! `req_id`. Requests are handled in order; pushed events go through the
//! writer queue independently, so they are never stuck behind a request.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use quichat_proto::chat::ServerChat;
use quichat_proto::control::{ClientControl, Request, Response, ServerControl};
use quichat_proto::error::close;
use quichat_proto::event::EventBody;
use quichat_proto::types::SessionInfo;
use quichat_proto::{ErrorCode, WireError, PROTOCOL_VERSION};
use tracing::{debug, Instrument};

use crate::accounts::Session;
use crate::conn::{fatal, frame_error, ConnCtx, Out};
use crate::error::ServiceError;
use crate::framed::FrameReader;
use crate::hub::Push;

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
            match request {
                Request::Hello { version, client } => {
                    if version != PROTOCOL_VERSION {
                        let err = WireError::new(
                            ErrorCode::UnsupportedVersion,
                            format!("client speaks protocol {version}; this server speaks {PROTOCOL_VERSION}"),
                        );
                        let _ = ctx
                            .control_out
                            .send(fatal(err, close::PROTOCOL_ERROR, ServerControl::Error))
                            .await;
                        return;
                    }
                    debug!(client = %client.chars().take(64).collect::<String>(), "hello");
                    hello_done = true;
                    let resp = Response::Welcome {
                        version: PROTOCOL_VERSION,
                        server: format!("quichat-server {}", env!("CARGO_PKG_VERSION")),
                    };
                    if !respond(&ctx, req_id, Ok(resp)).await {
                        return;
                    }
                    continue;
                }
                _ => {
                    let err = WireError::new(
                        ErrorCode::UnexpectedFrame,
                        "the first request must be Hello",
                    );
                    let _ = ctx
                        .control_out
                        .send(fatal(err, close::PROTOCOL_ERROR, ServerControl::Error))
                        .await;
                    return;
                }
            }
        }
        let result = dispatch(&ctx, request).await;
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

async fn respond(ctx: &ConnCtx, req_id: u32, result: Result<Response, WireError>) -> bool {
    ctx.control_out
        .send(Out::Frame(ServerControl::Response { req_id, result }))
        .await
        .is_ok()
}

fn require_session(ctx: &ConnCtx) -> Result<&Session, WireError> {
    ctx.live_session()
}

/// Revokes `device_id` in the database, then cuts off its connections at
/// once. This connection, if it is one of them, stays open long enough to
/// answer and then closes itself (see [`run`]).
async fn revoke(
    ctx: &ConnCtx,
    session: &Session,
    device_id: quichat_proto::types::DeviceId,
    reason: &str,
) -> Result<(), WireError> {
    let s = &ctx.state;
    s.accounts
        .revoke_device(session, device_id)
        .await
        .map_err(|e| e.to_wire())?;
    s.hub.kick_device(
        session.user_id,
        device_id,
        close::LOGGED_OUT,
        reason,
        ctx.hub_id.get().copied(),
    );
    Ok(())
}

async fn dispatch(ctx: &Arc<ConnCtx>, request: Request) -> Result<Response, WireError> {
    ctx.requests.check().map_err(|e| e.to_wire())?;
    let s = &ctx.state;
    match request {
        Request::Hello { .. } => Err(WireError::new(
            ErrorCode::UnexpectedFrame,
            "hello was already received",
        )),
        Request::Register {
            username,
            password,
            device_name,
        } => {
            not_yet_authenticated(ctx)?;
            s.limits
                .auth_per_ip
                .check(&ctx.remote.ip())
                .map_err(|e| e.to_wire())?;
            let (session, token) = s
                .accounts
                .register(&username, &password, &device_name)
                .await
                .map_err(|e| e.to_wire())?;
            establish(ctx, session, Some(token)).await
        }
        Request::Login {
            username,
            password,
            device_name,
        } => {
            not_yet_authenticated(ctx)?;
            s.limits
                .auth_per_ip
                .check(&ctx.remote.ip())
                .map_err(|e| e.to_wire())?;
            s.limits
                .login_per_user
                .check(&username.trim().to_ascii_lowercase())
                .map_err(|e| e.to_wire())?;
            let (session, token) = s
                .accounts
                .login(&username, &password, &device_name)
                .await
                .map_err(|e| e.to_wire())?;
            establish(ctx, session, Some(token)).await
        }
        Request::Authenticate { token } => {
            not_yet_authenticated(ctx)?;
            let session = s
                .accounts
                .authenticate(&token)
                .await
                .map_err(|e| e.to_wire())?;
            establish(ctx, session, None).await
        }
        Request::Logout => {
            let session = require_session(ctx)?;
            revoke(ctx, session, session.device_id, "logged out").await?;
            Ok(Response::Ok)
        }
        Request::ListDevices => {
            let session = require_session(ctx)?;
            Ok(Response::Devices(
                s.accounts
                    .list_devices(session)
                    .await
                    .map_err(|e| e.to_wire())?,
            ))
        }
        Request::RevokeDevice { device_id } => {
            let session = require_session(ctx)?;
            revoke(ctx, session, device_id, "device revoked").await?;
            Ok(Response::Ok)
        }
        Request::Sync { after, limit } => {
            let session = require_session(ctx)?;
            let (events, has_more) = s
                .events
                .sync(session.user_id, after, limit)
                .await
                .map_err(|e| e.to_wire())?;
            Ok(Response::SyncPage { events, has_more })
        }
        Request::Delivered {
            conversation_id,
            up_to_seq,
        } => {
            let session = require_session(ctx)?;
            let fanout = s
                .receipts
                .delivered(session, conversation_id, up_to_seq)
                .await
                .map_err(|e| e.to_wire())?;
            s.hub.publish(fanout);
            Ok(Response::Ok)
        }
        Request::MarkRead {
            conversation_id,
            up_to_seq,
        } => {
            let session = require_session(ctx)?;
            let fanout = s
                .receipts
                .mark_read(session, conversation_id, up_to_seq)
                .await
                .map_err(|e| e.to_wire())?;
            s.hub.publish(fanout);
            Ok(Response::Ok)
        }
        Request::History {
            conversation,
            before_seq,
            limit,
        } => {
            let session = require_session(ctx)?;
            let (conversation_id, messages, has_more) = s
                .messages
                .history(session, &conversation, before_seq, limit)
                .await
                .map_err(|e| e.to_wire())?;
            Ok(Response::History {
                conversation_id,
                messages,
                has_more,
            })
        }
        Request::Conversations => {
            let session = require_session(ctx)?;
            Ok(Response::Conversations(
                s.messages
                    .conversations(session)
                    .await
                    .map_err(|e| e.to_wire())?,
            ))
        }
        Request::Ping => Ok(Response::Pong),
    }
}

fn not_yet_authenticated(ctx: &ConnCtx) -> Result<(), WireError> {
    if ctx.session().is_some() {
        return Err(WireError::new(
            ErrorCode::UnexpectedFrame,
            "this connection is already authenticated",
        ));
    }
    Ok(())
}

/// Marks the connection authenticated and starts live pushes.
async fn establish(
    ctx: &Arc<ConnCtx>,
    session: Session,
    token: Option<String>,
) -> Result<Response, WireError> {
    // Register before reading the head: anything committed after this point
    // is pushed live, anything before is covered by the client's sync.
    let (registration, mut pushes) = ctx
        .state
        .hub
        .register(session.user_id, session.device_id, ctx.kickable())
        .map_err(|_| {
            WireError::new(
                ErrorCode::InvalidToken,
                "invalid or revoked device token; log in again",
            )
        })?;
    let _ = ctx.hub_id.set(registration.conn_id());
    let event_head = ctx
        .state
        .events
        .head(session.user_id)
        .await
        .map_err(|e: ServiceError| e.to_wire())?;
    let info = SessionInfo {
        user_id: session.user_id,
        username: session.username.clone(),
        device_id: session.device_id,
        event_head,
    };
    if ctx.session.set(session).is_err() {
        return Err(WireError::new(
            ErrorCode::UnexpectedFrame,
            "already authenticated",
        ));
    }
    let pusher_ctx = ctx.clone();
    let user_id = info.user_id;
    ctx.tracker.spawn(
        async move {
            loop {
                let push = tokio::select! {
                    p = pushes.recv() => p,
                    _ = pusher_ctx.conn.closed() => None,
                    _ = pusher_ctx.shutdown.cancelled() => None,
                };
                let Some(push) = push else { break };
                match push {
                    Push::Event(event) => {
                        let event = *event;
                        let seq = event.seq;
                        let sent = match (&event.body, pusher_ctx.chat_out()) {
                            (EventBody::Message(_), Some(chat)) => chat
                                .send(Out::Frame(ServerChat::Event(event)))
                                .await
                                .is_ok(),
                            _ => pusher_ctx
                                .control_out
                                .send(Out::Frame(ServerControl::Event(event)))
                                .await
                                .is_ok(),
                        };
                        if !sent {
                            break;
                        }
                        if registration.lagged.swap(false, Ordering::Relaxed) {
                            let head = pusher_ctx.state.events.head(user_id).await.unwrap_or(seq);
                            let _ = pusher_ctx
                                .control_out
                                .send(Out::Frame(ServerControl::SyncHint { head }))
                                .await;
                        }
                    }
                }
            }
            drop(registration);
        }
        .in_current_span(),
    );
    Ok(Response::Authenticated {
        session: info,
        token,
    })
}
