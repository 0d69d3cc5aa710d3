//! Operations on sent messages over real connections, on SQLite and
//! PostgreSQL: edit (author only, within the window, every device and
//! participant sees the latest text, also on sync), recall (author within
//! the window, group admins for members at any time; the body, transcript,
//! media reference, media row and stored object are erased — checked in
//! the database and the store), delete for me (the caller's devices
//! only), forwarding (media shared with the new conversation, not with
//! outsiders) and reactions (counts, who, sync order, limits).

#![allow(clippy::unwrap_used)]

use anyhow::{ensure, Result};
use quichat_client::media::UploadSpec;
use quichat_client::proto::event::EventBody;
use quichat_client::proto::group::GroupRole;
use quichat_client::proto::types::{ConversationRef, MessageBody, Recipient, Reply};
use quichat_client::proto::ErrorCode;
use quichat_client::{Client, ClientError};
use quichat_server::media::MediaStore;
use quichat_tests::{
    download_sha, on_both_backends, password_of, speak_wav, wait_for, Backend, TestServer,
};
use sqlx::Row;

fn code_of<T: std::fmt::Debug>(r: Result<T, ClientError>) -> Option<ErrorCode> {
    match r {
        Err(e) => e.code(),
        Ok(v) => panic!("expected an error, got {v:?}"),
    }
}

/// The body of message `seq` in `client`'s history of `conv`, if listed.
async fn body_in_history(
    client: &Client,
    conv: ConversationRef,
    seq: u64,
) -> Result<Option<MessageBody>> {
    let page = client.history(conv, None, 100).await?;
    Ok(page
        .messages
        .into_iter()
        .find(|m| m.seq == seq)
        .map(|m| m.body))
}

/// A second device of `name`, logged in with the password.
async fn second_device(server: &TestServer, name: &str) -> Result<Client> {
    let c = server.connect().await?;
    c.login(name, &password_of(name), "second").await?;
    Ok(c)
}

async fn edits_reach_every_device_and_never_resurrect(backend: Backend) -> Result<()> {
    let server = TestServer::start(backend).await?;
    let (alice, _) = server.register("alice").await?;
    let (bob, _) = server.register("bob").await?;
    let (carol, _) = server.register("carol").await?;
    let mut bob_feed = bob.subscribe(0).await?;
    let ack = alice.send_text("bob", "helo wrld").await?;
    let c = ack.conversation_id;

    let edit = alice.edit_message(c, ack.seq, "hello world").await?;
    ensure!(edit.text == "hello world" && edit.seq == ack.seq);
    let got = wait_for(&mut bob_feed, |b| matches!(b, EventBody::MessageEdited(_))).await?;
    let EventBody::MessageEdited(e) = got.body else {
        unreachable!()
    };
    ensure!(e == edit, "{e:?} vs {edit:?}");
    ensure!(
        body_in_history(&bob, ConversationRef::Direct("alice".into()), ack.seq).await?
            == Some(MessageBody::Edited {
                text: "hello world".into(),
                edited_at_ms: edit.edited_at_ms
            })
    );

    // A device that syncs afterwards never sees the old text: the message
    // event reads the row as it is now, then the edit follows in order.
    let bob2 = second_device(&server, "bob").await?;
    let (events, _) = bob2.sync_page(0, 100).await?;
    let mine: Vec<&EventBody> = events
        .iter()
        .map(|e| &e.body)
        .filter(|b| {
            matches!(b, EventBody::Message(m) if m.seq == ack.seq)
                || matches!(b, EventBody::MessageEdited(_))
        })
        .collect();
    ensure!(mine.len() == 2, "{mine:?}");
    ensure!(
        matches!(mine[0], EventBody::Message(m) if matches!(&m.body, MessageBody::Edited { text, .. } if text == "hello world")),
        "{mine:?}"
    );
    ensure!(matches!(mine[1], EventBody::MessageEdited(e) if e.text == "hello world"));
    ensure!(
        !format!("{events:?}").contains("helo wrld"),
        "old text on sync"
    );

    // Only the author edits; outsiders do not even see the message.
    ensure!(code_of(bob.edit_message(c, ack.seq, "mine now").await) == Some(ErrorCode::Forbidden));
    ensure!(code_of(carol.edit_message(c, ack.seq, "x").await) == Some(ErrorCode::NotFound));
    ensure!(code_of(alice.edit_message(c, ack.seq + 5, "x").await) == Some(ErrorCode::NotFound));
    ensure!(
        code_of(alice.edit_message(c, ack.seq, "   ").await) == Some(ErrorCode::InvalidMessage)
    );
    ensure!(
        body_in_history(&bob, ConversationRef::Direct("alice".into()), ack.seq).await?
            == Some(MessageBody::Edited {
                text: "hello world".into(),
                edited_at_ms: edit.edited_at_ms
            }),
        "a refused edit changed the message"
    );
    Ok(())
}

async fn windows_are_enforced(backend: Backend) -> Result<()> {
    let server = TestServer::start_with(backend, |c| {
        c.messages.edit_window_secs = 0;
        c.messages.recall_window_secs = 0;
    })
    .await?;
    let (alice, _) = server.register("alice").await?;
    server.register("bob").await?;
    let ack = alice.send_text("bob", "too late to change").await?;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let err = alice
        .edit_message(ack.conversation_id, ack.seq, "changed")
        .await
        .unwrap_err();
    ensure!(err.code() == Some(ErrorCode::Forbidden), "{err}");
    ensure!(err.to_string().contains("after sending"), "{err}");
    let err = alice
        .recall_message(ack.conversation_id, ack.seq)
        .await
        .unwrap_err();
    ensure!(err.code() == Some(ErrorCode::Forbidden), "{err}");
    ensure!(
        body_in_history(&alice, ConversationRef::Direct("bob".into()), ack.seq).await?
            == Some(MessageBody::Text("too late to change".into()))
    );
    Ok(())
}

async fn recall_erases_the_content(backend: Backend) -> Result<()> {
    let server = TestServer::start(backend).await?;
    let (alice, _) = server.register("alice").await?;
    let (bob, _) = server.register("bob").await?;
    let mut bob_feed = bob.subscribe(0).await?;
    let dir = tempfile::tempdir()?;
    let wav = dir.path().join("note.wav");
    speak_wav("Please call me back when you get home tonight.", &wav)?;
    // No model in this server: the transcript stays pending, so its row
    // and its job exist until the recall.
    let (ack, outcome) = alice
        .send_voice("bob", &wav, "a caption", |_, _| {})
        .await?;
    let state = server.handle.as_ref().unwrap().state().clone();
    let pool = state.store.pool();
    let media_id = outcome.media.id.to_string();
    let sha = hex::encode(outcome.media.sha256);
    let key = MediaStore::object_key(&sha);
    ensure!(state.media_store.size_of(&key).await?.is_some());
    let count = |sql: &'static str, arg: String| async move {
        let row = sqlx::query(sql).bind(arg).fetch_one(pool).await?;
        anyhow::Ok(row.try_get::<i64, _>("n")?)
    };
    let message_id: i64 =
        sqlx::query("SELECT id FROM messages WHERE conversation_id = $1 AND seq = $2")
            .bind(ack.conversation_id)
            .bind(ack.seq as i64)
            .fetch_one(pool)
            .await?
            .try_get("id")?;
    ensure!(
        count(
            "SELECT COUNT(*) AS n FROM transcripts WHERE message_id = CAST($1 AS BIGINT)",
            message_id.to_string()
        )
        .await?
            == 1
    );

    let recall = alice.recall_message(ack.conversation_id, ack.seq).await?;
    ensure!(recall.by == "alice" && recall.seq == ack.seq);
    let got = wait_for(&mut bob_feed, |b| {
        matches!(b, EventBody::MessageRecalled(_))
    })
    .await?;
    ensure!(got.body == EventBody::MessageRecalled(recall.clone()));
    ensure!(
        body_in_history(&bob, ConversationRef::Direct("alice".into()), ack.seq).await?
            == Some(MessageBody::Recalled {
                by: "alice".into(),
                at_ms: recall.at_ms
            })
    );

    // The row itself: no body, no media, no transcript, no job.
    let row = sqlx::query("SELECT kind, body, media_id, recalled_at FROM messages WHERE id = $1")
        .bind(message_id)
        .fetch_one(pool)
        .await?;
    ensure!(row.try_get::<String, _>("kind")? == "recalled");
    ensure!(row.try_get::<String, _>("body")?.is_empty());
    ensure!(row.try_get::<Option<String>, _>("media_id")?.is_none());
    ensure!(row.try_get::<Option<i64>, _>("recalled_at")?.is_some());
    for sql in [
        "SELECT COUNT(*) AS n FROM transcripts WHERE message_id = CAST($1 AS BIGINT)",
        "SELECT COUNT(*) AS n FROM transcription_jobs WHERE message_id = CAST($1 AS BIGINT)",
    ] {
        ensure!(count(sql, message_id.to_string()).await? == 0, "{sql}");
    }
    // Nothing references the media any more: its row, its content row and
    // the stored object are gone, and nobody can download it.
    ensure!(
        count(
            "SELECT COUNT(*) AS n FROM media WHERE id = $1",
            media_id.clone()
        )
        .await?
            == 0
    );
    ensure!(
        count(
            "SELECT COUNT(*) AS n FROM media_objects WHERE sha256 = $1",
            sha.clone()
        )
        .await?
            == 0
    );
    ensure!(state.media_store.size_of(&key).await?.is_none());
    ensure!(code_of(bob.media_info(outcome.media.id).await) == Some(ErrorCode::NotFound));

    // A device syncing now sees the placeholder, never the caption.
    let bob2 = second_device(&server, "bob").await?;
    let (events, _) = bob2.sync_page(0, 100).await?;
    ensure!(
        !format!("{events:?}").contains("a caption"),
        "content on sync"
    );
    ensure!(events
        .iter()
        .any(|e| e.body == EventBody::MessageRecalled(recall.clone())));
    ensure!(
        code_of(alice.recall_message(ack.conversation_id, ack.seq).await)
            == Some(ErrorCode::InvalidArgument)
    );
    ensure!(
        code_of(alice.edit_message(ack.conversation_id, ack.seq, "x").await)
            == Some(ErrorCode::InvalidArgument)
    );
    Ok(())
}

async fn group_admins_recall_members_messages(backend: Backend) -> Result<()> {
    let server = TestServer::start_with(backend, |c| c.messages.recall_window_secs = 0).await?;
    let (alice, _) = server.register("alice").await?;
    let (bob, _) = server.register("bob").await?;
    let (carol, _) = server.register("carol").await?;
    let g = alice
        .create_group("team", "", &["bob".into(), "carol".into()])
        .await?
        .id;
    alice.set_group_role(g, "bob", GroupRole::Admin).await?;
    let to = Recipient::Group(g);
    let from_carol = carol.send_text(&to, "member's message").await?;
    let from_bob = bob.send_text(&to, "admin's message").await?;
    let from_alice = alice.send_text(&to, "owner's message").await?;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;

    // Past the (zero) window: authors cannot, a member cannot recall others'.
    ensure!(code_of(carol.recall_message(g, from_carol.seq).await) == Some(ErrorCode::Forbidden));
    ensure!(code_of(carol.recall_message(g, from_bob.seq).await) == Some(ErrorCode::Forbidden));
    // An admin recalls a member's message at any time, not the owner's.
    let r = bob.recall_message(g, from_carol.seq).await?;
    ensure!(r.by == "bob");
    ensure!(code_of(bob.recall_message(g, from_alice.seq).await) == Some(ErrorCode::Forbidden));
    // The owner recalls an admin's.
    alice.recall_message(g, from_bob.seq).await?;
    for member in [&alice, &bob, &carol] {
        for (seq, by) in [(from_carol.seq, "bob"), (from_bob.seq, "alice")] {
            ensure!(
                matches!(
                    body_in_history(member, ConversationRef::Id(g), seq).await?,
                    Some(MessageBody::Recalled { by: b, .. }) if b == by
                ),
                "seq {seq}"
            );
        }
        ensure!(
            body_in_history(member, ConversationRef::Id(g), from_alice.seq).await?
                == Some(MessageBody::Text("owner's message".into()))
        );
    }
    // Group notices stay.
    let notice_seq = 1;
    ensure!(code_of(alice.recall_message(g, notice_seq).await) == Some(ErrorCode::Forbidden));
    Ok(())
}

async fn delete_for_me_hides_on_my_devices_only(backend: Backend) -> Result<()> {
    let server = TestServer::start(backend).await?;
    let (alice, _) = server.register("alice").await?;
    let (bob, _) = server.register("bob").await?;
    let bob2 = second_device(&server, "bob").await?;
    let mut bob2_feed = bob2.subscribe(0).await?;
    let first = alice.send_text("bob", "one").await?;
    let second = alice.send_text("bob", "two").await?;
    let c = first.conversation_id;

    let place = bob.delete_for_me(c, first.seq).await?;
    ensure!(place.seq == first.seq && place.conversation_id == c);
    let got = wait_for(&mut bob2_feed, |b| matches!(b, EventBody::MessageHidden(_))).await?;
    ensure!(got.body == EventBody::MessageHidden(place));
    for device in [&bob, &bob2] {
        let page = device.history(ConversationRef::Id(c), None, 100).await?;
        let seqs: Vec<u64> = page.messages.iter().map(|m| m.seq).collect();
        ensure!(seqs == [second.seq], "{seqs:?}");
    }
    // Alice still has both.
    let page = alice.history(ConversationRef::Id(c), None, 100).await?;
    ensure!(page.messages.len() == 2);
    // Again: the same answer, no new event.
    let before = bob.sync_page(0, 500).await?.0.len();
    bob.delete_for_me(c, first.seq).await?;
    ensure!(bob.sync_page(0, 500).await?.0.len() == before);
    // Later changes to the hidden message do not reach bob: an edit, a
    // reaction and a recall write nothing to his log (alice still gets
    // them).
    let alice_before = alice.sync_page(0, 500).await?.0.len();
    alice.edit_message(c, first.seq, "one, edited").await?;
    alice.react(c, first.seq, "👍", true).await?;
    alice.recall_message(c, first.seq).await?;
    ensure!(
        bob.sync_page(0, 500).await?.0.len() == before,
        "bob got events for a hidden message"
    );
    ensure!(alice.sync_page(0, 500).await?.0.len() == alice_before + 3);
    // Not a participant: not found.
    let (carol, _) = server.register("carol").await?;
    ensure!(code_of(carol.delete_for_me(c, first.seq).await) == Some(ErrorCode::NotFound));
    // The conversation list leaves hidden messages out of the unread
    // count and the latest message.
    let entry = |list: Vec<quichat_client::proto::types::ConversationEntry>| {
        list.into_iter()
            .find(|e| e.summary.id == c)
            .unwrap()
            .summary
    };
    let bobs = entry(bob.conversation_overview().await?);
    ensure!(bobs.unread == 1, "{bobs:?}");
    ensure!(bobs.last_message.as_ref().map(|m| m.seq) == Some(second.seq));
    bob.delete_for_me(c, second.seq).await?;
    let bobs = entry(bob.conversation_overview().await?);
    ensure!(bobs.unread == 0 && bobs.last_message.is_none(), "{bobs:?}");
    let alices = entry(alice.conversation_overview().await?);
    ensure!(alices.last_message.as_ref().map(|m| m.seq) == Some(second.seq));
    Ok(())
}

async fn forwarded_media_follows_the_new_conversation(backend: Backend) -> Result<()> {
    let server = TestServer::start(backend).await?;
    let (alice, _) = server.register("alice").await?;
    let (bob, _) = server.register("bob").await?;
    let (carol, _) = server.register("carol").await?;
    let (dave, _) = server.register("dave").await?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("report.bin");
    std::fs::write(
        &path,
        (0..200_000u32)
            .map(|i| (i * 7 % 251) as u8)
            .collect::<Vec<_>>(),
    )?;
    let up = alice
        .upload_file(&path, UploadSpec::to_user("bob"), |_, _| {})
        .await?;
    let sent = alice
        .send_media("bob", up.media.clone(), "the report")
        .await?;
    ensure!(code_of(carol.media_info(up.media.id).await) == Some(ErrorCode::NotFound));

    // Bob forwards it to carol: no upload, and carol may download it.
    let id = uuid::Uuid::now_v7();
    let fwd = bob
        .forward_with_id(sent.conversation_id, sent.seq, "carol", id)
        .await?;
    ensure!(!fwd.duplicate);
    let again = bob
        .forward_with_id(sent.conversation_id, sent.seq, "carol", id)
        .await?;
    ensure!(
        again.duplicate && again.seq == fwd.seq,
        "a retried forward is stored once"
    );
    let (sha, n) = download_sha(&carol, up.media.id).await?;
    ensure!(sha == up.media.sha256 && n == 200_000);
    let copy = body_in_history(&carol, ConversationRef::Direct("bob".into()), fwd.seq).await?;
    ensure!(
        matches!(&copy, Some(MessageBody::Media { media, caption }) if media.id == up.media.id && caption == "the report"),
        "{copy:?}"
    );
    // Still not for outsiders, nor forwardable by them.
    ensure!(code_of(dave.media_info(up.media.id).await) == Some(ErrorCode::NotFound));
    ensure!(
        code_of(dave.forward(sent.conversation_id, sent.seq, "carol").await)
            == Some(ErrorCode::NotFound)
    );
    // The original recalled: the forwarded copy keeps the media alive.
    alice.recall_message(sent.conversation_id, sent.seq).await?;
    let (sha, _) = download_sha(&carol, up.media.id).await?;
    ensure!(sha == up.media.sha256);
    ensure!(code_of(dave.media_info(up.media.id).await) == Some(ErrorCode::NotFound));
    ensure!(
        code_of(bob.forward(sent.conversation_id, sent.seq, "carol").await)
            == Some(ErrorCode::InvalidArgument)
    );
    // Text forwards too, into a group.
    let text = alice.send_text("bob", "see you at 5").await?;
    let g = bob.create_group("pals", "", &["carol".into()]).await?.id;
    let f = bob
        .forward(text.conversation_id, text.seq, Recipient::Group(g))
        .await?;
    ensure!(
        body_in_history(&carol, ConversationRef::Id(g), f.seq).await?
            == Some(MessageBody::Text("see you at 5".into()))
    );
    Ok(())
}

async fn reactions_are_counted_and_synced(backend: Backend) -> Result<()> {
    let server = TestServer::start(backend).await?;
    let (alice, _) = server.register("alice").await?;
    let (bob, _) = server.register("bob").await?;
    let (carol, _) = server.register("carol").await?;
    let (dave, _) = server.register("dave").await?;
    let g = alice
        .create_group("team", "", &["bob".into(), "carol".into()])
        .await?
        .id;
    let mut alice_feed = alice.subscribe(0).await?;
    let m = alice.send_text(Recipient::Group(g), "lunch?").await?;

    bob.react(g, m.seq, "👍", true).await?;
    let got = wait_for(&mut alice_feed, |b| matches!(b, EventBody::Reaction(_))).await?;
    let EventBody::Reaction(r) = got.body else {
        unreachable!()
    };
    ensure!(r.user == "bob" && r.emoji == "👍" && r.added && r.count == 1 && r.seq == m.seq);
    carol.react(g, m.seq, "👍", true).await?;
    carol.react(g, m.seq, "❤️", true).await?;
    // The same reaction twice is one.
    let now = carol.react(g, m.seq, "❤️", true).await?;
    ensure!(now.reactions.len() == 2, "{now:?}");
    let all = alice.reactions(g, m.seq).await?;
    ensure!(all.reactions[0].emoji == "👍" && all.reactions[0].count == 2);
    ensure!(all.reactions[0].users == ["bob", "carol"], "{all:?}");
    ensure!(all.reactions[1].emoji == "❤️" && all.reactions[1].count == 1);
    let after = bob.react(g, m.seq, "👍", false).await?;
    ensure!(after
        .reactions
        .iter()
        .any(|r| r.emoji == "👍" && r.count == 1 && r.users == ["carol"]));

    // An offline device of alice's gets every change, in order, on sync.
    let alice2 = second_device(&server, "alice").await?;
    let (events, _) = alice2.sync_page(0, 200).await?;
    let changes: Vec<(String, String, bool, u32)> = events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Reaction(r) => Some((r.user.clone(), r.emoji.clone(), r.added, r.count)),
            _ => None,
        })
        .collect();
    ensure!(
        changes
            == [
                ("bob".into(), "👍".into(), true, 1),
                ("carol".into(), "👍".into(), true, 2),
                ("carol".into(), "❤️".into(), true, 1),
                ("bob".into(), "👍".into(), false, 1),
            ],
        "{changes:?}"
    );

    // Not an emoji, outsiders, and the per-user cap.
    for bad in ["", "ab", "👍👍", " ", "x"] {
        ensure!(
            code_of(bob.react(g, m.seq, bad, true).await) == Some(ErrorCode::InvalidArgument),
            "{bad:?} accepted"
        );
    }
    ensure!(code_of(dave.react(g, m.seq, "👍", true).await) == Some(ErrorCode::NotFound));
    ensure!(code_of(dave.reactions(g, m.seq).await) == Some(ErrorCode::NotFound));
    for i in 0..20u32 {
        let e = char::from_u32(0x1F600 + i).unwrap().to_string();
        bob.react(g, m.seq, &e, true).await?;
    }
    let e = char::from_u32(0x1F600 + 20).unwrap().to_string();
    ensure!(code_of(bob.react(g, m.seq, &e, true).await) == Some(ErrorCode::TooLarge));
    // A recall takes the reactions with it.
    alice.recall_message(g, m.seq).await?;
    ensure!(code_of(bob.react(g, m.seq, "👍", true).await) == Some(ErrorCode::InvalidArgument));
    ensure!(alice.reactions(g, m.seq).await?.reactions.is_empty());
    Ok(())
}

fn reply_of(body: Option<MessageBody>) -> Result<Reply> {
    match body {
        Some(MessageBody::Reply(r)) => Ok(*r),
        other => anyhow::bail!("expected a reply, got {other:?}"),
    }
}

async fn replies_quote_and_survive_a_recall(backend: Backend) -> Result<()> {
    let server = TestServer::start(backend).await?;
    let (alice, _) = server.register("alice").await?;
    let (bob, _) = server.register("bob").await?;
    let (carol, _) = server.register("carol").await?;
    let mut alice_feed = alice.subscribe(0).await?;
    let q = alice.send_text("bob", "lunch at noon?").await?;
    let c = q.conversation_id;
    let r = bob.send_reply("alice", q.seq, "yes, see you").await?;
    let live = wait_for(
        &mut alice_feed,
        |b| matches!(b, EventBody::Message(m) if m.seq == r.seq),
    )
    .await?;
    let EventBody::Message(m) = live.body else {
        unreachable!()
    };
    let reply = reply_of(Some(m.body))?;
    ensure!(reply.to_seq == q.seq && reply.text == "yes, see you");
    ensure!(
        reply.quote.sender == "alice"
            && reply.quote.kind == "text"
            && reply.quote.snippet == "lunch at noon?"
            && !reply.quote.recalled,
        "{reply:?}"
    );
    // History shows the same, and an edit of the reply keeps its quote.
    bob.edit_message(c, r.seq, "yes, see you there").await?;
    let reply = reply_of(body_in_history(&alice, ConversationRef::Id(c), r.seq).await?)?;
    ensure!(reply.text == "yes, see you there" && reply.edited_at_ms.is_some());
    ensure!(reply.quote.snippet == "lunch at noon?");

    // The original recalled: the reply stays, its quote says so and shows
    // nothing of the original any more.
    alice.recall_message(c, q.seq).await?;
    for viewer in [&alice, &bob] {
        let reply = reply_of(body_in_history(viewer, ConversationRef::Id(c), r.seq).await?)?;
        ensure!(
            reply.quote.recalled && reply.quote.snippet.is_empty(),
            "{reply:?}"
        );
        ensure!(reply.text == "yes, see you there");
    }
    let bob2 = second_device(&server, "bob").await?;
    let (events, _) = bob2.sync_page(0, 100).await?;
    ensure!(
        !format!("{events:?}").contains("lunch at noon"),
        "quote survives on sync"
    );

    // Only messages the sender can see: not a missing seq, not another
    // conversation's, not from before joining a group.
    ensure!(code_of(bob.send_reply("alice", 99, "?").await) == Some(ErrorCode::NotFound));
    let g = alice.create_group("g", "", &["bob".into()]).await?.id;
    let early = alice.send_text(Recipient::Group(g), "before carol").await?;
    alice.add_to_group(g, &["carol".into()]).await?;
    ensure!(
        code_of(carol.send_reply(Recipient::Group(g), early.seq, "hm").await)
            == Some(ErrorCode::NotFound)
    );
    let later = alice.send_text(Recipient::Group(g), "after carol").await?;
    let ok = carol
        .send_reply(Recipient::Group(g), later.seq, "hi")
        .await?;
    let reply = reply_of(body_in_history(&bob, ConversationRef::Id(g), ok.seq).await?)?;
    ensure!(reply.quote.snippet == "after carol" && reply.quote.sender == "alice");
    ensure!(
        code_of(bob.send_reply("alice", 0, "").await) == Some(ErrorCode::InvalidMessage)
            || code_of(bob.send_reply("alice", 0, "x").await) == Some(ErrorCode::NotFound)
    );
    Ok(())
}

on_both_backends!(
    replies_quote_and_survive_a_recall,
    forwarded_media_follows_the_new_conversation,
    reactions_are_counted_and_synced,
    edits_reach_every_device_and_never_resurrect,
    windows_are_enforced,
    recall_erases_the_content,
    group_admins_recall_members_messages,
    delete_for_me_hides_on_my_devices_only,
);
