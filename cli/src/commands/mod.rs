//! The commands, one module per area; [`run`] dispatches.

mod account;
mod contacts;
mod devices;
mod groups;
mod listen;
mod media;
mod messages;
mod meta;
mod notify;
mod profiles;

use anyhow::Result;
use quichat_proto::media::MediaKind;

use crate::args::{Command, DevicesAction, DndAction};
use crate::session::Context;

pub use media::local_filename;

/// Runs the commands that need no profile; `None` for the others.
pub fn without_profile(command: &Command) -> Option<Result<()>> {
    match command {
        Command::Completions { shell } => Some(meta::completions(*shell)),
        Command::Manpage { dir } => Some(meta::manpage(dir.as_deref())),
        _ => None,
    }
}

/// Runs one parsed command.
pub async fn run(ctx: &Context, command: Command) -> Result<()> {
    match command {
        Command::Register(args) => account::register(ctx, args).await,
        Command::Login(args) => account::login(ctx, args).await,
        Command::Logout => account::logout(ctx).await,
        Command::Whoami => account::whoami(ctx).await,
        Command::Passwd(args) => account::passwd(ctx, args).await,
        Command::Broadcast { text } => messages::broadcast(ctx, &text).await,
        Command::Profiles { offline } => profiles::list(ctx, offline).await,
        Command::Completions { shell } => meta::completions(shell),
        Command::Manpage { dir } => meta::manpage(dir.as_deref()),
        Command::Devices { action } => match action {
            None | Some(DevicesAction::List) => devices::list(ctx).await,
            Some(DevicesAction::Revoke { id }) => devices::revoke(ctx, id).await,
        },
        Command::Send {
            to,
            text,
            message_file,
        } => messages::send(ctx, &to, &text, message_file.as_deref()).await,
        Command::SendFile(args) => {
            media::send_file(ctx, args.media, args.kind.map(MediaKind::from)).await
        }
        Command::SendImage(args) => media::send_file(ctx, args, Some(MediaKind::Image)).await,
        Command::SendVideo(args) => media::send_file(ctx, args, Some(MediaKind::Video)).await,
        Command::SendAudio(args) => media::send_file(ctx, args, Some(MediaKind::Audio)).await,
        Command::SendVoice(args) => media::send_voice(ctx, args).await,
        Command::Download {
            what,
            latest,
            output,
            force,
        } => media::download(ctx, what, latest, output, force).await,
        Command::History {
            with,
            limit,
            before,
        } => messages::history(ctx, &with, limit, before).await,
        Command::Chats => messages::chats(ctx).await,
        Command::Chat { peer } => crate::tui::run(ctx, peer).await,
        Command::Read { with } => messages::read(ctx, &with).await,
        Command::Mute {
            conversation,
            duration,
        } => notify::mute(ctx, &conversation, duration).await,
        Command::Unmute { conversation } => notify::unmute(ctx, &conversation).await,
        Command::Dnd { action } => notify::dnd(ctx, action.unwrap_or(DndAction::Status)).await,
        Command::Whoread { message } => messages::whoread(ctx, &message).await,
        Command::Edit { message, text } => messages::edit(ctx, &message, &text).await,
        Command::Recall { message } => messages::recall(ctx, &message).await,
        Command::Delete { message } => messages::delete_for_me(ctx, &message).await,
        Command::Reply { message, text } => messages::reply(ctx, &message, &text).await,
        Command::Forward { message, to } => messages::forward(ctx, &message, &to).await,
        Command::React {
            message,
            emoji,
            remove,
        } => messages::reactions(ctx, &message, Some((&emoji, !remove))).await,
        Command::Reactions { message } => messages::reactions(ctx, &message, None).await,
        Command::Group { action } => groups::run(ctx, action).await,
        Command::Listen(args) => listen::run(ctx, args).await,
        Command::Profile { action } => contacts::profile(ctx, action).await,
        Command::Friends { action } => contacts::friends(ctx, action).await,
        Command::Search {
            prefix,
            limit,
            after,
        } => contacts::search(ctx, &prefix, after, limit).await,
        Command::Categories { action } => contacts::categories(ctx, action).await,
        Command::Block { user } => contacts::block(ctx, &user, true).await,
        Command::Unblock { user } => contacts::block(ctx, &user, false).await,
        Command::Blocked => contacts::blocked(ctx).await,
        Command::Presence { hide, show } => contacts::presence(ctx, hide, show).await,
    }
}
