//! What `quichat chat` shows, apart from how it is drawn and where the
//! data comes from: the conversations with their unread counts, the
//! loaded history, receipts, typing indicators, the input line and the
//! status bar.
//!
//! Pure: no terminal, no network, no clock (the time comes in as an
//! argument). Keys, feed events and the answers of requests go in through
//! the methods of [`ChatState`]; what must be done on the network comes
//! back as [`Action`]s, which `app.rs` carries out and answers.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use quichat_client::{HistoryPage, Notice};
use quichat_proto::event::{Event, EventBody};
use quichat_proto::media::MediaInfo;
use quichat_proto::social::PresenceState;
use quichat_proto::types::{
    ConversationEntry, ConversationId, GroupBrief, Message, MessageBody, Receipt, ReceiptKind,
    Recipient,
};
use uuid::Uuid;

use super::input::{self, Command, Input};
use crate::render::peer_of;

/// How often a typing notice is sent while the user types: the server
/// lets a client refresh about every 3 s (and rate-limits above that).
pub const TYPING_EVERY: Duration = Duration::from_secs(3);

/// A key, as the chat screen understands it (the terminal's key events
/// are translated in `app.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A printable character.
    Char(char),
    /// Enter: send the line.
    Enter,
    /// Delete the character before the cursor.
    Backspace,
    /// Delete the character under the cursor.
    Delete,
    /// Cursor left.
    Left,
    /// Cursor right.
    Right,
    /// Cursor to the start of the line.
    Home,
    /// Cursor to the end of the line.
    End,
    /// The previous conversation.
    Up,
    /// The next conversation.
    Down,
    /// The next conversation.
    Tab,
    /// The previous conversation (Shift-Tab).
    BackTab,
    /// Scroll the history up a page.
    PageUp,
    /// Scroll the history down a page.
    PageDown,
    /// Clear the status note, or else the line.
    Esc,
    /// Ctrl-U: clear the line.
    ClearLine,
    /// Ctrl-W: delete the word before the cursor.
    DeleteWord,
    /// Ctrl-C: quit.
    Quit,
}

/// The connection, as the status bar shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    /// Not connected yet.
    Connecting,
    /// Following the event feed.
    Connected,
    /// Lost; the client library is reconnecting.
    Reconnecting {
        /// Why it was lost.
        reason: String,
    },
}

/// What the screen needs done on the network.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Leave (exit status 0).
    Quit,
    /// Send a text; answer with [`ChatState::send_failed`] on failure (the
    /// message itself comes back through the feed).
    SendText {
        /// The conversation.
        to: Recipient,
        /// The message's client id (a resend reuses it).
        client_id: Uuid,
        /// The text.
        text: String,
    },
    /// Upload a file and send it; report with
    /// [`ChatState::transfer_progress`] and [`ChatState::transfer_done`].
    SendFile {
        /// The conversation.
        to: Recipient,
        /// The file.
        path: PathBuf,
        /// As a voice note (transcribed by the server).
        voice: bool,
    },
    /// Download a media file into the current directory; report like
    /// [`Action::SendFile`].
    Download {
        /// What to download.
        media: Box<MediaInfo>,
    },
    /// Load a page of history; answer with [`ChatState::history_loaded`]
    /// or [`ChatState::history_failed`].
    LoadHistory {
        /// The conversation.
        peer: Recipient,
        /// Older than this seq (`None`: the latest page).
        before: Option<u64>,
    },
    /// Mark a conversation read.
    MarkRead {
        /// The conversation.
        conversation_id: ConversationId,
        /// Up to here.
        up_to_seq: u64,
    },
    /// Find how far the others received and read the user's messages
    /// `own` (seqs, ascending); answer with
    /// [`ChatState::receipts_seeded`].
    SeedReceipts {
        /// The conversation.
        peer: Recipient,
        /// Its id.
        conversation_id: ConversationId,
        /// The user's messages in the loaded history.
        own: Vec<u64>,
    },
    /// Tell the other user of a direct conversation that the user types.
    Typing {
        /// Their username.
        to: String,
    },
    /// Fetch the conversation list again (a new group, a renamed one);
    /// answer with [`ChatState::merge_overview`].
    RefreshList,
}

/// The receipt mark of one of the user's own messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Stored by the server; not received by everyone yet.
    Sent,
    /// `✓`: every other participant's device has it.
    Delivered,
    /// `✓✓`: every other participant read it.
    Read,
}

impl Mark {
    /// `✓`, `✓✓`, or nothing.
    pub fn symbol(self) -> &'static str {
        match self {
            Mark::Sent => "",
            Mark::Delivered => "✓",
            Mark::Read => "✓✓",
        }
    }
}

/// How far the other participants received and read the user's messages.
/// Receipts are watermarks, per participant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Receipts {
    /// Every other participant has the messages up to here (found when the
    /// conversation was opened).
    delivered_all: u64,
    /// Every other participant read up to here.
    read_all: u64,
    /// Watermarks from receipt events: (delivered, read) by username.
    by_user: HashMap<String, (u64, u64)>,
}

impl Receipts {
    /// Takes a receipt event in.
    fn apply(&mut self, r: &Receipt) {
        let w = self.by_user.entry(r.by.clone()).or_default();
        match r.kind {
            ReceiptKind::Delivered => w.0 = w.0.max(r.up_to_seq),
            ReceiptKind::Read => w.1 = w.1.max(r.up_to_seq),
        }
    }

    /// The mark of message `seq` when `others` other people are in the
    /// conversation.
    pub fn mark(&self, seq: u64, others: usize) -> Mark {
        let read = self.by_user.values().filter(|w| w.1 >= seq).count();
        if seq <= self.read_all || (others > 0 && read >= others) {
            return Mark::Read;
        }
        let delivered = self
            .by_user
            .values()
            .filter(|w| w.0.max(w.1) >= seq)
            .count();
        if seq <= self.delivered_all || (others > 0 && delivered >= others) {
            return Mark::Delivered;
        }
        Mark::Sent
    }
}

/// The loaded part of a conversation's history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// Messages by seq.
    pub messages: BTreeMap<u64, Message>,
    /// Older messages exist on the server.
    pub has_more: bool,
    /// The first page arrived (until then, only messages from the feed).
    pub loaded: bool,
    /// A page is on its way.
    pub loading: bool,
}

/// One conversation of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    /// With whom: the other user, or the group.
    pub peer: Recipient,
    /// Its id; `None` for a direct conversation without messages yet.
    pub id: Option<ConversationId>,
    /// A group's name, size and the user's role.
    pub group: Option<GroupBrief>,
    /// Messages from others after the read position.
    pub unread: u64,
    /// The latest seq.
    pub last_seq: u64,
    /// The user's read position.
    pub read_seq: u64,
    /// The loaded history (`None` until opened).
    pub history: Option<History>,
    /// Receipts of the user's messages.
    pub receipts: Receipts,
}

impl Conversation {
    fn new(peer: Recipient) -> Conversation {
        Conversation {
            id: match peer {
                Recipient::Group(id) => Some(id),
                Recipient::User(_) => None,
            },
            peer,
            group: None,
            unread: 0,
            last_seq: 0,
            read_seq: 0,
            history: None,
            receipts: Receipts::default(),
        }
    }

    fn from_entry(e: &ConversationEntry) -> Conversation {
        let s = &e.summary;
        Conversation {
            peer: s.peer.clone(),
            id: Some(s.id),
            group: e.group.clone(),
            unread: s.unread,
            last_seq: s.last_seq,
            read_seq: s.read_seq,
            history: None,
            receipts: Receipts::default(),
        }
    }

    /// How many other people receive its messages.
    pub fn others(&self) -> usize {
        match (&self.peer, &self.group) {
            (Recipient::User(_), _) => 1,
            (Recipient::Group(_), Some(g)) => g.member_count.saturating_sub(1) as usize,
            (Recipient::Group(_), None) => 0,
        }
    }

    /// The message with this seq, if loaded.
    fn message_mut(&mut self, seq: u64) -> Option<&mut Message> {
        self.history.as_mut()?.messages.get_mut(&seq)
    }
}

/// A text sent but not back from the feed yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// Its client id.
    pub client_id: Uuid,
    /// Where it goes.
    pub to: Recipient,
    /// The text.
    pub text: String,
}

/// An upload or download in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// `uploading report.pdf`, `downloading photo.jpg`.
    pub label: String,
    /// Bytes done.
    pub done: u64,
    /// Bytes in all (0 while not known yet).
    pub total: u64,
}

/// A line for the status bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// Something that went well.
    Info(String),
    /// Something that did not.
    Error(String),
}

/// How many rows the history pane had at the last draw: the view reports
/// it so that scrolling stops at the top and loads older messages there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Viewport {
    /// Rows of the open conversation, wrapped.
    pub rows: usize,
    /// Rows visible at once.
    pub height: usize,
}

/// Everything the chat screen shows.
#[derive(Debug)]
pub struct ChatState {
    me: String,
    conversations: Vec<Conversation>,
    open: Option<Recipient>,
    input: Input,
    connection: Connection,
    note: Option<Note>,
    transfer: Option<Transfer>,
    pending: Vec<Pending>,
    /// Who types to the user, until when.
    typing: HashMap<String, Instant>,
    /// Friends' presence: online or not.
    online: HashMap<String, bool>,
    /// The last typing notice sent: to whom, when.
    typing_sent: Option<(String, Instant)>,
    /// Rows scrolled up from the bottom of the history.
    scroll: usize,
    viewport: Viewport,
}

impl ChatState {
    /// The state for user `me` with the server's conversation list,
    /// opening `open` (or the most recent conversation). Returns the
    /// actions that opening needs.
    pub fn new(
        me: &str,
        entries: &[ConversationEntry],
        open: Option<Recipient>,
    ) -> (ChatState, Vec<Action>) {
        let mut state = ChatState {
            me: me.to_string(),
            conversations: entries.iter().map(Conversation::from_entry).collect(),
            open: None,
            input: Input::default(),
            connection: Connection::Connecting,
            note: None,
            transfer: None,
            pending: Vec::new(),
            typing: HashMap::new(),
            online: HashMap::new(),
            typing_sent: None,
            scroll: 0,
            viewport: Viewport::default(),
        };
        let open = match open {
            Some(Recipient::User(name)) => Some(Recipient::User(name.to_lowercase())),
            Some(group) => Some(group),
            None => state.conversations.first().map(|c| c.peer.clone()),
        };
        let actions = match open {
            Some(peer) => {
                if state.index_of_peer(&peer).is_none() {
                    state
                        .conversations
                        .insert(0, Conversation::new(peer.clone()));
                }
                state.open(&peer)
            }
            None => {
                state.note = Some(Note::Info(
                    "no conversations yet: start one with `quichat chat USER`".into(),
                ));
                Vec::new()
            }
        };
        (state, actions)
    }

    /// The user's name.
    pub fn me(&self) -> &str {
        &self.me
    }

    /// The conversations, most recent first.
    pub fn conversations(&self) -> &[Conversation] {
        &self.conversations
    }

    /// The open conversation.
    pub fn open_conversation(&self) -> Option<&Conversation> {
        let peer = self.open.as_ref()?;
        self.conversations.iter().find(|c| &c.peer == peer)
    }

    /// The input line.
    pub fn input(&self) -> &Input {
        &self.input
    }

    /// The connection state.
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// The status note.
    pub fn note(&self) -> Option<&Note> {
        self.note.as_ref()
    }

    /// The running transfer.
    pub fn transfer(&self) -> Option<&Transfer> {
        self.transfer.as_ref()
    }

    /// Texts on their way to `peer`.
    pub fn pending_for<'a>(&'a self, peer: &'a Recipient) -> impl Iterator<Item = &'a Pending> {
        self.pending.iter().filter(move |p| &p.to == peer)
    }

    /// Rows scrolled up from the bottom.
    pub fn scroll(&self) -> usize {
        self.scroll
    }

    /// Whether `username` is online (`None`: not known, not a friend).
    pub fn online(&self, username: &str) -> Option<bool> {
        self.online.get(username).copied()
    }

    /// Whether the other user of the direct conversation `peer` is typing.
    pub fn typing_in(&self, peer: &Recipient, now: Instant) -> bool {
        match peer {
            Recipient::User(name) => self.typing.get(name).is_some_and(|until| *until > now),
            Recipient::Group(_) => false,
        }
    }

    /// The receipt mark of message `m` of `c`: only the user's own
    /// messages have one (not notices or recalled ones).
    pub fn mark(&self, c: &Conversation, m: &Message) -> Option<Mark> {
        if m.sender != self.me
            || matches!(
                m.body,
                MessageBody::System(_) | MessageBody::Recalled { .. }
            )
        {
            return None;
        }
        Some(c.receipts.mark(m.seq, c.others()))
    }

    /// Records the size of the history pane at the last draw.
    pub fn set_viewport(&mut self, viewport: Viewport) {
        self.viewport = viewport;
        self.scroll = self.scroll.min(self.max_scroll());
    }

    /// Sets the connection state.
    pub fn set_connection(&mut self, connection: Connection) {
        self.connection = connection;
    }

    /// Shows a note in the status bar.
    pub fn set_note(&mut self, note: Note) {
        self.note = Some(note);
    }

    /// Takes friends' presence in (at start).
    pub fn set_presence(&mut self, online: impl IntoIterator<Item = (String, bool)>) {
        self.online.extend(online);
    }

    fn index_of_peer(&self, peer: &Recipient) -> Option<usize> {
        self.conversations.iter().position(|c| &c.peer == peer)
    }

    fn index_of_id(&self, id: ConversationId) -> Option<usize> {
        self.conversations.iter().position(|c| c.id == Some(id))
    }

    fn by_id(&mut self, id: ConversationId) -> Option<&mut Conversation> {
        self.conversations.iter_mut().find(|c| c.id == Some(id))
    }

    fn by_peer(&mut self, peer: &Recipient) -> Option<&mut Conversation> {
        self.conversations.iter_mut().find(|c| &c.peer == peer)
    }

    fn is_open(&self, peer: &Recipient) -> bool {
        self.open.as_ref() == Some(peer)
    }

    /// Opens a conversation: loads its history the first time and marks
    /// it read.
    pub fn open(&mut self, peer: &Recipient) -> Vec<Action> {
        self.open = Some(peer.clone());
        self.scroll = 0;
        let mut actions = Vec::new();
        if let Some(c) = self.by_peer(peer) {
            if c.history.is_none() {
                c.history = Some(History {
                    loading: true,
                    ..History::default()
                });
                actions.push(Action::LoadHistory {
                    peer: peer.clone(),
                    before: None,
                });
            }
        }
        actions.extend(self.mark_open_read());
        actions
    }

    /// Marks the open conversation read if it has anything unread.
    fn mark_open_read(&mut self) -> Option<Action> {
        let peer = self.open.clone()?;
        let c = self.by_peer(&peer)?;
        let id = c.id?;
        if c.last_seq <= c.read_seq && c.unread == 0 {
            return None;
        }
        c.read_seq = c.read_seq.max(c.last_seq);
        c.unread = 0;
        Some(Action::MarkRead {
            conversation_id: id,
            up_to_seq: c.read_seq,
        })
    }

    /// Opens the conversation `delta` places down the list (wrapping).
    fn step(&mut self, delta: isize) -> Vec<Action> {
        let n = self.conversations.len();
        if n == 0 {
            return Vec::new();
        }
        let here = self
            .open
            .as_ref()
            .and_then(|p| self.index_of_peer(p))
            // None open: Down opens the first, Up the last.
            .unwrap_or(if delta > 0 { n - 1 } else { 0 });
        let next = (here as isize + delta).rem_euclid(n as isize) as usize;
        let peer = self.conversations[next].peer.clone();
        self.open(&peer)
    }

    fn max_scroll(&self) -> usize {
        self.viewport.rows.saturating_sub(self.viewport.height)
    }

    fn page(&self) -> usize {
        self.viewport.height.saturating_sub(2).max(1)
    }

    /// Scrolls up a page; at the top, asks for older messages.
    fn page_up(&mut self) -> Vec<Action> {
        self.scroll = (self.scroll + self.page()).min(self.max_scroll());
        if self.scroll < self.max_scroll() {
            return Vec::new();
        }
        let Some(peer) = self.open.clone() else {
            return Vec::new();
        };
        let Some(h) = self.by_peer(&peer).and_then(|c| c.history.as_mut()) else {
            return Vec::new();
        };
        if !h.loaded || h.loading || !h.has_more {
            return Vec::new();
        }
        let Some(oldest) = h.messages.keys().next().copied() else {
            return Vec::new();
        };
        h.loading = true;
        vec![Action::LoadHistory {
            peer,
            before: Some(oldest),
        }]
    }

    /// Handles a key at time `now`.
    pub fn key(&mut self, key: Key, now: Instant) -> Vec<Action> {
        let before = self.input.text();
        match key {
            Key::Quit => return vec![Action::Quit],
            Key::Up | Key::BackTab => return self.step(-1),
            Key::Down | Key::Tab => return self.step(1),
            Key::PageUp => return self.page_up(),
            Key::PageDown => {
                self.scroll = self.scroll.saturating_sub(self.page());
                return Vec::new();
            }
            Key::Enter => return self.submit(),
            Key::Esc => {
                if self.note.take().is_none() {
                    self.input.clear();
                }
                return Vec::new();
            }
            Key::Char(c) => self.input.insert(c),
            Key::Backspace => self.input.backspace(),
            Key::Delete => self.input.delete(),
            Key::Left => self.input.left(),
            Key::Right => self.input.right(),
            Key::Home => self.input.home(),
            Key::End => self.input.end(),
            Key::ClearLine => self.input.clear(),
            Key::DeleteWord => self.input.delete_word(),
        }
        if self.input.text() == before {
            return Vec::new();
        }
        self.typed(now).into_iter().collect()
    }

    /// Pasted text goes into the input line.
    pub fn paste(&mut self, text: &str, now: Instant) -> Vec<Action> {
        self.input.insert_str(text);
        self.typed(now).into_iter().collect()
    }

    /// After the line changed: a typing notice, at most every
    /// [`TYPING_EVERY`], while a text (not a command) is typed in a direct
    /// conversation.
    fn typed(&mut self, now: Instant) -> Option<Action> {
        let text = self.input.text();
        if text.is_empty() || (text.starts_with('/') && !text.starts_with("//")) {
            return None;
        }
        let Some(Recipient::User(to)) = self.open.clone() else {
            return None;
        };
        if let Some((last_to, at)) = &self.typing_sent {
            if *last_to == to && now.saturating_duration_since(*at) < TYPING_EVERY {
                return None;
            }
        }
        self.typing_sent = Some((to.clone(), now));
        Some(Action::Typing { to })
    }

    /// Enter: sends the line, or runs its command.
    fn submit(&mut self) -> Vec<Action> {
        let command = match input::parse(&self.input.text()) {
            Ok(None) => return Vec::new(),
            Ok(Some(command)) => command,
            Err(e) => {
                // The line stays, to be fixed.
                self.note = Some(Note::Error(e));
                return Vec::new();
            }
        };
        self.input.clear();
        self.typing_sent = None;
        match command {
            Command::Quit => return vec![Action::Quit],
            Command::Help => {
                self.note = Some(Note::Info(input::HELP.to_string()));
                return Vec::new();
            }
            _ => {}
        }
        let Some(to) = self.open.clone() else {
            self.note = Some(Note::Error("no conversation is open".into()));
            return Vec::new();
        };
        match command {
            Command::Text(text) => {
                let client_id = Uuid::now_v7();
                self.pending.push(Pending {
                    client_id,
                    to: to.clone(),
                    text: text.clone(),
                });
                self.scroll = 0;
                vec![Action::SendText {
                    to,
                    client_id,
                    text,
                }]
            }
            Command::File(_) | Command::Voice(_) | Command::Download(_)
                if self.transfer.is_some() =>
            {
                self.busy()
            }
            Command::File(path) => self.start_upload(to, path, false),
            Command::Voice(path) => self.start_upload(to, path, true),
            Command::Download(seq) => self.start_download(&to, seq),
            Command::Quit | Command::Help => Vec::new(),
        }
    }

    fn busy(&mut self) -> Vec<Action> {
        self.note = Some(Note::Error(
            "a transfer is running; wait for it to finish".into(),
        ));
        Vec::new()
    }

    fn start_upload(&mut self, to: Recipient, path: PathBuf, voice: bool) -> Vec<Action> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        self.transfer = Some(Transfer {
            label: format!("uploading {}", crate::output::preview(&name, 40)),
            done: 0,
            total: 0,
        });
        self.note = None;
        vec![Action::SendFile { to, path, voice }]
    }

    fn start_download(&mut self, to: &Recipient, seq: u64) -> Vec<Action> {
        let found = self
            .conversations
            .iter()
            .find(|c| &c.peer == to)
            .and_then(|c| c.history.as_ref())
            .and_then(|h| h.messages.get(&seq))
            .map(|m| &m.body);
        let media = match found {
            Some(MessageBody::Media { media, .. }) => media.clone(),
            Some(_) => {
                self.note = Some(Note::Error(format!("#{seq} has no file to download")));
                return Vec::new();
            }
            None => {
                self.note = Some(Note::Error(format!(
                    "no message #{seq} here (scroll up with PgUp to load older ones)"
                )));
                return Vec::new();
            }
        };
        self.transfer = Some(Transfer {
            label: format!(
                "downloading {}",
                crate::output::preview(&media.filename, 40)
            ),
            done: 0,
            total: media.size,
        });
        self.note = None;
        vec![Action::Download { media }]
    }

    /// A transfer's progress.
    pub fn transfer_progress(&mut self, done: u64, total: u64) {
        if let Some(t) = self.transfer.as_mut() {
            t.done = done;
            t.total = total;
        }
    }

    /// A transfer finished: what happened, for the status bar.
    pub fn transfer_done(&mut self, result: Result<String, String>) {
        self.transfer = None;
        self.note = Some(match result {
            Ok(line) => Note::Info(line),
            Err(e) => Note::Error(e),
        });
    }

    /// A text could not be sent.
    pub fn send_failed(&mut self, client_id: Uuid, error: String) {
        let text = self
            .pending
            .iter()
            .position(|p| p.client_id == client_id)
            .map(|i| self.pending.remove(i).text);
        let what = text
            .map(|t| format!("“{}”", crate::output::preview(&t, 30)))
            .unwrap_or_else(|| "the message".into());
        self.note = Some(Note::Error(format!("{what} was not sent: {error}")));
    }

    /// A page of history arrived (`before`: the seq it is older than).
    pub fn history_loaded(&mut self, peer: &Recipient, page: HistoryPage) -> Vec<Action> {
        let me = self.me.clone();
        let Some(c) = self.by_peer(peer) else {
            return Vec::new();
        };
        if c.id.is_none() {
            c.id = page.conversation_id;
        }
        let h = c.history.get_or_insert_with(History::default);
        h.loading = false;
        h.loaded = true;
        h.has_more = page.has_more;
        for m in page.messages {
            // What came from the feed meanwhile is as new or newer.
            h.messages.entry(m.seq).or_insert(m);
        }
        if let Some(last) = h.messages.keys().next_back() {
            c.last_seq = c.last_seq.max(*last);
        }
        let own: Vec<u64> = h
            .messages
            .values()
            .filter(|m| m.sender == me)
            .filter(|m| {
                !matches!(
                    m.body,
                    MessageBody::System(_) | MessageBody::Recalled { .. }
                )
            })
            .map(|m| m.seq)
            .collect();
        let mut actions = Vec::new();
        if let (Some(id), false) = (c.id, own.is_empty()) {
            actions.push(Action::SeedReceipts {
                peer: peer.clone(),
                conversation_id: id,
                own,
            });
        }
        if self.is_open(peer) {
            actions.extend(self.mark_open_read());
        }
        actions
    }

    /// A page of history could not be loaded.
    pub fn history_failed(&mut self, peer: &Recipient, error: String) {
        if let Some(c) = self.by_peer(peer) {
            if let Some(h) = c.history.as_mut() {
                h.loading = false;
                if !h.loaded {
                    // Try again when it is opened again.
                    c.history = None;
                }
            }
        }
        self.note = Some(Note::Error(format!(
            "cannot load the history of {}: {error}",
            crate::target::label(peer)
        )));
    }

    /// Everyone else has the user's messages of `peer` up to `delivered`
    /// and read them up to `read`.
    pub fn receipts_seeded(&mut self, peer: &Recipient, delivered: u64, read: u64) {
        if let Some(c) = self.by_peer(peer) {
            c.receipts.delivered_all = c.receipts.delivered_all.max(delivered);
            c.receipts.read_all = c.receipts.read_all.max(read);
        }
    }

    /// The conversation list again: new conversations are added, groups'
    /// names and sizes updated.
    pub fn merge_overview(&mut self, entries: &[ConversationEntry]) {
        for e in entries {
            let id = e.summary.id;
            let at = self
                .index_of_id(id)
                .or_else(|| self.index_of_peer(&e.summary.peer));
            match at {
                Some(i) => {
                    let c = &mut self.conversations[i];
                    c.id = Some(id);
                    c.group = e.group.clone();
                    if e.summary.last_seq > c.last_seq {
                        c.last_seq = e.summary.last_seq;
                        c.unread = e.summary.unread;
                    }
                }
                None => self.conversations.push(Conversation::from_entry(e)),
            }
        }
    }

    /// An event from the feed.
    pub fn apply_event(&mut self, event: &Event) -> Vec<Action> {
        match &event.body {
            EventBody::Message(m) => return self.apply_message(m),
            EventBody::Receipt(r) => {
                if let Some(c) = self.by_id(r.conversation_id) {
                    c.receipts.apply(r);
                }
            }
            EventBody::ReadPosition(p) => {
                if let Some(c) = self.by_id(p.conversation_id) {
                    c.read_seq = c.read_seq.max(p.up_to_seq);
                    if c.read_seq >= c.last_seq {
                        c.unread = 0;
                    }
                }
            }
            EventBody::MessageUpdated(u) => {
                if let Some(m) = self
                    .by_id(u.conversation_id)
                    .and_then(|c| c.message_mut(u.seq))
                {
                    m.transcript = Some(u.transcript.clone());
                }
            }
            EventBody::MessageEdited(e) => {
                if let Some(m) = self
                    .by_id(e.conversation_id)
                    .and_then(|c| c.message_mut(e.seq))
                {
                    match &mut m.body {
                        MessageBody::Reply(r) => {
                            r.text = e.text.clone();
                            r.edited_at_ms = Some(e.edited_at_ms);
                        }
                        MessageBody::Text(_) | MessageBody::Edited { .. } => {
                            m.body = MessageBody::Edited {
                                text: e.text.clone(),
                                edited_at_ms: e.edited_at_ms,
                            };
                        }
                        _ => {}
                    }
                }
            }
            EventBody::MessageRecalled(r) => {
                if let Some(m) = self
                    .by_id(r.conversation_id)
                    .and_then(|c| c.message_mut(r.seq))
                {
                    m.body = MessageBody::Recalled {
                        by: r.by.clone(),
                        at_ms: r.at_ms,
                    };
                    m.transcript = None;
                }
            }
            EventBody::MessageHidden(h) => {
                if let Some(history) = self
                    .by_id(h.conversation_id)
                    .and_then(|c| c.history.as_mut())
                {
                    history.messages.remove(&h.seq);
                }
            }
            EventBody::Broadcast(b) => {
                let from = match &b.from {
                    Some(admin) => format!("announcement from {admin}"),
                    None => "announcement from the server".to_string(),
                };
                self.note = Some(Note::Info(format!(
                    "{from}: {}",
                    crate::output::preview(&b.text, 200)
                )));
            }
            EventBody::Reaction(_)
            | EventBody::ProfileUpdated(_)
            | EventBody::FriendRequest(_)
            | EventBody::Contacts(_)
            | EventBody::Mention(_) => {}
        }
        Vec::new()
    }

    /// A message from the feed (the user's own too).
    fn apply_message(&mut self, m: &Message) -> Vec<Action> {
        let peer = peer_of(m, &self.me);
        let mine = m.sender == self.me;
        let mut actions = Vec::new();
        let index = match self
            .index_of_id(m.conversation_id)
            .or_else(|| self.index_of_peer(&peer))
        {
            Some(i) => i,
            None => {
                self.conversations.push(Conversation::new(peer.clone()));
                if matches!(peer, Recipient::Group(_)) {
                    // Its name and size.
                    actions.push(Action::RefreshList);
                }
                self.conversations.len() - 1
            }
        };
        let c = &mut self.conversations[index];
        c.id = Some(m.conversation_id);
        let new = m.seq > c.last_seq;
        if new {
            c.last_seq = m.seq;
            if !mine && m.seq > c.read_seq {
                c.unread += 1;
            }
            if matches!(m.body, MessageBody::System(_)) {
                // A rename, members coming and going.
                actions.push(Action::RefreshList);
            }
        }
        if let Some(h) = c.history.as_mut() {
            h.messages.insert(m.seq, m.clone());
        }
        let peer = c.peer.clone();
        if mine {
            self.pending.retain(|p| p.client_id != m.client_id);
        } else {
            // They sent what they were typing.
            self.typing.remove(&m.sender);
        }
        if new {
            // The most recent conversation goes first.
            let c = self.conversations.remove(index);
            self.conversations.insert(0, c);
            if self.is_open(&peer) {
                actions.extend(self.mark_open_read());
            }
        }
        actions
    }

    /// An ephemeral notice (typing, presence) at time `now`.
    pub fn apply_notice(&mut self, notice: &Notice, now: Instant) {
        match notice {
            Notice::Typing(t) => {
                let until = now + Duration::from_millis(u64::from(t.expires_in_ms));
                self.typing.insert(t.from.clone(), until);
            }
            Notice::Presence(p) => {
                self.online
                    .insert(p.username.clone(), matches!(p.state, PresenceState::Online));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use quichat_proto::media::MediaKind;
    use quichat_proto::social::{Presence, TypingNotice};
    use quichat_proto::types::{
        ConversationSummary, MessageEdit, MessageRecall, MessageRef, MessageUpdate, ReadPosition,
        Transcript, TranscriptStatus,
    };

    fn bob() -> Recipient {
        Recipient::User("bob".into())
    }

    fn message(seq: u64, from: &str, to: Recipient, body: MessageBody) -> Message {
        Message {
            id: seq as i64 * 10,
            conversation_id: match to {
                Recipient::Group(id) => id,
                Recipient::User(_) => 1,
            },
            seq,
            sender: from.into(),
            client_id: Uuid::now_v7(),
            to,
            sent_at_ms: 1_700_000_000_000 + seq as i64,
            body,
            transcript: None,
        }
    }

    fn text(seq: u64, from: &str, text: &str) -> Message {
        let to = if from == "alice" {
            bob()
        } else {
            Recipient::User("alice".into())
        };
        message(seq, from, to, MessageBody::Text(text.into()))
    }

    fn event(seq: u64, body: EventBody) -> Event {
        Event { seq, body }
    }

    fn entry(
        peer: Recipient,
        id: ConversationId,
        last: u64,
        read: u64,
        unread: u64,
    ) -> ConversationEntry {
        ConversationEntry {
            summary: ConversationSummary {
                id,
                peer: peer.clone(),
                last_seq: last,
                read_seq: read,
                unread,
                last_message: None,
            },
            group: match peer {
                Recipient::Group(_) => Some(GroupBrief {
                    name: "fam".into(),
                    member_count: 3,
                    my_role: quichat_proto::group::GroupRole::Member,
                    dissolved: false,
                }),
                Recipient::User(_) => None,
            },
        }
    }

    fn page(messages: Vec<Message>) -> HistoryPage {
        HistoryPage {
            conversation_id: messages.first().map(|m| m.conversation_id),
            messages: messages.into_iter().rev().collect(),
            has_more: false,
        }
    }

    /// Alice with a conversation with bob (open, history loaded: `msgs`)
    /// and one with carol.
    fn alice_with(msgs: Vec<Message>) -> ChatState {
        let last = msgs.iter().map(|m| m.seq).max().unwrap_or(0);
        let entries = [
            entry(bob(), 1, last, last, 0),
            entry(Recipient::User("carol".into()), 2, 4, 4, 0),
        ];
        let (mut state, actions) = ChatState::new("alice", &entries, None);
        assert_eq!(
            actions,
            [Action::LoadHistory {
                peer: bob(),
                before: None
            }]
        );
        state.history_loaded(&bob(), page(msgs));
        state
    }

    fn now() -> Instant {
        Instant::now()
    }

    fn type_line(state: &mut ChatState, line: &str) -> Vec<Action> {
        let t = now();
        let mut actions = Vec::new();
        for c in line.chars() {
            actions.extend(state.key(Key::Char(c), t));
        }
        actions
    }

    fn seqs(state: &ChatState, peer: &Recipient) -> Vec<u64> {
        let c = state
            .conversations()
            .iter()
            .find(|c| &c.peer == peer)
            .unwrap();
        c.history
            .as_ref()
            .unwrap()
            .messages
            .keys()
            .copied()
            .collect()
    }

    #[test]
    fn a_message_event_lands_in_its_conversation() {
        let mut state = alice_with(vec![text(1, "alice", "hi")]);
        // Bob answers in the open conversation: shown, and marked read.
        let actions = state.apply_event(&event(5, EventBody::Message(text(2, "bob", "hello"))));
        assert_eq!(
            actions,
            [Action::MarkRead {
                conversation_id: 1,
                up_to_seq: 2
            }]
        );
        assert_eq!(seqs(&state, &bob()), [1, 2]);
        assert_eq!(state.open_conversation().unwrap().unread, 0);
        // The same event again (a replay after a reconnect) changes nothing.
        assert!(state
            .apply_event(&event(5, EventBody::Message(text(2, "bob", "hello"))))
            .is_empty());
        assert_eq!(seqs(&state, &bob()), [1, 2]);

        // Carol writes: her conversation gets an unread count and moves
        // to the top; the open one stays open.
        let mut m = text(5, "carol", "psst");
        m.conversation_id = 2;
        assert!(state
            .apply_event(&event(6, EventBody::Message(m)))
            .is_empty());
        let carol = &state.conversations()[0];
        assert_eq!(carol.peer, Recipient::User("carol".into()));
        assert_eq!(carol.unread, 1);
        assert_eq!(carol.last_seq, 5);
        assert_eq!(state.open_conversation().unwrap().peer, bob());
    }

    #[test]
    fn unread_counts_clear_when_a_conversation_is_opened() {
        let entries = [
            entry(bob(), 1, 3, 3, 0),
            entry(Recipient::User("carol".into()), 2, 7, 4, 3),
        ];
        let (mut state, _) = ChatState::new("alice", &entries, None);
        assert_eq!(state.conversations()[1].unread, 3);
        let actions = state.key(Key::Down, now());
        assert_eq!(
            actions,
            [
                Action::LoadHistory {
                    peer: Recipient::User("carol".into()),
                    before: None
                },
                Action::MarkRead {
                    conversation_id: 2,
                    up_to_seq: 7
                }
            ]
        );
        assert_eq!(state.conversations()[1].unread, 0);
        // Down again wraps to bob; his history is on its way already.
        assert_eq!(state.key(Key::Tab, now()), []);
        assert_eq!(state.open_conversation().unwrap().peer, bob());
        assert_eq!(state.key(Key::Up, now()).len(), 0);
        assert_eq!(
            state.open_conversation().unwrap().peer,
            Recipient::User("carol".into())
        );

        // A read position from another device clears a count too.
        let mut m = text(4, "bob", "again");
        m.conversation_id = 1;
        state.apply_event(&event(9, EventBody::Message(m)));
        let bob_conv = state
            .conversations()
            .iter()
            .find(|c| c.peer == bob())
            .unwrap();
        assert_eq!(bob_conv.unread, 1);
        state.apply_event(&event(
            10,
            EventBody::ReadPosition(ReadPosition {
                conversation_id: 1,
                up_to_seq: 4,
            }),
        ));
        let bob_conv = state
            .conversations()
            .iter()
            .find(|c| c.peer == bob())
            .unwrap();
        assert_eq!(bob_conv.unread, 0);
    }

    #[test]
    fn receipts_turn_one_check_into_two() {
        let mut state = alice_with(vec![
            text(1, "alice", "one"),
            text(2, "bob", "two"),
            text(3, "alice", "three"),
        ]);
        let mark = |state: &ChatState, seq: u64| {
            let c = state.open_conversation().unwrap();
            let m = &c.history.as_ref().unwrap().messages[&seq];
            state.mark(c, m)
        };
        assert_eq!(mark(&state, 1), Some(Mark::Sent));
        assert_eq!(mark(&state, 2), None, "bob's own message has no mark");
        let receipt = |kind, up_to_seq| {
            event(
                20,
                EventBody::Receipt(Receipt {
                    conversation_id: 1,
                    by: "bob".into(),
                    kind,
                    up_to_seq,
                    at_ms: 0,
                }),
            )
        };
        state.apply_event(&receipt(ReceiptKind::Delivered, 3));
        assert_eq!(mark(&state, 1), Some(Mark::Delivered));
        assert_eq!(mark(&state, 3), Some(Mark::Delivered));
        state.apply_event(&receipt(ReceiptKind::Read, 1));
        assert_eq!(mark(&state, 1), Some(Mark::Read));
        assert_eq!(mark(&state, 3), Some(Mark::Delivered));
        // A late, lower watermark changes nothing.
        state.apply_event(&receipt(ReceiptKind::Delivered, 1));
        assert_eq!(mark(&state, 3), Some(Mark::Delivered));
        state.apply_event(&receipt(ReceiptKind::Read, 3));
        assert_eq!(mark(&state, 3), Some(Mark::Read));
        assert_eq!(Mark::Read.symbol(), "✓✓");
        assert_eq!(Mark::Delivered.symbol(), "✓");
    }

    #[test]
    fn loaded_history_asks_for_the_receipts_so_far() {
        let entries = [entry(bob(), 1, 3, 3, 0)];
        let (mut state, _) = ChatState::new("alice", &entries, Some(bob()));
        let actions = state.history_loaded(
            &bob(),
            page(vec![
                text(1, "alice", "one"),
                text(2, "bob", "two"),
                text(3, "alice", "three"),
            ]),
        );
        assert_eq!(
            actions,
            [Action::SeedReceipts {
                peer: bob(),
                conversation_id: 1,
                own: vec![1, 3]
            }]
        );
        state.receipts_seeded(&bob(), 3, 1);
        let c = state.open_conversation().unwrap();
        let h = c.history.as_ref().unwrap();
        assert_eq!(state.mark(c, &h.messages[&1]), Some(Mark::Read));
        assert_eq!(state.mark(c, &h.messages[&3]), Some(Mark::Delivered));
    }

    #[test]
    fn group_receipts_wait_for_every_member() {
        let fam = Recipient::Group(12);
        let entries = [entry(fam.clone(), 12, 1, 1, 0)];
        let (mut state, _) = ChatState::new("alice", &entries, None);
        state.history_loaded(
            &fam,
            page(vec![message(
                1,
                "alice",
                fam.clone(),
                MessageBody::Text("hi all".into()),
            )]),
        );
        let read_by = |state: &mut ChatState, by: &str| {
            state.apply_event(&event(
                3,
                EventBody::Receipt(Receipt {
                    conversation_id: 12,
                    by: by.into(),
                    kind: ReceiptKind::Read,
                    up_to_seq: 1,
                    at_ms: 0,
                }),
            ));
        };
        let mark = |state: &ChatState| {
            let c = state.open_conversation().unwrap();
            state.mark(c, &c.history.as_ref().unwrap().messages[&1])
        };
        read_by(&mut state, "bob");
        assert_eq!(mark(&state), Some(Mark::Sent), "carol has not read it");
        read_by(&mut state, "carol");
        assert_eq!(mark(&state), Some(Mark::Read));
    }

    #[test]
    fn transcripts_edits_recalls_and_deletions_update_entries() {
        let note = MediaInfo {
            id: Uuid::nil(),
            kind: MediaKind::Voice,
            size: 33_280,
            sha256: [1; 32],
            mime: "audio/ogg".into(),
            filename: "note.ogg".into(),
            width: None,
            height: None,
            duration_ms: Some(4_200),
            has_thumbnail: false,
        };
        let mut voice = message(
            2,
            "bob",
            Recipient::User("alice".into()),
            MessageBody::Media {
                media: Box::new(note),
                caption: String::new(),
            },
        );
        voice.transcript = Some(Transcript::pending());
        let mut state = alice_with(vec![text(1, "alice", "hi"), voice, text(3, "bob", "typo")]);
        let get = |state: &ChatState, seq: u64| {
            state
                .open_conversation()
                .unwrap()
                .history
                .as_ref()
                .unwrap()
                .messages[&seq]
                .clone()
        };

        let done = Transcript {
            status: TranscriptStatus::Done,
            text: "call me back".into(),
            language: Some("en".into()),
            segments: Vec::new(),
        };
        state.apply_event(&event(
            7,
            EventBody::MessageUpdated(MessageUpdate {
                conversation_id: 1,
                message_id: 20,
                seq: 2,
                transcript: done.clone(),
            }),
        ));
        assert_eq!(get(&state, 2).transcript, Some(done));

        state.apply_event(&event(
            8,
            EventBody::MessageEdited(MessageEdit {
                conversation_id: 1,
                seq: 3,
                text: "fixed".into(),
                edited_at_ms: 5,
            }),
        ));
        assert_eq!(
            get(&state, 3).body,
            MessageBody::Edited {
                text: "fixed".into(),
                edited_at_ms: 5
            }
        );

        state.apply_event(&event(
            9,
            EventBody::MessageRecalled(MessageRecall {
                conversation_id: 1,
                seq: 2,
                by: "bob".into(),
                at_ms: 6,
            }),
        ));
        let recalled = get(&state, 2);
        assert_eq!(
            recalled.body,
            MessageBody::Recalled {
                by: "bob".into(),
                at_ms: 6
            }
        );
        assert_eq!(recalled.transcript, None);

        state.apply_event(&event(
            10,
            EventBody::MessageHidden(MessageRef {
                conversation_id: 1,
                seq: 1,
            }),
        ));
        assert_eq!(seqs(&state, &bob()), [2, 3]);
    }

    #[test]
    fn enter_sends_the_line_to_the_open_conversation() {
        let mut state = alice_with(vec![text(1, "bob", "hi")]);
        let t = now();
        // The first key sends a typing notice; the next ones within 3 s
        // do not.
        assert_eq!(
            state.key(Key::Char('y'), t),
            [Action::Typing { to: "bob".into() }]
        );
        assert_eq!(state.key(Key::Char('o'), t + Duration::from_secs(1)), []);
        assert_eq!(
            state.key(Key::Char('!'), t + TYPING_EVERY),
            [Action::Typing { to: "bob".into() }]
        );
        // Moving the cursor is not typing.
        assert_eq!(state.key(Key::Left, t + 2 * TYPING_EVERY), []);
        let actions = state.key(Key::Enter, t + 2 * TYPING_EVERY);
        let [Action::SendText {
            to,
            client_id,
            text,
        }] = actions.as_slice()
        else {
            panic!("{actions:?}");
        };
        assert_eq!(to, &bob());
        assert_eq!(text, "yo!");
        assert!(state.input().is_empty());
        assert_eq!(state.pending_for(&bob()).count(), 1);

        // It comes back through the feed: no longer pending.
        let mut own = message(2, "alice", bob(), MessageBody::Text("yo!".into()));
        own.client_id = *client_id;
        state.apply_event(&event(3, EventBody::Message(own)));
        assert_eq!(state.pending_for(&bob()).count(), 0);
        assert_eq!(seqs(&state, &bob()), [1, 2]);

        // A failed send is reported and dropped.
        type_line(&mut state, "lost");
        let actions = state.key(Key::Enter, now());
        let [Action::SendText { client_id, .. }] = actions.as_slice() else {
            panic!("{actions:?}");
        };
        state.send_failed(*client_id, "cannot_deliver: blocked".into());
        assert_eq!(state.pending_for(&bob()).count(), 0);
        assert!(
            matches!(state.note(), Some(Note::Error(e)) if e.contains("“lost” was not sent")),
            "{:?}",
            state.note()
        );
    }

    #[test]
    fn commands_become_actions() {
        let file = MediaInfo {
            id: Uuid::nil(),
            kind: MediaKind::File,
            size: 2048,
            sha256: [2; 32],
            mime: "application/pdf".into(),
            filename: "report.pdf".into(),
            width: None,
            height: None,
            duration_ms: None,
            has_thumbnail: false,
        };
        let media = message(
            2,
            "bob",
            Recipient::User("alice".into()),
            MessageBody::Media {
                media: Box::new(file.clone()),
                caption: String::new(),
            },
        );
        let mut state = alice_with(vec![text(1, "bob", "hi"), media]);
        // A command is not typing.
        assert_eq!(type_line(&mut state, "/download 2"), []);
        assert_eq!(
            state.key(Key::Enter, now()),
            [Action::Download {
                media: Box::new(file)
            }]
        );
        let t = state.transfer().unwrap();
        assert_eq!(t.label, "downloading report.pdf");
        state.transfer_progress(1024, 2048);
        assert_eq!(state.transfer().unwrap().done, 1024);
        // One transfer at a time.
        type_line(&mut state, "/file a.txt");
        assert_eq!(state.key(Key::Enter, now()), []);
        assert!(matches!(state.note(), Some(Note::Error(_))));
        state.transfer_done(Ok("downloaded report.pdf (2.0 KiB) to ./report.pdf".into()));
        assert!(state.transfer().is_none());

        type_line(&mut state, "/voice ~/note.ogg");
        assert_eq!(
            state.key(Key::Enter, now()),
            [Action::SendFile {
                to: bob(),
                path: "~/note.ogg".into(),
                voice: true
            }]
        );
        assert_eq!(state.transfer().unwrap().label, "uploading note.ogg");
        state.transfer_done(Err("not usable audio".into()));

        // A media-less message, an unknown seq, a typo.
        for (line, error) in [
            ("/download 1", "#1 has no file"),
            ("/download 9", "no message #9"),
            ("/bogus", "unknown command"),
        ] {
            type_line(&mut state, line);
            assert_eq!(state.key(Key::Enter, now()), []);
            assert!(
                matches!(state.note(), Some(Note::Error(e)) if e.contains(error)),
                "{line}: {:?}",
                state.note()
            );
            state.key(Key::ClearLine, now());
        }
        // Esc clears the note first, then the line.
        type_line(&mut state, "draft");
        state.key(Key::Esc, now());
        assert!(state.note().is_none());
        assert_eq!(state.input().text(), "draft");
        state.key(Key::Esc, now());
        assert!(state.input().is_empty());

        type_line(&mut state, "/quit");
        assert_eq!(state.key(Key::Enter, now()), [Action::Quit]);
        assert_eq!(state.key(Key::Quit, now()), [Action::Quit]);
    }

    #[test]
    fn a_new_peer_opens_empty_and_learns_its_id() {
        let (mut state, actions) =
            ChatState::new("alice", &[], Some(Recipient::User("Dave".into())));
        let dave = Recipient::User("dave".into());
        assert_eq!(
            actions,
            [Action::LoadHistory {
                peer: dave.clone(),
                before: None
            }]
        );
        state.history_loaded(
            &dave,
            HistoryPage {
                conversation_id: None,
                messages: Vec::new(),
                has_more: false,
            },
        );
        assert_eq!(state.open_conversation().unwrap().id, None);
        let mut m = message(1, "alice", dave.clone(), MessageBody::Text("hey".into()));
        m.conversation_id = 44;
        state.apply_event(&event(1, EventBody::Message(m)));
        assert_eq!(state.open_conversation().unwrap().id, Some(44));
        assert_eq!(state.conversations().len(), 1);

        // A group we were just added to: listed, and its name fetched.
        let added = message(
            1,
            "carol",
            Recipient::Group(50),
            MessageBody::Text("welcome".into()),
        );
        let actions = state.apply_event(&event(2, EventBody::Message(added)));
        assert!(actions.contains(&Action::RefreshList), "{actions:?}");
        assert_eq!(state.conversations()[0].peer, Recipient::Group(50));
        assert_eq!(state.conversations()[0].unread, 1);
        state.merge_overview(&[entry(Recipient::Group(50), 50, 1, 0, 1)]);
        assert_eq!(state.conversations()[0].group.as_ref().unwrap().name, "fam");
    }

    #[test]
    fn broadcasts_show_in_the_status_line() {
        let mut state = alice_with(vec![]);
        state.apply_event(&event(
            3,
            EventBody::Broadcast(quichat_proto::types::Broadcast {
                id: 1,
                from: None,
                text: "maintenance at 22:00".into(),
                sent_at_ms: 0,
            }),
        ));
        assert_eq!(
            state.note(),
            Some(&Note::Info(
                "announcement from the server: maintenance at 22:00".into()
            ))
        );
    }

    #[test]
    fn typing_and_presence_notices() {
        let mut state = alice_with(vec![text(1, "bob", "hi")]);
        let t = now();
        state.apply_notice(
            &Notice::Typing(TypingNotice {
                from: "bob".into(),
                conversation_id: Some(1),
                expires_in_ms: 6000,
            }),
            t,
        );
        assert!(state.typing_in(&bob(), t + Duration::from_secs(5)));
        assert!(!state.typing_in(&bob(), t + Duration::from_secs(7)));
        assert!(!state.typing_in(&Recipient::User("carol".into()), t));
        // A message from bob ends his typing.
        state.apply_event(&event(4, EventBody::Message(text(2, "bob", "done"))));
        assert!(!state.typing_in(&bob(), t));

        state.apply_notice(
            &Notice::Presence(Presence {
                username: "bob".into(),
                state: PresenceState::Online,
            }),
            t,
        );
        assert_eq!(state.online("bob"), Some(true));
        assert_eq!(state.online("carol"), None);
    }

    #[test]
    fn scrolling_stops_at_the_top_and_loads_older_messages() {
        let entries = [entry(bob(), 1, 200, 200, 0)];
        let (mut state, _) = ChatState::new("alice", &entries, None);
        let mut first = page((101..=200).map(|s| text(s, "bob", "x")).collect());
        first.has_more = true;
        state.history_loaded(&bob(), first);
        state.set_viewport(Viewport {
            rows: 100,
            height: 30,
        });
        assert_eq!(state.key(Key::PageUp, now()), []);
        assert_eq!(state.scroll(), 28);
        assert_eq!(state.key(Key::PageUp, now()), []);
        assert_eq!(
            state.key(Key::PageUp, now()),
            [Action::LoadHistory {
                peer: bob(),
                before: Some(101)
            }]
        );
        assert_eq!(state.scroll(), 70);
        // Only once while it loads.
        assert_eq!(state.key(Key::PageUp, now()), []);
        state.history_loaded(
            &bob(),
            page((1..=100).map(|s| text(s, "bob", "x")).collect()),
        );
        assert_eq!(seqs(&state, &bob()).len(), 200);
        state.key(Key::PageDown, now());
        assert_eq!(state.scroll(), 42);
        // Switching conversations goes back to the bottom.
        state.key(Key::Down, now());
        assert_eq!(state.scroll(), 0);
    }
}
