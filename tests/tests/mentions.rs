//! @mentions in groups, on SQLite and PostgreSQL: a mentioned member gets
//! a mention event right after the message, live and on sync; `@all`
//! counts only from owners and admins; non-members, the author and
//! direct chats get none; unread mentions last until the conversation is
//! read past them, and a recalled message's mention is gone.

#![allow(clippy::unwrap_used)]

use anyhow::{ensure, Result};
use quichat_client::proto::event::{Event, EventBody};
use quichat_client::proto::group::GroupRole;
use quichat_client::proto::types::{Mention, Recipient};
use quichat_client::Client;
use quichat_tests::{on_both_backends, wait_for, Backend, TestServer};

/// The mention events in `client`'s log after `after`, with their seqs.
async fn mentions_after(client: &Client, after: u64) -> Result<Vec<(u64, Mention)>> {
    let (events, _) = client.sync_page(after, 500).await?;
    Ok(events
        .into_iter()
        .filter_map(|Event { seq, body }| match body {
            EventBody::Mention(m) => Some((seq, m)),
            _ => None,
        })
        .collect())
}

async fn mentions_reach_the_mentioned_members(backend: Backend) -> Result<()> {
    let server = TestServer::start(backend).await?;
    let (alice, _) = server.register("alice").await?;
    let (bob, _) = server.register("bob").await?;
    let (carol, _) = server.register("carol").await?;
    let (dave, _) = server.register("dave").await?;
    let (eve, _) = server.register("eve").await?;
    let group = alice
        .create_group("team", "", &["bob".into(), "carol".into(), "dave".into()])
        .await?
        .id;
    alice.set_group_role(group, "bob", GroupRole::Admin).await?;
    let mut dave_feed = dave.subscribe(0).await?;

    // By name: members only, never the author, case-insensitive; an
    // e-mail address mentions nobody.
    let ack = carol
        .send_text(
            Recipient::Group(group),
            "hi @bob, @eve and @Dave; mail carol@example.org",
        )
        .await?;
    let live = wait_for(&mut dave_feed, |b| matches!(b, EventBody::Mention(_))).await?;
    let EventBody::Mention(m) = &live.body else {
        unreachable!()
    };
    ensure!(
        *m == Mention {
            conversation_id: group,
            seq: ack.seq,
            by: "carol".into(),
            all: false
        },
        "{m:?}"
    );
    // Right after the message in dave's log.
    let (events, _) = dave.sync_page(live.seq - 2, 1).await?;
    ensure!(
        matches!(&events[0].body, EventBody::Message(msg) if msg.seq == ack.seq),
        "{events:?}"
    );
    let bob_got = mentions_after(&bob, 0).await?;
    ensure!(
        bob_got.len() == 1 && bob_got[0].1.seq == ack.seq,
        "{bob_got:?}"
    );
    for (name, c) in [("alice", &alice), ("carol", &carol), ("eve", &eve)] {
        ensure!(
            mentions_after(c, 0).await?.is_empty(),
            "{name} was mentioned"
        );
    }

    // @all from a member is plain text; from an admin it reaches everyone
    // else.
    carol
        .send_text(Recipient::Group(group), "@all lunch?")
        .await?;
    let all = bob
        .send_text(Recipient::Group(group), "@all meeting at 3")
        .await?;
    let dave_now = mentions_after(&dave, 0).await?;
    ensure!(
        dave_now.len() == 2 && dave_now[1].1.seq == all.seq && dave_now[1].1.all,
        "{dave_now:?}"
    );
    for c in [&alice, &carol] {
        let got = mentions_after(c, 0).await?;
        ensure!(
            got.len() == 1 && got[0].1.all && got[0].1.by == "bob",
            "{got:?}"
        );
    }
    ensure!(mentions_after(&bob, 0).await?.len() == 1, "bob's own @all");

    // In a direct chat, @name means nothing.
    alice.send_text("dave", "hey @dave").await?;
    ensure!(mentions_after(&dave, 0).await?.len() == 2);

    // Unread mentions until read; a recalled message's mention is gone.
    let unread = dave.mentions().await?;
    ensure!(
        unread.iter().map(|m| m.seq).collect::<Vec<_>>() == [ack.seq, all.seq],
        "{unread:?}"
    );
    dave.mark_read(group, ack.seq).await?;
    ensure!(
        dave.mentions()
            .await?
            .iter()
            .map(|m| m.seq)
            .collect::<Vec<_>>()
            == [all.seq]
    );
    let again = carol.send_text(Recipient::Group(group), "@dave?").await?;
    ensure!(dave.mentions().await?.len() == 2);
    carol.recall_message(group, again.seq).await?;
    ensure!(
        dave.mentions()
            .await?
            .iter()
            .map(|m| m.seq)
            .collect::<Vec<_>>()
            == [all.seq]
    );
    dave.mark_read(group, again.seq).await?;
    ensure!(dave.mentions().await?.is_empty());
    Ok(())
}

on_both_backends!(mentions_reach_the_mentioned_members);
