//! The chat screen's event loop: terminal keys, the account's event feed
//! and the answers of background requests go into the [`ChatState`]; the
//! [`Action`]s it returns are carried out here, on the network, by tasks
//! that report back through a channel. The screen is redrawn after each.
//!
//! The feed is followed exactly as `listen` does, through a reconnecting
//! [`Session`] and its [`Follower`](quichat_client::Follower), from the
//! event log's head at start (history comes from `history` requests, so
//! nothing before it is needed, and `listen`'s saved cursor is left
//! alone). The follower runs in a task of its own and hands its items
//! over a channel, so that no key or timer ever cancels a reconnect in
//! progress. Requests go through the same session, so they too wait for a
//! reconnect instead of failing.

use std::collections::HashMap;
use std::future::Future;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use crossterm::event::{
    Event as TermEvent, EventStream, KeyCode, KeyEvent, KeyEventKind, KeyModifiers,
};
use futures::StreamExt;
use quichat_client::media::Progress;
use quichat_client::{
    Client, ClientError, Connector, Followed, HistoryPage, IfExists, Session, UploadSpec, WhoRead,
};
use quichat_proto::media::MediaInfo;
use quichat_proto::social::PresenceState;
use quichat_proto::types::{
    ConversationEntry, ConversationId, MessageBody, Recipient, SendMessage,
};
use tokio::sync::mpsc;
use tokio::task::{JoinError, JoinSet};
use uuid::Uuid;

use super::state::{Action, ChatState, Connection, Key, Note, Viewport};
use super::terminal::Tui;
use super::view;
use crate::error::CliError;
use crate::render::{DownloadLine, MediaAckLine, VoiceAckLine};
use crate::session::Context;
use crate::signals::Signals;
use crate::target::{label, Target};

/// Messages per history page.
const PAGE: u32 = 100;

/// How often the screen is redrawn while nothing happens (typing
/// indicators expire).
const TICK: Duration = Duration::from_millis(500);

/// Feed items waiting for the loop at most (the feed waits beyond).
const FEED_BUFFER: usize = 256;

/// What a background task reports.
#[derive(Debug)]
enum Update {
    /// A page of history, or why not.
    History {
        peer: Recipient,
        result: Result<HistoryPage, String>,
    },
    /// The conversation list.
    Overview(Vec<ConversationEntry>),
    /// A text was not sent.
    SendFailed { client_id: Uuid, error: String },
    /// A transfer moved on.
    Progress { done: u64, total: u64 },
    /// A transfer finished: its line, or why it failed.
    TransferDone(Result<String, String>),
    /// The receipts so far of a conversation.
    Receipts {
        peer: Recipient,
        delivered: u64,
        read: u64,
    },
    /// A request failed.
    Failed(String),
}

/// What woke the loop.
enum Wake {
    Signal(&'static str),
    Terminal(Option<std::io::Result<TermEvent>>),
    Feed(Result<Followed, ClientError>),
    Update(Update),
    TaskEnded(Result<(), JoinError>),
    Tick,
}

/// `chat [PEER]`: runs the chat screen until `/quit`, Ctrl-C or a signal
/// (exit 0), or until the session ends for good (revoked, for example).
pub async fn run(ctx: &Context, peer: Option<Target>) -> Result<()> {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        return Err(CliError::new(
            "not_a_terminal",
            "`quichat chat` needs a terminal; scripts can use `listen` and `send`",
        )
        .into());
    }
    let mut signals = Signals::install()?;
    // Before the screen is taken over, so that a bad login or an unknown
    // group is reported as by any command.
    let (client, session) = ctx.session().await?;
    let prepared = async {
        let open = match &peer {
            Some(target) => Some(target.resolve(&client).await?),
            None => None,
        };
        let overview = client.conversation_overview().await?;
        let presence = match client.presence().await {
            Ok(presence) => presence,
            Err(e) => {
                tracing::debug!("no presence: {e}");
                Vec::new()
            }
        };
        Ok::<_, anyhow::Error>((open, overview, presence))
    }
    .await;
    client.close().await;
    let (open, overview, presence) = prepared?;

    let trust = ctx.trust()?;
    let connector = Connector::new(&ctx.client_config(&ctx.server(), &trust)).await?;
    let live = Session::new(connector, ctx.token()?.to_string());
    let (mut state, actions) = ChatState::new(&session.username, &overview, open);
    state.set_presence(
        presence
            .into_iter()
            .map(|p| (p.username, matches!(p.state, PresenceState::Online))),
    );
    let (tx, rx) = mpsc::unbounded_channel();
    let mut app = App {
        live: live.clone(),
        tx,
        tasks: JoinSet::new(),
    };
    let mut tui = Tui::enter()?;
    let result = app
        .run(
            &mut tui,
            state,
            actions,
            session.event_head,
            rx,
            &mut signals,
        )
        .await;
    // The terminal first, so that an error is printed on the normal screen.
    drop(tui);
    app.tasks.abort_all();
    while app.tasks.join_next().await.is_some() {}
    // Close politely if a connection is up; never reconnect on the way out.
    if let Some(client) = live.current().await {
        client.close().await;
    }
    result
}

/// The network side of the loop.
struct App {
    live: Arc<Session>,
    tx: mpsc::UnboundedSender<Update>,
    tasks: JoinSet<()>,
}

impl App {
    async fn run(
        &mut self,
        tui: &mut Tui,
        mut state: ChatState,
        actions: Vec<Action>,
        cursor: u64,
        mut rx: mpsc::UnboundedReceiver<Update>,
        signals: &mut Signals,
    ) -> Result<()> {
        // The feed runs in a task of its own: a `Follower::next` dropped
        // half-way (as losing a `select!` race to a key would) cancels a
        // reconnect in progress, so the loop only ever waits on a channel.
        let mut follower = self.live.follow(cursor);
        let (feed_tx, mut feed) = mpsc::channel(FEED_BUFFER);
        self.tasks.spawn(async move {
            loop {
                let item = follower.next().await;
                let last = item.is_err();
                if feed_tx.send(item).await.is_err() || last {
                    return;
                }
            }
        });
        let mut keys = EventStream::new();
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut quit = self.perform(actions);
        while !quit {
            let now = Instant::now();
            let mut viewport = Viewport::default();
            tui.screen()
                .draw(|frame| viewport = view::draw(frame, &state, now))?;
            state.set_viewport(viewport);

            let wake = tokio::select! {
                name = signals.wait() => Wake::Signal(name),
                event = keys.next() => Wake::Terminal(event),
                Some(item) = feed.recv() => Wake::Feed(item),
                Some(update) = rx.recv() => Wake::Update(update),
                Some(ended) = self.tasks.join_next(), if !self.tasks.is_empty() => {
                    Wake::TaskEnded(ended)
                }
                _ = tick.tick() => Wake::Tick,
            };
            let now = Instant::now();
            let actions = match wake {
                Wake::Signal(name) => {
                    tracing::debug!("stopped by {name}");
                    return Ok(());
                }
                // The terminal is gone (stdin closed).
                Wake::Terminal(None) => return Ok(()),
                Wake::Terminal(Some(Err(e))) => {
                    return Err(anyhow::Error::new(e).context("cannot read the terminal"))
                }
                Wake::Terminal(Some(Ok(TermEvent::Key(key)))) => match translate(key) {
                    Some(key) => state.key(key, now),
                    None => Vec::new(),
                },
                Wake::Terminal(Some(Ok(TermEvent::Paste(text)))) => state.paste(&text, now),
                // A resize: the next draw fits the new size.
                Wake::Terminal(Some(Ok(_))) => Vec::new(),
                Wake::Feed(Ok(Followed::Event(event, _))) => state.apply_event(&event),
                Wake::Feed(Ok(Followed::Notice(notice))) => {
                    state.apply_notice(&notice, now);
                    Vec::new()
                }
                Wake::Feed(Ok(Followed::Disconnected(e))) => {
                    state.set_connection(Connection::Reconnecting {
                        reason: e.to_string(),
                    });
                    Vec::new()
                }
                Wake::Feed(Ok(Followed::Reconnected { .. })) => {
                    state.set_connection(Connection::Connected);
                    Vec::new()
                }
                // For good: a revoked device, a rejected token.
                Wake::Feed(Err(e)) => return Err(e.into()),
                Wake::Update(update) => apply(&mut state, update),
                Wake::TaskEnded(Err(e)) if e.is_panic() => {
                    // The panic hook gave the terminal back already.
                    return Err(anyhow!("internal error: a background task panicked"));
                }
                Wake::TaskEnded(_) | Wake::Tick => Vec::new(),
            };
            quit = self.perform(actions);
        }
        Ok(())
    }

    /// Starts a background task whose result, if any, goes to the loop.
    fn spawn(&mut self, task: impl Future<Output = Option<Update>> + Send + 'static) {
        let tx = self.tx.clone();
        self.tasks.spawn(async move {
            if let Some(update) = task.await {
                let _ = tx.send(update);
            }
        });
    }

    /// Carries out the state's actions; true to quit.
    fn perform(&mut self, actions: Vec<Action>) -> bool {
        for action in actions {
            let live = self.live.clone();
            match action {
                Action::Quit => return true,
                Action::SendText {
                    to,
                    client_id,
                    text,
                } => self.spawn(async move {
                    let msg = SendMessage {
                        client_id,
                        to,
                        body: MessageBody::Text(text),
                    };
                    // Resent with the same id across reconnects; the
                    // message itself comes back through the feed.
                    match live.send(msg).await {
                        Ok(_) => None,
                        Err(e) => Some(Update::SendFailed {
                            client_id,
                            error: e.to_string(),
                        }),
                    }
                }),
                Action::SendFile { to, path, voice } => {
                    let progress = progress(self.tx.clone());
                    self.spawn(async move {
                        let result = upload(&live, &to, &expand_home(&path), voice, progress).await;
                        Some(Update::TransferDone(result))
                    });
                }
                Action::Download { media } => {
                    let progress = progress(self.tx.clone());
                    self.spawn(async move {
                        Some(Update::TransferDone(
                            download(&live, &media, progress).await,
                        ))
                    });
                }
                Action::LoadHistory { peer, before } => self.spawn(async move {
                    let result = match live.client().await {
                        Ok(client) => client.history(peer.conversation(), before, PAGE).await,
                        Err(e) => Err(e),
                    };
                    Some(Update::History {
                        peer,
                        result: result.map_err(|e| e.to_string()),
                    })
                }),
                Action::MarkRead {
                    conversation_id,
                    up_to_seq,
                } => self.spawn(async move {
                    let result = match live.client().await {
                        Ok(client) => client.mark_read(conversation_id, up_to_seq).await,
                        Err(e) => Err(e),
                    };
                    result
                        .err()
                        .map(|e| Update::Failed(format!("cannot mark the conversation read: {e}")))
                }),
                Action::SeedReceipts {
                    peer,
                    conversation_id,
                    own,
                } => self.spawn(async move {
                    match seed_receipts(&live, conversation_id, &own).await {
                        Ok((delivered, read)) => Some(Update::Receipts {
                            peer,
                            delivered,
                            read,
                        }),
                        Err(e) => {
                            // The marks then come from live receipts only.
                            tracing::debug!("cannot read the receipts so far: {e}");
                            None
                        }
                    }
                }),
                Action::Typing { to } => self.spawn(async move {
                    if let Ok(client) = live.client().await {
                        if let Err(e) = client.typing(&to).await {
                            tracing::debug!("typing notice not sent: {e}");
                        }
                    }
                    None
                }),
                Action::RefreshList => self.spawn(async move {
                    let result = match live.client().await {
                        Ok(client) => client.conversation_overview().await,
                        Err(e) => Err(e),
                    };
                    Some(match result {
                        Ok(list) => Update::Overview(list),
                        Err(e) => Update::Failed(format!("cannot list the conversations: {e}")),
                    })
                }),
            }
        }
        false
    }
}

/// Hands a background task's report to the state.
fn apply(state: &mut ChatState, update: Update) -> Vec<Action> {
    match update {
        Update::History { peer, result } => match result {
            Ok(page) => return state.history_loaded(&peer, page),
            Err(e) => state.history_failed(&peer, e),
        },
        Update::Overview(list) => state.merge_overview(&list),
        Update::SendFailed { client_id, error } => state.send_failed(client_id, error),
        Update::Progress { done, total } => state.transfer_progress(done, total),
        Update::TransferDone(result) => state.transfer_done(result),
        Update::Receipts {
            peer,
            delivered,
            read,
        } => state.receipts_seeded(&peer, delivered, read),
        Update::Failed(e) => state.set_note(Note::Error(e)),
    }
    Vec::new()
}

/// A terminal key as the chat screen's [`Key`], if it means anything.
fn translate(key: KeyEvent) -> Option<Key> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    Some(match key.code {
        KeyCode::Char('c') if ctrl => Key::Quit,
        KeyCode::Char('u') if ctrl => Key::ClearLine,
        KeyCode::Char('w') if ctrl => Key::DeleteWord,
        KeyCode::Char('a') if ctrl => Key::Home,
        KeyCode::Char('e') if ctrl => Key::End,
        KeyCode::Char(_) if ctrl || alt => return None,
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Enter => Key::Enter,
        KeyCode::Backspace => Key::Backspace,
        KeyCode::Delete => Key::Delete,
        KeyCode::Left => Key::Left,
        KeyCode::Right => Key::Right,
        KeyCode::Home => Key::Home,
        KeyCode::End => Key::End,
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::Tab => Key::Tab,
        KeyCode::BackTab => Key::BackTab,
        KeyCode::PageUp => Key::PageUp,
        KeyCode::PageDown => Key::PageDown,
        KeyCode::Esc => Key::Esc,
        _ => return None,
    })
}

/// A progress callback that reports to the loop, at most once per
/// thousandth of the transfer.
fn progress(tx: mpsc::UnboundedSender<Update>) -> impl Progress + 'static {
    let mut last = u64::MAX;
    move |done: u64, total: u64| {
        let step = done.saturating_mul(1000).checked_div(total).unwrap_or(0);
        if step != last {
            last = step;
            let _ = tx.send(Update::Progress { done, total });
        }
    }
}

/// `~/x` as `$HOME/x` (the line is not read by a shell).
fn expand_home(path: &Path) -> PathBuf {
    match (path.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => path.to_path_buf(),
    }
}

/// `/file` and `/voice`: uploads (resuming, or not at all when the server
/// has the file) and sends; returns the line `send-file` or `send-voice`
/// prints.
async fn upload(
    live: &Session,
    to: &Recipient,
    path: &Path,
    voice: bool,
    progress: impl Progress,
) -> Result<String, String> {
    match tokio::fs::metadata(path).await {
        Ok(m) if m.is_dir() => {
            return Err(format!("cannot send {}: it is a directory", path.display()))
        }
        Ok(_) => {}
        Err(e) => return Err(format!("cannot open {}: {e}", path.display())),
    }
    let client = live.client().await.map_err(|e| e.to_string())?;
    let to_label = label(to);
    if voice {
        let (ack, upload) = client
            .send_voice(to, path, "", progress)
            .await
            .map_err(|e| e.to_string())?;
        return Ok(VoiceAckLine::human(&to_label, &upload, &ack));
    }
    let upload = client
        .upload_file(path, UploadSpec::to(to), progress)
        .await
        .map_err(|e| e.to_string())?;
    let ack = live
        .send(SendMessage {
            client_id: Uuid::now_v7(),
            to: to.clone(),
            body: MessageBody::Media {
                media: Box::new(upload.media.clone()),
                caption: String::new(),
            },
        })
        .await
        .map_err(|e| e.to_string())?;
    Ok(MediaAckLine::human(&to_label, &upload, &ack))
}

/// `/download N`: what `quichat download` does without options: the
/// media's (sanitised) name in the current directory, through a partial
/// file that resumes, renamed only once its SHA-256 matches; an existing
/// different file is left alone.
async fn download(
    live: &Session,
    media: &MediaInfo,
    progress: impl Progress,
) -> Result<String, String> {
    let client = live.client().await.map_err(|e| e.to_string())?;
    let path = Path::new(".").join(crate::commands::local_filename(media));
    match client
        .download_file(media.id, &path, IfExists::Refuse, progress)
        .await
    {
        Ok(outcome) => Ok(DownloadLine::human(&outcome, &path)),
        Err(ClientError::FileExists(_)) => Err(format!(
            "{} already exists and is not this file; move it away and download again",
            path.display()
        )),
        Err(ClientError::Integrity(reason)) => Err(reason),
        Err(e) => Err(e.to_string()),
    }
}

/// How far everyone else received and read the user's messages `own`
/// (seqs, ascending) of a conversation: receipts are watermarks, so a
/// binary search over `whoread` answers finds both with a few requests.
async fn seed_receipts(
    live: &Session,
    conversation_id: ConversationId,
    own: &[u64],
) -> Result<(u64, u64), ClientError> {
    let client = live.client().await?;
    let mut answers = Answers {
        client: &client,
        conversation_id,
        known: HashMap::new(),
    };
    // own[..delivered] reached everyone; own[..read] everyone read.
    let (mut lo, mut hi) = (0, own.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if answers.get(own[mid]).await?.waiting.is_empty() {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    let delivered = lo;
    let (mut lo, mut hi) = (0, delivered);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let who = answers.get(own[mid]).await?;
        if who.waiting.is_empty() && who.delivered.is_empty() {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    let read = lo;
    let seq_at = |n: usize| n.checked_sub(1).map_or(0, |i| own[i]);
    Ok((seq_at(delivered), seq_at(read)))
}

/// `whoread` answers, asked once per message.
struct Answers<'a> {
    client: &'a Client,
    conversation_id: ConversationId,
    known: HashMap<u64, WhoRead>,
}

impl Answers<'_> {
    async fn get(&mut self, seq: u64) -> Result<WhoRead, ClientError> {
        if let Some(who) = self.known.get(&seq) {
            return Ok(who.clone());
        }
        let who = self.client.who_read(self.conversation_id, seq).await?;
        self.known.insert(seq, who.clone());
        Ok(who)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_translate() {
        let key = |code, modifiers| translate(KeyEvent::new(code, modifiers));
        assert_eq!(
            key(KeyCode::Char('c'), KeyModifiers::CONTROL),
            Some(Key::Quit)
        );
        assert_eq!(
            key(KeyCode::Char('c'), KeyModifiers::NONE),
            Some(Key::Char('c'))
        );
        assert_eq!(
            key(KeyCode::Char('C'), KeyModifiers::SHIFT),
            Some(Key::Char('C'))
        );
        assert_eq!(key(KeyCode::Char('x'), KeyModifiers::CONTROL), None);
        assert_eq!(
            key(KeyCode::BackTab, KeyModifiers::SHIFT),
            Some(Key::BackTab)
        );
        assert_eq!(key(KeyCode::PageUp, KeyModifiers::NONE), Some(Key::PageUp));
        assert_eq!(key(KeyCode::F(5), KeyModifiers::NONE), None);
    }

    #[test]
    fn home_is_expanded() {
        if let Some(home) = std::env::var_os("HOME") {
            assert_eq!(
                expand_home(Path::new("~/a/b.txt")),
                PathBuf::from(home).join("a/b.txt")
            );
        }
        assert_eq!(expand_home(Path::new("a/~/b")), PathBuf::from("a/~/b"));
    }
}
