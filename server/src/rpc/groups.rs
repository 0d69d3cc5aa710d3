//! Group lifecycle, members, roles, invites and announcements.

use quichat_proto::rpc::groups::{Request, Response};

use crate::accounts::Session;
use crate::ctx::ConnCtx;
use crate::error::ServiceError;
use crate::fanout::Fanout;
use crate::groups::Edit;

pub async fn handle(
    ctx: &ConnCtx,
    session: &Session,
    request: Request,
) -> Result<Response, ServiceError> {
    let s = &ctx.state;
    let g = &s.groups;
    let (response, fanout) = match request {
        Request::Create {
            name,
            description,
            members,
        } => {
            let (info, fanout) = g.create(session, &name, &description, &members).await?;
            (Response::Group(info), fanout)
        }
        Request::Info { group } => (
            Response::Group(g.info(session, group).await?),
            Fanout::new(),
        ),
        Request::List => (Response::Groups(g.list(session).await?), Fanout::new()),
        Request::Members { group } => (
            Response::Members(g.members(session, group).await?),
            Fanout::new(),
        ),
        Request::Add { group, usernames } => {
            let (info, fanout) = g.add(session, group, &usernames).await?;
            (Response::Group(info), fanout)
        }
        Request::Remove { group, username } => {
            (Response::Done, g.remove(session, group, &username).await?)
        }
        Request::Leave { group } => (Response::Done, g.leave(session, group).await?),
        Request::SetRole {
            group,
            username,
            role,
        } => (
            Response::Done,
            g.set_member_role(session, group, &username, role).await?,
        ),
        Request::TransferOwnership { group, to } => {
            (Response::Done, g.transfer(session, group, &to).await?)
        }
        Request::Rename { group, name } => edit(ctx, session, group, Edit::Name(name)).await?,
        Request::SetDescription { group, description } => {
            edit(ctx, session, group, Edit::Description(description)).await?
        }
        Request::SetAvatar { group, avatar } => {
            edit(ctx, session, group, Edit::Avatar(avatar)).await?
        }
        Request::SetSettings { group, settings } => {
            edit(ctx, session, group, Edit::Settings(settings)).await?
        }
        Request::Announce { group, text } => {
            edit(ctx, session, group, Edit::Announcement(text)).await?
        }
        Request::Dissolve { group } => (Response::Done, g.dissolve(session, group).await?),
        Request::CreateInvite {
            group,
            expires_in_secs,
            max_uses,
        } => (
            Response::Invite(
                g.create_invite(session, group, expires_in_secs, max_uses)
                    .await?,
            ),
            Fanout::new(),
        ),
        Request::RevokeInvite { group, invite } => {
            g.revoke_invite(session, group, invite).await?;
            (Response::Done, Fanout::new())
        }
        Request::Invites { group } => (
            Response::Invites(g.invites(session, group).await?),
            Fanout::new(),
        ),
        Request::Join { code } => {
            let (info, fanout) = g.join(session, &code).await?;
            (Response::Group(info), fanout)
        }
    };
    s.hub.publish(fanout);
    Ok(response)
}

async fn edit(
    ctx: &ConnCtx,
    session: &Session,
    group: i64,
    edit: Edit,
) -> Result<(Response, crate::events::Fanout), ServiceError> {
    let (info, fanout) = ctx.state.groups.edit(session, group, edit).await?;
    Ok((Response::Group(info), fanout))
}
