//! Bad input is answered with typed errors, never a crash or a hang, and
//! the server stays up for everyone else.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use anyhow::{ensure, Result};
use futures::StreamExt;
use quichat_client::proto::chat::ServerChat;
use quichat_client::proto::control::{ClientControl, Request, ServerControl};
use quichat_client::proto::error::close;
use quichat_client::proto::event::EventBody;
use quichat_client::proto::frame::encode;
use quichat_client::proto::media::{ClientMedia, ServerMedia};
use quichat_client::proto::rpc::session;
use quichat_client::proto::stream::{StreamHeader, StreamKind};
use quichat_client::proto::types::{MessageBody, Recipient, SendMessage, MAX_TEXT_BYTES};
use quichat_client::proto::{ErrorCode, PROTOCOL_VERSION};
use quichat_client::ClientError;
use quichat_server::config::RateLimit;
use quichat_tests::{
    close_code, on_both_backends, password_of, raw_connect, read_frame, Backend, TestServer,
};

fn code_of<T: std::fmt::Debug>(r: Result<T, ClientError>) -> Option<ErrorCode> {
    match r {
        Err(e) => e.code(),
        Ok(v) => panic!("expected an error, got {v:?}"),
    }
}

async fn assert_server_still_serves(server: &TestServer) -> Result<()> {
    let c = server.connect().await?;
    c.ping().await?;
    c.close().await;
    Ok(())
}

async fn control_stream(
    conn: &quinn::Connection,
) -> Result<(quinn::SendStream, quinn::RecvStream)> {
    let (mut send, recv) = conn.open_bi().await?;
    send.write_all(&encode(&StreamHeader {
        kind: StreamKind::Control,
    })?)
    .await?;
    Ok((send, recv))
}

/// Opens a control stream and completes the hello.
async fn hello(conn: &quinn::Connection) -> Result<(quinn::SendStream, quinn::RecvStream)> {
    let (mut send, mut recv) = control_stream(conn).await?;
    let hello = ClientControl {
        req_id: 1,
        request: Request::Session(session::Request::Hello {
            version: PROTOCOL_VERSION,
            client: "raw".into(),
        }),
    };
    send.write_all(&encode(&hello)?).await?;
    let welcome = read_frame::<ServerControl>(&mut recv).await?;
    ensure!(matches!(
        welcome,
        ServerControl::Response {
            req_id: 1,
            result: Ok(_)
        }
    ));
    Ok((send, recv))
}

async fn garbage_frames_get_typed_errors(backend: Backend) -> Result<()> {
    let server = TestServer::start(backend).await?;

    // Garbage instead of a stream header.
    let conn = raw_connect(&server).await?;
    let (mut send, mut recv) = conn.open_bi().await?;
    send.write_all(&[0, 0, 0, 5, 0xff, 0xfe, 0xfd, 0xfc, 0xfb])
        .await?;
    let ServerControl::Error(err) = read_frame::<ServerControl>(&mut recv).await? else {
        anyhow::bail!("expected an error frame")
    };
    ensure!(err.code == ErrorCode::BadFrame, "{err:?}");
    ensure!(close_code(&conn).await? == u64::from(close::PROTOCOL_ERROR));

    // Garbage after a valid header and hello.
    let conn = raw_connect(&server).await?;
    let (mut send, mut recv) = hello(&conn).await?;
    send.write_all(&[0, 0, 0, 3, 0x07, 0xff, 0xff]).await?;
    let ServerControl::Error(err) = read_frame::<ServerControl>(&mut recv).await? else {
        anyhow::bail!("expected an error frame")
    };
    ensure!(err.code == ErrorCode::BadFrame && !err.message.is_empty());
    ensure!(close_code(&conn).await? == u64::from(close::PROTOCOL_ERROR));

    assert_server_still_serves(&server).await
}

async fn truncated_frame_is_reported(backend: Backend) -> Result<()> {
    let server = TestServer::start(backend).await?;
    let conn = raw_connect(&server).await?;
    let (mut send, mut recv) = control_stream(&conn).await?;
    send.write_all(&[0, 0, 0, 100, 1, 2, 3, 4, 5]).await?;
    send.finish()?;
    let ServerControl::Error(err) = read_frame::<ServerControl>(&mut recv).await? else {
        anyhow::bail!("expected an error frame")
    };
    ensure!(
        err.code == ErrorCode::BadFrame && err.message.contains("ended"),
        "{err:?}"
    );
    ensure!(close_code(&conn).await? == u64::from(close::PROTOCOL_ERROR));
    assert_server_still_serves(&server).await
}

async fn oversized_frame_is_refused_before_buffering(backend: Backend) -> Result<()> {
    let server = TestServer::start(backend).await?;
    let conn = raw_connect(&server).await?;
    let (mut send, mut recv) = control_stream(&conn).await?;
    // Announce 64 MiB; send only the prefix.
    send.write_all(&(64u32 << 20).to_be_bytes()).await?;
    let ServerControl::Error(err) = read_frame::<ServerControl>(&mut recv).await? else {
        anyhow::bail!("expected an error frame")
    };
    ensure!(err.code == ErrorCode::FrameTooLarge, "{err:?}");
    ensure!(close_code(&conn).await? == u64::from(close::FRAME_TOO_LARGE));
    assert_server_still_serves(&server).await
}

async fn protocol_misuse_is_refused(backend: Backend) -> Result<()> {
    let server = TestServer::start(backend).await?;

    // Wrong protocol version.
    let conn = raw_connect(&server).await?;
    let (mut send, mut recv) = control_stream(&conn).await?;
    let future_hello = ClientControl {
        req_id: 1,
        request: Request::Session(session::Request::Hello {
            version: PROTOCOL_VERSION + 100,
            client: "future".into(),
        }),
    };
    send.write_all(&encode(&future_hello)?).await?;
    let ServerControl::Error(err) = read_frame::<ServerControl>(&mut recv).await? else {
        anyhow::bail!("expected an error frame")
    };
    ensure!(err.code == ErrorCode::UnsupportedVersion, "{err:?}");

    // A request before the hello.
    let conn = raw_connect(&server).await?;
    let (mut send, mut recv) = control_stream(&conn).await?;
    send.write_all(&encode(&ClientControl {
        req_id: 1,
        request: session::Request::Ping.into(),
    })?)
    .await?;
    let ServerControl::Error(err) = read_frame::<ServerControl>(&mut recv).await? else {
        anyhow::bail!("expected an error frame")
    };
    ensure!(err.code == ErrorCode::UnexpectedFrame, "{err:?}");

    // A chat stream as the first stream.
    let conn = raw_connect(&server).await?;
    let (mut send, mut recv) = conn.open_bi().await?;
    send.write_all(&encode(&StreamHeader {
        kind: StreamKind::Chat,
    })?)
    .await?;
    let ServerControl::Error(err) = read_frame::<ServerControl>(&mut recv).await? else {
        anyhow::bail!("expected an error frame")
    };
    ensure!(err.code == ErrorCode::UnexpectedFrame, "{err:?}");

    // A chat stream before authentication.
    let conn = raw_connect(&server).await?;
    let _control = hello(&conn).await?;
    let (mut send, mut recv) = conn.open_bi().await?;
    send.write_all(&encode(&StreamHeader {
        kind: StreamKind::Chat,
    })?)
    .await?;
    let ServerChat::Error(err) = read_frame::<ServerChat>(&mut recv).await? else {
        anyhow::bail!("expected an error frame")
    };
    ensure!(err.code == ErrorCode::Unauthenticated, "{err:?}");

    // Requests that need a session, on an unauthenticated client.
    let c = server.connect().await?;
    ensure!(code_of(c.conversations().await) == Some(ErrorCode::Unauthenticated));
    ensure!(code_of(c.sync_page(0, 10).await) == Some(ErrorCode::Unauthenticated));

    assert_server_still_serves(&server).await
}

async fn account_errors_are_typed(backend: Backend) -> Result<()> {
    let server = TestServer::start(backend).await?;
    let (alice, alice_token) = server.register("alice").await?;

    let c = server.connect().await?;
    ensure!(
        code_of(c.register("alice", "another-password", "d").await)
            == Some(ErrorCode::UsernameTaken)
    );
    ensure!(
        code_of(c.register("ALICE", "another-password", "d").await)
            == Some(ErrorCode::UsernameTaken),
        "usernames are case-insensitive"
    );
    ensure!(
        code_of(c.register("x", "long-enough-pass", "d").await) == Some(ErrorCode::InvalidUsername)
    );
    ensure!(
        code_of(c.register("bad name", "long-enough-pass", "d").await)
            == Some(ErrorCode::InvalidUsername)
    );
    // Look-alikes from other scripts cannot exist: names are ASCII only,
    // so a Cyrillic "а" (U+0430) or a full-width letter is refused.
    for lookalike in [
        "\u{430}lice",
        "\u{ff41}lice",
        "ali\u{0441}e",
        "alice\u{200b}",
    ] {
        let err = c
            .register(lookalike, "long-enough-pass", "d")
            .await
            .unwrap_err();
        ensure!(
            err.code() == Some(ErrorCode::InvalidUsername),
            "{lookalike:?}: {err}"
        );
    }
    ensure!(code_of(c.register("newbie", "short", "d").await) == Some(ErrorCode::WeakPassword));
    ensure!(
        code_of(c.login("alice", "wrong-password", "d").await) == Some(ErrorCode::WrongPassword)
    );
    ensure!(code_of(c.login("nobody", "whatever-pass", "d").await) == Some(ErrorCode::UnknownUser));
    ensure!(code_of(c.authenticate("qct_not-a-real-token").await) == Some(ErrorCode::InvalidToken));
    ensure!(code_of(c.authenticate("garbage").await) == Some(ErrorCode::InvalidToken));
    // Still usable after all those errors.
    c.login("alice", &password_of("alice"), "d").await?;
    ensure!(
        code_of(c.login("alice", &password_of("alice"), "d").await)
            == Some(ErrorCode::UnexpectedFrame),
        "already authenticated"
    );

    // Message errors.
    ensure!(code_of(alice.send_text("nobody", "hi").await) == Some(ErrorCode::UnknownUser));
    ensure!(code_of(alice.send_text("alice", "me").await) == Some(ErrorCode::InvalidArgument));
    ensure!(code_of(alice.send_text("alice", "   ").await) == Some(ErrorCode::InvalidMessage));
    server.register("bob").await?;
    let huge = SendMessage {
        client_id: uuid::Uuid::now_v7(),
        to: Recipient::User("bob".into()),
        body: MessageBody::Text("x".repeat(MAX_TEXT_BYTES + 1)),
    };
    ensure!(code_of(alice.send(huge).await) == Some(ErrorCode::InvalidMessage));
    // The token still works after errors on its connection.
    server.resume(&alice_token).await?.ping().await?;
    assert_server_still_serves(&server).await
}

async fn login_attempts_are_rate_limited(backend: Backend) -> Result<()> {
    let server = TestServer::start_with(backend, |c| {
        c.limits.login_per_user_ip = RateLimit {
            burst: 3,
            per_minute: 1,
        };
        c.limits.login_per_user = RateLimit {
            burst: 6,
            per_minute: 1,
        };
    })
    .await?;
    server.register("alice").await?;
    let c = server.connect().await?;
    for _ in 0..3 {
        ensure!(
            code_of(c.login("alice", "wrong-password", "d").await)
                == Some(ErrorCode::WrongPassword)
        );
    }
    let err = c
        .login("alice", &password_of("alice"), "d")
        .await
        .unwrap_err();
    let ClientError::Server(wire) = &err else {
        anyhow::bail!("expected a server error: {err}")
    };
    ensure!(wire.code == ErrorCode::RateLimited, "{wire:?}");
    ensure!(wire.retry_after_ms.is_some_and(|ms| ms > 1000), "{wire:?}");

    // The owner, on another address, still logs in: the guesser's limit
    // is per (user, IP).
    let from = |ip: &str| {
        let mut config = server.client_config();
        config.local_addr = Some(format!("{ip}:0").parse().unwrap());
        config
    };
    let owner = quichat_client::Client::connect(&from("127.0.0.2")).await?;
    let (session, _) = owner
        .login("alice", &password_of("alice"), "new phone")
        .await?;
    ensure!(session.username == "alice");
    // Many addresses together hit the looser per-user ceiling.
    let mut limited = false;
    for i in 3..12 {
        let c = quichat_client::Client::connect(&from(&format!("127.0.0.{i}"))).await?;
        if code_of(c.login("alice", "wrong-password", "d").await) == Some(ErrorCode::RateLimited) {
            limited = true;
            break;
        }
    }
    ensure!(
        limited,
        "the per-user ceiling must stop guessing from many addresses"
    );
    // Other users are not affected.
    server.register("bob").await?;
    server.login("bob").await?;
    Ok(())
}

/// A burst of registrations runs at most `password_hashes` argon2 hashes
/// at once; beyond the queue they are refused with `rate_limited` at once
/// instead of piling up memory.
async fn password_hashing_is_bounded(backend: Backend) -> Result<()> {
    let server = TestServer::start_with(backend, |c| {
        c.limits.password_hashes = 2;
        c.limits.password_queue = 4;
        c.limits.auth_per_ip = RateLimit {
            burst: 1000,
            per_minute: 1000,
        };
    })
    .await?;
    let mut clients = Vec::new();
    for _ in 0..40 {
        clients.push(server.connect().await?);
    }
    let results = futures::future::join_all(clients.iter().enumerate().map(|(i, c)| {
        let name = format!("user{i}");
        async move { c.register(&name, &password_of(&name), "d").await }
    }))
    .await;
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(e) if e.code() == Some(ErrorCode::RateLimited)))
        .count();
    let ok = results.iter().filter(|r| r.is_ok()).count();
    ensure!(refused > 0, "a burst of 40 must overflow a queue of 4");
    ensure!(
        ok + refused == 40,
        "only successes and rate_limited: {results:?}"
    );
    let peak = server
        .handle
        .as_ref()
        .unwrap()
        .state()
        .accounts
        .hashing_peak();
    ensure!(peak <= 2, "{peak} hashes ran at once");
    assert_server_still_serves(&server).await
}

/// A media stream whose request never completes is refused after the
/// first-frame timeout (it used to hold its partial frame forever); the
/// connection stays up.
async fn half_sent_media_requests_time_out(backend: Backend) -> Result<()> {
    let server = TestServer::start_with(backend, |c| {
        c.limits.first_frame_timeout_ms = 300;
    })
    .await?;
    let (_alice, token) = server.register("alice").await?;
    let conn = raw_connect(&server).await?;
    let (mut send, mut recv) = hello(&conn).await?;
    let auth = ClientControl {
        req_id: 2,
        request: session::Request::Authenticate { token }.into(),
    };
    send.write_all(&encode(&auth)?).await?;
    let ServerControl::Response { result: Ok(_), .. } =
        read_frame::<ServerControl>(&mut recv).await?
    else {
        anyhow::bail!("authentication failed")
    };
    let (mut media_send, mut media_recv) = conn.open_bi().await?;
    media_send
        .write_all(&encode(&StreamHeader {
            kind: StreamKind::Media,
        })?)
        .await?;
    // A frame announcing 1 MiB, of which a few bytes arrive.
    media_send.write_all(&[0, 16, 0, 0, 1, 2, 3]).await?;
    let started = std::time::Instant::now();
    let ServerMedia::Error(err) = read_frame::<ServerMedia>(&mut media_recv).await? else {
        anyhow::bail!("expected an error frame")
    };
    ensure!(
        err.code == ErrorCode::BadFrame && err.message.contains("no media request"),
        "{err:?}"
    );
    ensure!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    // The connection itself is fine.
    let ping = ClientControl {
        req_id: 3,
        request: session::Request::Ping.into(),
    };
    send.write_all(&encode(&ping)?).await?;
    ensure!(matches!(
        read_frame::<ServerControl>(&mut recv).await?,
        ServerControl::Response {
            req_id: 3,
            result: Ok(_)
        }
    ));
    Ok(())
}

/// A huge unknown username is answered with a short error, not echoed.
/// Before authentication a 900 KB login does not even fit a frame (the
/// pre-authentication budget); one that fits is answered briefly.
async fn huge_names_are_not_echoed(backend: Backend) -> Result<()> {
    let server = TestServer::start(backend).await?;
    let huge = "a".repeat(900_001);
    let c = server.connect().await?;
    let err = c.login(&huge, "whatever-password", "x").await.unwrap_err();
    ensure!(err.code() == Some(ErrorCode::FrameTooLarge), "{err}");
    ensure!(err.to_string().len() < 200, "{err}");
    let c = server.connect().await?;
    let err = c
        .login(&"a".repeat(15_000), "whatever-password", "x")
        .await
        .unwrap_err();
    ensure!(err.code() == Some(ErrorCode::UnknownUser), "{err}");
    ensure!(
        err.to_string().len() < 200,
        "error of {} bytes",
        err.to_string().len()
    );
    let (alice, _) = server.register("alice").await?;
    let err = alice.send_text(&huge, "hi").await.unwrap_err();
    ensure!(err.code() == Some(ErrorCode::UnknownUser), "{err}");
    ensure!(
        err.to_string().len() < 200,
        "error of {} bytes",
        err.to_string().len()
    );
    Ok(())
}

async fn revoked_and_logged_out_devices_lose_access(backend: Backend) -> Result<()> {
    let server = TestServer::start(backend).await?;
    let (alice1, _) = server.register("alice").await?;
    let (alice2, token2) = server.login("alice").await?;
    let devices = alice1.devices().await?;
    ensure!(devices.len() == 2 && devices.iter().filter(|d| d.current).count() == 1);
    let other = devices.iter().find(|d| !d.current).unwrap().id;
    alice1.revoke_device(other).await?;
    let why = tokio::time::timeout(Duration::from_secs(10), alice2.closed()).await?;
    ensure!(why.to_string().contains("device revoked"), "{why}");
    let c = server.connect().await?;
    ensure!(code_of(c.authenticate(&token2).await) == Some(ErrorCode::InvalidToken));
    ensure!(code_of(alice1.revoke_device(other).await) == Some(ErrorCode::NotFound));
    ensure!(alice1.devices().await?.len() == 1);

    // Logout revokes this device's own token and closes the connection.
    let (alice3, token3) = server.login("alice").await?;
    alice3.logout().await?;
    let c = server.connect().await?;
    ensure!(code_of(c.authenticate(&token3).await) == Some(ErrorCode::InvalidToken));
    Ok(())
}

/// A device that stopped reading (its push queue and stream window are
/// full) is still cut off at once when another device revokes it: the kick
/// closes the connection itself instead of queueing behind the pushes.
async fn revoking_a_stalled_device_closes_its_connection_at_once(backend: Backend) -> Result<()> {
    let server = TestServer::start_with(backend, |c| {
        c.limits.sends_per_user = RateLimit {
            burst: 100_000,
            per_minute: 1_000_000,
        };
    })
    .await?;
    let (alice1, _) = server.register("alice").await?;
    let (_alice2, token2) = server.login("alice").await?;
    let (bob, _) = server.register("bob").await?;

    // The stalled device: authenticates, then never reads again.
    let conn = raw_connect(&server).await?;
    let (mut send, mut recv) = hello(&conn).await?;
    let auth = ClientControl {
        req_id: 2,
        request: session::Request::Authenticate {
            token: token2.clone(),
        }
        .into(),
    };
    send.write_all(&encode(&auth)?).await?;
    let ServerControl::Response { result: Ok(_), .. } =
        read_frame::<ServerControl>(&mut recv).await?
    else {
        anyhow::bail!("authentication failed")
    };
    let stalled_device = alice1
        .devices()
        .await?
        .into_iter()
        .filter(|d| !d.current)
        .map(|d| d.id)
        .max()
        .unwrap();

    // Fill its stream window, writer queue and push queue (1,024) and more.
    let text = "x".repeat(2048);
    let sent = futures::stream::iter(0..2500)
        .map(|_| bob.send_text("alice", &text))
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await;
    ensure!(sent.iter().all(Result::is_ok), "bob's sends failed");

    alice1.revoke_device(stalled_device).await?;
    ensure!(
        close_code(&conn).await? == u64::from(close::LOGGED_OUT),
        "the stalled device's connection must close with the revocation code"
    );
    // Its token is dead for new connections too.
    let c = server.connect().await?;
    ensure!(code_of(c.authenticate(&token2).await) == Some(ErrorCode::InvalidToken));
    Ok(())
}

/// Logging out, or revoking one's own device, closes every other
/// connection of that device too (a `listen` on the same profile).
async fn logout_closes_every_connection_of_the_device(backend: Backend) -> Result<()> {
    let server = TestServer::start(backend).await?;
    let (_alice, _) = server.register("alice").await?;
    let (bob, _) = server.register("bob").await?;

    for how in ["logout", "revoke-self"] {
        let (first, token) = server.login("alice").await?;
        let listener = server.resume(&token).await?;
        let mut feed = listener.subscribe(0).await?;
        bob.send_text("alice", "before").await?;
        quichat_tests::wait_for(&mut feed, |body| {
            matches!(body, EventBody::Message(m) if m.body == MessageBody::Text("before".into()))
        })
        .await?;
        let device = first.session().unwrap().device_id;
        match how {
            "logout" => first.logout().await?,
            _ => first.revoke_device(device).await?,
        }
        let why = tokio::time::timeout(Duration::from_secs(5), listener.closed()).await?;
        ensure!(
            why.to_string().contains("logged out"),
            "{how}: the other connection of the device must close: {why}"
        );
        let why = tokio::time::timeout(Duration::from_secs(5), first.closed()).await?;
        ensure!(why.to_string().contains("logged out"), "{how}: {why}");
        let c = server.connect().await?;
        ensure!(code_of(c.authenticate(&token).await) == Some(ErrorCode::InvalidToken));
    }
    Ok(())
}

/// A password change checks the current password, applies the rules to
/// the new one, and with `sign_out_others` revokes and disconnects every
/// other device at once, keeping this one.
async fn password_change_checks_and_signs_out_other_devices(backend: Backend) -> Result<()> {
    // Room for the nine password checks below, and no refill to speak of.
    let server = TestServer::start_with(backend, |c| {
        c.limits.login_per_user_ip = RateLimit {
            burst: 12,
            per_minute: 1,
        };
    })
    .await?;
    let (alice, alice_token) = server.register("alice").await?;
    let (other, other_token) = server.login("alice").await?;
    let (kept, kept_token) = server.login("alice").await?;
    let pw = password_of("alice");

    ensure!(
        code_of(
            alice
                .change_password("wrong-password", "new-password-1", true)
                .await
        ) == Some(ErrorCode::WrongPassword)
    );
    ensure!(
        code_of(alice.change_password(&pw, "short", true).await) == Some(ErrorCode::WeakPassword)
    );
    // Neither changed anything.
    server.connect().await?.login("alice", &pw, "check").await?;

    // Without signing out, every device stays.
    let signed_out = kept.change_password(&pw, "new-password-1", false).await?;
    ensure!(signed_out == 0);
    ensure!(server
        .connect()
        .await?
        .authenticate(&other_token)
        .await
        .is_ok());
    ensure!(
        code_of(server.connect().await?.login("alice", &pw, "old").await)
            == Some(ErrorCode::WrongPassword)
    );

    let signed_out = alice
        .change_password("new-password-1", "new-password-2", true)
        .await?;
    // `other`, `kept`, and the device of the "check" login.
    ensure!(signed_out == 3, "{signed_out}");
    for (name, client) in [("other", &other), ("kept", &kept)] {
        let why = tokio::time::timeout(Duration::from_secs(5), client.closed()).await?;
        ensure!(why.to_string().contains("logged out"), "{name}: {why}");
    }
    for token in [&other_token, &kept_token] {
        let c = server.connect().await?;
        ensure!(code_of(c.authenticate(token).await) == Some(ErrorCode::InvalidToken));
    }
    // The caller's own device and connection stay.
    alice.ping().await?;
    ensure!(server
        .connect()
        .await?
        .authenticate(&alice_token)
        .await
        .is_ok());
    server
        .connect()
        .await?
        .login("alice", "new-password-2", "after")
        .await?;
    // Password changes share the login limit: guessing through a stolen
    // session is as slow as guessing at the login.
    let mut limited = false;
    for _ in 0..5 {
        match alice
            .change_password("guess-guess", "new-password-3", false)
            .await
        {
            Err(e) if e.code() == Some(ErrorCode::RateLimited) => {
                limited = true;
                break;
            }
            Err(e) if e.code() == Some(ErrorCode::WrongPassword) => {}
            other => anyhow::bail!("unexpected {other:?}"),
        }
    }
    ensure!(limited, "password guesses were never rate-limited");
    Ok(())
}

async fn bad_media_streams_get_typed_errors_and_the_connection_survives(
    backend: Backend,
) -> Result<()> {
    let server = TestServer::start(backend).await?;
    let (alice, _) = server.register("alice").await?;
    // Garbage where the upload/download request should be.
    let (mut send, mut recv) = alice.connection().open_bi().await?;
    send.write_all(&encode(&StreamHeader {
        kind: StreamKind::Media,
    })?)
    .await?;
    send.write_all(&[0, 0, 0, 2, 0xee, 0xff]).await?;
    let ServerMedia::Error(err) = read_frame::<ServerMedia>(&mut recv).await? else {
        anyhow::bail!("expected an error frame")
    };
    ensure!(err.code == ErrorCode::BadFrame, "{err:?}");
    // A proof with no challenge.
    let (mut send, mut recv) = alice.connection().open_bi().await?;
    send.write_all(&encode(&StreamHeader {
        kind: StreamKind::Media,
    })?)
    .await?;
    send.write_all(&encode(&ClientMedia::Proof { digest: [0; 32] })?)
        .await?;
    let ServerMedia::Error(err) = read_frame::<ServerMedia>(&mut recv).await? else {
        anyhow::bail!("expected an error frame")
    };
    ensure!(err.code == ErrorCode::InvalidArgument, "{err:?}");
    // Media streams are per transfer: the connection itself is fine.
    alice.ping().await?;

    // Before authentication, media streams are refused.
    let conn = raw_connect(&server).await?;
    let _control = hello(&conn).await?;
    let (mut send, mut recv) = conn.open_bi().await?;
    send.write_all(&encode(&StreamHeader {
        kind: StreamKind::Media,
    })?)
    .await?;
    let ServerMedia::Error(err) = read_frame::<ServerMedia>(&mut recv).await? else {
        anyhow::bail!("expected an error frame")
    };
    ensure!(err.code == ErrorCode::Unauthenticated, "{err:?}");
    Ok(())
}

/// Waits until the server counts `n` open connections from 127.0.0.1.
async fn wait_open_from_loopback(server: &TestServer, n: u32) -> Result<()> {
    let state = server.handle.as_ref().unwrap().state().clone();
    let ip = server.addr.ip();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while state.admission.open_from(ip) != n {
        ensure!(
            std::time::Instant::now() < deadline,
            "{} connections counted from {ip}, expected {n}",
            state.admission.open_from(ip)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// Connections are capped per address and per user: the connection over
/// the cap gets a readable refusal, and a closed connection frees its
/// place.
async fn connections_are_capped_per_address_and_per_user(backend: Backend) -> Result<()> {
    let server = TestServer::start_with(backend, |c| {
        c.limits.max_connections_per_ip = 3;
        c.limits.max_connections_per_user = 2;
    })
    .await?;
    let (alice, token) = server.register("alice").await?;
    let second = server.resume(&token).await?;
    wait_open_from_loopback(&server, 2).await?;

    // A third connection of alice's is refused at authentication.
    let third = server.connect().await?;
    let err = third.authenticate(&token).await.unwrap_err();
    ensure!(err.code() == Some(ErrorCode::RateLimited), "{err}");
    ensure!(err.to_string().contains("2 open connections"), "{err}");
    third.close().await;
    wait_open_from_loopback(&server, 2).await?;

    // The address holds 3 at most: the fourth is closed with code 7.
    let raw = raw_connect(&server).await?;
    let over = raw_connect(&server).await?;
    ensure!(close_code(&over).await? == u64::from(close::TOO_MANY_CONNECTIONS));
    match over.close_reason() {
        Some(quinn::ConnectionError::ApplicationClosed(a)) => {
            let reason = String::from_utf8_lossy(&a.reason).to_string();
            ensure!(reason.contains("too many connections from"), "{reason}");
        }
        other => anyhow::bail!("unexpected close: {other:?}"),
    }
    drop(over);

    // Closing frees the places again, for both caps.
    raw.close(0u32.into(), b"done");
    second.close().await;
    wait_open_from_loopback(&server, 1).await?;
    let again = server.resume(&token).await?;
    again.ping().await?;
    alice.ping().await?;
    Ok(())
}

/// Before authentication a connection may send only small control frames
/// and open only a couple of streams; both limits rise when it
/// authenticates.
async fn before_authentication_frames_and_streams_are_small(backend: Backend) -> Result<()> {
    let server = TestServer::start(backend).await?;
    let (_alice, token) = server.register("alice").await?;

    // A 100 KiB control frame before authentication is refused at its
    // length prefix.
    let conn = raw_connect(&server).await?;
    let (mut send, mut recv) = hello(&conn).await?;
    send.write_all(&(100u32 * 1024).to_be_bytes()).await?;
    let ServerControl::Error(err) = read_frame::<ServerControl>(&mut recv).await? else {
        anyhow::bail!("expected an error frame")
    };
    ensure!(err.code == ErrorCode::FrameTooLarge, "{err:?}");
    ensure!(close_code(&conn).await? == u64::from(close::FRAME_TOO_LARGE));

    // Two streams at most before authentication: the third cannot open.
    let conn = raw_connect(&server).await?;
    let (mut send, mut recv) = hello(&conn).await?;
    let (_second_send, _second_recv) = conn.open_bi().await?;
    ensure!(
        tokio::time::timeout(Duration::from_millis(500), conn.open_bi())
            .await
            .is_err(),
        "a third stream opened before authentication"
    );
    let auth = ClientControl {
        req_id: 2,
        request: session::Request::Authenticate { token }.into(),
    };
    send.write_all(&encode(&auth)?).await?;
    let ServerControl::Response { result: Ok(_), .. } =
        read_frame::<ServerControl>(&mut recv).await?
    else {
        anyhow::bail!("authentication failed")
    };
    // Authenticated: more streams, and big control frames are read.
    let mut opened = Vec::new();
    for _ in 0..8 {
        opened.push(
            tokio::time::timeout(Duration::from_secs(5), conn.open_bi())
                .await
                .map_err(|_| anyhow::anyhow!("no stream credit after authentication"))??,
        );
    }
    let big = ClientControl {
        req_id: 3,
        request: session::Request::Hello {
            version: PROTOCOL_VERSION,
            client: "x".repeat(100 * 1024),
        }
        .into(),
    };
    send.write_all(&encode(&big)?).await?;
    match read_frame::<ServerControl>(&mut recv).await? {
        ServerControl::Response { req_id: 3, .. } => {}
        other => anyhow::bail!("a big frame after authentication got {other:?}"),
    }
    Ok(())
}

on_both_backends!(
    garbage_frames_get_typed_errors,
    truncated_frame_is_reported,
    oversized_frame_is_refused_before_buffering,
    protocol_misuse_is_refused,
    account_errors_are_typed,
    login_attempts_are_rate_limited,
    revoked_and_logged_out_devices_lose_access,
    huge_names_are_not_echoed,
    password_hashing_is_bounded,
    half_sent_media_requests_time_out,
    revoking_a_stalled_device_closes_its_connection_at_once,
    logout_closes_every_connection_of_the_device,
    password_change_checks_and_signs_out_other_devices,
    bad_media_streams_get_typed_errors_and_the_connection_survives,
    connections_are_capped_per_address_and_per_user,
    before_authentication_frames_and_streams_are_small,
);
