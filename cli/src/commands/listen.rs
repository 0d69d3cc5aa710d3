//! `listen`: follows the account's event feed and prints every event once,
//! saving the sync cursor after each so that the next run resumes exactly
//! where this one stopped.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use anyhow::{anyhow, Result};
use quichat_client::{Client, Connector, Followed, Session};
use quichat_proto::event::{Event, EventBody};
use quichat_proto::types::{
    ConversationId, MessageEdit, MessageRecall, MessageRef, MessageUpdate, ReactionChange,
    Recipient, UserId,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::profile::ProfileFile;
use crate::render;
use crate::session::Context;

/// Why the loop ended without an error.
enum Stop {
    Signal(&'static str),
}

/// `listen [--from-start]`.
pub async fn run(ctx: &Context, from_start: bool) -> Result<()> {
    let mut signals = Signals::install()?;
    let (client, session) = ctx.session().await?;
    let server = ctx.server();
    let mut cursor = if from_start { 0 } else { ctx.profile.cursor };
    let mut rewind = false;
    if cursor > session.event_head {
        eprintln!(
            "quichat: warning: the saved cursor ({cursor}) is ahead of the server's event log \
             ({}); was the server reset? starting from the beginning",
            session.event_head
        );
        cursor = 0;
        rewind = true;
    }
    let (saved_tx, saver) = spawn_saver(
        ctx.file.clone(),
        Owner {
            user_id: session.user_id,
            username: session.username.clone(),
        },
        cursor,
        rewind,
    );

    // Follow the feed through a reconnecting session: a lost connection or
    // a server restart is retried with backoff (and TLS resumption), and
    // the feed resumes from the last printed event, so nothing is missed
    // or printed twice.
    let trust = ctx.trust()?;
    let connector = Connector::new(&ctx.client_config(&server, &trust)).await?;
    let live = Session::new(connector, ctx.token()?.to_string());
    client.close().await;
    let mut follower = live.follow(cursor);
    let mut peers = Peers::default();
    let mut announced = false;
    let outcome: Result<Stop> = loop {
        tokio::select! {
            name = signals.wait() => break Ok(Stop::Signal(name)),
            item = follower.next() => match item {
                Ok(Followed::Reconnected { zero_rtt }) => {
                    if !announced {
                        // On stderr also with --json: scripts can wait for it before acting.
                        eprintln!(
                            "listening as {} on {server} after event {}; Ctrl-C to stop",
                            session.username,
                            follower.cursor()
                        );
                        announced = true;
                    } else {
                        eprintln!(
                            "quichat: reconnected{}; catching up after event {}",
                            if zero_rtt { " (TLS resumption, 0-RTT)" } else { "" },
                            follower.cursor()
                        );
                    }
                }
                Ok(Followed::Notice(notice)) => {
                    let (human, json) = render::notice(&notice);
                    if let Err(e) = ctx.printer.emit(&human, json) {
                        break Err(e);
                    }
                }
                Ok(Followed::Disconnected(e)) => {
                    eprintln!("quichat: connection lost ({e}); reconnecting…");
                }
                Ok(Followed::Event(event)) => {
                    if !ctx.opts.json {
                        // Never reconnect here: that would not race the signals.
                        if let Some(client) = live.current().await {
                            peers.learn(&client, &event, &session.username).await;
                        }
                    }
                    let (human, json) =
                        render::event(&event, &session.username, |id| peers.get(id));
                    if let Err(e) = ctx.printer.emit(&human, json) {
                        break Err(e);
                    }
                    let _ = saved_tx.send(event.seq);
                }
                Err(e) => break Err(e.into()),
            },
        }
    };
    drop(saved_tx);
    let saved = saver
        .await
        .map_err(|e| anyhow!("cursor saver failed: {e}"))?;
    // Close politely if a connection is up; never reconnect on the way out
    // (with the server gone, that used to keep a stopped listen alive).
    if let Some(client) = live.current().await {
        client.close().await;
    }
    let Stop::Signal(name) = outcome?;
    tracing::debug!("stopped by {name}");
    saved
}

/// Whom each conversation is with (the other user, or the group), for
/// events that carry only a conversation id (transcript updates, edits,
/// recalls, deletions, reactions). Learnt
/// from the messages in the feed; a conversation not seen yet is looked up
/// in the conversation list (once per listen for an unknown id).
#[derive(Default)]
struct Peers {
    names: HashMap<ConversationId, Recipient>,
    asked: HashSet<ConversationId>,
}

impl Peers {
    /// How long the conversation list may take before the line is printed
    /// without the peer's name.
    const LOOKUP: Duration = Duration::from_secs(5);

    async fn learn(&mut self, client: &Client, event: &Event, me: &str) {
        match &event.body {
            EventBody::Message(m) => {
                self.names.insert(m.conversation_id, render::peer_of(m, me));
            }
            EventBody::MessageUpdated(MessageUpdate {
                conversation_id: id,
                ..
            })
            | EventBody::MessageEdited(MessageEdit {
                conversation_id: id,
                ..
            })
            | EventBody::MessageRecalled(MessageRecall {
                conversation_id: id,
                ..
            })
            | EventBody::MessageHidden(MessageRef {
                conversation_id: id,
                ..
            })
            | EventBody::Reaction(ReactionChange {
                conversation_id: id,
                ..
            }) => {
                let id = *id;
                if self.names.contains_key(&id) || !self.asked.insert(id) {
                    return;
                }
                match tokio::time::timeout(Self::LOOKUP, client.conversations()).await {
                    Ok(Ok(list)) => {
                        for c in list {
                            self.names.insert(c.id, c.peer);
                        }
                    }
                    Ok(Err(e)) => tracing::debug!("cannot list conversations: {e}"),
                    Err(_) => tracing::debug!("the conversation list timed out"),
                }
            }
            EventBody::Receipt(_)
            | EventBody::ReadPosition(_)
            | EventBody::ProfileUpdated(_)
            | EventBody::FriendRequest(_)
            | EventBody::Contacts(_) => {}
        }
    }

    fn get(&self, id: ConversationId) -> Option<Recipient> {
        self.names.get(&id).cloned()
    }
}

/// Whose cursor is being saved: if the profile is logged in to another
/// account meanwhile, the cursor is not written.
struct Owner {
    user_id: UserId,
    username: String,
}

/// Starts a task that writes the latest cursor sent on the returned
/// channel to the profile. Writes coalesce: while one is in progress, only
/// the newest value is kept. Dropping the sender flushes and ends the task.
fn spawn_saver(
    file: ProfileFile,
    owner: Owner,
    start: u64,
    rewind: bool,
) -> (watch::Sender<u64>, JoinHandle<Result<()>>) {
    let (tx, mut rx) = watch::channel(start);
    let task = tokio::spawn(async move {
        let owner = std::sync::Arc::new(owner);
        let mut written = start;
        let mut result = Ok(());
        loop {
            let closed = rx.changed().await.is_err();
            let latest = *rx.borrow_and_update();
            if latest != written {
                let (file, owner) = (file.clone(), owner.clone());
                let saved =
                    tokio::task::spawn_blocking(move || save_cursor(&file, &owner, latest, rewind))
                        .await
                        .map_err(|e| anyhow!("cursor save task failed: {e}"))
                        .and_then(|r| r);
                match saved {
                    Ok(()) => written = latest,
                    Err(e) => {
                        tracing::warn!("cannot save the sync cursor: {e:#}");
                        result = Err(e);
                    }
                }
            }
            if closed {
                return result;
            }
        }
    });
    (tx, task)
}

/// Stores `cursor` if the profile still belongs to `owner`. The cursor
/// only moves forward, except after a rewind (the server's log restarted).
fn save_cursor(file: &ProfileFile, owner: &Owner, cursor: u64, rewind: bool) -> Result<()> {
    file.update(|p| {
        let same = p.user_id == Some(owner.user_id)
            && p.username.as_deref() == Some(owner.username.as_str());
        if same {
            p.cursor = if rewind { cursor } else { p.cursor.max(cursor) };
        }
    })?;
    Ok(())
}

/// The signals that stop `listen` cleanly (the cursor is saved first).
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hangup: tokio::signal::unix::Signal,
}

impl Signals {
    /// Installs the handlers (before connecting, so that no Ctrl-C is
    /// lost once events may be printed).
    #[cfg(unix)]
    fn install() -> Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }

    #[cfg(not(unix))]
    fn install() -> Result<Signals> {
        Ok(Signals {})
    }

    /// Waits for any of them; returns its name.
    #[cfg(unix)]
    async fn wait(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
            _ = self.hangup.recv() => "SIGHUP",
        }
    }

    #[cfg(not(unix))]
    async fn wait(&mut self) -> &'static str {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}
