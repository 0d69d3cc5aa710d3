//! Phones on bad networks: connection migration, NAT rebinding, loss,
//! latency and reordering, end to end over real QUIC.
//!
//! What runs where: every test here runs in the normal `cargo test` (and so
//! in CI through `scripts/test.sh` / `.ci/run`), on SQLite with media in a
//! local directory, with no privileges and nothing outside the process:
//!
//! - migration: the client moves its own connection to a new UDP socket
//!   (`Client::rebind`, QUIC connection migration) on loopback;
//! - NAT rebinding and bad links: the client talks to the server through
//!   the in-process UDP relay in `quichat_tests::relay`, which can swap its
//!   upstream port (the server sees the client's address change) and drop,
//!   delay and reorder datagrams.
//!
//! Network namespaces with `tc netem` would be closer to a real network,
//! but they need root (CAP_NET_ADMIN), which CI runners may not grant, so
//! the relay stands in for them.

#![allow(clippy::unwrap_used)]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context as _, Result};
use quichat_client::media::UploadOutcome;
use quichat_client::proto::event::{Event, EventBody};
use quichat_client::proto::media::UploadRequest;
use quichat_client::proto::types::{ConversationRef, MessageBody, ReceiptKind, SendAck};
use quichat_client::{Client, ClientConfig, EventStream, Trust};
use quichat_server::metrics::Metrics;
use quichat_tests::relay::{Impairment, Relay};
use quichat_tests::{
    assert_quiet, download_sha, password_of, pattern_request, pattern_sha, Backend, PatternReader,
    TestServer,
};
use tokio::io::{AsyncRead, AsyncSeek, ReadBuf};

const MIB: u64 = 1024 * 1024;
/// Patience for anything that crosses an impaired link.
const SLOW: Duration = Duration::from_secs(60);
/// Size of the file sent across the impaired links. Loss-based congestion
/// control gets little through them: measured here, 2 MiB took ~31 s each
/// way with the 5 % loss alone (about the Mathis bound, MSS / RTT * 1.22 /
/// sqrt(p) ≈ 65 kB/s at 100 ms), ~27 s with the jitter alone (reordering
/// deeper than quinn's packet threshold of 3 counts as loss) and ~50 s with
/// both: too close to `SLOW`, and far too long for a test. 512 KiB takes
/// about 12 s each way.
const LOSSY_FILE: u64 = 512 * 1024;

/// Registers `name` over a connection to `server_addr` (the server itself
/// or a relay in front of it).
async fn register_via(server: &TestServer, server_addr: &str, name: &str) -> Result<Client> {
    let config = ClientConfig::new(server_addr, Trust::CaPem(server.ca_pem.clone()));
    let client = Client::connect(&config).await?;
    client
        .register(name, &password_of(name), "phone")
        .await
        .with_context(|| format!("registering {name} via {server_addr}"))?;
    Ok(client)
}

fn metrics(server: &TestServer) -> &Metrics {
    &server.handle.as_ref().unwrap().state().metrics
}

/// The next event within `limit`.
async fn next_within(feed: &mut EventStream, limit: Duration) -> Result<Event> {
    match tokio::time::timeout(limit, feed.next()).await {
        Ok(Some(Ok(e))) => Ok(e),
        Ok(Some(Err(e))) => Err(e.into()),
        Ok(None) => anyhow::bail!("event feed ended"),
        Err(_) => anyhow::bail!("no event within {limit:?}"),
    }
}

/// The first event matching `pred` within `limit`, skipping others.
async fn wait_within(
    feed: &mut EventStream,
    limit: Duration,
    mut pred: impl FnMut(&EventBody) -> bool,
) -> Result<Event> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let e = next_within(feed, left)
            .await
            .context("the expected event did not arrive")?;
        if pred(&e.body) {
            return Ok(e);
        }
    }
}

fn receipt(kind: ReceiptKind, up_to: u64) -> impl FnMut(&EventBody) -> bool {
    move |b| matches!(b, EventBody::Receipt(r) if r.kind == kind && r.up_to_seq == up_to)
}

/// Reads message events until `n` texts arrived; they must be `"{prefix} 0"`,
/// `"{prefix} 1"`, ... with conversation seqs 1, 2, ... (once each, in
/// order). Other events are skipped.
async fn expect_texts(
    feed: &mut EventStream,
    prefix: &str,
    n: usize,
    limit: Duration,
) -> Result<()> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut got = 0;
    while got < n {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let e = next_within(feed, left)
            .await
            .with_context(|| format!("only {got} of {n} messages arrived"))?;
        let EventBody::Message(m) = &e.body else {
            continue;
        };
        let want = format!("{prefix} {got}");
        ensure!(
            matches!(&m.body, MessageBody::Text(t) if *t == want) && m.seq == got as u64 + 1,
            "expected {want:?} as seq {}, got {m:?}",
            got + 1
        );
        got += 1;
    }
    Ok(())
}

/// Sends `n` texts to bob one after the other, `pace` apart (so that the
/// burst spans the path changes), counting acks in `acked`.
fn spawn_sends(
    client: &Client,
    prefix: &'static str,
    n: usize,
    pace: Duration,
    acked: Arc<AtomicU64>,
) -> tokio::task::JoinHandle<Result<Vec<SendAck>>> {
    let client = client.clone();
    tokio::spawn(async move {
        let mut acks = Vec::with_capacity(n);
        for i in 0..n {
            let ack = client
                .send_text("bob", &format!("{prefix} {i}"))
                .await
                .with_context(|| format!("send {i}"))?;
            acks.push(ack);
            acked.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(pace).await;
        }
        Ok(acks)
    })
}

/// A [`PatternReader`] that yields at most `rate` bytes per second, in
/// 64 KiB pieces, so that an upload over loopback lasts long enough for
/// path changes to happen in the middle of it, however fast the machine.
/// (Pieces, not a trickle: quinn keeps every write as a separate segment
/// and looks segments up linearly, so thousands of tiny writes stall the
/// connection.)
struct Throttled {
    inner: PatternReader,
    rate: u64,
    /// When the next piece may be read.
    next: tokio::time::Instant,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Throttled {
    const PIECE: usize = 64 * 1024;

    fn new(inner: PatternReader, rate: u64) -> Self {
        Throttled {
            inner,
            rate,
            next: tokio::time::Instant::now(),
            sleep: None,
        }
    }
}

impl AsyncRead for Throttled {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        loop {
            if let Some(sleep) = this.sleep.as_mut() {
                ready!(sleep.as_mut().poll(cx));
                this.sleep = None;
            }
            let now = tokio::time::Instant::now();
            if this.next > now {
                this.sleep = Some(Box::pin(tokio::time::sleep_until(this.next)));
                continue;
            }
            let mut piece = vec![0u8; buf.remaining().min(Self::PIECE)];
            let mut part = ReadBuf::new(&mut piece);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut part))?;
            let n = part.filled().len();
            buf.put_slice(part.filled());
            // No catching up after a stall: pace from now on.
            this.next = now + Duration::from_secs_f64(n as f64 / this.rate as f64);
            return Poll::Ready(Ok(()));
        }
    }
}

impl AsyncSeek for Throttled {
    fn start_seek(mut self: Pin<&mut Self>, position: std::io::SeekFrom) -> std::io::Result<()> {
        Pin::new(&mut self.inner).start_seek(position)
    }

    fn poll_complete(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<u64>> {
        Pin::new(&mut self.inner).poll_complete(cx)
    }
}

/// Uploads a pattern at no more than `rate` bytes per second, reporting
/// progress in `done`.
fn spawn_upload(
    client: &Client,
    seed: u64,
    request: UploadRequest,
    rate: u64,
    done: Arc<AtomicU64>,
) -> tokio::task::JoinHandle<Result<UploadOutcome>> {
    let client = client.clone();
    tokio::spawn(async move {
        let mut reader = Throttled::new(PatternReader::new(seed, request.size), rate);
        Ok(client
            .upload(&mut reader, request, move |d, _| {
                done.store(d, Ordering::Relaxed)
            })
            .await?)
    })
}

/// How alice's path changes in a scenario.
enum Move<'a> {
    /// The client moves to a new socket itself (migration).
    Rebind(&'a Client),
    /// The relay in front of it changes its upstream port (NAT rebinding).
    Nat(&'a Relay),
}

impl Move<'_> {
    async fn go(&self) -> Result<String> {
        Ok(match self {
            Move::Rebind(c) => format!("client now on {}", c.rebind()?),
            Move::Nat(r) => format!("relay upstream now on {}", r.rebind_upstream().await?),
        })
    }
}

/// What alice does while her path changes.
struct Burst {
    /// Texts sent to bob, one after the other.
    messages: usize,
    /// Bytes uploaded at the same time.
    size: u64,
    /// Path changes.
    moves: usize,
    /// Time between path changes.
    gap: Duration,
}

/// Alice sends texts to bob and uploads a file while her path changes
/// (see [`Burst`]); then everything is checked.
async fn burst_across_path_changes(
    server: &TestServer,
    alice: &Client,
    bob: &Client,
    burst: Burst,
    mover: Move<'_>,
) -> Result<()> {
    let Burst {
        messages,
        size,
        moves,
        gap,
    } = burst;
    let started = Instant::now();
    let mut alice_feed = alice.subscribe(0).await?;
    let mut bob_feed = bob.subscribe(0).await?;
    let seed = 4242;
    let request = pattern_request(alice, "bob", seed, size).await?;
    let acked = Arc::new(AtomicU64::new(0));
    let uploaded = Arc::new(AtomicU64::new(0));
    // The sends last at least 20 ms each and the upload at least 1.5 s, so
    // every path change (all within about 0.5 s) lands in both.
    let sends = spawn_sends(
        alice,
        "burst",
        messages,
        Duration::from_millis(20),
        acked.clone(),
    );
    let upload = spawn_upload(alice, seed, request, size * 2 / 3, uploaded.clone());

    // Both must be under way before the first move.
    let deadline = Instant::now() + Duration::from_secs(10);
    while acked.load(Ordering::Relaxed) < 3 || uploaded.load(Ordering::Relaxed) < MIB {
        ensure!(Instant::now() < deadline, "burst and upload did not start");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let mut during_both = 0;
    for k in 0..moves {
        if k > 0 {
            tokio::time::sleep(gap).await;
        }
        let what = mover.go().await?;
        let (a, u) = (
            acked.load(Ordering::Relaxed),
            uploaded.load(Ordering::Relaxed),
        );
        if a < messages as u64 && u < size {
            during_both += 1;
        }
        eprintln!(
            "move {k} at {:?}: {what}; {a}/{messages} sends acked, {:.1} of {} MiB uploaded",
            started.elapsed(),
            u as f64 / MIB as f64,
            size / MIB
        );
    }
    ensure!(
        during_both == moves,
        "only {during_both} of {moves} path changes happened during both transfers"
    );

    let acks = tokio::time::timeout(SLOW, sends)
        .await
        .context("sends hung")???;
    let outcome = tokio::time::timeout(SLOW, upload)
        .await
        .context("upload hung")???;
    let path = alice.connection().stats().path;
    eprintln!(
        "burst and upload done at {:?}; alice's path: rtt {:?}, {} packets lost of {}",
        started.elapsed(),
        path.rtt,
        path.lost_packets,
        path.sent_packets
    );

    // Every send acked, once.
    for (i, ack) in acks.iter().enumerate() {
        ensure!(
            ack.seq == i as u64 + 1 && !ack.duplicate,
            "ack {i}: {ack:?}"
        );
    }
    // Bob's feed: every message exactly once, in order.
    expect_texts(&mut bob_feed, "burst", messages, SLOW).await?;
    assert_quiet(&mut bob_feed, Duration::from_millis(300)).await?;
    // The upload is intact, and alice can read it back.
    ensure!(
        outcome.media.sha256 == pattern_sha(seed, size).await?
            && outcome.media.size == size
            && !outcome.deduplicated
            && outcome.resumed_from == 0,
        "upload outcome {outcome:?}"
    );
    let (sha, n) = download_sha(alice, outcome.media.id).await?;
    ensure!(
        n == size && sha == outcome.media.sha256,
        "alice's download differs"
    );
    // Bob's delivered receipts keep reaching alice on her new path.
    wait_within(
        &mut alice_feed,
        SLOW,
        receipt(ReceiptKind::Delivered, messages as u64),
    )
    .await?;

    // Still one connection each, and the server noticed the moves.
    let m = metrics(server);
    let (accepted, changes) = (m.connections_accepted.get(), m.path_changes.get());
    eprintln!(
        "server: {accepted} connections accepted, {changes} path changes seen; total {:?}",
        started.elapsed()
    );
    ensure!(
        accepted == 2,
        "alice must keep her connection: {accepted} accepted"
    );
    ensure!(changes >= 1, "the server saw no path change");
    Ok(())
}

/// (a) Connection migration: alice moves her connection to a new UDP
/// socket three times during a burst of sends and a 24 MiB upload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_during_send_burst_and_upload() -> Result<()> {
    let server = TestServer::start(Backend::Sqlite).await?;
    let (alice, _) = server.register("alice").await?;
    let (bob, _) = server.register("bob").await?;
    burst_across_path_changes(
        &server,
        &alice,
        &bob,
        Burst {
            messages: 60,
            size: 24 * MIB,
            moves: 3,
            gap: Duration::from_millis(150),
        },
        Move::Rebind(&alice),
    )
    .await
}

/// (b) NAT rebinding: the relay in front of alice changes its upstream port
/// twice during a burst of sends and an 8 MiB upload; alice cannot tell.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nat_rebinding_during_send_burst_and_upload() -> Result<()> {
    let server = TestServer::start(Backend::Sqlite).await?;
    let relay = Relay::start(server.addr, Impairment::none()).await?;
    let alice = register_via(&server, &relay.addr().to_string(), "alice").await?;
    let (bob, _) = server.register("bob").await?;
    burst_across_path_changes(
        &server,
        &alice,
        &bob,
        Burst {
            messages: 30,
            size: 8 * MIB,
            moves: 2,
            gap: Duration::from_millis(200),
        },
        Move::Nat(&relay),
    )
    .await?;
    let stats = relay.stats();
    eprintln!("relay: {stats:?}");
    ensure!(stats.rebinds == 2 && stats.total().dropped == 0);
    Ok(())
}

/// (c) A bad mobile link on both sides: 5 % loss each way, 50 ms one-way
/// delay and 20 ms of jitter (which reorders datagrams).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_receipts_and_media_survive_loss_latency_and_reordering() -> Result<()> {
    let started = Instant::now();
    let server = TestServer::start(Backend::Sqlite).await?;
    let bad = Impairment {
        loss: 0.05,
        delay: Duration::from_millis(50),
        jitter: Duration::from_millis(20),
    };
    let alice_relay = Relay::start(server.addr, bad).await?;
    let bob_relay = Relay::start(server.addr, bad).await?;
    let alice = register_via(&server, &alice_relay.addr().to_string(), "alice").await?;
    let bob = register_via(&server, &bob_relay.addr().to_string(), "bob").await?;
    let mut alice_feed = alice.subscribe(0).await?;
    let mut bob_feed = bob.subscribe(0).await?;
    eprintln!("connected and subscribed at {:?}", started.elapsed());

    let n = 30;
    let mut last = None;
    for i in 0..n {
        let ack = tokio::time::timeout(SLOW, alice.send_text("bob", &format!("lossy {i}")))
            .await
            .context("send hung")??;
        ensure!(
            ack.seq == i as u64 + 1 && !ack.duplicate,
            "ack {i}: {ack:?}"
        );
        last = Some(ack);
    }
    let last = last.context("no message sent")?;
    expect_texts(&mut bob_feed, "lossy", n, SLOW).await?;
    eprintln!("{n} messages at bob at {:?}", started.elapsed());
    // Bob's device acks delivery by itself. Read implies delivered on the
    // server (a read that overtakes the delivered ack suppresses the
    // delivered receipt), so bob reads once the delivered receipt is through.
    wait_within(
        &mut alice_feed,
        SLOW,
        receipt(ReceiptKind::Delivered, last.seq),
    )
    .await?;
    bob.mark_read(last.conversation_id, last.seq).await?;
    wait_within(&mut alice_feed, SLOW, receipt(ReceiptKind::Read, last.seq)).await?;
    eprintln!("receipts at alice at {:?}", started.elapsed());

    // A file from alice to bob, across both bad links.
    let (seed, size) = (77, LOSSY_FILE);
    let request = pattern_request(&alice, "bob", seed, size).await?;
    let outcome = tokio::time::timeout(
        SLOW,
        alice.upload(&mut PatternReader::new(seed, size), request, |_, _| {}),
    )
    .await
    .context("upload hung")??;
    ensure!(outcome.media.sha256 == pattern_sha(seed, size).await?);
    eprintln!("uploaded at {:?}", started.elapsed());
    let ack = alice
        .send_media("bob", outcome.media.clone(), "over a bad link")
        .await?;
    let e = wait_within(&mut bob_feed, SLOW, |b| matches!(b, EventBody::Message(_))).await?;
    let EventBody::Message(m) = &e.body else {
        unreachable!()
    };
    let MessageBody::Media { media, .. } = &m.body else {
        anyhow::bail!("expected the media message, got {m:?}")
    };
    ensure!(m.seq == ack.seq && media.id == outcome.media.id);
    let (sha, got) = tokio::time::timeout(SLOW, download_sha(&bob, media.id))
        .await
        .context("download hung")??;
    ensure!(
        got == size && sha == outcome.media.sha256,
        "bob's download differs"
    );
    eprintln!("downloaded at {:?}", started.elapsed());

    // Nothing duplicated: 30 texts and 1 file, seqs 1..=31.
    let page = bob
        .history(ConversationRef::Direct("alice".into()), None, 100)
        .await?;
    let texts = page
        .messages
        .iter()
        .filter(|m| matches!(m.body, MessageBody::Text(_)))
        .count();
    let files = page
        .messages
        .iter()
        .filter(|m| matches!(m.body, MessageBody::Media { .. }))
        .count();
    let mut seqs: Vec<u64> = page.messages.iter().map(|m| m.seq).collect();
    seqs.sort_unstable();
    ensure!(
        texts == n && files == 1 && seqs == (1..=n as u64 + 1).collect::<Vec<_>>(),
        "history: {texts} texts, {files} files, seqs {seqs:?}"
    );
    assert_quiet(&mut bob_feed, Duration::from_millis(300)).await?;

    let (a, b) = (alice_relay.stats(), bob_relay.stats());
    eprintln!("alice's relay: {a:?}\nbob's relay:   {b:?}");
    eprintln!("total {:?}", started.elapsed());
    let (dropped, reordered) = (
        a.total().dropped + b.total().dropped,
        a.total().reordered + b.total().reordered,
    );
    ensure!(dropped > 0, "the relays dropped nothing");
    ensure!(reordered > 0, "the relays reordered nothing");
    ensure!(
        metrics(&server).connections_accepted.get() == 2,
        "a client reconnected"
    );
    Ok(())
}
