//! Two nodes of one cluster, over real QUIC, sharing one PostgreSQL
//! database and the machine's real NATS: what one node commits reaches
//! devices on the other live, through the bus (counted by the receiving
//! node's `bus_received` and pushed by it), not only on a later sync:
//! 1:1 and group messages, delivered receipts back to the sender, edits;
//! typing and presence; a transcript made by a standalone worker; a mute
//! made through one node takes effect on the
//! other; and a device revoked through one node loses its connection on
//! the other at once.
//! A node whose NATS is unreachable refuses to start, readably.
//!
//! A NATS outage of a few seconds (a private nats-server, stopped and
//! started again) is healed: what was committed meanwhile still reaches
//! the device once and in order.
//!
//! Needs NATS (`QUICHAT_TEST_NATS_URL`, default nats://127.0.0.1:4222;
//! `.ci/run` starts one) and the `nats-server` binary for the outage test;
//! `QUICHAT_TEST_SKIP_NATS=1` opts out.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use quichat_client::proto::event::EventBody;
use quichat_client::proto::notify::PushFlags;
use quichat_client::proto::social::PresenceState;
use quichat_client::proto::types::{MessageBody, ReceiptKind, Recipient};
use quichat_client::{Client, ClientConfig, Notice, Trust};
use quichat_server::{Server, ServerHandle};
use quichat_tests::{nats_skipped, nats_url, password_of, wait_for, Backend, TestServer};

fn skip() -> bool {
    if nats_skipped() || quichat_tests::postgres_skipped() {
        eprintln!("QUICHAT_TEST_SKIP_NATS or QUICHAT_TEST_SKIP_POSTGRES is set: skipping");
        return true;
    }
    false
}

/// Node 1 (a `TestServer` on a fresh PostgreSQL database) and node 2 on
/// the same database, data dir (so the same dev CA) and cluster.
async fn two_nodes() -> Result<(TestServer, ServerHandle)> {
    two_nodes_on(nats_url()).await
}

/// [`two_nodes`] on the NATS at `url`.
async fn two_nodes_on(url: String) -> Result<(TestServer, ServerHandle)> {
    let cluster = format!("qc{}", uuid::Uuid::now_v7().simple());
    let one = TestServer::start_with(Backend::Postgres, |c| {
        c.cluster.node_id = 1;
        c.cluster.nats_url = Some(url.clone());
        c.cluster.name = cluster.clone();
    })
    .await?;
    let mut config = one.config.clone();
    config.cluster.node_id = 2;
    config.listen = "127.0.0.1:0".parse()?;
    let two = Server::start(config).await.context("starting node 2")?;
    Ok((one, two))
}

/// Client settings for the node at `addr` (every node has `one`'s CA).
fn config_at(one: &TestServer, addr: std::net::SocketAddr) -> ClientConfig {
    ClientConfig::new(addr.to_string(), Trust::CaPem(one.ca_pem.clone()))
}

async fn register_at(one: &TestServer, addr: std::net::SocketAddr, name: &str) -> Result<Client> {
    let client = Client::connect(&config_at(one, addr)).await?;
    client.register(name, &password_of(name), "laptop").await?;
    Ok(client)
}

/// Another device of `name`, logged in at the node at `addr`, and its
/// token.
async fn login_at(
    one: &TestServer,
    addr: std::net::SocketAddr,
    name: &str,
    device: &str,
) -> Result<(Client, String)> {
    let client = Client::connect(&config_at(one, addr)).await?;
    let (_, token) = client.login(name, &password_of(name), device).await?;
    Ok((client, token))
}

fn text(b: &EventBody) -> Option<&str> {
    match b {
        EventBody::Message(m) => match &m.body {
            MessageBody::Text(t) => Some(t),
            _ => None,
        },
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_cross_nodes_live() -> Result<()> {
    if skip() {
        return Ok(());
    }
    let (one, two) = two_nodes().await?;
    let alice = register_at(&one, one.addr, "alice").await?;
    let bob = register_at(&one, two.local_addr(), "bob").await?;
    let carol = register_at(&one, two.local_addr(), "carol").await?;
    let mut alice_feed = alice.subscribe(0).await?;
    let mut bob_feed = bob.subscribe(0).await?;
    let mut carol_feed = carol.subscribe(0).await?;
    let received = || two.state().metrics.bus_received.get();
    let pushed_on_two = || two.state().metrics.events_pushed.get();

    // A 1:1 message from node 1 reaches bob on node 2 live, and his
    // client's delivered receipt (committed by node 2) reaches alice on
    // node 1 live.
    let received_on_one = || {
        one.handle
            .as_ref()
            .unwrap()
            .state()
            .metrics
            .bus_received
            .get()
    };
    let (got_before, pushed_before, one_before) = (received(), pushed_on_two(), received_on_one());
    let ack = alice.send_text("bob", "across the bus").await?;
    let live = tokio::time::timeout(
        Duration::from_secs(10),
        wait_for(&mut bob_feed, |b| text(b) == Some("across the bus")),
    )
    .await
    .context("bob on node 2 never got alice's message")??;
    ensure!(live.seq > 0);
    ensure!(
        received() > got_before,
        "node 2 received nothing on the bus"
    );
    ensure!(pushed_on_two() > pushed_before, "node 2 pushed nothing");
    let receipt = wait_for(&mut alice_feed, |b| {
        matches!(b, EventBody::Receipt(r) if r.by == "bob" && r.kind == ReceiptKind::Delivered && r.up_to_seq >= ack.seq)
    })
    .await
    .context("alice on node 1 never got bob's receipt")?;
    ensure!(receipt.seq > 0);
    ensure!(
        received_on_one() > one_before,
        "node 1 received nothing on the bus"
    );

    // A group message from node 2 reaches alice on node 1 and carol on
    // node 2 (locally), and an edit of it crosses too.
    let group = bob
        .create_group("across", "", &["alice".into(), "carol".into()])
        .await?;
    let g = Recipient::Group(group.id);
    let sent = bob.send_text(g, "hello both nodes").await?;
    wait_for(&mut alice_feed, |b| text(b) == Some("hello both nodes"))
        .await
        .context("alice on node 1 never got the group message")?;
    wait_for(&mut carol_feed, |b| text(b) == Some("hello both nodes"))
        .await
        .context("carol on node 2 never got the group message")?;
    bob.edit_message(group.id, sent.seq, "hello, both nodes")
        .await?;
    wait_for(
        &mut alice_feed,
        |b| matches!(b, EventBody::MessageEdited(e) if e.text == "hello, both nodes"),
    )
    .await
    .context("alice on node 1 never got the edit")?;

    two.stop().await;
    Ok(())
}

/// The next notice matching `pred`, within 10 s.
async fn notice(
    notices: &mut tokio::sync::broadcast::Receiver<Notice>,
    mut pred: impl FnMut(&Notice) -> bool,
) -> Result<Notice> {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match notices.recv().await {
                Ok(n) if pred(&n) => return Ok(n),
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(e) => anyhow::bail!("notices ended: {e}"),
            }
        }
    })
    .await
    .context("the notice never came")?
}

/// Typing and presence (ephemeral, never in the log) cross nodes, and a
/// mute set through one node silences pushes on the other at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_presence_and_settings_cross_nodes() -> Result<()> {
    if skip() {
        return Ok(());
    }
    let (one, two) = two_nodes().await?;
    let erin = register_at(&one, one.addr, "erin").await?;
    let finn = register_at(&one, two.local_addr(), "finn").await?;
    let request = erin.send_friend_request("finn", "").await?;
    finn.accept_friend(request.id).await?;

    // Typing from node 1 reaches finn on node 2.
    let mut finn_notices = finn.notices();
    erin.typing("finn").await?;
    notice(
        &mut finn_notices,
        |n| matches!(n, Notice::Typing(t) if t.from == "erin"),
    )
    .await
    .context("finn on node 2 never saw erin typing")?;

    // Her friend gen, offline, comes online on node 2: erin on node 1
    // hears of it (only node 2 saw the transition).
    let gen = register_at(&one, one.addr, "gen").await?;
    let request = gen.send_friend_request("erin", "").await?;
    erin.accept_friend(request.id).await?;
    gen.connection().close(0u32.into(), b"bye");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut erin_notices = erin.notices();
    let _gen_again = login_at(&one, two.local_addr(), "gen", "tablet").await?;
    notice(&mut erin_notices, |n| {
        matches!(n, Notice::Presence(p) if p.username == "gen" && p.state == PresenceState::Online)
    })
    .await
    .context("erin on node 1 never heard that gen came online on node 2")?;

    // erin's laptop is on node 2; she mutes finn's conversation from her
    // phone on node 1, and node 2 flags finn's next message silent.
    let (laptop, _) = login_at(&one, two.local_addr(), "erin", "laptop").await?;
    let mut laptop_feed = laptop.subscribe(0).await?;
    let first = finn.send_text("erin", "loud").await?;
    let loud = next_message(&mut laptop_feed, "loud").await?;
    ensure!(!loud.silent(), "an unmuted message came silent");
    erin.mute(first.conversation_id, None).await?;
    // The reload on node 2 is asynchronous: wait until a message there
    // comes silent (the next ones must stay so).
    let mut silenced = false;
    for i in 0..20 {
        finn.send_text("erin", &format!("quiet {i}")).await?;
        if next_message(&mut laptop_feed, &format!("quiet {i}"))
            .await?
            .silent()
        {
            silenced = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ensure!(
        silenced,
        "node 2 never learnt of the mute made through node 1"
    );
    two.stop().await;
    Ok(())
}

/// The flags of the next message with text `want` on `feed`.
async fn next_message(feed: &mut quichat_client::EventStream, want: &str) -> Result<PushFlags> {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let f = feed.next_flagged().await.context("the feed ended")??;
            if text(&f.event.body) == Some(want) {
                return Ok(f.flags);
            }
        }
    })
    .await
    .with_context(|| format!("{want:?} never came"))?
}

/// A voice note sent through node 1 is transcribed by a standalone
/// worker (no hub, events through the outbox, as `quichat-server worker`
/// runs) and the transcript reaches the recipient on node 2 live.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standalone_workers_transcript_reaches_another_node() -> Result<()> {
    use quichat_client::proto::types::TranscriptStatus;
    if skip() {
        return Ok(());
    }
    let Some(model) = quichat_tests::whisper_model()? else {
        eprintln!("QUICHAT_TEST_SKIP_WHISPER is set: skipping");
        return Ok(());
    };
    let (one, two) = two_nodes().await?;
    // Neither node has workers; this one stands alone.
    let mut transcription = one.config.transcription.clone();
    transcription.model = Some(model);
    transcription.workers = 1;
    transcription.poll_ms = 200;
    let engine = quichat_server::load_engine(&transcription)
        .await
        .context("the test model does not load")?;
    let state = one.handle.as_ref().unwrap().state().clone();
    let deps = quichat_server::transcribe::worker::WorkerDeps {
        jobs: state.jobs.clone(),
        media: state.media_store.clone(),
        engine,
        config: transcription,
        hub: None,
        ready: std::sync::Arc::new(tokio::sync::Notify::new()),
        metrics: std::sync::Arc::new(quichat_server::metrics::Metrics::default()),
    };
    let (tracker, cancel) = (
        tokio_util::task::TaskTracker::new(),
        tokio_util::sync::CancellationToken::new(),
    );
    quichat_server::transcribe::worker::spawn_workers(&deps, &tracker, &cancel, "standalone");

    let hana = register_at(&one, one.addr, "hana").await?;
    let ivan = register_at(&one, two.local_addr(), "ivan").await?;
    let mut ivan_feed = ivan.subscribe(0).await?;
    let dir = tempfile::tempdir()?;
    let wav = dir.path().join("note.wav");
    quichat_tests::speak_wav("Please call me back when you get home tonight.", &wav)?;
    let (ack, _) = hana.send_voice("ivan", &wav, "", |_, _| {}).await?;
    // Transcription takes seconds; the outbox is polled every 300 ms.
    let u = tokio::time::timeout(Duration::from_secs(90), async {
        loop {
            let e = ivan_feed.next().await.context("the feed ended")??;
            if let EventBody::MessageUpdated(u) = e.body {
                if u.seq == ack.seq && u.transcript.status == TranscriptStatus::Done {
                    return anyhow::Ok(u);
                }
            }
        }
    })
    .await
    .context("no transcript on node 2 within 90 s")??;
    ensure!(
        u.transcript.text.to_lowercase().contains("call me back"),
        "transcript: {}",
        u.transcript.text
    );
    cancel.cancel();
    tracker.close();
    tracker.wait().await;
    two.stop().await;
    Ok(())
}

/// A node that vanishes (its packets black-holed: the UDP relay in front
/// of node 1 is dropped) loses its client to node 2: the session fails
/// over to the next address, the feed resumes from its cursor with every
/// message once and in order, and sends made during the outage are
/// acked once each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_fails_over_when_its_node_vanishes() -> Result<()> {
    use quichat_client::{Connector, Followed, Session};
    use quichat_tests::relay::{Impairment, Relay};
    if skip() {
        return Ok(());
    }
    let (one, two) = two_nodes().await?;
    let jack = register_at(&one, two.local_addr(), "jack").await?;
    let kate_setup = register_at(&one, two.local_addr(), "kate").await?;
    let (_, token) = login_at(&one, two.local_addr(), "kate", "phone").await?;
    drop(kate_setup);
    let relay = Relay::start(one.addr, Impairment::none()).await?;
    let mut config = config_at(&one, relay.addr());
    config.fallbacks = vec![two.local_addr().to_string()];
    config.keep_alive = Duration::from_millis(300);
    config.idle_timeout = Duration::from_secs(2);
    config.connect_timeout = Duration::from_secs(2);
    let connector = Connector::new(&config).await?;
    ensure!(connector.targets() == vec![relay.addr(), two.local_addr()]);
    let kate = Session::new(connector, token);
    let mut feed = kate.follow(0);
    let first = kate.client().await?;
    ensure!(
        first.connection().remote_address() == relay.addr(),
        "kate starts on node 1"
    );

    const N: usize = 30;
    let sender = tokio::spawn({
        let jack = jack.clone();
        async move {
            for i in 0..N {
                jack.send_text("kate", &format!("m{i}")).await?;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            anyhow::Ok(())
        }
    });
    let mut relay = Some(relay);
    let mut got: Vec<String> = Vec::new();
    let (mut lost, mut back) = (false, false);
    let mut replies = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), async {
        while got.len() < N {
            match feed.next().await? {
                Followed::Event(e, _) => {
                    if let Some(t) = text(&e.body) {
                        if t.starts_with('m') {
                            got.push(t.to_string());
                        }
                    }
                    if got.len() == 5 && relay.is_some() {
                        // Node 1 vanishes for kate: nothing answers there.
                        relay = None;
                        for i in 0..3 {
                            let kate = kate.clone();
                            replies.push(tokio::spawn(async move {
                                kate.send(quichat_client::proto::types::SendMessage {
                                    client_id: uuid::Uuid::now_v7(),
                                    to: Recipient::User("jack".into()),
                                    body: MessageBody::Text(format!("r{i}")),
                                })
                                .await
                            }));
                        }
                    }
                }
                Followed::Disconnected(_) => lost = true,
                Followed::Reconnected { .. } => back = lost,
                Followed::Notice(_) => {}
            }
        }
        anyhow::Ok(())
    })
    .await
    .context("kate's feed did not get every message within 60 s")??;
    sender.await??;
    let want: Vec<String> = (0..N).map(|i| format!("m{i}")).collect();
    ensure!(got == want, "kate's feed: {got:?}");
    ensure!(lost && back, "the feed never reported the failover");
    let now = kate.client().await?;
    ensure!(
        now.connection().remote_address() == two.local_addr(),
        "kate is on {} after the failover",
        now.connection().remote_address()
    );
    for r in replies {
        r.await??;
    }
    // jack has each reply exactly once.
    let (events, _) = jack.sync_page(0, 500).await?;
    for i in 0..3 {
        let n = events
            .iter()
            .filter(|e| text(&e.body) == Some(format!("r{i}").as_str()))
            .count();
        ensure!(n == 1, "jack has r{i} {n} times");
    }
    two.stop().await;
    Ok(())
}

/// A NATS of this test's own on `port` (the shared one must stay up for
/// the other tests).
async fn private_nats(port: u16) -> Result<tokio::process::Child> {
    let bin = [
        "nats-server",
        "/usr/sbin/nats-server",
        "/usr/bin/nats-server",
    ]
    .into_iter()
    .find(|b| {
        std::process::Command::new(b)
            .arg("--version")
            .output()
            .is_ok()
    })
    .context("nats-server is not installed (apt install nats-server; .ci/run does)")?;
    let child = tokio::process::Command::new(bin)
        .args(["-a", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(child);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("the private nats-server did not listen on {port}")
}

/// NATS stops for a few seconds: what was committed meanwhile reaches
/// the device on the other node anyway, once and in order (the bus comes
/// back, the next live event shows the client a gap, and it syncs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bus_outage_is_healed_by_sync() -> Result<()> {
    if skip() {
        return Ok(());
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut nats = private_nats(port).await?;
    let (one, two) = two_nodes_on(format!("nats://127.0.0.1:{port}")).await?;
    let lena = register_at(&one, one.addr, "lena").await?;
    let milo = register_at(&one, two.local_addr(), "milo").await?;
    let mut feed = milo.subscribe(0).await?;
    lena.send_text("milo", "before").await?;
    wait_for(&mut feed, |b| text(b) == Some("before")).await?;

    nats.start_kill()?;
    nats.wait().await?;
    for i in 0..3 {
        lena.send_text("milo", &format!("during {i}")).await?;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let _nats = private_nats(port).await?;
    // The nodes reconnect to NATS by themselves (with backoff); keep
    // sending until one crosses live, then everything must be there.
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut k = 0;
    while !got.iter().any(|t: &String| t.starts_with("after")) {
        ensure!(
            tokio::time::Instant::now() < deadline,
            "nothing crossed after the outage: {got:?}"
        );
        lena.send_text("milo", &format!("after {k}")).await?;
        k += 1;
        while let Ok(Some(e)) = tokio::time::timeout(Duration::from_millis(700), feed.next()).await
        {
            if let Some(t) = text(&e?.body) {
                got.push(t.to_string());
            }
        }
    }
    let during: Vec<&String> = got.iter().filter(|t| t.starts_with("during")).collect();
    ensure!(
        during == ["during 0", "during 1", "during 2"],
        "what milo got after the outage: {got:?}"
    );
    let first_after = got.iter().position(|t| t.starts_with("after")).unwrap();
    ensure!(
        got.iter().position(|t| t == "during 2").unwrap() < first_after,
        "out of order: {got:?}"
    );
    let mut seen = std::collections::HashSet::new();
    ensure!(
        got.iter().all(|t| seen.insert(t.clone())),
        "a repeat: {got:?}"
    );
    two.stop().await;
    Ok(())
}

/// A device revoked through node 1 loses its connection on node 2 at
/// once (the kick crosses the bus), not at its next reconnect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_on_one_node_closes_the_device_on_the_other() -> Result<()> {
    if skip() {
        return Ok(());
    }
    let (one, two) = two_nodes().await?;
    let phone = register_at(&one, one.addr, "dora").await?;
    let (laptop, _) = login_at(&one, two.local_addr(), "dora", "laptop").await?;
    let devices = phone.devices().await?;
    let other = devices
        .iter()
        .find(|d| !d.current)
        .context("the laptop is not listed")?
        .id;
    phone.revoke_device(other).await?;
    let why = tokio::time::timeout(Duration::from_secs(10), laptop.closed())
        .await
        .context("the laptop on node 2 is still connected 10 s after its revocation")?;
    ensure!(why.to_string().contains("device revoked"), "{why}");
    // The phone, on node 1, is untouched.
    ensure!(phone.devices().await?.len() == 1);
    two.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_nats_is_a_readable_start_error() -> Result<()> {
    if skip() {
        return Ok(());
    }
    let refused = TestServer::start_with(Backend::Postgres, |c| {
        // Nothing listens on port 1.
        c.cluster.nats_url = Some("nats://127.0.0.1:1".into());
    })
    .await;
    let message = format!("{:#}", refused.err().context("the node started")?);
    ensure!(
        message.contains("cannot connect to NATS at nats://127.0.0.1:1"),
        "{message}"
    );
    Ok(())
}
