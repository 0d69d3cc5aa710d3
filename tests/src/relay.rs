//! A UDP relay for tests: it sits between one QUIC client and the server,
//! can drop, delay and reorder datagrams, and can move its upstream socket
//! to a new port (NAT rebinding) without the client noticing.
//!
//! ```text
//! client ──► front (127.0.0.1:relay port) ──► upstream (127.0.0.1:new port) ──► server
//!        ◄──                              ◄──                                ◄──
//! ```
//!
//! Every datagram goes through an [`Impairment`]: it is dropped with
//! probability `loss`, otherwise delivered `delay` plus a random share of
//! `jitter` later. Delivery runs through one delay queue per direction
//! (a task with a heap ordered by delivery time), so datagrams whose
//! jitter differs overtake each other. Everything runs in tokio tasks that
//! are aborted when the [`Relay`] is dropped.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// What the relay does to every datagram, in each direction independently.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Impairment {
    /// Probability (0..1) that a datagram is dropped.
    pub loss: f64,
    /// One-way delay added to every datagram.
    pub delay: Duration,
    /// Random extra delay per datagram, uniform in `0..=jitter` (this
    /// reorders datagrams sent less than `jitter` apart).
    pub jitter: Duration,
}

impl Impairment {
    /// A perfect link: nothing dropped, nothing delayed.
    pub fn none() -> Self {
        Impairment {
            loss: 0.0,
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
        }
    }
}

/// Counters of one direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirStats {
    /// Datagrams delivered.
    pub forwarded: u64,
    /// Datagrams dropped (simulated loss).
    pub dropped: u64,
    /// Datagrams delivered after one that was sent later.
    pub reordered: u64,
}

/// Counters of both directions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayStats {
    /// Client to server.
    pub to_server: DirStats,
    /// Server to client.
    pub to_client: DirStats,
    /// Times the upstream socket was replaced.
    pub rebinds: u64,
}

impl RelayStats {
    /// Both directions added up.
    pub fn total(&self) -> DirStats {
        DirStats {
            forwarded: self.to_server.forwarded + self.to_client.forwarded,
            dropped: self.to_server.dropped + self.to_client.dropped,
            reordered: self.to_server.reordered + self.to_client.reordered,
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    forwarded: AtomicU64,
    dropped: AtomicU64,
    reordered: AtomicU64,
    /// Send index of the next datagram accepted for delivery.
    next_index: AtomicU64,
}

impl Counters {
    fn get(&self) -> DirStats {
        DirStats {
            forwarded: self.forwarded.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            reordered: self.reordered.load(Ordering::Relaxed),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    ToServer,
    ToClient,
}

/// A datagram waiting in a delay queue: (deliver at, send index, bytes).
/// The send index is unique, so the bytes are never compared.
type Queued = (Instant, u64, Vec<u8>);

#[derive(Debug)]
struct Shared {
    server: SocketAddr,
    impairment: Impairment,
    /// The socket the client talks to.
    front: UdpSocket,
    /// The socket that talks to the server; replaced by `rebind_upstream`.
    upstream: Mutex<Arc<UdpSocket>>,
    /// Where the client was last heard from (replies go there).
    client: Mutex<Option<SocketAddr>>,
    to_server: Counters,
    to_client: Counters,
    rebinds: AtomicU64,
    /// The first [`CAPTURED`] datagrams from the client, as received.
    captured: Mutex<Vec<Vec<u8>>>,
}

/// How many client datagrams the relay keeps for [`Relay::client_datagrams`].
pub const CAPTURED: usize = 512;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    fn counters(&self, dir: Dir) -> &Counters {
        match dir {
            Dir::ToServer => &self.to_server,
            Dir::ToClient => &self.to_client,
        }
    }

    /// Applies the impairment to a received datagram and queues it.
    fn admit(&self, dir: Dir, bytes: &[u8], queue: &mpsc::UnboundedSender<Queued>) {
        if dir == Dir::ToServer {
            let mut captured = lock(&self.captured);
            if captured.len() < CAPTURED {
                captured.push(bytes.to_vec());
            }
        }
        let counters = self.counters(dir);
        let mut rng = rand::thread_rng();
        if self.impairment.loss > 0.0 && rng.gen_bool(self.impairment.loss.min(1.0)) {
            counters.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let jitter = match self.impairment.jitter.as_micros() {
            0 => Duration::ZERO,
            max => Duration::from_micros(rng.gen_range(0..=max as u64)),
        };
        let at = Instant::now() + self.impairment.delay + jitter;
        let index = counters.next_index.fetch_add(1, Ordering::Relaxed);
        let _ = queue.send((at, index, bytes.to_vec()));
    }

    /// Sends a datagram on its way once its time has come.
    async fn deliver(&self, dir: Dir, bytes: &[u8]) {
        // Send errors (e.g. nobody listening any more) count as loss on
        // the wire; QUIC deals with it.
        let sent = match dir {
            Dir::ToServer => {
                let up = lock(&self.upstream).clone();
                up.send_to(bytes, self.server).await.is_ok()
            }
            Dir::ToClient => {
                let client = *lock(&self.client);
                match client {
                    Some(client) => self.front.send_to(bytes, client).await.is_ok(),
                    None => false,
                }
            }
        };
        if sent {
            self.counters(dir).forwarded.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A running relay; see the module docs. Dropping it stops it.
#[derive(Debug)]
pub struct Relay {
    addr: SocketAddr,
    shared: Arc<Shared>,
    to_client_queue: mpsc::UnboundedSender<Queued>,
    /// Front reader and the two delay queues.
    tasks: Vec<JoinHandle<()>>,
    /// Reader of the current upstream socket (replaced on rebinding).
    upstream_reader: Mutex<JoinHandle<()>>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        lock(&self.upstream_reader).abort();
    }
}

impl Relay {
    /// Starts a relay to `server` on 127.0.0.1 (a free port).
    pub async fn start(server: SocketAddr, impairment: Impairment) -> std::io::Result<Relay> {
        let front = UdpSocket::bind("127.0.0.1:0").await?;
        let addr = front.local_addr()?;
        let upstream = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
        let shared = Arc::new(Shared {
            server,
            impairment,
            front,
            upstream: Mutex::new(upstream.clone()),
            client: Mutex::new(None),
            to_server: Counters::default(),
            to_client: Counters::default(),
            rebinds: AtomicU64::new(0),
            captured: Mutex::new(Vec::new()),
        });
        let (to_server_queue, to_server_rx) = mpsc::unbounded_channel();
        let (to_client_queue, to_client_rx) = mpsc::unbounded_channel();
        let tasks = vec![
            tokio::spawn(read_front(shared.clone(), to_server_queue)),
            tokio::spawn(delay_queue(shared.clone(), Dir::ToServer, to_server_rx)),
            tokio::spawn(delay_queue(shared.clone(), Dir::ToClient, to_client_rx)),
        ];
        let upstream_reader = tokio::spawn(read_upstream(
            shared.clone(),
            upstream,
            to_client_queue.clone(),
        ));
        Ok(Relay {
            addr,
            shared,
            to_client_queue,
            tasks,
            upstream_reader: Mutex::new(upstream_reader),
        })
    }

    /// The address clients connect to (instead of the server's).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// NAT rebinding: from now on datagrams reach the server from a new
    /// port. The old upstream socket is closed, so replies the server still
    /// sends to the old port are lost, as with a real NAT that dropped its
    /// mapping. Returns the new upstream address.
    pub async fn rebind_upstream(&self) -> std::io::Result<SocketAddr> {
        let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
        let local = socket.local_addr()?;
        *lock(&self.shared.upstream) = socket.clone();
        let reader = tokio::spawn(read_upstream(
            self.shared.clone(),
            socket,
            self.to_client_queue.clone(),
        ));
        std::mem::replace(&mut *lock(&self.upstream_reader), reader).abort();
        self.shared.rebinds.fetch_add(1, Ordering::Relaxed);
        Ok(local)
    }

    /// The first [`CAPTURED`] datagrams the client sent, as they arrived
    /// (before any impairment), to inspect their QUIC headers.
    pub fn client_datagrams(&self) -> Vec<Vec<u8>> {
        lock(&self.shared.captured).clone()
    }

    /// The counters so far.
    pub fn stats(&self) -> RelayStats {
        RelayStats {
            to_server: self.shared.to_server.get(),
            to_client: self.shared.to_client.get(),
            rebinds: self.shared.rebinds.load(Ordering::Relaxed),
        }
    }
}

/// Datagrams from the client: remember where it is, queue towards the server.
async fn read_front(shared: Arc<Shared>, queue: mpsc::UnboundedSender<Queued>) {
    let mut buf = vec![0u8; 65536];
    loop {
        match shared.front.recv_from(&mut buf).await {
            Ok((n, from)) => {
                *lock(&shared.client) = Some(from);
                shared.admit(Dir::ToServer, &buf[..n], &queue);
            }
            // ICMP errors from earlier sends can surface here; keep going.
            Err(_) => tokio::time::sleep(Duration::from_millis(1)).await,
        }
    }
}

/// Datagrams from the server to one upstream socket: queue towards the client.
async fn read_upstream(
    shared: Arc<Shared>,
    socket: Arc<UdpSocket>,
    queue: mpsc::UnboundedSender<Queued>,
) {
    let mut buf = vec![0u8; 65536];
    loop {
        match socket.recv_from(&mut buf).await {
            Ok((n, from)) if from == shared.server => {
                shared.admit(Dir::ToClient, &buf[..n], &queue);
            }
            Ok(_) => {} // not from the server: a NAT would drop it too
            Err(_) => tokio::time::sleep(Duration::from_millis(1)).await,
        }
    }
}

/// Delivers queued datagrams of one direction when they are due, earliest
/// first, counting those that overtook an earlier-sent one.
async fn delay_queue(shared: Arc<Shared>, dir: Dir, mut rx: mpsc::UnboundedReceiver<Queued>) {
    let mut heap: BinaryHeap<Reverse<Queued>> = BinaryHeap::new();
    // Highest send index delivered so far.
    let mut latest: Option<u64> = None;
    loop {
        // Deliver everything that is due.
        let now = Instant::now();
        while heap.peek().is_some_and(|Reverse((at, _, _))| *at <= now) {
            let Some(Reverse((_, index, bytes))) = heap.pop() else {
                break;
            };
            if latest.is_some_and(|l| index < l) {
                shared
                    .counters(dir)
                    .reordered
                    .fetch_add(1, Ordering::Relaxed);
            }
            latest = latest.max(Some(index));
            shared.deliver(dir, &bytes).await;
        }
        let next = heap.peek().map(|Reverse((at, _, _))| *at);
        tokio::select! {
            queued = rx.recv() => match queued {
                Some(q) => heap.push(Reverse(q)),
                None => return,
            },
            _ = async {
                match next {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            } => {}
        }
    }
}
