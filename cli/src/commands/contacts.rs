//! People: `profile`, `friends`, `search`, `categories`, `block`,
//! `unblock`, `blocked` and `presence`.

use std::collections::HashMap;

use anyhow::Result;
use quichat_client::{Client, UploadSpec};
use quichat_proto::media::MediaKind;
use quichat_proto::social::ProfileUpdate;

use crate::args::{CategoriesAction, FriendsAction, ProfileAction};
use crate::progress::Transfer;
use crate::render::{
    BlockedLine, CategoryLine, FriendLine, FriendRequestLine, PresenceLine, ProfileLine,
};
use crate::session::Context;

/// Runs `f` on an authenticated connection and closes it politely.
async fn with_client<T>(
    ctx: &Context,
    f: impl AsyncFnOnce(&Client, &str) -> Result<T>,
) -> Result<T> {
    let (client, session) = ctx.session().await?;
    let result = f(&client, &session.username).await;
    client.close().await;
    result
}

/// `profile [show [USER]]` and `profile set ...`.
pub async fn profile(ctx: &Context, action: Option<ProfileAction>) -> Result<()> {
    let profile = with_client(ctx, async |client, me| match action {
        None | Some(ProfileAction::Show { user: None }) => Ok(client.profile(me).await?),
        Some(ProfileAction::Show { user: Some(user) }) => Ok(client.profile(&user).await?),
        Some(ProfileAction::Set {
            name,
            status,
            avatar,
            no_avatar,
        }) => {
            let avatar = match avatar {
                Some(path) => {
                    // An avatar is an image uploaded "to yourself".
                    let bar = Transfer::new(ctx.opts.json, "uploading avatar".to_string());
                    let spec = UploadSpec {
                        kind: Some(MediaKind::Image),
                        ..UploadSpec::to_user(me)
                    };
                    let upload = client
                        .upload_file(
                            &path,
                            spec,
                            bar.callback("uploading avatar".into(), "checking".into()),
                        )
                        .await;
                    drop(bar);
                    Some(Some(upload?.media.id))
                }
                None if no_avatar => Some(None),
                None => None,
            };
            Ok(client
                .update_profile(ProfileUpdate {
                    display_name: name,
                    status,
                    avatar,
                })
                .await?)
        }
    })
    .await?;
    ctx.printer.emit(
        &ProfileLine::human(&profile),
        ProfileLine::new(&profile, None),
    )
}

/// `friends [list|add|accept|decline|cancel|remove|requests]`.
pub async fn friends(ctx: &Context, action: Option<FriendsAction>) -> Result<()> {
    with_client(ctx, async |client, me| {
        let request = match action {
            None | Some(FriendsAction::List) => {
                let friends = client.friends().await?;
                let names: HashMap<_, _> = client
                    .categories()
                    .await?
                    .into_iter()
                    .map(|c| (c.id, c.name))
                    .collect();
                if friends.is_empty() {
                    ctx.printer
                        .note("no friends yet; add one with `quichat friends add USER`")?;
                }
                for f in &friends {
                    let category = f.category.and_then(|id| names.get(&id)).map(String::as_str);
                    ctx.printer
                        .emit(&FriendLine::human(f, category), FriendLine::new(f))?;
                }
                return Ok(());
            }
            Some(FriendsAction::Requests) => {
                let (incoming, outgoing) = client.friend_requests().await?;
                if incoming.is_empty() && outgoing.is_empty() {
                    ctx.printer.note("no pending friend requests")?;
                }
                for r in incoming.iter().chain(&outgoing) {
                    ctx.printer.emit(
                        &FriendRequestLine::human(r, me),
                        FriendRequestLine::new(r, None),
                    )?;
                }
                return Ok(());
            }
            Some(FriendsAction::Remove { user }) => {
                client.remove_friend(&user).await?;
                return ctx.printer.emit(
                    &format!("you and {user} are no longer friends"),
                    crate::render::ContactsLine::removed(&user),
                );
            }
            Some(FriendsAction::Add { user, note }) => {
                client.send_friend_request(&user, &note).await?
            }
            Some(FriendsAction::Accept { id }) => client.accept_friend(id).await?,
            Some(FriendsAction::Decline { id }) => client.decline_friend(id).await?,
            Some(FriendsAction::Cancel { id }) => client.cancel_friend_request(id).await?,
        };
        ctx.printer.emit(
            &FriendRequestLine::human(&request, me),
            FriendRequestLine::new(&request, None),
        )
    })
    .await
}

/// `search PREFIX [--after USERNAME] [--limit N]`.
pub async fn search(ctx: &Context, prefix: &str, after: Option<String>, limit: u32) -> Result<()> {
    let (users, has_more) = with_client(ctx, async |client, _| {
        Ok(client.search_users(prefix, after.as_deref(), limit).await?)
    })
    .await?;
    if users.is_empty() {
        ctx.printer.note(&format!("nobody matches '{prefix}'"))?;
    }
    for p in &users {
        ctx.printer
            .emit(&ProfileLine::human(p), ProfileLine::new(p, None))?;
    }
    if has_more {
        if let Some(last) = users.last() {
            ctx.printer.note(&format!(
                "more: {}",
                ctx.command(&format!("search {prefix} --after {}", last.username))
            ))?;
        }
    }
    Ok(())
}

/// `categories [list|create|rename|delete|move]`.
pub async fn categories(ctx: &Context, action: Option<CategoriesAction>) -> Result<()> {
    with_client(ctx, async |client, _| {
        let category = match action {
            None | Some(CategoriesAction::List) => {
                let list = client.categories().await?;
                if list.is_empty() {
                    ctx.printer.note("no categories yet")?;
                }
                for c in &list {
                    ctx.printer
                        .emit(&CategoryLine::human(c), CategoryLine::new(c))?;
                }
                return Ok(());
            }
            Some(CategoriesAction::Create { name }) => client.create_category(&name).await?,
            Some(CategoriesAction::Rename { id, name }) => {
                client.rename_category(id, &name).await?
            }
            Some(CategoriesAction::Delete { id }) => {
                client.delete_category(id).await?;
                return ctx.printer.emit(
                    &format!("deleted category {id}"),
                    crate::render::ContactsLine::category_deleted(id),
                );
            }
            Some(CategoriesAction::Move { user, id }) => {
                client.move_friend(&user, id).await?;
                let human = match id {
                    Some(id) => format!("{user} is in category {id} now"),
                    None => format!("{user} has no category now"),
                };
                return ctx
                    .printer
                    .emit(&human, crate::render::ContactsLine::moved(&user, id));
            }
        };
        ctx.printer.emit(
            &CategoryLine::human(&category),
            CategoryLine::new(&category),
        )
    })
    .await
}

/// `block USER` / `unblock USER`.
pub async fn block(ctx: &Context, user: &str, block: bool) -> Result<()> {
    with_client(ctx, async |client, _| {
        if block {
            client.block(user).await?;
        } else {
            client.unblock(user).await?;
        }
        Ok(())
    })
    .await?;
    let verb = if block { "blocked" } else { "unblocked" };
    ctx.printer.emit(
        &format!("{verb} {user}"),
        crate::render::ContactsLine::block(user, block),
    )
}

/// `blocked`.
pub async fn blocked(ctx: &Context) -> Result<()> {
    let list = with_client(ctx, async |client, _| Ok(client.blocked().await?)).await?;
    if list.is_empty() {
        ctx.printer.note("you blocked nobody")?;
    }
    for name in &list {
        ctx.printer.emit(name, BlockedLine::new(name))?;
    }
    Ok(())
}

/// `presence [--hide|--show]`.
pub async fn presence(ctx: &Context, hide: bool, show: bool) -> Result<()> {
    let list = with_client(ctx, async |client, _| {
        if hide || show {
            client.set_presence_hidden(hide).await?;
        }
        Ok(client.presence().await?)
    })
    .await?;
    if hide {
        ctx.printer
            .note("your presence is hidden: others see you offline")?;
    } else if show {
        ctx.printer
            .note("your presence is visible to your friends")?;
    }
    if list.is_empty() {
        ctx.printer.note("no friends yet")?;
    }
    for p in &list {
        ctx.printer
            .emit(&PresenceLine::human(p), PresenceLine::new(p))?;
    }
    Ok(())
}
