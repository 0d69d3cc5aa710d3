//! Accounts and authentication: register, login, token authentication,
//! logout and ping. The first `Hello` is handled by [`crate::control`];
//! a second one is refused here.

use std::sync::Arc;

use quichat_proto::error::close;
use quichat_proto::rpc::session::{Request, Response};
use quichat_proto::types::SessionInfo;

use crate::accounts::Session;
use crate::ctx::ConnCtx;
use crate::error::ServiceError;
use crate::hub::RegisterError;

pub async fn handle(ctx: &Arc<ConnCtx>, request: Request) -> Result<Response, ServiceError> {
    let s = &ctx.state;
    match request {
        Request::Hello { .. } => Err(ServiceError::Unexpected(
            "hello was already received".into(),
        )),
        Request::Register {
            username,
            password,
            device_name,
        } => {
            not_yet_authenticated(ctx)?;
            s.limits.auth_per_ip.check(&ctx.remote.ip())?;
            let (session, token) = s
                .accounts
                .register(&username, &password, &device_name)
                .await?;
            establish(ctx, session, Some(token)).await
        }
        Request::Login {
            username,
            password,
            device_name,
        } => {
            not_yet_authenticated(ctx)?;
            s.limits.auth_per_ip.check(&ctx.remote.ip())?;
            // Strict per (user, IP), so a guesser elsewhere cannot lock the
            // owner out; a looser ceiling per user. The key is bounded: no
            // valid username is longer.
            let key: String = username
                .trim()
                .to_ascii_lowercase()
                .chars()
                .take(64)
                .collect();
            s.limits
                .login_per_user_ip
                .check(&(key.clone(), ctx.remote.ip()))?;
            s.limits.login_per_user.check(&key)?;
            let (session, token) = s.accounts.login(&username, &password, &device_name).await?;
            establish(ctx, session, Some(token)).await
        }
        Request::Authenticate { token } => {
            not_yet_authenticated(ctx)?;
            let session = s.accounts.authenticate(&token).await?;
            establish(ctx, session, None).await
        }
        Request::Logout => {
            let session = ctx.live_session()?.clone();
            super::devices::revoke(ctx, &session, session.device_id, "logged out").await?;
            Ok(Response::LoggedOut)
        }
        Request::Ping => Ok(Response::Pong),
        Request::ChangePassword {
            current,
            new,
            sign_out_others,
        } => {
            let session = ctx.live_session()?.clone();
            // The login limits: a stolen session must not become a fast
            // way to guess the password.
            let key = session.username.clone();
            s.limits
                .login_per_user_ip
                .check(&(key.clone(), ctx.remote.ip()))?;
            s.limits.login_per_user.check(&key)?;
            let revoked = s
                .accounts
                .change_password(&session, &current, &new, sign_out_others)
                .await?;
            for device_id in &revoked {
                s.hub.kick_device(
                    session.user_id,
                    *device_id,
                    close::LOGGED_OUT,
                    "signed out after a password change",
                    None,
                );
            }
            Ok(Response::PasswordChanged {
                signed_out: u32::try_from(revoked.len()).unwrap_or(u32::MAX),
            })
        }
    }
}

fn not_yet_authenticated(ctx: &ConnCtx) -> Result<(), ServiceError> {
    if ctx.session().is_some() {
        return Err(ServiceError::Unexpected(
            "this connection is already authenticated".into(),
        ));
    }
    Ok(())
}

/// Marks the connection authenticated and starts live pushes.
async fn establish(
    ctx: &Arc<ConnCtx>,
    session: Session,
    token: Option<String>,
) -> Result<Response, ServiceError> {
    // Register before reading the head: anything committed after this point
    // is pushed live, anything before is covered by the client's sync.
    let max = ctx.state.limits.config.max_connections_per_user;
    // Read before registering; the hub keeps whichever settings are newer
    // if they change meanwhile (notify.rs).
    let notify = ctx.state.notify.load(session.user_id).await?;
    let (registration, pushes) = ctx
        .state
        .hub
        .register(session.user_id, session.device_id, ctx.kickable(), max, notify)
        .map_err(|e| match e {
            RegisterError::Revoked => ServiceError::InvalidToken,
            RegisterError::TooMany(n) => ServiceError::TooManyConnections(format!(
                "this account already has {n} open connections, the most this server allows; close one (or log out an old device) and retry"
            )),
        })?;
    // Authenticated: the connection may now open its chat and transfer
    // streams (before this it had only `transport.streams_before_auth`).
    ctx.conn
        .set_max_concurrent_bi_streams(quinn::VarInt::from_u32(ctx.state.streams_after_auth));
    let _ = ctx.hub_id.set(registration.conn_id());
    let event_head = ctx.state.events.head(session.user_id).await?;
    let info = SessionInfo {
        user_id: session.user_id,
        username: session.username.clone(),
        device_id: session.device_id,
        event_head,
    };
    if ctx.session.set(session).is_err() {
        return Err(ServiceError::Unexpected("already authenticated".into()));
    }
    crate::push::spawn(ctx.clone(), registration, pushes);
    Ok(Response::Authenticated {
        session: info,
        token,
    })
}
