//! Notifications, on SQLite and PostgreSQL: every pushed event carries
//! the flags its recipient's settings give it (protocol 2). A muted
//! conversation is silent except for mentions and replies to the user;
//! do-not-disturb silences everything, mentions too unless the user
//! allows them, on a daily schedule in their time zone as well; the
//! user's own messages never alert. Flagged sync pages agree with the
//! pushes, bad settings get typed errors, and a protocol-1 client still
//! gets plain pushes.

#![allow(clippy::unwrap_used)]

use anyhow::{ensure, Result};
use quichat_client::proto::control::{ClientControl, Response, ServerControl};
use quichat_client::proto::event::EventBody;
use quichat_client::proto::frame::encode;
use quichat_client::proto::notify::{Dnd, DndMode, Flagged, PushFlags};
use quichat_client::proto::rpc::session;
use quichat_client::proto::stream::{StreamHeader, StreamKind};
use quichat_client::proto::types::{MessageBody, Recipient};
use quichat_client::proto::ErrorCode;
use quichat_client::{ClientError, EventStream};
use quichat_tests::{
    on_both_backends, raw_connect, read_frame, wait_for_flagged, Backend, TestServer,
};

/// The next message event with text `text`, with its flags.
async fn message(feed: &mut EventStream, text: &str) -> Result<Flagged> {
    wait_for_flagged(feed, |b| match b {
        EventBody::Message(m) => match &m.body {
            MessageBody::Text(t) => t == text,
            MessageBody::Reply(r) => r.text == text,
            _ => false,
        },
        _ => false,
    })
    .await
}

fn code(e: ClientError) -> Option<ErrorCode> {
    e.code()
}

fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(since.as_millis()).unwrap()
}

fn dnd(mode: DndMode, time_zone: &str, allow_mentions: bool) -> Dnd {
    Dnd {
        mode,
        time_zone: time_zone.into(),
        allow_mentions,
    }
}

const SILENT: PushFlags = PushFlags(PushFlags::SILENT);
const LOUD: PushFlags = PushFlags(0);

async fn mute_silences_all_but_mentions_and_replies(backend: Backend) -> Result<()> {
    let server = TestServer::start(backend).await?;
    let (alice, _) = server.register("alice").await?;
    let (bob, _) = server.register("bob").await?;
    let group = alice.create_group("team", "", &["bob".into()]).await?.id;
    let mut feed = bob.subscribe(0).await?;
    let mine = bob
        .send_text(Recipient::Group(group), "my own words")
        .await?;
    ensure!(
        message(&mut feed, "my own words").await?.flags == SILENT,
        "own messages never alert"
    );
    alice.send_text(Recipient::Group(group), "loud").await?;
    ensure!(message(&mut feed, "loud").await?.flags == LOUD);

    let settings = bob.mute(group, None).await?;
    ensure!(
        settings.mutes.len() == 1 && settings.mutes[0].until_ms.is_none(),
        "{settings:?}"
    );
    alice.send_text(Recipient::Group(group), "hushed").await?;
    ensure!(message(&mut feed, "hushed").await?.flags == SILENT);
    alice
        .send_text(Recipient::Group(group), "look @bob")
        .await?;
    let mention = message(&mut feed, "look @bob").await?;
    ensure!(
        mention.flags == PushFlags(PushFlags::MENTION),
        "{:?}",
        mention.flags
    );
    // The mention event that follows the message does not alert again.
    let follow = wait_for_flagged(&mut feed, |b| matches!(b, EventBody::Mention(_))).await?;
    ensure!(follow.flags.silent(), "{:?}", follow.flags);
    alice
        .send_reply(Recipient::Group(group), mine.seq, "answer")
        .await?;
    let reply = message(&mut feed, "answer").await?;
    ensure!(
        reply.flags == PushFlags(PushFlags::REPLY),
        "{:?}",
        reply.flags
    );

    // A mute for a while is a mute; unmuted, it alerts again.
    let until = now_ms() + 3_600_000;
    let settings = bob.mute(group, Some(until)).await?;
    ensure!(settings.mutes[0].until_ms == Some(until), "{settings:?}");
    alice
        .send_text(Recipient::Group(group), "still hushed")
        .await?;
    ensure!(message(&mut feed, "still hushed").await?.flags == SILENT);
    let settings = bob.unmute(group).await?;
    ensure!(settings.mutes.is_empty(), "{settings:?}");
    alice
        .send_text(Recipient::Group(group), "loud again")
        .await?;
    ensure!(message(&mut feed, "loud again").await?.flags == LOUD);

    // Another device of bob's gets the same flags, in its sync too.
    bob.mute(group, None).await?;
    alice
        .send_text(Recipient::Group(group), "quiet on every device")
        .await?;
    let (bob2, _) = server.login("bob").await?;
    let (page, _) = bob2.sync_flagged_page(0, 500).await?;
    let flags_of = |text: &str| {
        page.iter()
            .find(|f| match &f.event.body {
                EventBody::Message(m) => match &m.body {
                    MessageBody::Text(t) => t == text,
                    MessageBody::Reply(r) => r.text == text,
                    _ => false,
                },
                _ => false,
            })
            .map(|f| f.flags)
    };
    ensure!(flags_of("quiet on every device") == Some(SILENT));
    ensure!(flags_of("look @bob") == Some(PushFlags(PushFlags::MENTION)));
    ensure!(flags_of("answer") == Some(PushFlags(PushFlags::REPLY)));
    ensure!(flags_of("my own words") == Some(SILENT));
    // Alice's settings are her own.
    alice
        .send_text(Recipient::User("bob".into()), "direct")
        .await?;
    let mut alice_feed = alice.subscribe(0).await?;
    bob.send_text(Recipient::Group(group), "to alice").await?;
    ensure!(message(&mut alice_feed, "to alice").await?.flags == LOUD);
    Ok(())
}

async fn dnd_silences_and_mentions_break_through_only_when_allowed(backend: Backend) -> Result<()> {
    let server = TestServer::start(backend).await?;
    let (alice, _) = server.register("alice").await?;
    let (bob, _) = server.register("bob").await?;
    let group = alice.create_group("team", "", &["bob".into()]).await?.id;
    let mut feed = bob.subscribe(0).await?;

    bob.set_dnd(dnd(DndMode::On, "UTC", false)).await?;
    alice
        .send_text(Recipient::User("bob".into()), "at night")
        .await?;
    ensure!(message(&mut feed, "at night").await?.flags == SILENT);
    alice
        .send_text(Recipient::Group(group), "@bob urgent")
        .await?;
    let m = message(&mut feed, "@bob urgent").await?;
    ensure!(
        m.flags == PushFlags(PushFlags::MENTION | PushFlags::SILENT),
        "{:?}",
        m.flags
    );

    bob.set_dnd(dnd(DndMode::On, "UTC", true)).await?;
    alice
        .send_text(Recipient::Group(group), "@bob really urgent")
        .await?;
    let m = message(&mut feed, "@bob really urgent").await?;
    ensure!(m.flags == PushFlags(PushFlags::MENTION), "{:?}", m.flags);
    alice.send_text(Recipient::Group(group), "chatter").await?;
    ensure!(message(&mut feed, "chatter").await?.flags == SILENT);

    // A schedule around the present minute in another zone is on; one
    // that starts in an hour is not.
    let zone = "Asia/Kolkata"; // UTC+5:30, no daylight saving time
    let now_min = {
        let ms = now_ms();
        let local = (ms / 60_000 + 330).rem_euclid(1440);
        u16::try_from(local).unwrap()
    };
    let around = DndMode::Scheduled {
        start_min: (now_min + 1440 - 30) % 1440,
        end_min: (now_min + 30) % 1440,
    };
    let settings = bob.set_dnd(dnd(around, zone, false)).await?;
    ensure!(settings.dnd.time_zone == zone, "{settings:?}");
    alice
        .send_text(Recipient::User("bob".into()), "scheduled quiet")
        .await?;
    ensure!(message(&mut feed, "scheduled quiet").await?.flags == SILENT);
    let later = DndMode::Scheduled {
        start_min: (now_min + 60) % 1440,
        end_min: (now_min + 120) % 1440,
    };
    bob.set_dnd(dnd(later, zone, false)).await?;
    alice
        .send_text(Recipient::User("bob".into()), "outside the window")
        .await?;
    ensure!(message(&mut feed, "outside the window").await?.flags == LOUD);

    bob.set_dnd(dnd(DndMode::Off, zone, false)).await?;
    let settings = bob.notify_settings().await?;
    ensure!(
        settings.dnd.mode == DndMode::Off && settings.dnd.time_zone == zone,
        "{settings:?}"
    );
    Ok(())
}

async fn bad_settings_get_typed_errors(backend: Backend) -> Result<()> {
    let server = TestServer::start(backend).await?;
    let (alice, _) = server.register("alice").await?;
    let (bob, _) = server.register("bob").await?;
    let (carol, _) = server.register("carol").await?;
    let group = alice.create_group("team", "", &["bob".into()]).await?.id;
    let e = carol.mute(group, None).await.unwrap_err();
    ensure!(
        code(e) == Some(ErrorCode::NotFound),
        "a non-member cannot mute"
    );
    let e = bob.mute(group, Some(1_000)).await.unwrap_err();
    ensure!(
        code(e) == Some(ErrorCode::InvalidArgument),
        "a mute ending in the past"
    );
    for bad in [
        dnd(DndMode::On, "Mars/Olympus_Mons", false),
        dnd(
            DndMode::Scheduled {
                start_min: 600,
                end_min: 600,
            },
            "UTC",
            false,
        ),
        dnd(
            DndMode::Scheduled {
                start_min: 0,
                end_min: 1440,
            },
            "UTC",
            false,
        ),
    ] {
        let e = bob.set_dnd(bad.clone()).await.unwrap_err();
        ensure!(code(e) == Some(ErrorCode::InvalidArgument), "{bad:?}");
    }
    let settings = bob.notify_settings().await?;
    ensure!(
        settings.dnd == Dnd::default() && settings.mutes.is_empty(),
        "{settings:?}"
    );
    Ok(())
}

/// A protocol-1 client (before the flags) is still served, with plain
/// `Event` pushes.
async fn protocol_one_clients_get_plain_pushes(backend: Backend) -> Result<()> {
    let server = TestServer::start(backend).await?;
    let (alice, _) = server.register("alice").await?;
    let (_bob, token) = server.register("bob").await?;
    let conn = raw_connect(&server).await?;
    let (mut send, mut recv) = conn.open_bi().await?;
    send.write_all(&encode(&StreamHeader {
        kind: StreamKind::Control,
    })?)
    .await?;
    let requests = [
        session::Request::Hello {
            version: 1,
            client: "old".into(),
        },
        session::Request::Authenticate { token },
    ];
    for (i, request) in requests.into_iter().enumerate() {
        let req_id = u32::try_from(i).unwrap() + 1;
        send.write_all(&encode(&ClientControl {
            req_id,
            request: request.into(),
        })?)
        .await?;
        let frame = read_frame::<ServerControl>(&mut recv).await?;
        let ServerControl::Response { result: Ok(r), .. } = &frame else {
            anyhow::bail!("expected an answer, got {frame:?}");
        };
        if i == 0 {
            ensure!(
                matches!(
                    r,
                    Response::Session(session::Response::Welcome { version: 1, .. })
                ),
                "the server answers in the client's version: {r:?}"
            );
        }
    }
    alice
        .send_text(Recipient::User("bob".into()), "old school")
        .await?;
    loop {
        match read_frame::<ServerControl>(&mut recv).await? {
            ServerControl::Event(e) if matches!(e.body, EventBody::Message(_)) => break,
            ServerControl::Flagged(f) => anyhow::bail!("a flagged push to protocol 1: {f:?}"),
            _ => continue,
        }
    }
    Ok(())
}

on_both_backends!(
    mute_silences_all_but_mentions_and_replies,
    dnd_silences_and_mentions_break_through_only_when_allowed,
    bad_settings_get_typed_errors,
    protocol_one_clients_get_plain_pushes,
);
