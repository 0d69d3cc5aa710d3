//! `send`, `history`, `chats`, `read`, `whoread`, and the operations on
//! sent messages, `edit`, `recall`, `delete`, `reply`, `forward`, `react`
//! and `reactions`: one-shot messaging commands. Each takes a user or a
//! group ([`Target`]).

use std::io::{IsTerminal, Read};
use std::path::Path;

use anyhow::{Context as _, Result};
use quichat_client::Client;
use quichat_proto::types::{Recipient, MAX_TEXT_BYTES};

use crate::error::CliError;
use crate::render::{
    AckLine, BroadcastSentLine, ChatLine, EditedLine, HiddenLine, MessageLine, ReactionsLine,
    ReadLine, RecalledLine, WhoReadLine,
};
use crate::session::Context;
use crate::target::{conversation_id, label, latest, shell_word, MessageArg, Target};

/// Runs `f` on an authenticated connection with the target resolved, and
/// closes the connection politely.
pub(super) async fn with_target<T>(
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

/// `send TO TEXT...` (`-` for stdin) or `send TO --message-file PATH`:
/// prints the server's ack once the message is stored.
pub async fn send(
    ctx: &Context,
    target: &Target,
    words: &[String],
    file: Option<&Path>,
) -> Result<()> {
    // Before connecting: a text typed on the terminal may take a while.
    let text = match file {
        Some(path) if path != Path::new("-") => read_text_file(path)?,
        Some(_) => text_arg(&["-".to_string()])?,
        None => text_arg(words)?,
    };
    let (to, ack) = with_target(ctx, target, async |client, _, to| {
        let ack = client.send_text(&to, &text).await?;
        Ok((to, ack))
    })
    .await?;
    let to = label(&to);
    ctx.printer
        .emit(&AckLine::human(&to, &ack), AckLine::new(&to, &ack))
}

/// `broadcast TEXT...` (`-` for stdin): a server administrator's
/// announcement to every user.
pub async fn broadcast(ctx: &Context, words: &[String]) -> Result<()> {
    let text = text_arg(words)?;
    let (client, _) = ctx.session().await?;
    let sent = client.broadcast(&text).await;
    client.close().await;
    let (id, recipients) = sent?;
    let line = BroadcastSentLine { id, recipients };
    ctx.printer.emit(&line.human(), line)
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
    let mentions = client.mentions().await;
    let notify = client.notify_settings().await;
    client.close().await;
    let (list, mentions, notify) = (list?, mentions?, notify?);
    if list.is_empty() {
        ctx.printer.note("no conversations yet")?;
    }
    for c in &list {
        let n = mentions
            .iter()
            .filter(|m| m.conversation_id == c.summary.id)
            .count();
        let mute = notify
            .mutes
            .iter()
            .find(|m| m.conversation_id == c.summary.id);
        ctx.printer.emit(
            &ChatLine::human_marked(c, n, mute.is_some()),
            ChatLine::new(c).with_mentions(n).with_mute(mute),
        )?;
    }
    if !list.is_empty() {
        let total: u64 = list.iter().map(|c| c.summary.unread).sum();
        let with = list.iter().filter(|c| c.summary.unread > 0).count();
        ctx.printer.note(&match total {
            0 => "no unread messages".to_string(),
            _ => format!("{total} unread in {with} of {} conversations", list.len()),
        })?;
    }
    Ok(())
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

/// `whoread CONV#SEQ`: who read, received, or is still waiting for one of
/// your messages.
pub async fn whoread(ctx: &Context, message: &MessageArg) -> Result<()> {
    let seq = message.seq;
    let (to, conversation_id, who) =
        with_target(ctx, &message.conversation, async |client, _, to| {
            let conversation_id = conversation_id(client, &to).await?;
            let who = client.who_read(conversation_id, seq).await?;
            Ok((to, conversation_id, who))
        })
        .await?;
    ctx.printer.emit(
        &WhoReadLine::human(&label(&to), seq, &who),
        WhoReadLine::new(conversation_id, seq, &who),
    )
}

/// `edit CONV#SEQ TEXT...`: replaces the text of one of your messages.
pub async fn edit(ctx: &Context, message: &MessageArg, words: &[String]) -> Result<()> {
    // Before connecting: a text typed on the terminal may take a while.
    let text = text_arg(words)?;
    let seq = message.seq;
    let (to, edit) = with_target(ctx, &message.conversation, async |client, _, to| {
        let id = conversation_id(client, &to).await?;
        let edit = client.edit_message(id, seq, &text).await?;
        Ok((to, edit))
    })
    .await?;
    ctx.printer.emit(
        &EditedLine::done(&label(&to), &edit),
        EditedLine::new(&edit, None),
    )
}

/// The text of `edit` and `reply`: the words joined with spaces, or, for
/// a lone `-`, stdin up to its end, less one final line break.
fn text_arg(words: &[String]) -> Result<String> {
    if words != ["-"] {
        return Ok(words.join(" "));
    }
    let mut stdin = std::io::stdin().lock();
    if stdin.is_terminal() {
        eprintln!("quichat: reading the text from stdin; end it with Ctrl-D");
    }
    let mut text = String::new();
    stdin
        .read_to_string(&mut text)
        .context("cannot read the text from stdin")?;
    Ok(without_final_line_break(text))
}

/// A message text from a file, less one final line break. Refuses a file
/// longer than a message may be before reading it all.
fn read_text_file(path: &Path) -> Result<String> {
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_TEXT_BYTES as u64 + 2).read_to_string(&mut text))
        .map_err(|e| CliError::new("file", format!("cannot read {}: {e}", path.display())))?;
    let text = without_final_line_break(text);
    if text.len() > MAX_TEXT_BYTES {
        return Err(CliError::new(
            "too_large",
            format!(
                "{} is longer than a message may be ({} KiB); send it as a file with `send-file`",
                path.display(),
                MAX_TEXT_BYTES / 1024
            ),
        )
        .into());
    }
    Ok(text)
}

/// `text` less one trailing `\n` or `\r\n` (what `echo` or an editor adds).
fn without_final_line_break(mut text: String) -> String {
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    text
}

/// `recall CONV#SEQ`: deletes a message for everyone.
pub async fn recall(ctx: &Context, message: &MessageArg) -> Result<()> {
    let seq = message.seq;
    let (to, recall) = with_target(ctx, &message.conversation, async |client, _, to| {
        let id = conversation_id(client, &to).await?;
        let recall = client.recall_message(id, seq).await?;
        Ok((to, recall))
    })
    .await?;
    ctx.printer.emit(
        &RecalledLine::done(&label(&to), &recall),
        RecalledLine::new(&recall, None),
    )
}

/// `delete CONV#SEQ`: hides a message on all of your devices.
pub async fn delete_for_me(ctx: &Context, message: &MessageArg) -> Result<()> {
    let seq = message.seq;
    let hidden = with_target(ctx, &message.conversation, async |client, _, to| {
        let id = conversation_id(client, &to).await?;
        Ok(client.delete_for_me(id, seq).await?)
    })
    .await?;
    ctx.printer
        .emit(&HiddenLine::done(&hidden), HiddenLine::new(&hidden, None))
}

/// `reply CONV#SEQ TEXT...`: sends a text that answers message SEQ of
/// the conversation; prints the ack like `send`.
pub async fn reply(ctx: &Context, message: &MessageArg, words: &[String]) -> Result<()> {
    let text = text_arg(words)?;
    let seq = message.seq;
    let (to, ack) = with_target(ctx, &message.conversation, async |client, _, to| {
        let ack = client.send_reply(&to, seq, &text).await?;
        Ok((to, ack))
    })
    .await?;
    let to = label(&to);
    ctx.printer
        .emit(&AckLine::human(&to, &ack), AckLine::new(&to, &ack))
}

/// `forward CONV#SEQ TO`: copies message SEQ into the conversation TO
/// names; prints the ack like `send`, naming TO.
pub async fn forward(ctx: &Context, message: &MessageArg, dest: &Target) -> Result<()> {
    let seq = message.seq;
    let (dest, ack) = with_target(ctx, &message.conversation, async |client, _, from| {
        let id = conversation_id(client, &from).await?;
        let dest = dest.resolve(client).await?;
        let ack = client.forward(id, seq, &dest).await?;
        Ok((dest, ack))
    })
    .await?;
    let dest = label(&dest);
    ctx.printer
        .emit(&AckLine::human(&dest, &ack), AckLine::new(&dest, &ack))
}

/// `react CONV#SEQ EMOJI [--remove]` (`change`: the emoji, and whether
/// to add it) and `reactions CONV#SEQ` (`change: None`): prints the
/// message's reactions, after the change if any.
pub async fn reactions(
    ctx: &Context,
    message: &MessageArg,
    change: Option<(&str, bool)>,
) -> Result<()> {
    let seq = message.seq;
    let (to, reactions) = with_target(ctx, &message.conversation, async |client, _, to| {
        let id = conversation_id(client, &to).await?;
        let reactions = match change {
            Some((emoji, add)) => client.react(id, seq, emoji, add).await?,
            None => client.reactions(id, seq).await?,
        };
        Ok((to, reactions))
    })
    .await?;
    ctx.printer.emit(
        &ReactionsLine::human(&label(&to), &reactions),
        ReactionsLine::new(&reactions),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_words_or_stdin() {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            text_arg(&words(&["fixed", "text"])).ok().as_deref(),
            Some("fixed text")
        );
        // `-` among other words is text.
        assert_eq!(
            text_arg(&words(&["a", "-", "b"])).ok().as_deref(),
            Some("a - b")
        );
        for (raw, text) in [
            ("fixed text\n", "fixed text"),
            ("two\nlines\r\n", "two\nlines"),
            ("kept\n\n", "kept\n"),
            ("no break", "no break"),
            ("", ""),
        ] {
            assert_eq!(without_final_line_break(raw.to_string()), text, "{raw:?}");
        }
    }
}
