//! Groups over real connections, on SQLite and PostgreSQL: lifecycle and
//! system notices, fan-out to online and offline members, per-member
//! receipts and `whoread`, invite codes, history from the join on, and the
//! authorisation matrix (outsiders, members acting as admins, ex-members,
//! revoked invites, the size limit, media after leaving).

#![allow(clippy::unwrap_used)]

use anyhow::{ensure, Result};
use quichat_client::media::UploadSpec;
use quichat_client::proto::event::EventBody;
use quichat_client::proto::group::{GroupNotice, GroupRole};
use quichat_client::proto::types::{ConversationRef, MessageBody, ReceiptKind, Recipient};
use quichat_client::proto::ErrorCode;
use quichat_client::ClientError;
use quichat_tests::{on_both_backends, wait_for, Backend, TestServer};

fn code_of<T: std::fmt::Debug>(r: Result<T, ClientError>) -> Option<ErrorCode> {
    match r {
        Err(e) => e.code(),
        Ok(v) => panic!("expected an error, got {v:?}"),
    }
}

fn text_of(body: &EventBody) -> Option<&str> {
    match body {
        EventBody::Message(m) => match &m.body {
            MessageBody::Text(t) => Some(t),
            _ => None,
        },
        _ => None,
    }
}

async fn fanout_receipts_invites_and_history(backend: Backend) -> Result<()> {
    let server = TestServer::start(backend).await?;
    let (alice, _) = server.register("alice").await?;
    let (bob, _) = server.register("bob").await?;
    let (carol, _) = server.register("carol").await?;
    let (dave, _) = server.register("dave").await?;
    let group = alice
        .create_group("family", "us", &["bob".into(), "carol".into()])
        .await?;
    ensure!(group.member_count == 3 && group.my_role == GroupRole::Owner);
    ensure!(group.owner == "alice" && group.name == "family");
    let g = group.id;

    // Bob online gets it live; Carol, offline, finds it on sync.
    let mut bob_feed = bob.subscribe(0).await?;
    let ack = alice.send_text(Recipient::Group(g), "hi all").await?;
    let got = wait_for(&mut bob_feed, |b| text_of(b) == Some("hi all")).await?;
    match &got.body {
        EventBody::Message(m) => ensure!(m.to == Recipient::Group(g) && m.sender == "alice"),
        _ => unreachable!(),
    }
    let (events, _) = carol.sync_page(0, 100).await?;
    let bodies: Vec<&MessageBody> = events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Message(m) if m.conversation_id == g => Some(&m.body),
            _ => None,
        })
        .collect();
    ensure!(
        matches!(bodies.first(), Some(MessageBody::System(GroupNotice::Created { name, .. })) if name == "family"),
        "{bodies:?}"
    );
    ensure!(
        matches!(bodies.get(1), Some(MessageBody::System(GroupNotice::Added { members, .. })) if members.len() == 2)
    );
    ensure!(matches!(bodies.get(2), Some(MessageBody::Text(t)) if t == "hi all"));

    // Per-member receipts: Bob reads, Carol has nothing yet.
    bob.mark_read(g, ack.seq).await?;
    let who = alice.who_read(g, ack.seq).await?;
    ensure!(who.read == ["bob"] && who.waiting == ["carol"], "{who:?}");
    carol.delivered(g, ack.seq).await?;
    let who = alice.who_read(g, ack.seq).await?;
    ensure!(who.delivered == ["carol"], "{who:?}");
    ensure!(
        code_of(bob.who_read(g, ack.seq).await) == Some(ErrorCode::Forbidden),
        "only the sender asks whoread"
    );
    // A read reaches the author, not the other members.
    let (bob_events, _) = bob.sync_page(0, 200).await?;
    ensure!(
        !bob_events.iter().any(
            |e| matches!(&e.body, EventBody::Receipt(r) if r.by == "carol" && r.kind == ReceiptKind::Delivered)
        ),
        "bob wrote nothing Carol received, so he gets no receipt"
    );
    let (alice_events, _) = alice.sync_page(0, 200).await?;
    ensure!(alice_events.iter().any(
        |e| matches!(&e.body, EventBody::Receipt(r) if r.by == "carol" && r.conversation_id == g)
    ));

    // The conversation list names the group and counts unread messages
    // (system notices aside).
    let carol_list = carol.conversation_overview().await?;
    let entry = carol_list.iter().find(|e| e.summary.id == g).unwrap();
    ensure!(entry.group.as_ref().map(|b| b.name.as_str()) == Some("family"));
    ensure!(entry.summary.unread == 1, "{entry:?}");
    ensure!(entry.summary.peer == Recipient::Group(g));

    // Dave joins with a one-use code and sees history from his join on.
    let invite = alice.create_invite(g, Some(3600), Some(1)).await?;
    let code = invite.code.clone().unwrap();
    let joined = dave.join_group(&code).await?;
    ensure!(joined.member_count == 4 && joined.my_role == GroupRole::Member);
    let page = dave.history(ConversationRef::Id(g), None, 50).await?;
    ensure!(
        page.messages.iter().all(|m| m.seq > ack.seq),
        "a new member must not see earlier history: {:?}",
        page.messages
    );
    ensure!(page
        .messages
        .iter()
        .any(|m| matches!(&m.body, MessageBody::System(GroupNotice::Joined { username }) if username == "dave")));
    let (eve, _) = server.register("eve").await?;
    ensure!(code_of(eve.join_group(&code).await) == Some(ErrorCode::InvalidInvite));
    ensure!(code_of(eve.join_group("nonsense").await) == Some(ErrorCode::InvalidInvite));
    Ok(())
}

async fn authorisation_matrix(backend: Backend) -> Result<()> {
    let server = TestServer::start_with(backend, |c| c.groups.max_members = 4).await?;
    let (alice, _) = server.register("alice").await?;
    let (bob, _) = server.register("bob").await?;
    let (carol, _) = server.register("carol").await?;
    let (dave, _) = server.register("dave").await?;
    let (eve, _) = server.register("eve").await?;
    let g = alice
        .create_group("team", "", &["bob".into(), "carol".into()])
        .await?
        .id;
    let ack = alice.send_text(Recipient::Group(g), "plans").await?;

    // Outsiders see nothing and post nothing.
    ensure!(code_of(dave.send_text(Recipient::Group(g), "x").await) == Some(ErrorCode::NotFound));
    ensure!(
        code_of(dave.history(ConversationRef::Id(g), None, 10).await) == Some(ErrorCode::NotFound)
    );
    ensure!(code_of(dave.group_info(g).await) == Some(ErrorCode::NotFound));
    ensure!(code_of(dave.mark_read(g, 1).await) == Some(ErrorCode::NotFound));
    ensure!(code_of(dave.join_group("not-a-code").await) == Some(ErrorCode::InvalidInvite));

    // Members may not act as admins.
    ensure!(code_of(bob.remove_from_group(g, "carol").await) == Some(ErrorCode::Forbidden));
    ensure!(code_of(bob.rename_group(g, "mine").await) == Some(ErrorCode::Forbidden));
    ensure!(code_of(bob.announce(g, "hello").await) == Some(ErrorCode::Forbidden));
    ensure!(code_of(bob.add_to_group(g, &["dave".into()]).await) == Some(ErrorCode::Forbidden));
    ensure!(code_of(bob.dissolve_group(g).await) == Some(ErrorCode::Forbidden));
    ensure!(alice.group_info(g).await?.name == "team", "nothing changed");

    // Media in the group: members download it, outsiders do not.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("plan.txt");
    std::fs::write(&path, b"the plan, in full")?;
    let up = alice
        .upload_file(&path, UploadSpec::to(&Recipient::Group(g)), |_, _| {})
        .await?;
    alice
        .send_media(Recipient::Group(g), up.media.clone(), "")
        .await?;
    quichat_tests::download_sha(&carol, up.media.id).await?;
    ensure!(quichat_tests::download_sha(&dave, up.media.id)
        .await
        .is_err());

    // Admins remove members but not other admins or the owner.
    alice.set_group_role(g, "bob", GroupRole::Admin).await?;
    ensure!(code_of(bob.remove_from_group(g, "alice").await) == Some(ErrorCode::Forbidden));
    bob.remove_from_group(g, "carol").await?;
    // The ex-member sees nothing any more: history, posting, media.
    ensure!(
        code_of(carol.history(ConversationRef::Id(g), None, 10).await) == Some(ErrorCode::NotFound)
    );
    ensure!(code_of(carol.send_text(Recipient::Group(g), "x").await) == Some(ErrorCode::NotFound));
    ensure!(quichat_tests::download_sha(&carol, up.media.id)
        .await
        .is_err());
    ensure!(code_of(carol.who_read(g, ack.seq).await) == Some(ErrorCode::NotFound));

    // A revoked invite does not work.
    let invite = bob.create_invite(g, None, None).await?;
    bob.revoke_invite(g, invite.id).await?;
    ensure!(
        code_of(dave.join_group(invite.code.as_deref().unwrap()).await)
            == Some(ErrorCode::InvalidInvite)
    );
    ensure!(alice.invites(g).await?.is_empty());

    // The size limit (4 here): two join, the third is refused.
    alice
        .add_to_group(g, &["carol".into(), "dave".into()])
        .await?;
    let full = alice.add_to_group(g, &["eve".into()]).await;
    ensure!(code_of(full) == Some(ErrorCode::GroupFull));
    ensure!(alice.group_info(g).await?.member_count == 4);

    // The owner leaves: the oldest admin owns it.
    alice.leave_group(g).await?;
    let info = bob.group_info(g).await?;
    ensure!(info.owner == "bob" && info.my_role == GroupRole::Owner && info.member_count == 3);
    ensure!(code_of(alice.group_info(g).await) == Some(ErrorCode::NotFound));

    // Dissolved: history stays, nothing new can be posted.
    bob.dissolve_group(g).await?;
    ensure!(code_of(carol.send_text(Recipient::Group(g), "x").await) == Some(ErrorCode::Forbidden));
    ensure!(carol.group_info(g).await?.dissolved);
    ensure!(!carol
        .history(ConversationRef::Id(g), None, 50)
        .await?
        .messages
        .is_empty());
    let _ = eve;
    Ok(())
}

on_both_backends!(fanout_receipts_invites_and_history, authorisation_matrix);
