//! Contacts over real connections, on SQLite and PostgreSQL: friend
//! requests through sync and across devices, the authorisation matrix
//! (blocks, other people's requests and categories, the `friends`
//! policy), presence, typing, search and profiles.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use quichat_client::media::UploadSpec;
use quichat_client::proto::event::EventBody;
use quichat_client::proto::social::{ContactsChange, PresenceState, ProfileUpdate, RequestState};
use quichat_client::proto::types::ConversationRef;
use quichat_client::proto::ErrorCode;
use quichat_client::{Client, ClientConfig, ClientError, Notice, Trust};
use quichat_server::config::MessagePolicy;
use quichat_tests::relay::{Impairment, Relay};
use quichat_tests::{on_both_backends, password_of, wait_for, Backend, TestServer};
use tokio::sync::broadcast;

fn code_of<T: std::fmt::Debug>(r: Result<T, ClientError>) -> Option<ErrorCode> {
    match r {
        Err(e) => e.code(),
        Ok(v) => panic!("expected an error, got {v:?}"),
    }
}

/// Makes `a` and `b` friends.
async fn befriend(a: &Client, b: &Client, b_name: &str) -> Result<()> {
    let request = a.send_friend_request(b_name, "").await?;
    b.accept_friend(request.id).await?;
    Ok(())
}

/// The next notice matching `pred`, within `limit`.
async fn notice_within(
    notices: &mut broadcast::Receiver<Notice>,
    limit: Duration,
    mut pred: impl FnMut(&Notice) -> bool,
) -> Result<Notice> {
    tokio::time::timeout(limit, async {
        loop {
            match notices.recv().await {
                Ok(n) if pred(&n) => return Ok(n),
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(e) => return Err(anyhow::anyhow!("notices ended: {e}")),
            }
        }
    })
    .await
    .context("expected notice did not arrive")?
}

/// No notice at all about `who` within `wait`.
async fn no_notice_about(
    notices: &mut broadcast::Receiver<Notice>,
    who: &str,
    wait: Duration,
) -> Result<()> {
    let got = tokio::time::timeout(wait, async {
        loop {
            match notices.recv().await {
                Ok(Notice::Presence(p)) if p.username == who => return Some(p),
                Ok(Notice::Typing(t)) if t.from == who => return None,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => return None,
            }
        }
    })
    .await;
    match got {
        Err(_) => Ok(()),
        Ok(other) => anyhow::bail!("unexpected notice about {who}: {other:?}"),
    }
}

async fn friend_requests_reach_offline_users_and_every_device(backend: Backend) -> Result<()> {
    let server = TestServer::start(backend).await?;
    let (alice1, _) = server.register("alice").await?;
    let (alice2, _) = server.login("alice").await?;
    let (bob, bob_token) = server.register("bob").await?;
    bob.close().await;
    let mut feed1 = alice1.subscribe(0).await?;
    let mut feed2 = alice2.subscribe(0).await?;

    // Bob is offline when the request is sent.
    let sent = alice1
        .send_friend_request("bob", "we met at the lab")
        .await?;
    ensure!(sent.state == RequestState::Pending && sent.from == "alice" && sent.to == "bob");
    // Alice's other device sees her own request.
    wait_for(
        &mut feed2,
        |b| matches!(b, EventBody::FriendRequest(r) if r.id == sent.id),
    )
    .await?;

    // Bob comes back and finds it on sync, note included.
    let bob = server.resume(&bob_token).await?;
    let mut bob_feed = bob.subscribe(0).await?;
    let got = wait_for(&mut bob_feed, |b| matches!(b, EventBody::FriendRequest(_))).await?;
    let EventBody::FriendRequest(request) = got.body else {
        unreachable!()
    };
    ensure!(request.id == sent.id && request.note == "we met at the lab");
    ensure!(request.state == RequestState::Pending);
    let (incoming, outgoing) = bob.friend_requests().await?;
    ensure!(incoming.len() == 1 && outgoing.is_empty());
    // Sending it again returns the same pending request.
    ensure!(alice1.send_friend_request("bob", "again").await?.id == sent.id);

    // The acceptance reaches both of Alice's devices.
    let accepted = bob.accept_friend(sent.id).await?;
    ensure!(accepted.state == RequestState::Accepted);
    for feed in [&mut feed1, &mut feed2] {
        wait_for(feed, |b| {
            matches!(b, EventBody::FriendRequest(r) if r.id == sent.id && r.state == RequestState::Accepted)
        })
        .await?;
    }
    let friends = alice2.friends().await?;
    ensure!(friends.len() == 1 && friends[0].profile.username == "bob");
    ensure!(bob.friends().await?[0].profile.username == "alice");
    ensure!(alice1.friend_requests().await?.1.is_empty());

    // Removing the friend tells both sides.
    bob.remove_friend("alice").await?;
    wait_for(&mut feed1, |b| {
        matches!(b, EventBody::Contacts(ContactsChange::FriendRemoved { username }) if username == "bob")
    })
    .await?;
    ensure!(alice1.friends().await?.is_empty() && bob.friends().await?.is_empty());

    // Declined and cancelled requests reach the other side too.
    let again = alice1.send_friend_request("bob", "").await?;
    bob.decline_friend(again.id).await?;
    wait_for(&mut feed1, |b| {
        matches!(b, EventBody::FriendRequest(r) if r.id == again.id && r.state == RequestState::Declined)
    })
    .await?;
    let third = alice1.send_friend_request("bob", "").await?;
    alice1.cancel_friend_request(third.id).await?;
    wait_for(&mut bob_feed, |b| {
        matches!(b, EventBody::FriendRequest(r) if r.id == third.id && r.state == RequestState::Cancelled)
    })
    .await?;
    Ok(())
}

async fn authorisation_matrix(backend: Backend) -> Result<()> {
    let server = TestServer::start(backend).await?;
    let (alice, _) = server.register("alice").await?;
    let (bob, _) = server.register("bob").await?;
    let (carol, _) = server.register("carol").await?;
    let (eve, _) = server.register("eve").await?;
    befriend(&eve, &bob, "bob").await?;

    // Bob blocks Eve: her message, friend request and view of his
    // presence all fail or show nothing, and she cannot tell why.
    bob.block("eve").await?;
    ensure!(bob.blocked().await? == vec!["eve".to_string()]);
    let err = eve.send_text("bob", "hello?").await.unwrap_err();
    ensure!(err.code() == Some(ErrorCode::CannotDeliver), "{err}");
    ensure!(
        !err.to_string().contains("block"),
        "the error reveals the block: {err}"
    );
    ensure!(code_of(eve.send_friend_request("bob", "").await) == Some(ErrorCode::CannotDeliver));
    let presence = eve.presence().await?;
    ensure!(
        presence.len() == 1
            && presence[0].username == "bob"
            && presence[0].state == PresenceState::Offline { last_seen_ms: None },
        "bob is online but must look offline to eve: {presence:?}"
    );
    ensure!(code_of(eve.typing("bob").await) == Some(ErrorCode::CannotDeliver));
    ensure!(
        bob.history(ConversationRef::Direct("eve".into()), None, 10)
            .await?
            .messages
            .is_empty(),
        "nothing from eve was stored"
    );
    ensure!(bob.friend_requests().await?.0.is_empty());
    // Unblocked, she can write again.
    bob.unblock("eve").await?;
    eve.send_text("bob", "hello again").await?;

    // Carol cannot answer a request addressed to Bob.
    let request = alice.send_friend_request("bob", "").await?;
    ensure!(code_of(carol.accept_friend(request.id).await) == Some(ErrorCode::NotFound));
    ensure!(code_of(carol.decline_friend(request.id).await) == Some(ErrorCode::NotFound));
    ensure!(code_of(bob.cancel_friend_request(request.id).await) == Some(ErrorCode::NotFound));
    let (incoming, _) = bob.friend_requests().await?;
    ensure!(incoming.len() == 1 && incoming[0].state == RequestState::Pending);
    ensure!(carol.friends().await?.is_empty() && alice.friends().await?.is_empty());

    // Carol cannot rename, delete or fill Bob's category.
    let family = bob.create_category("family").await?;
    ensure!(code_of(carol.rename_category(family.id, "mine").await) == Some(ErrorCode::NotFound));
    ensure!(code_of(carol.delete_category(family.id).await) == Some(ErrorCode::NotFound));
    ensure!(code_of(carol.move_friend("bob", Some(family.id)).await) == Some(ErrorCode::NotFound));
    ensure!(bob.categories().await? == vec![family.clone()]);
    // Bob can, and his friend lands in it.
    let kin = bob.rename_category(family.id, "kin").await?;
    bob.move_friend("eve", Some(kin.id)).await?;
    ensure!(bob.friends().await?[0].category == Some(kin.id));
    ensure!(code_of(bob.create_category("kin").await) == Some(ErrorCode::InvalidArgument));
    bob.delete_category(kin.id).await?;
    ensure!(bob.friends().await?[0].category.is_none() && bob.categories().await?.is_empty());
    Ok(())
}

async fn friends_policy_refuses_strangers(backend: Backend) -> Result<()> {
    let server = TestServer::start_with(backend, |c| {
        c.contacts.who_can_message = MessagePolicy::Friends;
    })
    .await?;
    let (alice, _) = server.register("alice").await?;
    let (dave, _) = server.register("dave").await?;
    let err = alice.send_text("dave", "hi stranger").await.unwrap_err();
    ensure!(err.code() == Some(ErrorCode::Forbidden), "{err}");
    ensure!(err.to_string().contains("friend"), "{err}");
    ensure!(
        alice.conversations().await?.is_empty(),
        "nothing was stored"
    );
    ensure!(code_of(alice.typing("dave").await) == Some(ErrorCode::Forbidden));
    befriend(&alice, &dave, "dave").await?;
    alice.send_text("dave", "hi friend").await?;
    Ok(())
}

/// A client that keeps its connection busy enough for a short idle timeout.
async fn connect_via(server: &TestServer, addr: &str, token: &str) -> Result<Client> {
    let mut config = ClientConfig::new(addr, Trust::CaPem(server.ca_pem.clone()));
    config.keep_alive = Duration::from_millis(300);
    let client = Client::connect(&config).await?;
    client.authenticate(token).await?;
    Ok(client)
}

async fn presence_reaches_friends_only_and_a_killed_client_goes_offline(
    backend: Backend,
) -> Result<()> {
    let idle = Duration::from_secs(2);
    let server = TestServer::start_with(backend, |c| {
        c.transport.idle_timeout_secs = idle.as_secs();
    })
    .await?;
    let addr = server.addr.to_string();
    let mut tokens = Vec::new();
    for name in ["alice", "bob", "carol"] {
        let c = Client::connect(&server.client_config()).await?;
        tokens.push(c.register(name, &password_of(name), "phone").await?.1);
        c.close().await;
    }
    let alice = connect_via(&server, &addr, &tokens[0]).await?;
    let carol = connect_via(&server, &addr, &tokens[2]).await?;
    let bob = connect_via(&server, &addr, &tokens[1]).await?;
    befriend(&alice, &bob, "bob").await?;
    bob.close().await;
    let mut alice_notices = alice.notices();
    let mut carol_notices = carol.notices();
    ensure!(
        matches!(
            alice.presence().await?[0].state,
            PresenceState::Offline {
                last_seen_ms: Some(_)
            }
        ),
        "bob was seen before"
    );

    // Bob comes online through a relay: Alice (a friend) hears it, Carol
    // (a stranger) does not.
    let relay = Relay::start(server.addr, Impairment::none()).await?;
    let bob = connect_via(&server, &relay.addr().to_string(), &tokens[1]).await?;
    notice_within(&mut alice_notices, Duration::from_secs(5), |n| {
        matches!(n, Notice::Presence(p) if p.username == "bob" && p.state == PresenceState::Online)
    })
    .await?;
    ensure!(alice.presence().await?[0].state == PresenceState::Online);

    // Bob's phone vanishes (the relay dies, nothing is closed): he is
    // offline once the server's idle timeout passes.
    drop(relay);
    let started = tokio::time::Instant::now();
    let went = notice_within(
        &mut alice_notices,
        idle * 5,
        |n| matches!(n, Notice::Presence(p) if p.username == "bob"),
    )
    .await?;
    let Notice::Presence(p) = went else {
        unreachable!()
    };
    ensure!(
        matches!(
            p.state,
            PresenceState::Offline {
                last_seen_ms: Some(_)
            }
        ),
        "{p:?}"
    );
    ensure!(
        started.elapsed() >= idle / 2,
        "offline before the idle timeout could pass"
    );
    no_notice_about(&mut carol_notices, "bob", Duration::from_millis(300)).await?;
    drop(bob);

    // Hidden presence: friends see "offline, last seen hidden".
    let bob = connect_via(&server, &addr, &tokens[1]).await?;
    notice_within(&mut alice_notices, Duration::from_secs(5), |n| {
        matches!(n, Notice::Presence(p) if p.username == "bob" && p.state == PresenceState::Online)
    })
    .await?;
    bob.set_presence_hidden(true).await?;
    notice_within(&mut alice_notices, Duration::from_secs(5), |n| {
        matches!(n, Notice::Presence(p) if p.username == "bob"
            && p.state == PresenceState::Offline { last_seen_ms: None })
    })
    .await?;
    ensure!(alice.presence().await?[0].state == PresenceState::Offline { last_seen_ms: None });
    Ok(())
}

async fn typing_reaches_the_peer_and_is_never_stored(backend: Backend) -> Result<()> {
    let server = TestServer::start(backend).await?;
    let (alice, _) = server.register("alice").await?;
    let (bob, _) = server.register("bob").await?;
    let (carol, _) = server.register("carol").await?;
    let mut bob_notices = bob.notices();
    let mut carol_notices = carol.notices();
    alice.typing("bob").await?;
    let n = notice_within(
        &mut bob_notices,
        Duration::from_secs(5),
        |n| matches!(n, Notice::Typing(t) if t.from == "alice"),
    )
    .await?;
    let Notice::Typing(t) = n else { unreachable!() };
    ensure!(t.expires_in_ms > 0 && t.conversation_id.is_none());
    no_notice_about(&mut carol_notices, "alice", Duration::from_millis(300)).await?;
    // Never in the log or the history.
    let (events, _) = bob.sync_page(0, 100).await?;
    ensure!(
        events.is_empty(),
        "typing must not be in the event log: {events:?}"
    );
    ensure!(bob
        .history(ConversationRef::Direct("alice".into()), None, 10)
        .await?
        .messages
        .is_empty());
    ensure!(code_of(alice.typing("nobody").await) == Some(ErrorCode::UnknownUser));
    // Rate-limited.
    let mut limited = false;
    for _ in 0..20 {
        if let Err(e) = alice.typing("bob").await {
            ensure!(e.code() == Some(ErrorCode::RateLimited), "{e}");
            limited = true;
            break;
        }
    }
    ensure!(limited, "typing notices must be rate-limited");
    Ok(())
}

async fn search_pages_and_hides_blockers(backend: Backend) -> Result<()> {
    let server = TestServer::start(backend).await?;
    let (searcher, _) = server.register("sam").await?;
    let mut clients = Vec::new();
    for name in ["alba", "albert", "alfred", "alma", "alvin", "bob"] {
        clients.push(server.register(name).await?.0);
    }
    // Alvin blocked the searcher: he is never listed.
    clients[4].block("sam").await?;
    // Bob is found by his display name.
    clients[5]
        .update_profile(ProfileUpdate {
            display_name: Some("Alpha Bob".into()),
            status: None,
            avatar: None,
        })
        .await?;
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let (page, more) = searcher.search_users("AL", after.as_deref(), 2).await?;
        ensure!(page.len() <= 2);
        seen.extend(page.iter().map(|p| p.username.clone()));
        after = page.last().map(|p| p.username.clone());
        if !more {
            break;
        }
    }
    ensure!(
        seen == ["alba", "albert", "alfred", "alma", "bob"],
        "pages: {seen:?}"
    );
    let (found, _) = searcher.search_users("alv", None, 10).await?;
    ensure!(found.is_empty(), "a blocker is hidden: {found:?}");
    ensure!(code_of(searcher.profile("alvin").await) == Some(ErrorCode::UnknownUser));
    // LIKE wildcards are literal.
    ensure!(searcher.search_users("%", None, 10).await?.0.is_empty());
    ensure!(code_of(searcher.search_users("", None, 10).await) == Some(ErrorCode::InvalidArgument));
    Ok(())
}

async fn profile_changes_reach_friends_on_sync(backend: Backend) -> Result<()> {
    let server = TestServer::start(backend).await?;
    let (alice, _) = server.register("alice").await?;
    let (bob, bob_token) = server.register("bob").await?;
    let (eve, _) = server.register("eve").await?;
    befriend(&alice, &bob, "bob").await?;
    befriend(&alice, &eve, "eve").await?;
    alice.block("eve").await?;
    bob.close().await;

    let update = ProfileUpdate {
        display_name: Some("Alice A.".into()),
        status: Some("at the lake".into()),
        avatar: None,
    };
    let profile = alice.update_profile(update).await?;
    ensure!(profile.display_name == "Alice A." && profile.status == "at the lake");

    // An avatar is an uploaded image, visible to others.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("me.png");
    image::RgbImage::from_fn(64, 64, |x, y| image::Rgb([x as u8, y as u8, 7])).save(&path)?;
    let upload = alice
        .upload_file(&path, UploadSpec::to_user("alice"), |_, _| {})
        .await?;
    let with_avatar = alice
        .update_profile(ProfileUpdate {
            display_name: None,
            status: None,
            avatar: Some(Some(upload.media.id)),
        })
        .await?;
    ensure!(with_avatar.avatar.as_ref().map(|a| a.id) == Some(upload.media.id));
    ensure!(
        with_avatar.display_name == "Alice A.",
        "unchanged fields stay"
    );
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, b"not a picture")?;
    let not_image = alice
        .upload_file(&text, UploadSpec::to_user("alice"), |_, _| {})
        .await?;
    let bad = alice
        .update_profile(ProfileUpdate {
            display_name: None,
            status: None,
            avatar: Some(Some(not_image.media.id)),
        })
        .await;
    ensure!(code_of(bad) == Some(ErrorCode::InvalidArgument));
    let long = alice
        .update_profile(ProfileUpdate {
            display_name: Some("x".repeat(65)),
            status: None,
            avatar: None,
        })
        .await;
    ensure!(code_of(long) == Some(ErrorCode::InvalidArgument));

    // Bob, offline meanwhile, sees both changes on sync, and can fetch the
    // avatar.
    let bob = server.resume(&bob_token).await?;
    let mut feed = bob.subscribe(0).await?;
    wait_for(&mut feed, |b| {
        matches!(b, EventBody::ProfileUpdated(p) if p.username == "alice" && p.avatar.is_some())
    })
    .await?;
    let seen = bob.profile("alice").await?;
    ensure!(seen == with_avatar, "{seen:?}");
    let (sha, _) = quichat_tests::download_sha(&bob, upload.media.id).await?;
    ensure!(sha == upload.media.sha256);
    // Eve, blocked, got no profile event and cannot see the profile.
    let (events, _) = eve.sync_page(0, 100).await?;
    ensure!(
        !events
            .iter()
            .any(|e| matches!(e.body, EventBody::ProfileUpdated(_))),
        "a blocked user must not see profile changes"
    );
    ensure!(code_of(eve.profile("alice").await) == Some(ErrorCode::UnknownUser));
    Ok(())
}

on_both_backends!(
    friend_requests_reach_offline_users_and_every_device,
    authorisation_matrix,
    friends_policy_refuses_strangers,
    presence_reaches_friends_only_and_a_killed_client_goes_offline,
    typing_reaches_the_peer_and_is_never_stored,
    search_pages_and_hides_blockers,
    profile_changes_reach_friends_on_sync,
);
