//! `send`, `history`, `chats` and `read`: one-shot messaging commands.

use anyhow::Result;
use quichat_proto::types::ConversationRef;

use crate::render::{AckLine, ChatLine, MessageLine, ReadLine};
use crate::session::Context;

/// `send USER TEXT...`: prints the server's ack once the message is stored.
pub async fn send(ctx: &Context, user: &str, text: &str) -> Result<()> {
    let (client, _) = ctx.session().await?;
    let ack = client.send_text(user, text).await;
    client.close().await;
    let ack = ack?;
    ctx.printer
        .emit(&AckLine::human(user, &ack), AckLine::new(user, &ack))
}

/// `history USER`: a page of the conversation, oldest first. Seeing the
/// messages counts as receiving them, so a delivered receipt follows.
pub async fn history(ctx: &Context, user: &str, limit: u32, before: Option<u64>) -> Result<()> {
    let (client, session) = ctx.session().await?;
    let page = match client
        .history(ConversationRef::Direct(user.to_string()), before, limit)
        .await
    {
        Ok(page) => page,
        Err(e) => {
            client.close().await;
            return Err(e.into());
        }
    };
    if page.messages.is_empty() {
        ctx.printer.note(&format!("no messages with {user}"))?;
    }
    for m in page.messages.iter().rev() {
        ctx.printer
            .emit(&MessageLine::human(m), MessageLine::new(m, None))?;
    }
    if page.has_more {
        if let Some(oldest) = page.messages.last() {
            ctx.printer.note(&format!(
                "(older messages: {})",
                ctx.command(&format!("history {user} --before {}", oldest.seq))
            ))?;
        }
    }
    let from_peer = page
        .messages
        .iter()
        .filter(|m| m.sender != session.username)
        .map(|m| (m.conversation_id, m.seq))
        .max_by_key(|(_, seq)| *seq);
    if let Some((conversation_id, seq)) = from_peer {
        if let Err(e) = client.delivered(conversation_id, seq).await {
            eprintln!("quichat: warning: could not send the delivered receipt: {e}");
        }
    }
    client.close().await;
    Ok(())
}

/// `chats`: the conversation list, most recent first.
pub async fn chats(ctx: &Context) -> Result<()> {
    let (client, _) = ctx.session().await?;
    let list = client.conversations().await;
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

/// `read USER`: moves the read position to the latest message.
pub async fn read(ctx: &Context, user: &str) -> Result<()> {
    let (client, _) = ctx.session().await?;
    let result = async {
        let page = client
            .history(ConversationRef::Direct(user.to_string()), None, 1)
            .await?;
        match (page.conversation_id, page.messages.first()) {
            (Some(conversation_id), Some(latest)) => {
                client.mark_read(conversation_id, latest.seq).await?;
                Ok(Some((conversation_id, latest.seq)))
            }
            _ => Ok::<_, anyhow::Error>(None),
        }
    }
    .await;
    client.close().await;
    match result? {
        Some((conversation_id, seq)) => ctx.printer.emit(
            &format!("marked read up to #{seq}"),
            ReadLine::new(Some(conversation_id), Some(seq)),
        ),
        None => ctx.printer.emit(
            &format!("no conversation with {user} yet"),
            ReadLine::new(None, None),
        ),
    }
}
