//! The connection: control stream requests, chat stream sends, and the
//! event feed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use quichat_proto::chat::{ClientChat, ServerChat};
use quichat_proto::control::{ClientControl, Request, Response, ServerControl};
use quichat_proto::error::close;
use quichat_proto::event::{Event, EventBody};
use quichat_proto::notify::{Flagged, PushFlags};
use quichat_proto::rpc::DomainRequest;
use quichat_proto::social::{Presence, TypingNotice};
use quichat_proto::stream::{StreamHeader, StreamKind};
use quichat_proto::types::{
    ConversationId, MessageBody, Recipient, SendAck, SendMessage, SessionInfo,
};
use quichat_proto::WireError;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::framed::{write_frame, FrameReader};
use crate::sequencer::Sequencer;
use crate::trust::Trust;
use crate::ClientError;

/// How long a request waits for its response.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a gap in the event feed may persist before a sync fills it.
const GAP_TIMEOUT: Duration = Duration::from_millis(500);
/// Sync page size.
const SYNC_PAGE: u32 = 200;

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `host:port` of the server.
    pub server: String,
    /// More `host:port`s of the same cluster's other nodes, tried in turn
    /// when a connection attempt fails (as are every address a name
    /// resolves to); see [`crate::Connector`].
    pub fallbacks: Vec<String>,
    /// How to trust its certificate.
    pub trust: Trust,
    /// Name sent in the hello (for server logs).
    pub client_name: String,
    /// QUIC keep-alive interval. 15 s keeps common NAT mappings (often
    /// 30 s for UDP) alive.
    pub keep_alive: Duration,
    /// Idle timeout; the server's (60 s) applies if lower.
    pub idle_timeout: Duration,
    /// Send delivered receipts automatically for messages the event feed
    /// hands to the application.
    pub auto_delivered: bool,
    /// How long one connection attempt (handshake, hello, authentication)
    /// may take before it is abandoned and retried: a handshake sent into
    /// a dead network would otherwise wait for the whole idle timeout.
    pub connect_timeout: Duration,
    /// Local address to send from; `None` picks any address of the
    /// server's family (for a multi-homed host, or tests that need a
    /// second source address).
    pub local_addr: Option<SocketAddr>,
}

impl ClientConfig {
    /// Defaults for a server address and trust anchor.
    pub fn new(server: impl Into<String>, trust: Trust) -> Self {
        ClientConfig {
            server: server.into(),
            fallbacks: Vec::new(),
            trust,
            client_name: format!("quichat-client/{}", env!("CARGO_PKG_VERSION")),
            keep_alive: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(60),
            auto_delivered: true,
            connect_timeout: Duration::from_secs(10),
            local_addr: None,
        }
    }
}

/// Something for the event feed task.
#[derive(Debug)]
enum Feed {
    Event(Box<Flagged>),
    Hint(u64),
}

type Pending<K, V> = Mutex<HashMap<K, oneshot::Sender<Result<V, WireError>>>>;

#[derive(Debug)]
struct Inner {
    config: ClientConfig,
    endpoint: quinn::Endpoint,
    conn: quinn::Connection,
    control_send: tokio::sync::Mutex<quinn::SendStream>,
    next_req: AtomicU32,
    requests: Pending<u32, Response>,
    chat_send: tokio::sync::Mutex<Option<quinn::SendStream>>,
    sends: Pending<Uuid, SendAck>,
    feed: Mutex<Option<mpsc::UnboundedSender<Feed>>>,
    fatal: Mutex<Option<WireError>>,
    session: Mutex<Option<SessionInfo>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    zero_rtt: std::sync::atomic::AtomicBool,
    notices: tokio::sync::broadcast::Sender<Notice>,
}

/// How many ephemeral notices a slow [`Client::notices`] receiver may fall
/// behind before it loses the oldest.
const NOTICE_BACKLOG: usize = 256;

/// Something the server pushes that is not in the event log: it is not
/// replayed on sync, and a slow reader may miss one (the next supersedes
/// it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A friend came online or went offline.
    Presence(Presence),
    /// Someone is typing to this user.
    Typing(TypingNotice),
}

impl Drop for Inner {
    fn drop(&mut self) {
        for t in self
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            t.abort();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A connected client. Cheap to clone; all clones share the connection.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

/// The port a server address without one means.
pub const DEFAULT_PORT: u16 = 4433;

/// `server` with [`DEFAULT_PORT`] added when it names none: `localhost`,
/// `chat.example.org`, `10.0.0.2`, `[::1]` and a bare `::1`.
pub fn with_default_port(server: &str) -> String {
    if let Some(rest) = server.strip_prefix('[') {
        return if rest.contains("]:") {
            server.to_string()
        } else {
            format!("{server}:{DEFAULT_PORT}")
        };
    }
    match server.matches(':').count() {
        0 => format!("{server}:{DEFAULT_PORT}"),
        1 => server.to_string(),
        // More than one colon without brackets: a bare IPv6 address.
        _ => format!("[{server}]:{DEFAULT_PORT}"),
    }
}

/// Every address `server` resolves to (at least one), and its host name.
pub(crate) async fn resolve_all(server: &str) -> Result<(Vec<SocketAddr>, String), ClientError> {
    let server = with_default_port(server);
    let server = server.as_str();
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host(server)
        .await
        .map_err(|e| ClientError::Config(format!("cannot resolve '{server}': {e}")))?
        .collect();
    if addrs.is_empty() {
        return Err(ClientError::Config(format!("'{server}' has no address")));
    }
    let host = match server.rsplit_once(':') {
        Some((host, _)) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
        None => server.to_string(),
    };
    Ok((addrs, host))
}

impl Client {
    /// Connects, opens the control stream and exchanges hellos.
    pub async fn connect(config: &ClientConfig) -> Result<Client, ClientError> {
        crate::connector::Connector::new(config)
            .await?
            .connect()
            .await
    }

    /// Wraps an established (or 0-RTT) connection: opens the control
    /// stream and exchanges hellos.
    pub(crate) async fn from_connection(
        config: &ClientConfig,
        endpoint: quinn::Endpoint,
        conn: quinn::Connection,
    ) -> Result<Client, ClientError> {
        let client = Self::open(config, endpoint, conn).await?;
        client.hello().await?;
        Ok(client)
    }

    /// Opens the control stream and starts its reader (no hello yet).
    async fn open(
        config: &ClientConfig,
        endpoint: quinn::Endpoint,
        conn: quinn::Connection,
    ) -> Result<Client, ClientError> {
        let (mut send, recv) = conn.open_bi().await?;
        write_frame(
            &mut send,
            &StreamHeader {
                kind: StreamKind::Control,
            },
        )
        .await?;
        let inner = Arc::new(Inner {
            config: config.clone(),
            endpoint,
            conn,
            control_send: tokio::sync::Mutex::new(send),
            next_req: AtomicU32::new(1),
            requests: Mutex::new(HashMap::new()),
            chat_send: tokio::sync::Mutex::new(None),
            sends: Mutex::new(HashMap::new()),
            feed: Mutex::new(None),
            fatal: Mutex::new(None),
            session: Mutex::new(None),
            tasks: Mutex::new(Vec::new()),
            zero_rtt: std::sync::atomic::AtomicBool::new(false),
            notices: tokio::sync::broadcast::channel(NOTICE_BACKLOG).0,
        });
        let reader = tokio::spawn(control_reader(
            Arc::downgrade(&inner),
            FrameReader::new(recv),
        ));
        lock(&inner.tasks).push(reader);
        Ok(Client { inner })
    }

    /// Like [`Client::from_connection`], but pipelines the hello and the
    /// token authentication (one round trip, and both fit in 0-RTT).
    pub(crate) async fn from_connection_authenticated(
        config: &ClientConfig,
        endpoint: quinn::Endpoint,
        conn: quinn::Connection,
        token: &str,
    ) -> Result<(Client, SessionInfo), ClientError> {
        let client = Self::open(config, endpoint, conn).await?;
        let (hello, session) = tokio::join!(client.hello(), client.authenticate(token));
        hello?;
        Ok((client, session?))
    }

    /// True when this connection was set up with TLS session resumption
    /// and 0-RTT (its hello and authentication rode in the first flight).
    pub fn used_0rtt(&self) -> bool {
        self.inner.zero_rtt.load(Ordering::Relaxed)
    }

    pub(crate) fn mark_0rtt(&self) {
        self.inner.zero_rtt.store(true, Ordering::Relaxed);
    }

    /// The underlying QUIC connection (stats, migration, tests).
    pub fn connection(&self) -> &quinn::Connection {
        &self.inner.conn
    }

    /// The underlying endpoint (for rebinding to a new socket).
    pub fn endpoint(&self) -> &quinn::Endpoint {
        &self.inner.endpoint
    }

    /// Moves the connection to a new local UDP socket (a new port; on a
    /// phone, the new network's address), as QUIC connection migration
    /// allows. Every stream — control, chat, transfers — carries on; the
    /// server validates the new path and keeps the session.
    pub fn rebind(&self) -> Result<std::net::SocketAddr, ClientError> {
        let family_any: SocketAddr = if self.inner.conn.remote_address().is_ipv6() {
            SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 0))
        } else {
            SocketAddr::from((std::net::Ipv4Addr::UNSPECIFIED, 0))
        };
        let socket = std::net::UdpSocket::bind(family_any)
            .map_err(|e| ClientError::Config(format!("cannot open a new UDP socket: {e}")))?;
        let local = socket
            .local_addr()
            .map_err(|e| ClientError::Config(e.to_string()))?;
        self.inner
            .endpoint
            .rebind(socket)
            .map_err(|e| ClientError::Config(format!("cannot move to the new socket: {e}")))?;
        Ok(local)
    }

    /// Ephemeral notices (presence changes, typing) from now on. Ask for
    /// friends' current presence with [`Client::presence`] after
    /// subscribing, so no change is missed in between.
    pub fn notices(&self) -> tokio::sync::broadcast::Receiver<Notice> {
        self.inner.notices.subscribe()
    }

    /// The configuration this client connected with.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The authenticated session, if any.
    pub fn session(&self) -> Option<SessionInfo> {
        lock(&self.inner.session).clone()
    }

    /// Sends a request of any domain and returns that domain's response:
    /// the one place where a reply of the wrong domain becomes an error.
    /// The typed calls (`register`, `devices`, `history`, ...) live in
    /// `rpc/<domain>.rs` and are built on this.
    pub async fn call<R: DomainRequest>(&self, request: R) -> Result<R::Response, ClientError> {
        R::Response::try_from(self.request(request.into()).await?)
            .map_err(|other| unexpected(&other))
    }

    /// Sends a control request and waits for its response.
    pub async fn request(&self, request: Request) -> Result<Response, ClientError> {
        self.check_open()?;
        let req_id = self.inner.next_req.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        lock(&self.inner.requests).insert(req_id, tx);
        let written = {
            let mut send = self.inner.control_send.lock().await;
            write_frame(&mut send, &ClientControl { req_id, request }).await
        };
        if let Err(e) = written {
            lock(&self.inner.requests).remove(&req_id);
            return Err(self.closed_error().unwrap_or(e));
        }
        self.await_reply(rx, &self.inner.requests, req_id).await
    }

    /// Waits for the reply registered under `key` in `pending`.
    async fn await_reply<K: std::hash::Hash + Eq, V>(
        &self,
        rx: oneshot::Receiver<Result<V, WireError>>,
        pending: &Pending<K, V>,
        key: K,
    ) -> Result<V, ClientError> {
        match tokio::time::timeout(REQUEST_TIMEOUT, rx).await {
            Ok(Ok(result)) => result.map_err(ClientError::Server),
            Ok(Err(_)) => Err(self
                .closed_error()
                .unwrap_or_else(|| ClientError::closed("connection lost"))),
            Err(_) => {
                lock(pending).remove(&key);
                Err(ClientError::Timeout(REQUEST_TIMEOUT.as_secs()))
            }
        }
    }

    fn check_open(&self) -> Result<(), ClientError> {
        match self.closed_error() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Why the connection is unusable, if it is.
    fn closed_error(&self) -> Option<ClientError> {
        if let Some(err) = lock(&self.inner.fatal).clone() {
            return Some(ClientError::Server(err));
        }
        self.inner.conn.close_reason().map(ClientError::from)
    }

    pub(crate) fn set_session(&self, session: &SessionInfo) {
        *lock(&self.inner.session) = Some(session.clone());
    }

    /// Sends a text message to a user (a `&str` is a username) or a group
    /// ([`Recipient::Group`]) with a fresh UUIDv7 client id.
    pub async fn send_text(
        &self,
        to: impl Into<Recipient>,
        text: &str,
    ) -> Result<SendAck, ClientError> {
        self.send(SendMessage {
            client_id: Uuid::now_v7(),
            to: to.into(),
            body: MessageBody::Text(text.to_string()),
        })
        .await
    }

    /// Sends a text reply to message `to_seq` of the conversation `to`
    /// names; the server attaches the quote.
    pub async fn send_reply(
        &self,
        to: impl Into<Recipient>,
        to_seq: u64,
        text: &str,
    ) -> Result<SendAck, ClientError> {
        self.send(SendMessage {
            client_id: Uuid::now_v7(),
            to: to.into(),
            body: MessageBody::reply(to_seq, text),
        })
        .await
    }

    /// Sends a message and waits for the server's ack (the message is then
    /// durably stored). Resending the same `client_id` is safe.
    pub async fn send(&self, msg: SendMessage) -> Result<SendAck, ClientError> {
        self.check_open()?;
        let client_id = msg.client_id;
        let (tx, rx) = oneshot::channel();
        lock(&self.inner.sends).insert(client_id, tx);
        let written = async {
            let mut chat = self.inner.chat_send.lock().await;
            if chat.is_none() {
                *chat = Some(self.open_chat().await?);
            }
            match chat.as_mut() {
                Some(send) => write_frame(send, &ClientChat::Send(msg)).await,
                None => Err(ClientError::Protocol("no chat stream".into())),
            }
        }
        .await;
        if let Err(e) = written {
            lock(&self.inner.sends).remove(&client_id);
            return Err(self.closed_error().unwrap_or(e));
        }
        self.await_reply(rx, &self.inner.sends, client_id).await
    }

    async fn open_chat(&self) -> Result<quinn::SendStream, ClientError> {
        let (mut send, recv) = self.inner.conn.open_bi().await?;
        write_frame(
            &mut send,
            &StreamHeader {
                kind: StreamKind::Chat,
            },
        )
        .await?;
        let reader = tokio::spawn(chat_reader(
            Arc::downgrade(&self.inner),
            FrameReader::new(recv),
        ));
        lock(&self.inner.tasks).push(reader);
        Ok(send)
    }

    /// Makes sure the chat stream is open (so the server pushes messages on
    /// it).
    pub async fn open_chat_stream(&self) -> Result<(), ClientError> {
        let mut chat = self.inner.chat_send.lock().await;
        if chat.is_none() {
            *chat = Some(self.open_chat().await?);
        }
        Ok(())
    }

    /// Starts the ordered event feed after `cursor` (0 for everything).
    ///
    /// The feed first catches up with a paged sync, then follows live
    /// pushes; every event is yielded once, in seq order. With
    /// `auto_delivered`, delivered receipts are sent for other users'
    /// messages as they are yielded.
    pub async fn subscribe(&self, cursor: u64) -> Result<EventStream, ClientError> {
        self.open_chat_stream().await?;
        let (feed_tx, feed_rx) = mpsc::unbounded_channel();
        *lock(&self.inner.feed) = Some(feed_tx);
        let (out_tx, out_rx) = mpsc::channel(1024);
        let task = tokio::spawn(run_feed(self.clone_weak(), cursor, feed_rx, out_tx));
        lock(&self.inner.tasks).push(task);
        Ok(EventStream { rx: out_rx })
    }

    fn clone_weak(&self) -> std::sync::Weak<Inner> {
        Arc::downgrade(&self.inner)
    }

    /// Closes the connection politely and waits briefly for the close to
    /// reach the server.
    pub async fn close(&self) {
        self.inner.conn.close(close::NORMAL.into(), b"bye");
        let _ = tokio::time::timeout(Duration::from_secs(2), self.inner.endpoint.wait_idle()).await;
    }

    /// Waits until the connection is closed and says why.
    pub async fn closed(&self) -> ClientError {
        let e = self.inner.conn.closed().await;
        self.closed_error().unwrap_or_else(|| e.into())
    }
}

pub(crate) fn unexpected(resp: &impl std::fmt::Debug) -> ClientError {
    ClientError::Protocol(format!("unexpected response {resp:?}"))
}

/// The ordered event feed returned by [`Client::subscribe`].
#[derive(Debug)]
pub struct EventStream {
    rx: mpsc::Receiver<Result<Flagged, ClientError>>,
}

impl EventStream {
    /// The next event. `None` after the connection closed; an error if the
    /// feed failed (for example a sync request failed).
    pub async fn next(&mut self) -> Option<Result<Event, ClientError>> {
        Some(self.rx.recv().await?.map(|f| f.event))
    }

    /// The next event with the flags the server set for it (whether it
    /// should alert the user: [`PushFlags`](quichat_proto::notify::PushFlags)).
    pub async fn next_flagged(&mut self) -> Option<Result<Flagged, ClientError>> {
        self.rx.recv().await
    }
}

fn fail_all(inner: &Inner, err: &WireError) {
    for (_, tx) in lock(&inner.requests).drain() {
        let _ = tx.send(Err(err.clone()));
    }
    for (_, tx) in lock(&inner.sends).drain() {
        let _ = tx.send(Err(err.clone()));
    }
}

/// An event that came without flags: it alerts (the server would have
/// said otherwise).
fn unflagged(event: Event) -> Box<Flagged> {
    Box::new(Flagged {
        flags: PushFlags::default(),
        event,
    })
}

fn feed(inner: &Inner, item: Feed) {
    if let Some(tx) = lock(&inner.feed).as_ref() {
        let _ = tx.send(item);
    }
}

async fn control_reader(weak: std::sync::Weak<Inner>, mut reader: FrameReader) {
    loop {
        let frame = reader.next::<ServerControl>().await;
        let Some(inner) = weak.upgrade() else { return };
        match frame {
            Ok(Some(ServerControl::Response { req_id, result })) => {
                if let Some(tx) = lock(&inner.requests).remove(&req_id) {
                    let _ = tx.send(result);
                }
            }
            Ok(Some(ServerControl::Flagged(f))) => feed(&inner, Feed::Event(Box::new(f))),
            // A protocol-1 push (this client speaks 2, so none should come).
            Ok(Some(ServerControl::Event(event))) => feed(&inner, Feed::Event(unflagged(event))),
            Ok(Some(ServerControl::SyncHint { head })) => feed(&inner, Feed::Hint(head)),
            Ok(Some(ServerControl::Presence(p))) => {
                let _ = inner.notices.send(Notice::Presence(p));
            }
            Ok(Some(ServerControl::Typing(t))) => {
                let _ = inner.notices.send(Notice::Typing(t));
            }
            Ok(Some(ServerControl::Error(err))) => {
                tracing::debug!("server error on control stream: {err}");
                *lock(&inner.fatal) = Some(err.clone());
                fail_all(&inner, &err);
            }
            Ok(None) | Err(_) => {
                // Drop pending requests: their receivers report the close.
                lock(&inner.requests).clear();
                lock(&inner.feed).take();
                return;
            }
        }
    }
}

async fn chat_reader(weak: std::sync::Weak<Inner>, mut reader: FrameReader) {
    loop {
        let frame = reader.next::<ServerChat>().await;
        let Some(inner) = weak.upgrade() else { return };
        match frame {
            Ok(Some(ServerChat::Ack(ack))) => {
                if let Some(tx) = lock(&inner.sends).remove(&ack.client_id) {
                    let _ = tx.send(Ok(ack));
                }
            }
            Ok(Some(ServerChat::Rejected { client_id, error })) => {
                if let Some(tx) = lock(&inner.sends).remove(&client_id) {
                    let _ = tx.send(Err(error));
                }
            }
            Ok(Some(ServerChat::Flagged(f))) => feed(&inner, Feed::Event(Box::new(f))),
            Ok(Some(ServerChat::Event(event))) => feed(&inner, Feed::Event(unflagged(event))),
            Ok(Some(ServerChat::Error(err))) => {
                *lock(&inner.fatal) = Some(err.clone());
                fail_all(&inner, &err);
            }
            Ok(None) | Err(_) => {
                lock(&inner.sends).clear();
                return;
            }
        }
    }
}

async fn run_feed(
    weak: std::sync::Weak<Inner>,
    cursor: u64,
    mut feed_rx: mpsc::UnboundedReceiver<Feed>,
    out: mpsc::Sender<Result<Flagged, ClientError>>,
) {
    let mut seq = Sequencer::new(cursor);
    // Delivered watermarks not yet sent, coalesced while events keep coming.
    let mut delivered: HashMap<ConversationId, u64> = HashMap::new();
    let mut need_sync = true;
    loop {
        if need_sync {
            need_sync = false;
            let Some(inner) = weak.upgrade() else { return };
            let client = Client { inner };
            loop {
                match client.sync_flagged_page(seq.cursor(), SYNC_PAGE).await {
                    Ok((events, has_more)) => {
                        let empty = events.is_empty();
                        for event in events {
                            if !release(&client, &mut seq, event, &out, &mut delivered).await {
                                return;
                            }
                        }
                        flush_delivered(&client, &mut delivered).await;
                        if !has_more || empty {
                            break;
                        }
                    }
                    Err(e) => {
                        let _ = out.send(Err(e)).await;
                        return;
                    }
                }
            }
        }
        let item = if seq.has_gap() {
            match tokio::time::timeout(GAP_TIMEOUT, feed_rx.recv()).await {
                Ok(item) => item,
                Err(_) => {
                    need_sync = true;
                    continue;
                }
            }
        } else {
            feed_rx.recv().await
        };
        let Some(item) = item else { return };
        let Some(inner) = weak.upgrade() else { return };
        let client = Client { inner };
        match item {
            Feed::Event(event) => {
                if !release(&client, &mut seq, *event, &out, &mut delivered).await {
                    return;
                }
            }
            Feed::Hint(head) => need_sync = head > seq.cursor(),
        }
        if feed_rx.is_empty() {
            flush_delivered(&client, &mut delivered).await;
        }
    }
}

/// Offers one event to the sequencer and forwards what it releases,
/// noting delivered watermarks for other users' messages.
async fn release(
    client: &Client,
    seq: &mut Sequencer,
    event: Flagged,
    out: &mpsc::Sender<Result<Flagged, ClientError>>,
    delivered: &mut HashMap<ConversationId, u64>,
) -> bool {
    let me = client.session().map(|s| s.username);
    for ready in seq.offer(event) {
        if let EventBody::Message(m) = &ready.event.body {
            if client.inner.config.auto_delivered && Some(&m.sender) != me.as_ref() {
                let e = delivered.entry(m.conversation_id).or_default();
                *e = (*e).max(m.seq);
            }
        }
        if out.send(Ok(ready)).await.is_err() {
            return false;
        }
    }
    true
}

async fn flush_delivered(client: &Client, delivered: &mut HashMap<ConversationId, u64>) {
    for (conversation_id, up_to) in delivered.drain() {
        if let Err(e) = client.delivered(conversation_id, up_to).await {
            tracing::debug!("delivered receipt failed: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_port_means_4433() {
        assert_eq!(with_default_port("localhost"), "localhost:4433");
        assert_eq!(
            with_default_port("chat.example.org"),
            "chat.example.org:4433"
        );
        assert_eq!(with_default_port("10.0.0.2"), "10.0.0.2:4433");
        assert_eq!(with_default_port("10.0.0.2:5000"), "10.0.0.2:5000");
        assert_eq!(with_default_port("[::1]"), "[::1]:4433");
        assert_eq!(with_default_port("[::1]:5000"), "[::1]:5000");
        assert_eq!(with_default_port("::1"), "[::1]:4433");
    }

    #[tokio::test]
    async fn localhost_without_a_port_resolves() {
        let (addrs, host) = resolve_all("localhost").await.unwrap();
        assert!(addrs.iter().all(|a| a.port() == 4433));
        assert_eq!(host, "localhost");
    }
}
