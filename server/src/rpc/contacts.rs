//! Friend requests, friends, categories and blocks.

use quichat_proto::rpc::contacts::{Request, Response};

use crate::accounts::Session;
use crate::contacts::Answer;
use crate::ctx::ConnCtx;
use crate::error::ServiceError;
use crate::fanout::Fanout;

pub async fn handle(
    ctx: &ConnCtx,
    session: &Session,
    request: Request,
) -> Result<Response, ServiceError> {
    let s = &ctx.state;
    let c = &s.contacts;
    let (response, fanout) = match request {
        Request::SendRequest { to, note } => {
            let (request, fanout) = c.send_request(session, &to, &note).await?;
            (Response::Request(request), fanout)
        }
        Request::Accept { request_id } => answer(ctx, session, request_id, Answer::Accept).await?,
        Request::Decline { request_id } => {
            answer(ctx, session, request_id, Answer::Decline).await?
        }
        Request::Cancel { request_id } => answer(ctx, session, request_id, Answer::Cancel).await?,
        Request::RemoveFriend { username } => {
            (Response::Done, c.remove_friend(session, &username).await?)
        }
        Request::Friends => (
            Response::Friends(c.list_friends(session).await?),
            Fanout::new(),
        ),
        Request::Requests => {
            let (incoming, outgoing) = c.pending(session).await?;
            (Response::Requests { incoming, outgoing }, Fanout::new())
        }
        Request::CreateCategory { name } => {
            let (category, fanout) = c.create_category(session, &name).await?;
            (Response::Category(category), fanout)
        }
        Request::RenameCategory { id, name } => {
            let (category, fanout) = c.rename_category(session, id, &name).await?;
            (Response::Category(category), fanout)
        }
        Request::DeleteCategory { id } => (Response::Done, c.delete_category(session, id).await?),
        Request::MoveFriend { username, category } => (
            Response::Done,
            c.move_friend(session, &username, category).await?,
        ),
        Request::Categories => (
            Response::Categories(c.categories(session).await?),
            Fanout::new(),
        ),
        Request::Block { username } => (
            Response::Done,
            c.set_blocked(session, &username, true).await?,
        ),
        Request::Unblock { username } => (
            Response::Done,
            c.set_blocked(session, &username, false).await?,
        ),
        Request::Blocked => (
            Response::Blocked(c.blocked_list(session).await?),
            Fanout::new(),
        ),
    };
    s.hub.publish(fanout);
    Ok(response)
}

async fn answer(
    ctx: &ConnCtx,
    session: &Session,
    request_id: i64,
    answer: Answer,
) -> Result<(Response, crate::events::Fanout), ServiceError> {
    let (request, fanout) = ctx
        .state
        .contacts
        .answer(session, request_id, answer)
        .await?;
    Ok((Response::Request(request), fanout))
}
