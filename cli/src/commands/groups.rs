//! `group ...`: create groups, list them, manage members, roles, the
//! name, description and announcement, settings and invite codes.

use anyhow::Result;
use quichat_client::Client;
use quichat_proto::group::{GroupInfo, GroupRole, GroupSettings};
use quichat_proto::types::ConversationId;

use crate::args::GroupAction;
use crate::output::sanitize;
use crate::render::{
    members_human, quoted_name, settings_human, GroupActionLine, GroupLine, GroupMemberLine,
    InviteLine,
};
use crate::session::Context;
use crate::target::GroupArg;

/// `group [ACTION]` (default: `list`).
pub async fn run(ctx: &Context, action: Option<GroupAction>) -> Result<()> {
    let (client, _) = ctx.session().await?;
    let result = act(ctx, &client, action.unwrap_or(GroupAction::List)).await;
    client.close().await;
    result
}

/// `'#12'`: a group as a shell word, for hints.
fn word(id: ConversationId) -> String {
    format!("'#{id}'")
}

/// Prints a group the server sent back, with `human` for people.
fn group(ctx: &Context, human: &str, g: &GroupInfo) -> Result<()> {
    ctx.printer.emit(human, GroupLine::new(g))
}

async fn act(ctx: &Context, client: &Client, action: GroupAction) -> Result<()> {
    match action {
        GroupAction::Create {
            name,
            description,
            members,
        } => {
            let g = client.create_group(&name, &description, &members).await?;
            let with = if members.is_empty() {
                String::new()
            } else {
                format!(" with {}", members.join(", "))
            };
            group(
                ctx,
                &format!(
                    "created #{} {}{with} ({})",
                    g.id,
                    quoted_name(&g.name),
                    members_human(g.member_count)
                ),
                &g,
            )?;
            ctx.printer.note(&format!(
                "send to it with `{}`; invite people with `{}`",
                ctx.command(&format!("send {} TEXT", word(g.id))),
                ctx.command(&format!("group invite {}", word(g.id)))
            ))
        }
        GroupAction::List => {
            let list = client.groups().await?;
            if list.is_empty() {
                ctx.printer.note(&format!(
                    "you are in no groups; create one with `{}`",
                    ctx.command("group create NAME")
                ))?;
            }
            for g in &list {
                group(ctx, &GroupLine::human(g), g)?;
            }
            Ok(())
        }
        GroupAction::Info { group: g } => {
            let id = g.resolve(client).await?;
            let info = client.group_info(id).await?;
            group(ctx, &GroupLine::details(&info), &info)
        }
        GroupAction::Members { group: g } => {
            let id = g.resolve(client).await?;
            for m in client.group_members(id).await? {
                ctx.printer
                    .emit(&GroupMemberLine::human(&m), GroupMemberLine::new(id, &m))?;
            }
            Ok(())
        }
        GroupAction::Add { group: g, users } => {
            let id = g.resolve(client).await?;
            let info = client.add_to_group(id, &users).await?;
            group(
                ctx,
                &format!(
                    "added {} to #{} {} ({})",
                    users.join(", "),
                    info.id,
                    quoted_name(&info.name),
                    members_human(info.member_count)
                ),
                &info,
            )
        }
        GroupAction::Kick { group: g, user } => {
            let id = g.resolve(client).await?;
            client.remove_from_group(id, &user).await?;
            ctx.printer.emit(
                &format!("removed {user} from #{id}"),
                GroupActionLine::removed(id, &user),
            )
        }
        GroupAction::Leave { group: g } => {
            let id = g.resolve(client).await?;
            client.leave_group(id).await?;
            ctx.printer
                .emit(&format!("you left #{id}"), GroupActionLine::left(id))
        }
        GroupAction::Promote { group: g, user } => {
            set_role(ctx, client, &g, &user, GroupRole::Admin).await
        }
        GroupAction::Demote { group: g, user } => {
            set_role(ctx, client, &g, &user, GroupRole::Member).await
        }
        GroupAction::Transfer { group: g, user } => {
            let id = g.resolve(client).await?;
            client.transfer_group(id, &user).await?;
            ctx.printer.emit(
                &format!("{user} owns #{id} now; you are an admin"),
                GroupActionLine::transferred(id, &user),
            )
        }
        GroupAction::Rename { group: g, name } => {
            let id = g.resolve(client).await?;
            let info = client.rename_group(id, &name).await?;
            group(
                ctx,
                &format!("#{} is called {} now", info.id, quoted_name(&info.name)),
                &info,
            )
        }
        GroupAction::Describe { group: g, text } => {
            let id = g.resolve(client).await?;
            let info = client.describe_group(id, &text).await?;
            let human = if info.description.is_empty() {
                format!("cleared the description of #{}", info.id)
            } else {
                format!(
                    "the description of #{} is now: {}",
                    info.id,
                    sanitize(&info.description)
                )
            };
            group(ctx, &human, &info)
        }
        GroupAction::Announce { group: g, text } => {
            let id = g.resolve(client).await?;
            let info = client.announce(id, &text).await?;
            let human = match &info.announcement {
                Some(a) => format!("pinned in #{}: {}", info.id, sanitize(&a.text)),
                None => format!("unpinned the announcement of #{}", info.id),
            };
            group(ctx, &human, &info)
        }
        GroupAction::Settings {
            group: g,
            members_edit_info,
            members_invite,
        } => {
            let id = g.resolve(client).await?;
            let mut info = client.group_info(id).await?;
            if members_edit_info.is_some() || members_invite.is_some() {
                let settings = GroupSettings {
                    members_edit_info: members_edit_info
                        .map_or(info.settings.members_edit_info, bool::from),
                    members_invite: members_invite.map_or(info.settings.members_invite, bool::from),
                };
                info = client.set_group_settings(id, settings).await?;
            }
            group(
                ctx,
                &format!("#{}: {}", info.id, settings_human(&info.settings)),
                &info,
            )
        }
        GroupAction::Invite {
            group: g,
            expires,
            max_uses,
        } => {
            let id = g.resolve(client).await?;
            let invite = client.create_invite(id, expires, max_uses).await?;
            ctx.printer.emit(
                &InviteLine::created_human(&invite),
                InviteLine::new(&invite),
            )
        }
        GroupAction::Invites { group: g } => {
            let id = g.resolve(client).await?;
            let list = client.invites(id).await?;
            if list.is_empty() {
                ctx.printer.note(&format!(
                    "#{id} has no live invite codes; make one with `{}`",
                    ctx.command(&format!("group invite {}", word(id)))
                ))?;
            }
            for i in &list {
                ctx.printer
                    .emit(&InviteLine::human(i), InviteLine::new(i))?;
            }
            if !list.is_empty() {
                ctx.printer.note(&format!(
                    "(revoke one with `{}`)",
                    ctx.command(&format!("group revoke-invite {} INVITE_ID", word(id)))
                ))?;
            }
            Ok(())
        }
        GroupAction::RevokeInvite { group: g, invite } => {
            let id = g.resolve(client).await?;
            client.revoke_invite(id, invite).await?;
            ctx.printer.emit(
                &format!("revoked invite {invite} of #{id}"),
                GroupActionLine::invite_revoked(id, invite),
            )
        }
        GroupAction::Join { code } => {
            let info = client.join_group(code.trim()).await?;
            group(
                ctx,
                &format!(
                    "joined #{} {} ({})",
                    info.id,
                    quoted_name(&info.name),
                    members_human(info.member_count)
                ),
                &info,
            )?;
            ctx.printer.note(&format!(
                "read it with `{}`",
                ctx.command(&format!("history {}", word(info.id)))
            ))
        }
        GroupAction::Dissolve { group: g } => {
            let id = g.resolve(client).await?;
            client.dissolve_group(id).await?;
            ctx.printer.emit(
                &format!("dissolved #{id}; its history stays readable"),
                GroupActionLine::dissolved(id),
            )
        }
    }
}

/// `promote` / `demote`.
async fn set_role(
    ctx: &Context,
    client: &Client,
    g: &GroupArg,
    user: &str,
    role: GroupRole,
) -> Result<()> {
    let id = g.resolve(client).await?;
    client.set_group_role(id, user, role).await?;
    let what = match role {
        GroupRole::Admin => "an admin",
        GroupRole::Member | GroupRole::Owner => "a member",
    };
    ctx.printer.emit(
        &format!("{user} is {what} of #{id} now"),
        GroupActionLine::role(id, user, role),
    )
}
