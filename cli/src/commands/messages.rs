//! `send`, `history`, `chats`, `read` and `whoread`: one-shot messaging
//! commands. Each takes a user or a group ([`Target`]).

use anyhow::Result;
use quichat_client::Client;
use quichat_proto::types::{ConversationId, Recipient};

use crate::error::CliError;
use crate::render::{AckLine, ChatLine, MessageLine, ReadLine, WhoReadLine};
use crate::session::Context;
use crate::target::{label, shell_word, Target};

/// Runs `f` on an authenticated connection with the target resolved, and
/// closes the connection politely.
async fn with_target<T>(
    ctx: &Context,
    target: &Target,
    f: impl AsyncFnOnce(&Client, &str, Recipient) -> Result<T>,
) -> Result<T> {
    let (client, session) = ctx.session().await?;
    let result = async {
        let to = target.resolve(&client).await?;
        f(&client, &session.username, to).await
    }
    .await;
    client.close().await;
    result
}

/// `send TO TEXT...`: prints the server's ack once the message is stored.
pub async fn send(ctx: &Context, target: &Target, text: &str) -> Result<()> {
    let (to, ack) = with_target(ctx, target, async |client, _, to| {
        let ack = client.send_text(&to, text).await?;
        Ok((to, ack))
    })
    .await?;
    let to = label(&to);
    ctx.printer
        .emit(&AckLine::human(&to, &ack), AckLine::new(&to, &ack))
}

/// `history WITH`: a page of the conversation, oldest first. Seeing the
/// messages counts as receiving them, so a delivered receipt follows.
pub async fn history(
    ctx: &Context,
    target: &Target,
    limit: u32,
    before: Option<u64>,
) -> Result<()> {
    with_target(ctx, target, async |client, me, to| {
        let page = client.history(to.conversation(), before, limit).await?;
        if page.messages.is_empty() {
            ctx.printer.note(&match &to {
                Recipient::User(name) => format!("no messages with {name}"),
                Recipient::Group(id) => format!("no messages in #{id}"),
            })?;
        }
        for m in page.messages.iter().rev() {
            ctx.printer
                .emit(&MessageLine::human(m), MessageLine::new(m, None))?;
        }
        if page.has_more {
            if let Some(oldest) = page.messages.last() {
                ctx.printer.note(&format!(
                    "(older messages: {})",
                    ctx.command(&format!(
                        "history {} --before {}",
                        shell_word(&to),
                        oldest.seq
                    ))
                ))?;
            }
        }
        let from_others = page
            .messages
            .iter()
            .filter(|m| m.sender != me)
            .map(|m| (m.conversation_id, m.seq))
            .max_by_key(|(_, seq)| *seq);
        if let Some((conversation_id, seq)) = from_others {
            if let Err(e) = client.delivered(conversation_id, seq).await {
                eprintln!("quichat: warning: could not send the delivered receipt: {e}");
            }
        }
        Ok(())
    })
    .await
}

/// `chats`: the conversation list (direct and groups), most recent first.
pub async fn chats(ctx: &Context) -> Result<()> {
    let (client, _) = ctx.session().await?;
    let list = client.conversation_overview().await;
    client.close().await;
    let list = list?;
    if list.is_empty() {
        ctx.printer.note("no conversations yet")?;
    }
    for c in &list {
        ctx.printer.emit(&ChatLine::human(c), ChatLine::new(c))?;
    }
    Ok(())
}

/// The conversation's id and latest message seq (`None`s when there is
/// no conversation, or no message, yet).
async fn latest(client: &Client, to: &Recipient) -> Result<(Option<ConversationId>, Option<u64>)> {
    let page = client.history(to.conversation(), None, 1).await?;
    let id = page.conversation_id.or(match to {
        Recipient::Group(id) => Some(*id),
        Recipient::User(_) => None,
    });
    Ok((id, page.messages.first().map(|m| m.seq)))
}

/// `read WITH`: moves the read position to the latest message.
pub async fn read(ctx: &Context, target: &Target) -> Result<()> {
    let (to, done) = with_target(ctx, target, async |client, _, to| {
        let done = match latest(client, &to).await? {
            (Some(conversation_id), Some(seq)) => {
                client.mark_read(conversation_id, seq).await?;
                Some((conversation_id, seq))
            }
            _ => None,
        };
        Ok((to, done))
    })
    .await?;
    match done {
        Some((conversation_id, seq)) => ctx.printer.emit(
            &format!("marked read up to #{seq}"),
            ReadLine::new(Some(conversation_id), Some(seq)),
        ),
        None => ctx.printer.emit(
            &match &to {
                Recipient::User(name) => format!("no conversation with {name} yet"),
                Recipient::Group(id) => format!("no messages in #{id} yet"),
            },
            ReadLine::new(None, None),
        ),
    }
}

/// `whoread WITH SEQ`: who read, received, or is still waiting for one of
/// your messages.
pub async fn whoread(ctx: &Context, target: &Target, seq: u64) -> Result<()> {
    let (to, conversation_id, who) = with_target(ctx, target, async |client, _, to| {
        let conversation_id = match &to {
            Recipient::Group(id) => *id,
            Recipient::User(name) => latest(client, &to).await?.0.ok_or_else(|| {
                CliError::new("not_found", format!("no conversation with {name} yet"))
            })?,
        };
        let who = client.who_read(conversation_id, seq).await?;
        Ok((to, conversation_id, who))
    })
    .await?;
    ctx.printer.emit(
        &WhoReadLine::human(&label(&to), seq, &who),
        WhoReadLine::new(conversation_id, seq, &who),
    )
}
