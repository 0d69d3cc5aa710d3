//! `devices` and `devices revoke ID`: the account's logins.

use anyhow::Result;
use quichat_proto::types::DeviceId;

use crate::commands::account::{forget_session, revoke_own_token};
use crate::render::{DeviceLine, RevokedLine};
use crate::session::Context;

/// `devices`: one line per device, oldest first as the server lists them.
pub async fn list(ctx: &Context) -> Result<()> {
    let (client, _) = ctx.session().await?;
    let devices = client.devices().await;
    client.close().await;
    for d in devices? {
        ctx.printer
            .emit(&DeviceLine::human(&d), DeviceLine::new(&d))?;
    }
    Ok(())
}

/// `devices revoke ID`. Revoking this profile's own device is a logout.
pub async fn revoke(ctx: &Context, id: DeviceId) -> Result<()> {
    let (client, session) = ctx.session().await?;
    let own = id == session.device_id;
    let result = if own {
        revoke_own_token(ctx, &client, ctx.token()?).await
    } else {
        client.revoke_device(id).await.map_err(Into::into)
    };
    client.close().await;
    result?;
    if own {
        forget_session(ctx, ctx.token()?)?;
    }
    let suffix = if own {
        " (this device: the profile is now logged out)"
    } else {
        ""
    };
    ctx.printer.emit(
        &format!("revoked device {id}{suffix}"),
        RevokedLine::new(id),
    )
}
