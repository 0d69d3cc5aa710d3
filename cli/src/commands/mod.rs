//! The commands, one module per area; [`run`] dispatches.

mod account;
mod devices;
mod listen;
mod messages;

use anyhow::Result;

use crate::args::{Command, DevicesAction};
use crate::session::Context;

/// Runs one parsed command.
pub async fn run(ctx: &Context, command: Command) -> Result<()> {
    match command {
        Command::Register(args) => account::register(ctx, args).await,
        Command::Login(args) => account::login(ctx, args).await,
        Command::Logout => account::logout(ctx).await,
        Command::Whoami => account::whoami(ctx).await,
        Command::Devices { action } => match action {
            None | Some(DevicesAction::List) => devices::list(ctx).await,
            Some(DevicesAction::Revoke { id }) => devices::revoke(ctx, id).await,
        },
        Command::Send { user, text } => messages::send(ctx, &user, &text.join(" ")).await,
        Command::History {
            user,
            limit,
            before,
        } => messages::history(ctx, &user, limit, before).await,
        Command::Chats => messages::chats(ctx).await,
        Command::Read { user } => messages::read(ctx, &user).await,
        Command::Listen { from_start } => listen::run(ctx, from_start).await,
    }
}
