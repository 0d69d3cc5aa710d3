//! `register`, `login`, `logout`, `whoami` and `passwd`: creating,
//! showing and ending the profile's session, and the account's password.

use anyhow::{bail, Result};
use quichat_client::{Client, ClientError};
use quichat_proto::ErrorCode;

use crate::args::{AuthArgs, PasswdArgs};
use crate::password;
use crate::render::{LogoutLine, PasswordLine, SessionLine};
use crate::session::Context;

/// `register USER`.
pub async fn register(ctx: &Context, args: AuthArgs) -> Result<()> {
    start_session(ctx, args, true).await
}

/// `login USER`.
pub async fn login(ctx: &Context, args: AuthArgs) -> Result<()> {
    start_session(ctx, args, false).await
}

/// Device name used when `--device-name` is not given.
fn default_device_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty());
    match host {
        Some(host) => format!("quichat-cli@{host}"),
        None => "quichat-cli".to_string(),
    }
}

async fn start_session(ctx: &Context, args: AuthArgs, register: bool) -> Result<()> {
    let password = password::read(args.password_stdin, register)?;
    let device_name = args.device_name.unwrap_or_else(default_device_name);
    let (client, server, trust) = ctx.connect().await?;
    let result = if register {
        client.register(&args.user, &password, &device_name).await
    } else {
        client.login(&args.user, &password, &device_name).await
    };
    drop(password);
    client.close().await;
    let (session, token) = result?;

    let mut replaced = None;
    ctx.file.update(|p| {
        if p.token.is_some() && p.device_id != Some(session.device_id) {
            replaced = Some((p.username.clone(), p.device_id));
        }
        let same_account = p.server.as_deref() == Some(server.as_str())
            && p.username.as_deref() == Some(session.username.as_str());
        if !same_account {
            // The cursor counts events of one account on one server.
            p.cursor = 0;
            p.cursors.clear();
        }
        p.server = Some(server.clone());
        trust.save_into(p);
        p.username = Some(session.username.clone());
        p.user_id = Some(session.user_id);
        p.device_id = Some(session.device_id);
        p.token = Some(token);
    })?;
    if let Some((Some(user), Some(device))) = replaced {
        eprintln!(
            "quichat: note: this replaced the saved session of {user} (device {device}); \
             that device stays valid until revoked (`quichat devices revoke {device}` as {user})"
        );
    }
    let verb = if register {
        "registered"
    } else {
        "logged in as"
    };
    ctx.printer.emit(
        &format!("{verb} {} (device {})", session.username, session.device_id),
        SessionLine::new(&session, &server),
    )
}

/// `whoami`.
pub async fn whoami(ctx: &Context) -> Result<()> {
    let (client, session) = ctx.session().await?;
    client.close().await;
    let server = ctx.server();
    ctx.printer.emit(
        &format!(
            "{} (user {}, device {}) on {server}, profile '{}'",
            session.username,
            session.user_id,
            session.device_id,
            ctx.file.name()
        ),
        SessionLine::new(&session, &server),
    )
}

/// `passwd [--sign-out-others]`.
pub async fn passwd(ctx: &Context, args: PasswdArgs) -> Result<()> {
    // Before connecting: typing takes a while.
    let (current, new) = password::read_change(args.password_stdin)?;
    let (client, _) = ctx.session().await?;
    let result = client
        .change_password(&current, &new, args.sign_out_others)
        .await;
    drop((current, new));
    client.close().await;
    let signed_out = result?;
    let human = match signed_out {
        0 if args.sign_out_others => "password changed; no other device was logged in".to_string(),
        0 => "password changed; your other devices stay logged in".to_string(),
        1 => "password changed; 1 other device was logged out".to_string(),
        n => format!("password changed; {n} other devices were logged out"),
    };
    ctx.printer.emit(&human, PasswordLine { signed_out })
}

/// `logout`.
pub async fn logout(ctx: &Context) -> Result<()> {
    let token = ctx.token()?.to_string();
    let (client, _, _) = ctx.connect().await?;
    let already = match client.authenticate(&token).await {
        Ok(_) => {
            revoke_own_token(ctx, &client, &token).await?;
            false
        }
        Err(e) if e.code() == Some(ErrorCode::InvalidToken) => true,
        Err(e) => return Err(e.into()),
    };
    client.close().await;
    forget_session(ctx, &token)?;
    let note = if already {
        " (the session had already been revoked)"
    } else {
        ""
    };
    let who = ctx.profile.username.as_deref().unwrap_or("?");
    ctx.printer.emit(
        &format!("logged out {who}{note}"),
        LogoutLine::new(ctx.profile.username.clone(), ctx.profile.device_id),
    )
}

/// Revokes the token `client` is authenticated with. The server closes
/// the connection right after its answer; if the close wins the race, a
/// fresh connection checks that the token is really dead.
pub async fn revoke_own_token(ctx: &Context, client: &Client, token: &str) -> Result<()> {
    match client.logout().await {
        Ok(()) => Ok(()),
        Err(ClientError::Closed { reason, .. }) => {
            tracing::debug!("connection closed during logout ({reason}); checking the token");
            let (check, _, _) = ctx.connect().await?;
            let result = check.authenticate(token).await;
            check.close().await;
            match result {
                Err(e) if e.code() == Some(ErrorCode::InvalidToken) => Ok(()),
                Ok(_) => bail!("logout did not complete ({reason}); try again"),
                Err(e) => Err(e.into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Removes `token` (and the device id) from the profile, unless another
/// login replaced it meanwhile; the server, trust anchor, username and
/// cursor stay for the next login.
pub fn forget_session(ctx: &Context, token: &str) -> Result<()> {
    ctx.file.update(|p| {
        if p.token.as_deref() == Some(token) {
            p.token = None;
            p.device_id = None;
        }
    })?;
    Ok(())
}
