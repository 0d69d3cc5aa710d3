//! The commands, one module per area; [`run`] dispatches.

mod account;
mod contacts;
mod devices;
mod groups;
mod listen;
mod media;
mod messages;

use anyhow::Result;
use quichat_proto::media::MediaKind;

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
        Command::Send { to, text } => messages::send(ctx, &to, &text.join(" ")).await,
        Command::SendFile(args) => {
            media::send_file(ctx, args.media, args.kind.map(MediaKind::from)).await
        }
        Command::SendImage(args) => media::send_file(ctx, args, Some(MediaKind::Image)).await,
        Command::SendVideo(args) => media::send_file(ctx, args, Some(MediaKind::Video)).await,
        Command::SendAudio(args) => media::send_file(ctx, args, Some(MediaKind::Audio)).await,
        Command::SendVoice(args) => media::send_voice(ctx, args).await,
        Command::Download {
            media_id,
            output,
            force,
        } => media::download(ctx, media_id, output, force).await,
        Command::History {
            with,
            limit,
            before,
        } => messages::history(ctx, &with, limit, before).await,
        Command::Chats => messages::chats(ctx).await,
        Command::Read { with } => messages::read(ctx, &with).await,
        Command::Whoread { with, seq } => messages::whoread(ctx, &with, seq).await,
        Command::Edit { with, seq, text } => messages::edit(ctx, &with, seq, &text).await,
        Command::Recall { with, seq } => messages::recall(ctx, &with, seq).await,
        Command::Delete { with, seq } => messages::delete_for_me(ctx, &with, seq).await,
        Command::Reply { with, seq, text } => messages::reply(ctx, &with, seq, &text).await,
        Command::Forward { with, seq, to } => messages::forward(ctx, &with, seq, &to).await,
        Command::React {
            with,
            seq,
            emoji,
            remove,
        } => messages::reactions(ctx, &with, seq, Some((&emoji, !remove))).await,
        Command::Reactions { with, seq } => messages::reactions(ctx, &with, seq, None).await,
        Command::Group { action } => groups::run(ctx, action).await,
        Command::Listen { from_start } => listen::run(ctx, from_start).await,
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
