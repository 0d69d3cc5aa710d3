//! `listen`: follows the account's event feed and prints every event once,
//! saving the sync cursor after each so that the next run resumes exactly
//! where this one stopped.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use anyhow::{anyhow, Result};
use quichat_client::{Client, Connector, Followed, Notice, Session};
use quichat_proto::event::{Event, EventBody};
use quichat_proto::types::{
    ConversationId, MessageEdit, MessageRecall, MessageRef, MessageUpdate, ReactionChange,
    Recipient, UserId,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::args::ListenArgs;
use crate::error::CliError;
use crate::profile::ProfileFile;
use crate::render;
use crate::session::Context;
use crate::signals::Signals;
use crate::target::{label, latest, Target};

/// Why the loop ended without an error.
enum Stop {
    Signal(&'static str),
    /// `--once` printed its event.
    Once,
    /// `--timeout` passed.
    Deadline,
}

/// Which conversation `--with` follows. A direct conversation that does
/// not exist yet has no id: its first message (with the peer) tells it.
struct Filter {
    /// The resolved target, `bob` or `#12`: also the key of its cursor.
    label: String,
    /// The peer of a direct conversation.
    peer: Option<String>,
    id: Option<ConversationId>,
}

impl Filter {
    async fn resolve(client: &Client, target: &Target) -> Result<Filter> {
        let to = target.resolve(client).await?;
        let (id, _) = latest(client, &to).await?;
        Ok(Filter {
            label: label(&to),
            peer: match &to {
                Recipient::User(name) => Some(name.to_lowercase()),
                Recipient::Group(_) => None,
            },
            id,
        })
    }

    /// Whether `event` belongs to the conversation (learning its id from
    /// a first direct message).
    fn admits(&mut self, event: &Event, me: &str) -> bool {
        if self.id.is_none() {
            if let (EventBody::Message(m), Some(peer)) = (&event.body, &self.peer) {
                if matches!(render::peer_of(m, me), Recipient::User(p) if p.to_lowercase() == *peer)
                {
                    self.id = Some(m.conversation_id);
                }
            }
        }
        self.id.is_some() && event.body.conversation_id() == self.id
    }

    /// Presence and typing of the peer (direct conversations only).
    fn admits_notice(&self, notice: &Notice) -> bool {
        let Some(peer) = &self.peer else {
            return false;
        };
        match notice {
            Notice::Presence(p) => p.username.to_lowercase() == *peer,
            Notice::Typing(t) => t.from.to_lowercase() == *peer,
        }
    }
}

/// `listen [--from-start] [--with CONV] [--once] [--timeout D] [--exec CMD]
/// [--notify]`.
pub async fn run(ctx: &Context, args: ListenArgs) -> Result<()> {
    let mut signals = Signals::install()?;
    // Before connecting: without a notification service, fail at once.
    let notifier = if args.notify {
        Some(crate::desktop::Notifier::connect().await?)
    } else {
        None
    };
    let (client, session) = ctx.session().await?;
    // Only what arrives after this start alerts: a catch-up (or
    // --from-start) is printed, not announced event by event.
    let alert_after = session.event_head;
    let server = ctx.server();
    let mut filter = match &args.with {
        Some(target) => match Filter::resolve(&client, target).await {
            Ok(filter) => Some(filter),
            Err(e) => {
                client.close().await;
                return Err(e);
            }
        },
        None => None,
    };
    let key = filter.as_ref().map(|f| f.label.clone());
    let saved_cursor = match &key {
        // A conversation followed for the first time starts where the
        // full listen stands.
        Some(key) => ctx
            .profile
            .cursors
            .get(key)
            .copied()
            .unwrap_or(ctx.profile.cursor),
        None => ctx.profile.cursor,
    };
    let mut cursor = if args.from_start { 0 } else { saved_cursor };
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
        key,
        cursor,
        rewind,
    );
    let deadline = args
        .timeout
        .map(|secs| tokio::time::Instant::now() + Duration::from_secs(secs));

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
            () = until(deadline) => {
                break if args.once {
                    Err(CliError::new(
                        "timed_out",
                        format!(
                            "no event within {}",
                            humantime(args.timeout.unwrap_or_default())
                        ),
                    )
                    .into())
                } else {
                    Ok(Stop::Deadline)
                };
            }
            item = follower.next() => match item {
                Ok(Followed::Reconnected { zero_rtt }) => {
                    if !announced {
                        // On stderr also with --json: scripts can wait for it before acting.
                        eprintln!(
                            "listening as {} on {server} after event {}{}; Ctrl-C to stop",
                            session.username,
                            follower.cursor(),
                            filter
                                .as_ref()
                                .map(|f| format!(", only {}", f.label))
                                .unwrap_or_default(),
                        );
                        if let Some(n) = &notifier {
                            eprintln!("desktop notifications through {}", n.server);
                        }
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
                    if filter.as_ref().is_some_and(|f| !f.admits_notice(&notice)) {
                        continue;
                    }
                    let (human, json) = render::notice(&notice);
                    if let Err(e) = ctx.printer.emit(&human, json) {
                        break Err(e);
                    }
                }
                Ok(Followed::Disconnected(e)) => {
                    eprintln!("quichat: connection lost ({e}); reconnecting…");
                }
                Ok(Followed::Event(event, flags)) => {
                    if let Some(f) = filter.as_mut() {
                        if !f.admits(&event, &session.username) {
                            // Not ours, and seen: a filtered listen moves past it.
                            let _ = saved_tx.send(event.seq);
                            continue;
                        }
                    }
                    if !ctx.opts.json {
                        // Never reconnect here: that would not race the signals.
                        if let Some(client) = live.current().await {
                            peers.learn(&client, &event, &session.username).await;
                        }
                    }
                    let (human, json) =
                        render::event(&event, &session.username, |id| peers.get(id));
                    let json_text = match &args.exec {
                        Some(_) => match serde_json::to_string(&json) {
                            Ok(text) => Some(text),
                            Err(e) => break Err(anyhow!("cannot encode the event as JSON: {e}")),
                        },
                        None => None,
                    };
                    if let Err(e) = ctx.printer.emit(&human, json) {
                        break Err(e);
                    }
                    if let (Some(n), true) = (&notifier, event.seq > alert_after) {
                        if let Some((summary, body)) =
                            crate::desktop::alert(&event, flags, &session.username)
                        {
                            n.show(summary, body).await;
                        }
                    }
                    if let (Some(command), Some(input)) = (&args.exec, json_text) {
                        tokio::select! {
                            name = signals.wait() => break Ok(Stop::Signal(name)),
                            ran = run_hook(command, &input, event.seq) => {
                                if let Err(e) = ran {
                                    break Err(e);
                                }
                            }
                        }
                    }
                    let _ = saved_tx.send(event.seq);
                    if args.once {
                        break Ok(Stop::Once);
                    }
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
    match outcome? {
        Stop::Signal(name) => tracing::debug!("stopped by {name}"),
        Stop::Once => tracing::debug!("stopped after one event (--once)"),
        Stop::Deadline => tracing::debug!("stopped at the --timeout deadline"),
    }
    saved
}

/// Waits for `deadline`, or forever without one.
async fn until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// `90` → `90s`, `120` → `2m`, for messages.
fn humantime(secs: u64) -> String {
    if secs >= 60 && secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

/// Runs the `--exec` command for one event: `sh -c CMD` with the event's
/// JSON line on stdin (its stdout and stderr are ours). A failure names
/// the event, which stays unseen.
async fn run_hook(command: &str, input: &str, seq: u64) -> Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| CliError::new("exec", format!("cannot run --exec command: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A command that does not read its stdin is fine: ignore EPIPE.
        let _ = stdin.write_all(input.as_bytes()).await;
        let _ = stdin.write_all(b"\n").await;
    }
    let status = child
        .wait()
        .await
        .map_err(|e| CliError::new("exec", format!("--exec command: {e}")))?;
    if status.success() {
        return Ok(());
    }
    let how = match status.code() {
        Some(code) => format!("exited with status {code}"),
        None => "was killed by a signal".to_string(),
    };
    Err(CliError::new(
        "exec",
        format!(
            "the --exec command {how} on event {seq}; stopping, and the next listen starts \
             with that event"
        ),
    )
    .into())
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
            | EventBody::Contacts(_)
            | EventBody::Broadcast(_)
            | EventBody::Mention(_) => {}
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
    key: Option<String>,
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
                let (file, owner, key) = (file.clone(), owner.clone(), key.clone());
                let saved = tokio::task::spawn_blocking(move || {
                    save_cursor(&file, &owner, key.as_deref(), latest, rewind)
                })
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

/// Stores `cursor` (the full listen's, or the one of the conversation
/// `key` names) if the profile still belongs to `owner`. A cursor only
/// moves forward, except after a rewind (the server's log restarted).
fn save_cursor(
    file: &ProfileFile,
    owner: &Owner,
    key: Option<&str>,
    cursor: u64,
    rewind: bool,
) -> Result<()> {
    file.update(|p| {
        let same = p.user_id == Some(owner.user_id)
            && p.username.as_deref() == Some(owner.username.as_str());
        if same {
            let slot = match key {
                Some(key) => p.cursors.entry(key.to_string()).or_insert(0),
                None => &mut p.cursor,
            };
            *slot = if rewind { cursor } else { (*slot).max(cursor) };
        }
    })?;
    Ok(())
}
