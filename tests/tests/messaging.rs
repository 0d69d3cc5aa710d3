//! Durable 1:1 messaging with receipts, offline sync and multi-device, on
//! SQLite and PostgreSQL, over real QUIC on loopback.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use anyhow::{ensure, Result};
use quichat_client::proto::event::EventBody;
use quichat_client::proto::types::{
    ConversationRef, MessageBody, ReceiptKind, Recipient, SendMessage,
};
use quichat_tests::{assert_quiet, next_event, on_both_backends, wait_for, Backend, TestServer};
use uuid::Uuid;

fn text(body: &EventBody) -> Option<&str> {
    match body {
        EventBody::Message(m) => match &m.body {
            MessageBody::Text(t) => Some(t.as_str()),
            _ => None,
        },
        _ => None,
    }
}

fn receipt(kind: ReceiptKind, up_to: u64) -> impl FnMut(&EventBody) -> bool {
    move |b| matches!(b, EventBody::Receipt(r) if r.kind == kind && r.up_to_seq >= up_to)
}

async fn send_ack_delivered_read(backend: Backend) -> Result<()> {
    let server = TestServer::start(backend).await?;
    let (alice, _) = server.register("alice").await?;
    let (bob, _) = server.register("bob").await?;
    let mut alice_feed = alice.subscribe(0).await?;
    let mut bob_feed = bob.subscribe(0).await?;

    let ack = alice.send_text("bob", "hello bob").await?;
    ensure!(
        ack.seq == 1 && !ack.duplicate,
        "first message gets seq 1: {ack:?}"
    );

    // Bob's device receives it; its client acks delivery automatically.
    let got = next_event(&mut bob_feed).await?;
    ensure!(text(&got.body) == Some("hello bob"), "bob got {got:?}");
    // Alice sees her own message (multi-device log), then the delivered receipt.
    let own = next_event(&mut alice_feed).await?;
    ensure!(text(&own.body) == Some("hello bob"));
    let delivered = wait_for(&mut alice_feed, receipt(ReceiptKind::Delivered, 1)).await?;
    let EventBody::Receipt(r) = &delivered.body else {
        unreachable!()
    };
    ensure!(r.by == "bob" && r.conversation_id == ack.conversation_id);

    bob.mark_read(ack.conversation_id, ack.seq).await?;
    let read = wait_for(&mut alice_feed, receipt(ReceiptKind::Read, 1)).await?;
    let EventBody::Receipt(r) = &read.body else {
        unreachable!()
    };
    ensure!(r.by == "bob" && r.up_to_seq == 1);
    Ok(())
}

async fn offline_recipient_catches_up_in_order(backend: Backend) -> Result<()> {
    let server = TestServer::start(backend).await?;
    let (alice, _) = server.register("alice").await?;
    let (bob, bob_token) = server.register("bob").await?;
    bob.close().await;
    let mut alice_feed = alice.subscribe(0).await?;

    for i in 0..25 {
        alice.send_text("bob", &format!("msg {i}")).await?;
    }
    // Bob comes back on the same device and syncs from scratch.
    let bob = server.resume(&bob_token).await?;
    let mut bob_feed = bob.subscribe(0).await?;
    for i in 0..25 {
        let e = next_event(&mut bob_feed).await?;
        ensure!(
            text(&e.body) == Some(format!("msg {i}").as_str()),
            "out of order at {i}: {e:?}"
        );
    }
    assert_quiet(&mut bob_feed, Duration::from_millis(300)).await?;
    // Bob's device acked delivery; the receipt reaches alice.
    wait_for(&mut alice_feed, receipt(ReceiptKind::Delivered, 25)).await?;
    Ok(())
}

async fn receipts_reach_an_offline_sender_on_return(backend: Backend) -> Result<()> {
    let server = TestServer::start(backend).await?;
    let (alice, alice_token) = server.register("alice").await?;
    let (bob, _) = server.register("bob").await?;
    let ack = alice.send_text("bob", "are you there?").await?;
    // Alice has seen her own message event; remember her cursor, go offline.
    let mut feed = alice.subscribe(0).await?;
    let own = next_event(&mut feed).await?;
    alice.close().await;

    let mut bob_feed = bob.subscribe(0).await?;
    next_event(&mut bob_feed).await?;
    bob.mark_read(ack.conversation_id, ack.seq).await?;

    let alice = server.resume(&alice_token).await?;
    let mut feed = alice.subscribe(own.seq).await?;
    let e = wait_for(&mut feed, receipt(ReceiptKind::Read, 1)).await?;
    ensure!(e.seq > own.seq);
    Ok(())
}

async fn multi_device_sync(backend: Backend) -> Result<()> {
    let server = TestServer::start(backend).await?;
    let (alice1, _) = server.register("alice").await?;
    let (alice2, _) = server.login("alice").await?;
    let (bob1, _) = server.register("bob").await?;
    let (bob2, _) = server.login("bob").await?;
    let mut a2 = alice2.subscribe(0).await?;
    let mut b2 = bob2.subscribe(0).await?;

    let ack = alice1.send_text("bob", "from my phone").await?;
    // Alice's other device sees the sent message.
    let e = next_event(&mut a2).await?;
    let EventBody::Message(m) = &e.body else {
        anyhow::bail!("expected message, got {e:?}")
    };
    ensure!(m.sender == "alice" && m.to == Recipient::User("bob".into()) && m.seq == ack.seq);
    // Bob reads on device 1; device 2 sees the read position.
    ensure!(text(&next_event(&mut b2).await?.body) == Some("from my phone"));
    bob1.mark_read(ack.conversation_id, ack.seq).await?;
    let e = wait_for(&mut b2, |b| matches!(b, EventBody::ReadPosition(_))).await?;
    let EventBody::ReadPosition(p) = e.body else {
        unreachable!()
    };
    ensure!(p.conversation_id == ack.conversation_id && p.up_to_seq == ack.seq);
    // Unread count on bob's conversation list reflects the read position.
    let convs = bob2.conversations().await?;
    ensure!(
        convs.len() == 1 && convs[0].unread == 0 && convs[0].read_seq == 1,
        "{convs:?}"
    );
    Ok(())
}

async fn resend_with_same_client_id_is_not_duplicated(backend: Backend) -> Result<()> {
    let server = TestServer::start(backend).await?;
    let (alice, _) = server.register("alice").await?;
    let (bob, _) = server.register("bob").await?;
    let msg = SendMessage {
        client_id: Uuid::now_v7(),
        to: Recipient::User("bob".into()),
        body: MessageBody::Text("only once".into()),
    };
    let first = alice.send(msg.clone()).await?;
    let second = alice.send(msg.clone()).await?;
    ensure!(!first.duplicate && second.duplicate);
    ensure!(first.message_id == second.message_id && first.seq == second.seq);
    // Even from another connection (a retry after reconnecting).
    let (alice2, _) = server.login("alice").await?;
    let third = alice2.send(msg).await?;
    ensure!(third.duplicate && third.message_id == first.message_id);

    let page = bob
        .history(ConversationRef::Direct("alice".into()), None, 50)
        .await?;
    ensure!(page.messages.len() == 1, "stored once: {:?}", page.messages);
    let mut feed = bob.subscribe(0).await?;
    ensure!(text(&next_event(&mut feed).await?.body) == Some("only once"));
    assert_quiet(&mut feed, Duration::from_millis(300)).await?;
    Ok(())
}

async fn history_pages_and_conversation_list(backend: Backend) -> Result<()> {
    let server = TestServer::start(backend).await?;
    let (alice, _) = server.register("alice").await?;
    let (bob, _) = server.register("bob").await?;
    let (_carol, _) = server.register("carol").await?;
    for i in 1..=12 {
        alice.send_text("bob", &format!("m{i}")).await?;
    }
    bob.send_text("alice", "reply").await?;
    alice.send_text("carol", "hi carol").await?;

    let first = bob
        .history(ConversationRef::Direct("alice".into()), None, 5)
        .await?;
    let seqs: Vec<u64> = first.messages.iter().map(|m| m.seq).collect();
    ensure!(
        seqs == vec![13, 12, 11, 10, 9] && first.has_more,
        "{seqs:?}"
    );
    let second = bob
        .history(ConversationRef::Direct("alice".into()), Some(9), 100)
        .await?;
    let seqs: Vec<u64> = second.messages.iter().map(|m| m.seq).collect();
    ensure!(
        seqs == (1..=8).rev().collect::<Vec<_>>() && !second.has_more,
        "{seqs:?}"
    );

    let convs = bob.conversations().await?;
    ensure!(
        convs.len() == 1 && convs[0].unread == 12 && convs[0].last_seq == 13,
        "{convs:?}"
    );
    let convs = alice.conversations().await?;
    ensure!(convs.len() == 2, "{convs:?}");
    ensure!(
        convs[0].peer == Recipient::User("carol".into()),
        "most recent first: {convs:?}"
    );
    ensure!(
        convs[1].unread == 1,
        "bob's reply is unread for alice: {convs:?}"
    );

    // Carol cannot read alice and bob's conversation by id.
    let carol = server.login("carol").await?.0;
    let id = convs[1].id;
    let err = carol
        .history(ConversationRef::Id(id), None, 10)
        .await
        .unwrap_err();
    ensure!(
        err.code() == Some(quichat_client::proto::ErrorCode::NotFound),
        "{err}"
    );
    let err = carol.mark_read(id, 5).await.unwrap_err();
    ensure!(
        err.code() == Some(quichat_client::proto::ErrorCode::NotFound),
        "{err}"
    );
    Ok(())
}

async fn acked_messages_survive_restart(backend: Backend) -> Result<()> {
    let mut server = TestServer::start(backend).await?;
    let (alice, alice_token) = server.register("alice").await?;
    let (_bob, bob_token) = server.register("bob").await?;
    let mut acked = Vec::new();
    for i in 0..20 {
        acked.push(alice.send_text("bob", &format!("durable {i}")).await?);
    }
    server.restart().await?;
    // Old tokens still work; history and sync have every acked message.
    let bob = server.resume(&bob_token).await?;
    let page = bob
        .history(ConversationRef::Direct("alice".into()), None, 100)
        .await?;
    ensure!(page.messages.len() == 20);
    let mut feed = bob.subscribe(0).await?;
    for ack in &acked {
        let e = next_event(&mut feed).await?;
        let EventBody::Message(m) = e.body else {
            anyhow::bail!("expected message")
        };
        ensure!(m.client_id == ack.client_id && m.seq == ack.seq);
    }
    let alice = server.resume(&alice_token).await?;
    let next = alice.send_text("bob", "after restart").await?;
    ensure!(next.seq == 21, "sequence continues: {next:?}");
    Ok(())
}

async fn burst_of_sends_from_two_senders_keeps_dense_sequences(backend: Backend) -> Result<()> {
    let server = TestServer::start(backend).await?;
    let (alice, _) = server.register("alice").await?;
    let (bob, _) = server.register("bob").await?;
    let (carol, _) = server.register("carol").await?;
    let mut feed = bob.subscribe(0).await?;
    let a = tokio::spawn({
        let alice = alice.clone();
        async move {
            for i in 0..30 {
                alice.send_text("bob", &format!("a{i}")).await?;
            }
            anyhow::Ok(())
        }
    });
    let c = tokio::spawn({
        let carol = carol.clone();
        async move {
            for i in 0..30 {
                carol.send_text("bob", &format!("c{i}")).await?;
            }
            anyhow::Ok(())
        }
    });
    a.await??;
    c.await??;
    let (mut from_a, mut from_c) = (0, 0);
    let mut last_seq = 0;
    for _ in 0..60 {
        let e = next_event(&mut feed).await?;
        ensure!(e.seq == last_seq + 1, "event seqs are dense");
        last_seq = e.seq;
        match text(&e.body) {
            Some(t) if t.starts_with('a') => {
                ensure!(t == format!("a{from_a}"), "alice's order kept");
                from_a += 1;
            }
            Some(t) => {
                ensure!(t == format!("c{from_c}"), "carol's order kept");
                from_c += 1;
            }
            None => anyhow::bail!("unexpected {e:?}"),
        }
    }
    ensure!(from_a == 30 && from_c == 30);
    Ok(())
}

on_both_backends!(
    send_ack_delivered_read,
    offline_recipient_catches_up_in_order,
    receipts_reach_an_offline_sender_on_return,
    multi_device_sync,
    resend_with_same_client_id_is_not_duplicated,
    history_pages_and_conversation_list,
    acked_messages_survive_restart,
    burst_of_sends_from_two_senders_keeps_dense_sequences,
);
