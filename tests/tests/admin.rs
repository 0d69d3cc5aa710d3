//! `quichat-server admin` actions against a running server, on SQLite and
//! PostgreSQL: disabling an account closes its connections (through the
//! kick outbox the serving process polls, as it would from another
//! process) and stops logins until it is enabled again; revoking devices
//! and resetting a password end every session; the listing, queue and
//! storage reports show what is there.

#![allow(clippy::unwrap_used)]

use anyhow::{ensure, Result};
use quichat_client::media::UploadSpec;
use quichat_client::proto::error::close;
use quichat_client::proto::ErrorCode;
use quichat_client::ClientError;
use quichat_server::admin::Admin;
use quichat_tests::{close_code, on_both_backends, password_of, Backend, TestServer};

fn code_of<T: std::fmt::Debug>(r: Result<T, ClientError>) -> Option<ErrorCode> {
    match r {
        Err(e) => e.code(),
        Ok(v) => panic!("expected an error, got {v:?}"),
    }
}

async fn admin_actions_end_sessions_and_report(backend: Backend) -> Result<()> {
    let server = TestServer::start(backend).await?;
    let (alice, token) = server.register("alice").await?;
    let (bob, _) = server.register("bob").await?;
    let admin = Admin::new(server.handle.as_ref().unwrap().state().store.clone());

    // Disable: the live connection closes with code 2, logins stop.
    ensure!(admin.set_disabled("alice", true).await?);
    ensure!(close_code(alice.connection()).await? == u64::from(close::AUTH_FAILED));
    let c = server.connect().await?;
    let err = c
        .login("alice", &password_of("alice"), "x")
        .await
        .unwrap_err();
    ensure!(err.code() == Some(ErrorCode::Forbidden), "{err}");
    ensure!(err.to_string().contains("disabled"), "{err}");
    let c = server.connect().await?;
    ensure!(code_of(c.authenticate(&token).await) == Some(ErrorCode::InvalidToken));
    // A wrong password still says only that.
    let c = server.connect().await?;
    ensure!(
        code_of(c.login("alice", "not-the-password", "x").await) == Some(ErrorCode::WrongPassword)
    );
    let listed = admin.users(Some("ali"), 10).await?;
    ensure!(
        listed.len() == 1 && listed[0].username == "alice" && listed[0].disabled,
        "{listed:?}"
    );
    ensure!(
        !admin.set_disabled("alice", true).await?,
        "already disabled"
    );

    // Enabled again: the old token works again, logins too.
    ensure!(admin.set_disabled("alice", false).await?);
    let alice = server.resume(&token).await?;
    alice.ping().await?;

    // Revoking every device: the connection closes, the token is dead.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("f.bin");
    std::fs::write(&path, vec![3u8; 50_000])?;
    alice
        .upload_file(&path, UploadSpec::to_user("bob"), |_, _| {})
        .await?;
    ensure!(admin.revoke_devices("alice").await? >= 1);
    ensure!(close_code(alice.connection()).await? == u64::from(close::AUTH_FAILED));
    let c = server.connect().await?;
    ensure!(code_of(c.authenticate(&token).await) == Some(ErrorCode::InvalidToken));

    // A new password: the old one fails, the new one logs in.
    let c = server.connect().await?;
    c.login("bob", &password_of("bob"), "second").await?;
    ensure!(
        admin.reset_password("bob", "short").await.is_err(),
        "a weak password"
    );
    ensure!(admin.reset_password("bob", "a-brand-new-password").await? == 2);
    ensure!(close_code(bob.connection()).await? == u64::from(close::AUTH_FAILED));
    let c = server.connect().await?;
    ensure!(
        code_of(c.login("bob", &password_of("bob"), "x").await) == Some(ErrorCode::WrongPassword)
    );
    let c = server.connect().await?;
    c.login("bob", "a-brand-new-password", "x").await?;

    let storage = admin.storage().await?;
    ensure!(
        storage.objects == 1 && storage.bytes == 50_000,
        "{storage:?}"
    );
    ensure!(
        storage.top_users == [("alice".to_string(), 50_000)],
        "{storage:?}"
    );
    let queue = admin.queue().await?;
    ensure!(queue.queued == 0 && queue.failed == 0, "{queue:?}");
    let all = admin.users(None, 10).await?;
    ensure!(all.len() == 2 && all.iter().all(|u| !u.disabled), "{all:?}");
    ensure!(matches!(
        admin.set_disabled("nobody", true).await,
        Err(quichat_server::ServiceError::UnknownUser(_))
    ));
    Ok(())
}

on_both_backends!(admin_actions_end_sessions_and_report);
