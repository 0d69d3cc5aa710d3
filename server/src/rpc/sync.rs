//! Paging through the caller's event log.

use quichat_proto::event::EventBody;
use quichat_proto::notify::Flagged;
use quichat_proto::rpc::sync::{Request, Response};

use crate::accounts::Session;
use crate::ctx::ConnCtx;
use crate::error::ServiceError;

pub async fn handle(
    ctx: &ConnCtx,
    session: &Session,
    request: Request,
) -> Result<Response, ServiceError> {
    match request {
        Request::Page { after, limit } => {
            let (events, has_more) = ctx.state.events.sync(session.user_id, after, limit).await?;
            Ok(Response::Page { events, has_more })
        }
        Request::FlaggedPage { after, limit } => {
            let user = session.user_id;
            let (events, has_more) = ctx.state.events.sync(user, after, limit).await?;
            let settings = match ctx.state.hub.notify_of(user) {
                Some(s) => s,
                None => std::sync::Arc::new(ctx.state.notify.load(user).await?),
            };
            // A mention follows its message in the log; when the page ends
            // between the two, look one event further.
            let mut scan: Vec<_> = events.iter().map(|e| (user, &e.body)).collect();
            let next;
            if let (true, Some(last)) = (has_more, events.last()) {
                if matches!(last.body, EventBody::Message(_)) {
                    next = ctx.state.events.sync(user, last.seq, 1).await?.0;
                    scan.extend(next.iter().map(|e| (user, &e.body)));
                }
            }
            let mentions = crate::notify::mentioned_in(scan);
            let now = crate::store::now_ms();
            let events = events
                .into_iter()
                .map(|event| Flagged {
                    flags: settings.flags(
                        &event.body,
                        crate::notify::is_mentioned(&mentions, user, &event.body),
                        now,
                    ),
                    event,
                })
                .collect();
            Ok(Response::FlaggedPage { events, has_more })
        }
    }
}
