//! End-to-end tests of the `quichat` binary against a real server started
//! in this process (SQLite in a temporary directory, port 0).
//!
//! Each user gets its own `QUICHAT_HOME`; every child process and every
//! wait has a timeout so that a bug fails a test instead of hanging it.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::time::timeout;

use common::*;

fn is_message(v: &Value, text: &str) -> bool {
    v["type"] == "message" && v["text"] == text
}

fn is_receipt(v: &Value, kind: &str) -> bool {
    v["type"] == "receipt" && v["kind"] == kind
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_users_chat_with_receipts() {
    let server = TestServer::start().await;
    let alice = server.user("alice");
    let bob = server.user("bob");
    let a = alice.register().await;
    let b = bob.register().await;
    assert_ne!(a["user_id"], b["user_id"]);

    let ack = alice.ok(&["send", "bob", "hi"]).await;
    assert_eq!(ack.len(), 1);
    let ack = &ack[0];
    assert_eq!(ack["type"], "ack");
    assert_eq!(ack["to"], "bob");
    assert_eq!(ack["seq"], 1);
    assert_eq!(ack["duplicate"], false);
    assert!(ack["sent_at"].as_str().unwrap().ends_with('Z'));
    let conversation = ack["conversation_id"].clone();

    let mut listen = alice.listen(&[]).await;
    // Alice's own message is in her feed too.
    let own = listen
        .wait_for("alice's message", |v| is_message(v, "hi"))
        .await;
    assert_eq!(own["from"], "alice");
    assert!(own["event_seq"].as_u64().unwrap() > 0);

    let chats = bob.ok(&["chats"]).await;
    assert_eq!(chats.len(), 1);
    assert_eq!(chats[0]["type"], "chat");
    assert_eq!(chats[0]["peer"], "alice");
    assert_eq!(chats[0]["unread"], 1);
    assert_eq!(chats[0]["last_message"]["text"], "hi");

    let history = bob.ok(&["history", "alice"]).await;
    assert_eq!(history.len(), 1, "{history:?}");
    let m = &history[0];
    assert_eq!(m["type"], "message");
    assert_eq!(m["from"], "alice");
    assert_eq!(m["to"], "bob");
    assert_eq!(m["text"], "hi");
    assert_eq!(m["kind"], "text");
    assert_eq!(m["seq"], 1);
    assert_eq!(m["conversation_id"], conversation);
    assert_eq!(m["client_id"], ack["client_id"]);

    let delivered = listen
        .wait_for("a delivered receipt", |v| is_receipt(v, "delivered"))
        .await;
    assert_eq!(delivered["by"], "bob");
    assert_eq!(delivered["up_to_seq"], 1);
    assert_eq!(delivered["conversation_id"], conversation);

    let read = bob.ok(&["read", "alice"]).await;
    assert_eq!(read.len(), 1);
    assert_eq!(read[0]["type"], "read");
    assert_eq!(read[0]["up_to_seq"], 1);
    assert_eq!(read[0]["conversation_id"], conversation);

    let receipt = listen
        .wait_for("a read receipt", |v| is_receipt(v, "read"))
        .await;
    assert_eq!(receipt["by"], "bob");
    assert_eq!(receipt["up_to_seq"], 1);

    let chats = bob.ok(&["chats"]).await;
    assert_eq!(chats[0]["unread"], 0);
    assert_eq!(chats[0]["read_seq"], 1);

    // A reply, and several words joined with spaces.
    let reply = bob.ok(&["send", "alice", "hello", "there"]).await;
    assert_eq!(reply[0]["seq"], 2);
    let got = listen
        .wait_for("bob's reply", |v| is_message(v, "hello there"))
        .await;
    assert_eq!(got["from"], "bob");

    listen.stop().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_have_codes() {
    let server = TestServer::start().await;
    let alice = server.user("alice");
    alice.register().await;

    let mallory = server.user("mallory");
    let wrong = mallory
        .run(
            &["login", "alice", "--password-stdin"],
            Some("not-the-password\n"),
        )
        .await;
    let err = wrong.error();
    assert_eq!(err["code"], "wrong_password");
    assert!(!err["message"].as_str().unwrap().is_empty());

    let unknown = mallory
        .run(
            &["login", "nosuchuser", "--password-stdin"],
            Some("whatever-pw\n"),
        )
        .await;
    assert_eq!(unknown.error()["code"], "unknown_user");

    assert_eq!(
        alice.fails(&["send", "nosuchuser", "x"]).await["code"],
        "unknown_user"
    );

    // Taken username and weak password.
    let taken = mallory
        .run(
            &["register", "alice", "--password-stdin"],
            Some("long-enough-pw\n"),
        )
        .await;
    assert_eq!(taken.error()["code"], "username_taken");
    let weak = mallory
        .run(
            &["register", "mallory", "--password-stdin"],
            Some("short\n"),
        )
        .await;
    assert_eq!(weak.error()["code"], "weak_password");

    // Nothing was saved for mallory, so there is no session.
    let err = mallory.fails(&["whoami"]).await;
    assert_eq!(err["code"], "not_logged_in");
    assert!(err["message"]
        .as_str()
        .unwrap()
        .contains("run `quichat login USER`"));

    // Without --ca, --pin, a saved anchor or ./quichat-data/certs/ca.pem
    // the CLI refuses to connect.
    let bare = mallory.bare_command(&[
        "--server",
        &server.addr,
        "--json",
        "login",
        "alice",
        "--password-stdin",
    ]);
    let run = User::run_command(bare, Some("x\n")).await;
    let err = run.error();
    assert_eq!(err["code"], "no_trust_anchor");
    assert!(err["message"]
        .as_str()
        .unwrap()
        .contains("pass --ca PATH or --pin FINGERPRINT"));

    // A wrong pin fails the handshake.
    let pinned = mallory.bare_command(&[
        "--server",
        &server.addr,
        "--pin",
        &"ab".repeat(32),
        "--json",
        "login",
        "alice",
        "--password-stdin",
    ]);
    let run = User::run_command(pinned, Some(&format!("{}\n", password_of("alice")))).await;
    assert_eq!(run.error()["code"], "connect");

    // The right pin works and is saved in the profile.
    let pinned = mallory.bare_command(&[
        "--server",
        &server.addr,
        "--pin",
        server.handle.fingerprint(),
        "--json",
        "login",
        "alice",
        "--password-stdin",
    ]);
    let run = User::run_command(pinned, Some(&format!("{}\n", password_of("alice")))).await;
    assert!(run.success(), "{run:?}");
    let who = User::run_command(mallory.bare_command(&["--json", "whoami"]), None).await;
    assert!(who.success(), "{who:?}");
    assert_eq!(who.lines[0]["username"], "alice");

    // Usage errors exit with 2.
    let usage = alice.run(&["history"], None).await;
    assert_eq!(usage.output.status.code(), Some(2), "{usage:?}");
    assert_eq!(usage.lines[0]["code"], "usage");
    assert!(usage.lines[0]["message"]
        .as_str()
        .unwrap()
        .contains("<USER|#GROUP>"));
    let bad_profile = alice.run(&["--profile", "../x", "whoami"], None).await;
    assert_eq!(bad_profile.error()["code"], "invalid_profile");

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_resumes_from_its_cursor() {
    let server = TestServer::start().await;
    let alice = server.user("alice");
    let bob = server.user("bob");
    alice.register().await;
    bob.register().await;

    bob.ok(&["send", "alice", "one"]).await;
    let mut listen = alice.listen(&[]).await;
    let first = listen.next().await.unwrap();
    assert!(is_message(&first, "one"), "{first}");
    let first_seq = first["event_seq"].as_u64().unwrap();
    assert!(listen.stop().await.is_empty());

    let profile = alice.profile_text("default");
    assert!(
        profile.contains(&format!("cursor = {first_seq}")),
        "{profile}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let path = alice.home().join("profiles/default.toml");
        let mode = std::fs::metadata(path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    bob.ok(&["send", "alice", "two"]).await;
    bob.ok(&["send", "alice", "three"]).await;

    let mut listen = alice.listen(&[]).await;
    let two = listen.next().await.unwrap();
    assert!(is_message(&two, "two"), "{two}");
    let three = listen.next().await.unwrap();
    assert!(is_message(&three, "three"), "{three}");
    assert!(three["event_seq"].as_u64().unwrap() > two["event_seq"].as_u64().unwrap());
    assert!(two["event_seq"].as_u64().unwrap() > first_seq);
    // While listening, a new message arrives live.
    bob.ok(&["send", "alice", "four"]).await;
    let four = listen.next().await.unwrap();
    assert!(is_message(&four, "four"), "{four}");
    assert!(listen.stop().await.is_empty());

    // Nothing new: a third run prints nothing.
    let mut listen = alice.listen(&[]).await;
    listen.assert_quiet(Duration::from_millis(800)).await;
    assert!(listen.stop().await.is_empty());

    // --from-start prints everything again, in order.
    let mut listen = alice.listen(&["--from-start"]).await;
    for text in ["one", "two", "three", "four"] {
        let v = listen.next().await.unwrap();
        assert!(is_message(&v, text), "expected {text}: {v}");
    }
    listen.stop().await;

    // The listener delivered the messages: bob got receipts.
    let mut bob_listen = bob.listen(&[]).await;
    let receipt = bob_listen
        .wait_for("a delivered receipt up to #4", |v| {
            is_receipt(v, "delivered") && v["up_to_seq"] == 4
        })
        .await;
    assert_eq!(receipt["by"], "alice");
    bob_listen.stop().await;

    server.stop().await;
}

/// `listen` survives a server restart: it reconnects by itself, resumes
/// from its cursor and prints what it missed, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_survives_a_server_restart() {
    let server = TestServer::start().await;
    let alice = server.user("alice");
    let bob = server.user("bob");
    alice.register().await;
    bob.register().await;
    bob.ok(&["send", "alice", "one"]).await;
    let mut listen = alice.listen(&[]).await;
    let one = listen.next().await.unwrap();
    assert!(is_message(&one, "one"), "{one}");

    let server = server.restart().await;
    bob.ok(&["send", "alice", "two"]).await;
    bob.ok(&["send", "alice", "three"]).await;
    let two = listen
        .wait_for_within(
            "message two after the restart",
            Duration::from_secs(40),
            |v| v["type"] == "message",
        )
        .await;
    assert!(is_message(&two, "two"), "missed or reordered: {two}");
    let three = listen.next().await.unwrap();
    assert!(is_message(&three, "three"), "{three}");
    assert_eq!(
        three["event_seq"].as_u64().unwrap(),
        two["event_seq"].as_u64().unwrap() + 1
    );
    assert_eq!(
        two["event_seq"].as_u64().unwrap(),
        one["event_seq"].as_u64().unwrap() + 1,
        "no gap"
    );
    listen.assert_quiet(Duration::from_millis(800)).await;
    assert!(listen.stop().await.is_empty());
    server.stop().await;
}

/// Ctrl-C and SIGTERM stop `listen` at once even while it is reconnecting
/// to a server that went away (it used to try to reconnect on its way out,
/// forever). Exit status 0, as documented for a signal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_stops_on_a_signal_while_reconnecting() {
    for signal in ["INT", "TERM"] {
        let server = TestServer::start().await;
        let alice = server.user("alice");
        alice.register().await;
        let listen = alice.listen(&[]).await;
        server.stop().await;
        listen.wait_stderr("reconnecting").await;
        // Let it get into its backoff and connection attempts.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (status, took) = listen.signal(signal).await;
        assert!(status.success(), "SIG{signal}: exit status {status}");
        // The promise is "within a second"; the bound leaves room for a
        // loaded CI machine while still catching a hang.
        assert!(
            took < Duration::from_secs(3),
            "SIG{signal} took {took:?} to stop listen"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_devices_and_logout() {
    let server = TestServer::start().await;
    let alice = server.user("alice");
    let session = alice.register().await;

    let who = alice.ok(&["whoami"]).await;
    assert_eq!(who[0]["type"], "session");
    assert_eq!(who[0]["username"], "alice");
    assert_eq!(who[0]["device_id"], session["device_id"]);

    // A second device in another profile of the same home.
    let pw = format!("{}\n", password_of("alice"));
    let laptop = alice
        .run(
            &[
                "--profile",
                "laptop",
                "login",
                "ALICE",
                "--password-stdin",
                "--device-name",
                "laptop",
            ],
            Some(&pw),
        )
        .await;
    assert!(laptop.success(), "{laptop:?}");
    let laptop_device = laptop.lines[0]["device_id"].as_i64().unwrap();
    assert_eq!(laptop.lines[0]["username"], "alice");

    let devices = alice.ok(&["devices"]).await;
    assert_eq!(devices.len(), 2, "{devices:?}");
    assert!(devices.iter().all(|d| d["type"] == "device"));
    let current: Vec<_> = devices.iter().filter(|d| d["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["id"], session["device_id"]);
    let other = devices.iter().find(|d| d["id"] == laptop_device).unwrap();
    assert_eq!(other["name"], "laptop");
    assert!(other["created_at"].as_str().unwrap().ends_with('Z'));

    // Revoking the laptop disconnects its listener and kills its token.
    let listen = alice.listen(&["--profile", "laptop"]).await;
    let revoked = alice
        .ok(&["devices", "revoke", &laptop_device.to_string()])
        .await;
    assert_eq!(revoked[0]["type"], "revoked");
    assert_eq!(revoked[0]["device_id"], laptop_device);
    let (status, stderr, rest) = listen.exited().await;
    assert!(!status.success(), "listen should fail when revoked");
    assert!(stderr.contains("quichat: error: "), "{stderr}");
    let err = rest.last().unwrap();
    assert_eq!(err["type"], "error", "{rest:?}");
    assert_eq!(err["code"], "closed", "{rest:?}");
    let err = alice.fails(&["--profile", "laptop", "whoami"]).await;
    assert_eq!(err["code"], "invalid_token");
    // The hint names the profile, and is one message (not the server's
    // text glued after it).
    let message = err["message"].as_str().unwrap();
    assert!(
        message.contains("run `quichat --profile laptop login alice`"),
        "{message}"
    );
    assert!(!message.contains("invalid_token:"), "{message}");

    // Logout revokes this device and forgets the token; a `listen` on the
    // same profile (the same device) is cut off at once, with the
    // revocation's message, instead of receiving on.
    let listen = alice.listen(&[]).await;
    let out = alice.ok(&["logout"]).await;
    assert_eq!(out[0]["type"], "logout");
    let (status, stderr, rest) = tokio::time::timeout(Duration::from_secs(10), listen.exited())
        .await
        .expect("listen must exit when its own device logs out");
    assert!(!status.success(), "listen should fail when logged out");
    assert!(stderr.contains("logged out"), "{stderr}");
    let err = rest.last().unwrap();
    assert_eq!(err["code"], "closed", "{rest:?}");
    assert!(!alice.profile_text("default").contains("token ="));
    assert_eq!(alice.fails(&["whoami"]).await["code"], "not_logged_in");

    // Logging in again works with the saved server and trust anchor.
    let again = User::run_command(
        alice.bare_command(&["--json", "login", "alice", "--password-stdin"]),
        Some(&pw),
    )
    .await;
    assert!(again.success(), "{again:?}");

    server.stop().await;
}

#[test]
fn help_works() {
    let top = std::process::Command::new(BIN)
        .arg("--help")
        .output()
        .unwrap();
    assert!(top.status.success());
    let text = String::from_utf8(top.stdout).unwrap();
    for word in [
        "Usage",
        "register",
        "listen",
        "send-file",
        "send-image",
        "send-voice",
        "download",
        "whoread",
        "edit",
        "recall",
        "delete",
        "reply",
        "forward",
        "react",
        "reactions",
        "group",
        "'#12'",
        "--server",
        "--json",
        "--profile",
    ] {
        assert!(text.contains(word), "top-level help lacks {word}: {text}");
    }
    let send = std::process::Command::new(BIN)
        .args(["send", "--help"])
        .output()
        .unwrap();
    assert!(send.status.success());
    let text = String::from_utf8(send.stdout).unwrap();
    assert!(text.contains("TEXT"), "{text}");
    assert!(text.contains("--ca"), "global options are listed: {text}");
    // ...under their own heading, after the command's own.
    let heading = text
        .find("Global options:")
        .expect("a Global options heading");
    assert!(text.find("--ca").unwrap() > heading, "{text}");
    assert!(text.find("--json").unwrap() > heading, "{text}");
    let listen = std::process::Command::new(BIN)
        .args(["help", "listen"])
        .output()
        .unwrap();
    assert!(listen.status.success());
    assert!(String::from_utf8(listen.stdout)
        .unwrap()
        .contains("--from-start"));
    let delete = std::process::Command::new(BIN)
        .args(["delete", "--help"])
        .output()
        .unwrap();
    assert!(delete.status.success());
    let text = String::from_utf8(delete.stdout).unwrap();
    assert!(text.contains("your devices"), "{text}");
    assert!(text.contains("`recall`"), "{text}");
}

/// `len` pseudo-random bytes (xorshift; different seeds, different files).
fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Writes `bytes` to `dir/name` and returns the path as a string.
fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_are_sent_listed_downloaded_and_deduplicated() {
    let server = TestServer::start().await;
    let alice = server.user("alice");
    let bob = server.user("bob");
    let carol = server.user("carol");
    alice.register().await;
    bob.register().await;
    carol.register().await;

    let bytes = random_bytes(3 * 1024 * 1024 + 123, 7);
    let size = bytes.len() as u64;
    let file = write_file(alice.home(), "report.bin", &bytes);

    let ack = alice
        .ok(&["send-file", "bob", &file, "--caption", "hi"])
        .await;
    assert_eq!(ack.len(), 1, "{ack:?}");
    let ack = &ack[0];
    assert_eq!(ack["type"], "ack");
    assert_eq!(ack["to"], "bob");
    assert_eq!(ack["seq"], 1);
    assert_eq!(ack["duplicate"], false);
    assert_eq!(ack["deduplicated"], false);
    assert_eq!(ack["resumed_from"], 0);
    assert_eq!(ack["bytes_sent"], size);
    let media = &ack["media"];
    assert_eq!(media["kind"], "file");
    assert_eq!(media["size"], size);
    assert_eq!(media["filename"], "report.bin");
    assert_eq!(media["sha256"].as_str().unwrap().len(), 64);
    assert!(media["width"].is_null());
    assert_eq!(media["has_thumbnail"], false);
    let id = media["id"].as_str().unwrap().to_string();

    // Bob sees a file message with the same media.
    let history = bob.ok(&["history", "alice"]).await;
    assert_eq!(history.len(), 1, "{history:?}");
    let m = &history[0];
    assert_eq!(m["type"], "message");
    assert_eq!(m["kind"], "file");
    assert_eq!(m["caption"], "hi");
    assert!(m.get("text").is_none(), "{m}");
    assert_eq!(m["media"], *media);
    let chats = bob.ok(&["chats"]).await;
    assert_eq!(chats[0]["last_message"]["media"]["id"], id.as_str());

    // The human lines show the kind, name, size and full id.
    let mut cmd = bob.bare_command(&[
        "--server",
        &server.addr,
        "--ca",
        server.ca.to_str().unwrap(),
        "history",
        "alice",
    ]);
    let human = timeout(WAIT, cmd.output()).await.unwrap().unwrap();
    assert!(human.status.success(), "{human:?}");
    let text = String::from_utf8(human.stdout).unwrap();
    assert!(
        text.contains(&format!("alice: [file report.bin, 3.0 MiB, id {id}] hi")),
        "{text}"
    );

    // Download with -o: identical bytes.
    let out = bob.home().join("copy.bin");
    let got = bob
        .ok(&["download", &id, "-o", out.to_str().unwrap()])
        .await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["type"], "download");
    assert_eq!(got[0]["media"], *media);
    assert_eq!(got[0]["path"], out.to_str().unwrap());
    assert_eq!(got[0]["resumed_from"], 0);
    assert_eq!(got[0]["bytes_received"], size);
    assert!(
        std::fs::read(&out).unwrap() == bytes,
        "downloaded bytes differ"
    );

    // Again: the file is complete, nothing is transferred.
    let again = bob
        .ok(&["download", &id, "-o", out.to_str().unwrap()])
        .await;
    assert_eq!(again[0]["resumed_from"], size);
    assert_eq!(again[0]["bytes_received"], 0);

    // Without -o: the media's name in the current directory.
    let default = bob.ok(&["download", &id]).await;
    assert_eq!(default[0]["path"], "./report.bin");
    assert!(std::fs::read(bob.home().join("report.bin")).unwrap() == bytes);

    // A file larger than the media is not overwritten.
    let big = write_file(bob.home(), "big.bin", &random_bytes(size as usize + 1, 3));
    let err = bob.fails(&["download", &id, "-o", &big]).await;
    assert_eq!(err["code"], "file_exists", "{err}");

    // Sending the same file again uploads nothing.
    let again = alice.ok(&["send-file", "bob", &file]).await;
    assert_eq!(again[0]["deduplicated"], true, "{again:?}");
    assert_eq!(again[0]["bytes_sent"], 0);
    assert_eq!(again[0]["seq"], 2);
    assert_eq!(again[0]["media"]["sha256"], media["sha256"]);

    // Carol is in no conversation where it was shared.
    let err = carol.fails(&["download", &id]).await;
    assert_eq!(err["code"], "not_found", "{err}");
    assert!(!carol.home().join("report.bin").exists());

    // A missing file is reported before anything is sent.
    let missing = alice.home().join("nope.bin");
    let err = alice
        .fails(&["send-file", "bob", missing.to_str().unwrap()])
        .await;
    assert_eq!(err["code"], "file", "{err}");
    assert!(
        err["message"].as_str().unwrap().contains("cannot open"),
        "{err}"
    );

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_get_dimensions_and_thumbnails() {
    let server = TestServer::start().await;
    let alice = server.user("alice");
    let bob = server.user("bob");
    alice.register().await;
    bob.register().await;

    let path = alice.home().join("pic.png");
    image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 5) as u8, ((x + y) * 2) as u8])
    })
    .save(&path)
    .unwrap();
    let ack = alice
        .ok(&[
            "send-image",
            "bob",
            path.to_str().unwrap(),
            "--caption",
            "look",
        ])
        .await;
    assert_eq!(ack[0]["media"]["kind"], "image", "{ack:?}");

    let history = bob.ok(&["history", "alice"]).await;
    let m = &history[0];
    assert_eq!(m["kind"], "image", "{m}");
    assert_eq!(m["caption"], "look");
    assert_eq!(m["media"]["width"], 64);
    assert_eq!(m["media"]["height"], 48);
    assert_eq!(m["media"]["has_thumbnail"], true);
    assert_eq!(m["media"]["mime"], "image/png");

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_over_the_limit_are_refused() {
    let server = TestServer::start_with(|c| c.media.max_upload_bytes = 1024).await;
    let alice = server.user("alice");
    let bob = server.user("bob");
    alice.register().await;
    bob.register().await;

    let file = write_file(alice.home(), "big.bin", &random_bytes(4096, 11));
    let err = alice.fails(&["send-file", "bob", &file]).await;
    assert_eq!(err["code"], "too_large", "{err}");
    // Nothing was sent.
    let history = bob.ok(&["history", "alice"]).await;
    assert!(history.is_empty(), "{history:?}");

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_resume_from_a_partial_file() {
    let server = TestServer::start().await;
    let alice = server.user("alice");
    let bob = server.user("bob");
    alice.register().await;
    bob.register().await;

    let bytes = random_bytes(1024 * 1024 + 77, 5);
    let size = bytes.len() as u64;
    let file = write_file(alice.home(), "data.bin", &bytes);
    let ack = alice.ok(&["send-file", "bob", &file]).await;
    let id = ack[0]["media"]["id"].as_str().unwrap().to_string();

    // An interrupted download leaves `NAME.<sha256 prefix>.part`; the next
    // download resumes from it and renames it into place once verified.
    let sha = ack[0]["media"]["sha256"].as_str().unwrap().to_string();
    let half = bytes.len() / 2;
    let out = bob.home().join("partial.bin");
    let part = bob.home().join(format!("partial.bin.{}.part", &sha[..12]));
    std::fs::write(&part, &bytes[..half]).unwrap();
    let got = bob
        .ok(&["download", &id, "-o", out.to_str().unwrap()])
        .await;
    assert_eq!(got[0]["resumed_from"], half as u64, "{got:?}");
    assert_eq!(got[0]["bytes_received"], size - half as u64);
    assert!(
        std::fs::read(&out).unwrap() == bytes,
        "resumed bytes differ"
    );
    assert!(
        !part.exists(),
        "the partial file must be renamed into place"
    );

    // A partial file with other content fails the check after the
    // download; it is deleted and the target name never appears.
    let mut wrong = bytes[..half].to_vec();
    wrong[10] ^= 0xff;
    let bad = bob.home().join("bad.bin");
    let bad_part = bob.home().join(format!("bad.bin.{}.part", &sha[..12]));
    std::fs::write(&bad_part, &wrong).unwrap();
    let err = bob
        .fails(&["download", &id, "-o", bad.to_str().unwrap()])
        .await;
    assert_eq!(err["code"], "hash_mismatch", "{err}");
    assert!(
        err["message"].as_str().unwrap().contains("download again"),
        "{err}"
    );
    assert!(!bad.exists() && !bad_part.exists());
    let again = bob
        .ok(&["download", &id, "-o", bad.to_str().unwrap()])
        .await;
    assert_eq!(again[0]["resumed_from"], 0, "{again:?}");
    assert!(std::fs::read(&bad).unwrap() == bytes);

    // An unrelated existing file is never resumed from or written into
    // (it once was "resumed" and ruined); --force replaces it, after the
    // download is verified.
    let unrelated = write_file(bob.home(), "r.pdf", &[1u8; 100]);
    let err = bob.fails(&["download", &id, "-o", &unrelated]).await;
    assert_eq!(err["code"], "file_exists", "{err}");
    assert!(
        err["message"].as_str().unwrap().contains("--force"),
        "{err}"
    );
    assert_eq!(std::fs::read(&unrelated).unwrap(), vec![1u8; 100]);
    let forced = bob
        .ok(&["download", &id, "-o", &unrelated, "--force"])
        .await;
    assert_eq!(forced[0]["bytes_received"], size, "{forced:?}");
    assert!(std::fs::read(&unrelated).unwrap() == bytes);

    server.stop().await;
}

/// The Whisper model for the transcription tests, or `None` (with a note
/// on stderr) when `QUICHAT_TEST_SKIP_WHISPER` opts out. Panics when
/// neither is set: the tests must not pass silently without the model.
fn whisper_model() -> Option<PathBuf> {
    if std::env::var("QUICHAT_TEST_SKIP_WHISPER").is_ok_and(|v| !v.is_empty() && v != "0") {
        eprintln!("QUICHAT_TEST_SKIP_WHISPER is set: skipping the transcription test");
        return None;
    }
    let Ok(path) = std::env::var("QUICHAT_TEST_WHISPER_MODEL") else {
        panic!(
            "QUICHAT_TEST_WHISPER_MODEL is not set: run the tests through scripts/test.sh, or \
             `export QUICHAT_TEST_WHISPER_MODEL=$(scripts/fetch-test-model.sh)`; \
             QUICHAT_TEST_SKIP_WHISPER=1 opts out"
        );
    };
    let path = PathBuf::from(path);
    assert!(
        path.is_file(),
        "QUICHAT_TEST_WHISPER_MODEL: {} does not exist (run scripts/fetch-test-model.sh)",
        path.display()
    );
    Some(path)
}

/// Speaks `text` into a WAV file with espeak-ng.
fn speak_wav(text: &str, out: &Path) {
    let status = std::process::Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "150", "-w"])
        .arg(out)
        .arg(text)
        .status()
        .expect("espeak-ng is required for the voice test (apt install espeak-ng)");
    assert!(status.success(), "espeak-ng failed");
}

/// How long transcription may take (model load and a CPU decode).
const TRANSCRIPT_WAIT: Duration = Duration::from_secs(60);

fn says_call_me_back(transcript: &Value) -> bool {
    transcript["text"]
        .as_str()
        .is_some_and(|t| t.to_lowercase().contains("call me back"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voice_notes_are_sent_and_transcribed() {
    let Some(model) = whisper_model() else {
        return;
    };
    let server = TestServer::start_with(|c| {
        c.transcription.model = Some(model);
        c.transcription.workers = 1;
        c.transcription.poll_ms = 200;
    })
    .await;
    let alice = server.user("alice");
    let bob = server.user("bob");
    alice.register().await;
    bob.register().await;
    let mut listen = bob.listen(&[]).await;

    let wav = alice.home().join("note.wav");
    speak_wav("Please call me back when you get home tonight.", &wav);
    let ack = alice
        .ok(&["send-voice", "bob", wav.to_str().unwrap()])
        .await;
    assert_eq!(ack.len(), 1, "{ack:?}");
    let ack = &ack[0];
    assert_eq!(ack["type"], "ack");
    assert_eq!(ack["to"], "bob");
    assert_eq!(ack["media"]["kind"], "voice", "{ack}");
    assert_eq!(ack["media"]["filename"], "note.wav");
    let duration = ack["duration_ms"].as_u64().expect("duration_ms");
    assert!((1500..8000).contains(&duration), "duration {duration} ms");
    assert_eq!(ack["media"]["duration_ms"], duration);
    let seq = ack["seq"].as_u64().unwrap();

    // Bob's listen prints the voice message, then the transcript update.
    let m = listen
        .wait_for("the voice message", |v| {
            v["type"] == "message" && v["kind"] == "voice"
        })
        .await;
    assert_eq!(m["seq"], seq);
    assert_eq!(m["from"], "alice");
    assert_eq!(m["caption"], "");
    let status = m["transcript"]["status"].as_str().unwrap_or_default();
    assert!(status == "pending" || status == "done", "{m}");
    let update = listen
        .wait_for_within("the transcript", TRANSCRIPT_WAIT, |v| {
            v["type"] == "message_updated" && v["seq"] == seq
        })
        .await;
    assert!(update["event_seq"].as_u64().unwrap() > m["event_seq"].as_u64().unwrap());
    assert_eq!(update["conversation_id"], ack["conversation_id"]);
    assert_eq!(update["message_id"], ack["message_id"]);
    let t = &update["transcript"];
    assert_eq!(t["status"], "done", "{update}");
    assert!(says_call_me_back(t), "{update}");
    assert!(t["reason"].is_null(), "{update}");
    assert!(!t["segments"].as_array().unwrap().is_empty(), "{update}");
    eprintln!("transcript: {}", t["text"]);

    // History and the conversation list carry the finished transcript.
    let history = bob.ok(&["history", "alice"]).await;
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0]["kind"], "voice");
    assert_eq!(history[0]["transcript"]["status"], "done");
    assert!(says_call_me_back(&history[0]["transcript"]), "{history:?}");
    let chats = bob.ok(&["chats"]).await;
    assert_eq!(chats[0]["last_message"]["transcript"]["status"], "done");

    // The human forms.
    let human = |args: &[&str]| {
        let mut all = vec![
            "--server",
            &server.addr,
            "--ca",
            server.ca.to_str().unwrap(),
        ];
        all.extend_from_slice(args);
        bob.bare_command(&all)
    };
    let out = timeout(WAIT, human(&["history", "alice"]).output())
        .await
        .unwrap()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(&format!("#{seq} alice: [voice note.wav, ")),
        "{text}"
    );
    assert!(
        text.to_lowercase().contains("] “please call me back"),
        "{text}"
    );
    let out = timeout(WAIT, human(&["chats"]).output())
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("alice: [voice "), "{text}");
    assert!(text.contains(" s] “"), "{text}");
    listen.stop().await;

    // Alice's human `listen`, resumed between her message and the update:
    // the update names the peer even though the message was not printed.
    let mut own = alice.listen(&[]).await;
    let mine = own
        .wait_for("alice's voice message", |v| v["type"] == "message")
        .await;
    own.stop().await;
    let profile = alice.home().join("profiles/default.toml");
    let rewound: String = std::fs::read_to_string(&profile)
        .unwrap()
        .lines()
        .map(|l| {
            if l.starts_with("cursor = ") {
                format!("cursor = {}\n", mine["event_seq"])
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(&profile, rewound).unwrap();
    let mut child = alice
        .bare_command(&[
            "--server",
            &server.addr,
            "--ca",
            server.ca.to_str().unwrap(),
            "listen",
        ])
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Receipts may come first.
    let first = timeout(WAIT, async {
        loop {
            match lines.next_line().await.unwrap() {
                Some(line) if line.starts_with('✎') => return line,
                Some(_) => continue,
                None => panic!("listen ended before the transcript line"),
            }
        }
    })
    .await
    .expect("no transcript line from the human listen");
    assert!(
        first.starts_with(&format!("✎ transcript of #{seq} with bob: “")),
        "{first}"
    );
    assert!(first.to_lowercase().contains("call me back"), "{first}");
    child.kill().await.unwrap();

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_voice_refuses_a_file_that_is_not_audio() {
    let server = TestServer::start().await;
    let alice = server.user("alice");
    let bob = server.user("bob");
    alice.register().await;
    bob.register().await;

    let notes = write_file(alice.home(), "notes.txt", b"call me back, not audio\n");
    let run = alice.run(&["send-voice", "bob", &notes], None).await;
    assert_ne!(run.output.status.code(), Some(0));
    let err = run.error();
    assert_eq!(err["code"], "file", "{err}");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("is not usable audio"),
        "{err}"
    );
    // Nothing was sent.
    assert!(bob.ok(&["history", "alice"]).await.is_empty());

    // Over a MiB of non-audio makes symphonia's probe give up, which it
    // logs at ERROR: that line must not reach the user, only our error.
    let blob = write_file(alice.home(), "blob.wav", &random_bytes(1_200_000, 9));
    let run = alice.run(&["send-voice", "bob", &blob], None).await;
    let err = run.error();
    assert_eq!(err["code"], "file", "{err}");
    assert!(
        !run.stderr.contains("symphonia") && !run.stderr.contains("ERROR"),
        "a library log line leaked: {}",
        run.stderr
    );

    let missing = alice.home().join("nope.wav");
    let err = alice
        .fails(&["send-voice", "bob", missing.to_str().unwrap()])
        .await;
    assert_eq!(err["code"], "file", "{err}");

    server.stop().await;
}

/// Friends, profiles, search, categories, blocking and presence from the
/// command line; `listen` prints friend requests, profile changes,
/// presence and typing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn friends_profiles_and_blocking() {
    let server = TestServer::start().await;
    let alice = server.user("alice");
    let bob = server.user("bob");
    let eve = server.user("eve");
    alice.register().await;
    bob.register().await;
    eve.register().await;
    let mut listen = bob.listen(&[]).await;

    let sent = alice
        .ok(&["friends", "add", "bob", "--note", "from the lab"])
        .await;
    assert_eq!(sent[0]["type"], "friend_request", "{sent:?}");
    assert_eq!(sent[0]["state"], "pending");
    let id = sent[0]["id"].as_i64().unwrap();
    let seen = listen
        .wait_for("the friend request", |v| v["type"] == "friend_request")
        .await;
    assert_eq!(seen["note"], "from the lab");
    assert_eq!(seen["from"], "alice");

    let pending = bob.ok(&["friends", "requests"]).await;
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0]["id"], id);
    let accepted = bob.ok(&["friends", "accept", &id.to_string()]).await;
    assert_eq!(accepted[0]["state"], "accepted");
    let friends = alice.ok(&["friends"]).await;
    assert_eq!(friends.len(), 1);
    assert_eq!(friends[0]["type"], "friend");
    assert_eq!(friends[0]["username"], "bob");

    // Eve cannot accept what was not sent to her.
    let again = eve.ok(&["friends", "add", "alice"]).await;
    let err = bob
        .fails(&["friends", "accept", &again[0]["id"].to_string()])
        .await;
    assert_eq!(err["code"], "not_found", "{err}");

    // Profiles: Bob's listen shows Alice's change.
    let me = alice
        .ok(&[
            "profile",
            "set",
            "--name",
            "Alice A.",
            "--status",
            "at the lake",
        ])
        .await;
    assert_eq!(me[0]["type"], "profile");
    assert_eq!(me[0]["display_name"], "Alice A.");
    let changed = listen
        .wait_for("the profile change", |v| v["type"] == "profile_updated")
        .await;
    assert_eq!(changed["status"], "at the lake");
    let shown = bob.ok(&["profile", "show", "alice"]).await;
    assert_eq!(shown[0]["display_name"], "Alice A.");

    // Search by display-name prefix.
    let found = eve.ok(&["search", "alice a"]).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["username"], "alice");

    // Categories.
    let cat = bob.ok(&["categories", "create", "lab"]).await;
    assert_eq!(cat[0]["type"], "category");
    let cat_id = cat[0]["id"].to_string();
    bob.ok(&["categories", "move", "alice", &cat_id]).await;
    let friends = bob.ok(&["friends"]).await;
    assert_eq!(friends[0]["category"].to_string(), cat_id);
    let err = eve.fails(&["categories", "rename", &cat_id, "mine"]).await;
    assert_eq!(err["code"], "not_found", "{err}");

    // Friends' presence.
    let presence = bob.ok(&["presence"]).await;
    assert_eq!(presence[0]["type"], "presence");
    assert_eq!(presence[0]["username"], "alice");

    // Blocking: Eve's message gets the neutral error.
    let blocked = bob.ok(&["block", "eve"]).await;
    assert_eq!(blocked[0]["type"], "contacts");
    assert_eq!(blocked[0]["change"], "blocked");
    assert_eq!(bob.ok(&["blocked"]).await[0]["username"], "eve");
    let err = eve.fails(&["send", "bob", "hi"]).await;
    assert_eq!(err["code"], "cannot_deliver", "{err}");
    bob.ok(&["unblock", "eve"]).await;
    assert!(bob.ok(&["blocked"]).await.is_empty());

    listen.stop().await;
    server.stop().await;
}

/// An unreachable server is reported after the connect timeout, with a
/// hint, instead of after a silent idle timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_fails_fast_with_a_hint() {
    let server = TestServer::start().await;
    let alice = server.user("alice");
    // A UDP port where nothing answers.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let pw = format!("{}\n", password_of("alice"));
    let started = std::time::Instant::now();
    let ca = alice.ca.to_str().unwrap().to_string();
    let run = User::run_command(
        alice.bare_command(&[
            "--server",
            &addr,
            "--ca",
            &ca,
            "--json",
            "--connect-timeout",
            "1",
            "login",
            "alice",
            "--password-stdin",
        ]),
        Some(&pw),
    )
    .await;
    assert!(!run.success());
    let err = run.error();
    assert_eq!(err["code"], "connect", "{err}");
    let message = err["message"].as_str().unwrap();
    assert!(
        message.contains(&addr) && message.contains("no answer within 1 s"),
        "{message}"
    );
    assert!(
        message.contains("is quichat-server running there?"),
        "{message}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    drop(silent);
    server.stop().await;
}

/// The notices (`kind` `system`) among message lines, as their `change`.
fn notices(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .filter(|v| v["type"] == "message" && v["kind"] == "system")
        .map(|v| v["notice"]["change"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_messages_receipts_roles_and_invites() {
    let server = TestServer::start().await;
    let alice = server.user("alice");
    let bob = server.user("bob");
    let carol = server.user("carol");
    alice.register().await;
    bob.register().await;
    carol.register().await;

    let created = alice
        .ok(&[
            "group",
            "create",
            "Fam",
            "--member",
            "bob",
            "--description",
            "the family",
        ])
        .await;
    assert_eq!(created.len(), 1, "{created:?}");
    let g = &created[0];
    assert_eq!(g["type"], "group");
    assert_eq!(g["name"], "Fam");
    assert_eq!(g["description"], "the family");
    assert_eq!(g["owner"], "alice");
    assert_eq!(g["member_count"], 2);
    assert_eq!(g["my_role"], "owner");
    assert_eq!(g["dissolved"], false);
    let id = g["id"].as_i64().unwrap();
    let tag = format!("#{id}");

    let list = bob.ok(&["group", "list"]).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["id"], id);
    assert_eq!(list[0]["my_role"], "member");

    // By id, and by name (case-insensitive).
    let ack = alice.ok(&["send", &tag, "hi"]).await;
    assert_eq!(ack[0]["type"], "ack");
    assert_eq!(ack[0]["to"], tag.as_str());
    assert_eq!(ack[0]["conversation_id"], id);
    let seq = ack[0]["seq"].as_u64().unwrap();
    let by_name = alice.ok(&["send", "#fam", "by", "name"]).await;
    assert_eq!(by_name[0]["conversation_id"], id);
    assert_eq!(by_name[0]["to"], tag.as_str());
    let hi_again = alice.ok(&["send", "#FAM", "again"]).await;
    assert_eq!(hi_again[0]["conversation_id"], id);

    // Bob's history has the notices and the messages.
    let history = bob.ok(&["history", &tag]).await;
    let changes = notices(&history);
    assert!(changes.contains(&"created".to_string()), "{history:?}");
    assert!(changes.contains(&"added".to_string()), "{history:?}");
    let created_notice = history
        .iter()
        .find(|v| v["notice"]["change"] == "created")
        .unwrap();
    assert_eq!(created_notice["notice"]["by"], "alice");
    assert_eq!(created_notice["notice"]["name"], "Fam");
    assert_eq!(created_notice["to"], tag.as_str());
    assert_eq!(created_notice["group_id"], id);
    let added = history
        .iter()
        .find(|v| v["notice"]["change"] == "added")
        .unwrap();
    assert_eq!(added["notice"]["members"], serde_json::json!(["bob"]));
    let hi = history.iter().find(|v| is_message(v, "hi")).unwrap();
    assert_eq!(hi["from"], "alice");
    assert_eq!(hi["to"], tag.as_str());
    assert_eq!(hi["group_id"], id);
    assert_eq!(hi["seq"], seq);
    assert!(history.iter().any(|v| is_message(v, "by name")));

    let text = bob.human(&["history", &tag]).await;
    assert!(text.contains("* alice created the group “Fam”"), "{text}");
    assert!(text.contains("* alice added bob"), "{text}");
    assert!(text.contains(&format!("#{seq} alice: hi")), "{text}");

    // Bob's conversation list names the group.
    let chats = bob.ok(&["chats"]).await;
    let chat = chats.iter().find(|c| c["peer"] == tag.as_str()).unwrap();
    assert_eq!(chat["conversation_id"], id);
    assert_eq!(chat["group"]["name"], "Fam");
    assert_eq!(chat["group"]["member_count"], 2);
    assert_eq!(chat["group"]["my_role"], "member");
    let text = bob.human(&["chats"]).await;
    assert!(text.contains(&format!("{tag} “Fam” (2 members")), "{text}");

    // Receipts: bob reads, alice asks who read her message.
    let read = bob.ok(&["read", &tag]).await;
    assert_eq!(read[0]["type"], "read");
    assert_eq!(read[0]["conversation_id"], id);
    assert!(read[0]["up_to_seq"].as_u64().unwrap() >= seq);
    let who = alice.ok(&["whoread", &format!("{tag}#{seq}")]).await;
    assert_eq!(who.len(), 1);
    assert_eq!(who[0]["type"], "who_read");
    assert_eq!(who[0]["conversation_id"], id);
    assert_eq!(who[0]["seq"], seq);
    assert_eq!(who[0]["read"], serde_json::json!(["bob"]));
    assert_eq!(who[0]["waiting"], serde_json::json!([]));
    let text = alice.human(&["whoread", &format!("#fam#{seq}")]).await;
    assert!(text.contains("read by 1 of 1"), "{text}");
    assert!(text.contains("read:      bob"), "{text}");
    // Only the sender may ask.
    assert_eq!(
        bob.fails(&["whoread", &format!("{tag}#{seq}")]).await["code"],
        "forbidden"
    );

    // An invite code, shown once, lets carol in.
    let invite = alice
        .ok(&[
            "group",
            "invite",
            &tag,
            "--expires",
            "1d",
            "--max-uses",
            "2",
        ])
        .await;
    assert_eq!(invite.len(), 1);
    assert_eq!(invite[0]["type"], "invite");
    assert_eq!(invite[0]["group_id"], id);
    assert_eq!(invite[0]["max_uses"], 2);
    assert!(invite[0]["expires_at"].as_str().unwrap().ends_with('Z'));
    let code = invite[0]["code"].as_str().unwrap().to_string();
    assert!(!code.is_empty());
    let joined = carol.ok(&["group", "join", &code]).await;
    assert_eq!(joined[0]["type"], "group");
    assert_eq!(joined[0]["id"], id);
    assert_eq!(joined[0]["member_count"], 3);
    assert_eq!(joined[0]["my_role"], "member");
    let invites = alice.ok(&["group", "invites", &tag]).await;
    assert_eq!(invites.len(), 1, "{invites:?}");
    assert_eq!(invites[0]["uses"], 1);
    assert!(invites[0]["code"].is_null());
    let text = alice.human(&["group", "invite", &tag]).await;
    assert!(text.contains("shown only once"), "{text}");
    assert_eq!(
        carol.fails(&["group", "join", "not-a-code"]).await["code"],
        "invalid_invite"
    );

    let members = alice.ok(&["group", "members", &tag]).await;
    let names: Vec<&str> = members
        .iter()
        .map(|m| m["username"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 3, "{members:?}");
    assert_eq!(names[0], "alice");
    assert_eq!(members[0]["role"], "owner");
    assert!(names.contains(&"carol"));

    // A plain member may not remove anyone.
    let kick = bob.run(&["group", "kick", &tag, "carol"], None).await;
    assert_ne!(kick.output.status.code(), Some(0));
    assert_eq!(kick.error()["code"], "forbidden");
    // An admin may.
    let promoted = alice.ok(&["group", "promote", &tag, "bob"]).await;
    assert_eq!(promoted[0]["type"], "group_action");
    assert_eq!(promoted[0]["action"], "role_changed");
    assert_eq!(promoted[0]["role"], "admin");
    let kicked = bob.ok(&["group", "kick", &tag, "carol"]).await;
    assert_eq!(kicked[0]["action"], "removed");
    assert_eq!(kicked[0]["username"], "carol");

    // Names that resolve to nothing are refused before anything is sent.
    let err = alice.fails(&["send", "#nosuch", "x"]).await;
    assert_eq!(err["code"], "unknown_group");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains(&format!("{tag} Fam")),
        "{err}"
    );

    // Editing, as the owner.
    let renamed = alice.ok(&["group", "rename", &tag, "family"]).await;
    assert_eq!(renamed[0]["name"], "family");
    let pinned = alice
        .ok(&["group", "announce", "family", "dinner at 7"])
        .await;
    assert_eq!(pinned[0]["announcement"]["text"], "dinner at 7");
    let settings = alice
        .ok(&[
            "group",
            "settings",
            &id.to_string(),
            "--members-invite",
            "on",
        ])
        .await;
    assert_eq!(settings[0]["settings"]["members_invite"], true);
    assert_eq!(settings[0]["settings"]["members_edit_info"], false);
    let info = bob.ok(&["group", "info", &tag]).await;
    assert_eq!(info[0]["name"], "family");
    assert_eq!(info[0]["my_role"], "admin");
    assert_eq!(info[0]["member_count"], 2);

    // Bob's feed carries the structured notices, in the group.
    let mut listen = bob.listen(&["--from-start"]).await;
    let renamed = listen
        .wait_for("the rename notice", |v| v["notice"]["change"] == "renamed")
        .await;
    assert_eq!(renamed["notice"]["name"], "family");
    assert_eq!(renamed["group_id"], id);
    listen.stop().await;

    let text = bob.human(&["history", &tag, "--limit", "50"]).await;
    for line in [
        "* carol joined with an invite code",
        "* alice made bob an admin",
        "* bob removed carol",
        "* alice renamed the group to “family”",
        "* alice pinned: dinner at 7",
    ] {
        assert!(text.contains(line), "no {line:?} in {text}");
    }

    let left = bob.ok(&["group", "leave", &tag]).await;
    assert_eq!(left[0]["action"], "left");
    let dissolved = alice.ok(&["group", "dissolve", &tag]).await;
    assert_eq!(dissolved[0]["action"], "dissolved");
    alice.fails(&["send", &tag, "anyone?"]).await;

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_are_edited_recalled_and_deleted_for_me() {
    let server = TestServer::start().await;
    let alice = server.user("alice");
    let bob = server.user("bob");
    alice.register().await;
    bob.register().await;
    let mut listen = bob.listen(&[]).await;

    let ack = alice.ok(&["send", "bob", "fixd txt"]).await;
    let conversation = ack[0]["conversation_id"].clone();
    let first = ack[0]["seq"].as_u64().unwrap();
    let first_arg = first.to_string();
    let got = listen
        .wait_for("alice's message", |v| is_message(v, "fixd txt"))
        .await;
    assert_eq!(got["seq"], first);

    // The new text from stdin (`-`), without the final line break...
    let run = alice
        .run(
            &["edit", &format!("bob#{first_arg}"), "-"],
            Some("almost fixed\n"),
        )
        .await;
    assert!(run.success(), "edit from stdin failed: {run:?}");
    assert_eq!(run.lines.len(), 1, "{run:?}");
    assert_eq!(run.lines[0]["type"], "edited");
    assert_eq!(run.lines[0]["text"], "almost fixed");
    listen
        .wait_for("the first edit", |v| {
            v["type"] == "edited" && v["text"] == "almost fixed"
        })
        .await;
    // ... or from the arguments.
    let edited = alice
        .ok(&["edit", &format!("bob#{first_arg}"), "fixed text"])
        .await;
    assert_eq!(edited.len(), 1, "{edited:?}");
    let e = &edited[0];
    assert_eq!(e["type"], "edited");
    assert_eq!(e["conversation_id"], conversation);
    assert_eq!(e["seq"], first);
    assert_eq!(e["text"], "fixed text");
    let edited_at = e["edited_at_ms"].as_i64().unwrap();
    assert!(e.get("event_seq").is_none(), "{e}");
    let text = alice
        .human(&["edit", &format!("bob#{first_arg}"), "fixed text"])
        .await;
    assert_eq!(text.trim_end(), format!("edited #{first} in bob"));

    let got = listen
        .wait_for("the edit", |v| {
            v["type"] == "edited" && v["text"] == "fixed text"
        })
        .await;
    assert_eq!(got["conversation_id"], conversation);
    assert_eq!(got["seq"], first);
    assert!(got["event_seq"].as_u64().unwrap() > 0);
    assert!(got["edited_at_ms"].as_i64().unwrap() >= edited_at);

    let history = bob.ok(&["history", "alice"]).await;
    let m = history.iter().find(|v| v["seq"] == first).unwrap();
    assert_eq!(m["type"], "message");
    assert_eq!(m["kind"], "text");
    assert_eq!(m["text"], "fixed text");
    assert!(m["edited_at_ms"].as_i64().unwrap() >= edited_at, "{m}");
    let text = bob.human(&["history", "alice"]).await;
    assert!(
        text.contains(&format!("#{first} alice: fixed text (edited)")),
        "{text}"
    );

    // Only the author edits.
    let err = bob
        .fails(&["edit", &format!("alice#{first_arg}"), "x"])
        .await;
    assert_eq!(err["code"], "forbidden", "{err}");

    // A recall reaches bob, and his history keeps only a placeholder.
    let ack = alice.ok(&["send", "bob", "oops"]).await;
    let second = ack[0]["seq"].as_u64().unwrap();
    listen
        .wait_for("the second message", |v| is_message(v, "oops"))
        .await;
    let recalled = alice.ok(&["recall", &format!("bob#{second}")]).await;
    assert_eq!(recalled.len(), 1, "{recalled:?}");
    assert_eq!(recalled[0]["type"], "recalled");
    assert_eq!(recalled[0]["conversation_id"], conversation);
    assert_eq!(recalled[0]["seq"], second);
    assert_eq!(recalled[0]["by"], "alice");
    let got = listen
        .wait_for("the recall", |v| v["type"] == "recalled")
        .await;
    assert_eq!(got["seq"], second);
    assert_eq!(got["by"], "alice");
    assert_eq!(got["conversation_id"], conversation);

    let history = bob.ok(&["history", "alice"]).await;
    let m = history.iter().find(|v| v["seq"] == second).unwrap();
    assert_eq!(m["kind"], "recalled", "{m}");
    assert_eq!(m["recalled_by"], "alice");
    assert!(m["recalled_at_ms"].as_i64().is_some(), "{m}");
    assert!(m.get("text").is_none(), "{m}");
    let text = bob.human(&["history", "alice"]).await;
    assert!(
        text.contains(&format!("#{second} alice: (message recalled)")),
        "{text}"
    );
    assert!(!text.contains("oops"), "{text}");
    let third = alice.ok(&["send", "bob", "not this either"]).await[0]["seq"]
        .as_u64()
        .unwrap();
    let text = alice.human(&["recall", &format!("bob#{third}")]).await;
    assert_eq!(text.trim_end(), format!("recalled #{third} in bob"));

    // Deleting for me hides the first message from bob only.
    let hidden = bob.ok(&["delete", &format!("alice#{first_arg}")]).await;
    assert_eq!(hidden.len(), 1, "{hidden:?}");
    assert_eq!(hidden[0]["type"], "hidden");
    assert_eq!(hidden[0]["conversation_id"], conversation);
    assert_eq!(hidden[0]["seq"], first);
    let got = listen
        .wait_for("the deletion on bob's devices", |v| v["type"] == "hidden")
        .await;
    assert_eq!(got["seq"], first);
    assert_eq!(got["conversation_id"], conversation);
    // Deleting it again changes nothing, and says the same.
    let text = bob.human(&["delete", &format!("alice#{first_arg}")]).await;
    assert_eq!(text.trim_end(), format!("deleted #{first} for you"));
    let history = bob.ok(&["history", "alice"]).await;
    assert!(
        history.iter().all(|v| v["seq"] != first),
        "bob still sees #{first}: {history:?}"
    );
    assert!(history.iter().any(|v| v["seq"] == second), "{history:?}");
    let history = alice.ok(&["history", "bob"]).await;
    let m = history.iter().find(|v| v["seq"] == first).unwrap();
    assert_eq!(m["text"], "fixed text");

    listen.stop().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_forwards_and_reactions() {
    let server = TestServer::start().await;
    let alice = server.user("alice");
    let bob = server.user("bob");
    let carol = server.user("carol");
    alice.register().await;
    bob.register().await;
    carol.register().await;
    let mut listen = alice.listen(&[]).await;

    let ack = alice.ok(&["send", "bob", "lunch?"]).await;
    let conversation = ack[0]["conversation_id"].clone();
    let seq = ack[0]["seq"].as_u64().unwrap();
    let seq_arg = seq.to_string();
    listen
        .wait_for("alice's own message", |v| is_message(v, "lunch?"))
        .await;

    // A reply is acked like `send`, and quotes what it answers.
    let replied = bob.ok(&["reply", &format!("alice#{seq_arg}"), "yes"]).await;
    assert_eq!(replied.len(), 1, "{replied:?}");
    let a = &replied[0];
    assert_eq!(a["type"], "ack");
    assert_eq!(a["to"], "alice");
    assert_eq!(a["conversation_id"], conversation);
    let reply_seq = a["seq"].as_u64().unwrap();
    assert!(reply_seq > seq, "{a}");
    let got = listen
        .wait_for("bob's reply", |v| {
            v["type"] == "message" && v["kind"] == "reply"
        })
        .await;
    assert_eq!(got["from"], "bob");
    assert_eq!(got["text"], "yes");
    assert_eq!(got["seq"], reply_seq);
    assert_eq!(got["reply_to"]["seq"], seq);
    assert_eq!(got["reply_to"]["sender"], "alice");
    assert_eq!(got["reply_to"]["snippet"], "lunch?");
    assert_eq!(got["reply_to"]["recalled"], false);
    // From stdin, and in human form.
    let run = bob
        .run(
            &["reply", &format!("alice#{seq_arg}"), "-"],
            Some("at noon\n"),
        )
        .await;
    assert!(run.success(), "reply from stdin failed: {run:?}");
    let noon_seq = run.lines[0]["seq"].as_u64().unwrap();
    let text = alice.human(&["history", "bob"]).await;
    assert!(
        text.contains(&format!(
            "#{noon_seq} bob: [reply to #{seq} alice: “lunch?”] at noon"
        )),
        "{text}"
    );
    let text = bob
        .human(&["reply", &format!("alice#{seq_arg}"), "see", "you"])
        .await;
    assert!(text.starts_with("sent to alice: #"), "{text}");
    // Only a message of the same conversation can be answered.
    let err = bob.fails(&["reply", "alice#999", "what?"]).await;
    assert_eq!(err["code"], "not_found", "{err}");

    // Reactions: the reactor sees the message's reactions, the other side
    // an event, and anyone in the conversation can list them.
    let reacted = bob.ok(&["react", &format!("alice#{seq_arg}"), "👍"]).await;
    assert_eq!(
        reacted,
        [
            serde_json::json!({"type":"reactions","conversation_id":conversation,"seq":seq,
            "reactions":[{"emoji":"👍","count":1,"users":["bob"]}]})
        ]
    );
    let got = listen
        .wait_for("bob's reaction", |v| v["type"] == "reaction")
        .await;
    assert_eq!(got["conversation_id"], conversation);
    assert_eq!(got["seq"], seq);
    assert_eq!(got["user"], "bob");
    assert_eq!(got["emoji"], "👍");
    assert_eq!(got["added"], true);
    assert_eq!(got["count"], 1);
    assert!(got["event_seq"].as_u64().unwrap() > 0, "{got}");
    let listed = alice.ok(&["reactions", &format!("bob#{seq_arg}")]).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["type"], "reactions");
    assert_eq!(
        listed[0]["reactions"][0]["users"],
        serde_json::json!(["bob"])
    );
    let text = alice
        .human(&["react", &format!("bob#{seq_arg}"), "👍"])
        .await;
    assert_eq!(text.trim_end(), format!("#{seq} in bob: 👍 2 (bob, alice)"));
    let text = alice
        .human(&["react", &format!("bob#{seq_arg}"), "👍", "--remove"])
        .await;
    assert_eq!(text.trim_end(), format!("#{seq} in bob: 👍 1 (bob)"));
    bob.ok(&["react", &format!("alice#{seq_arg}"), "👍", "--remove"])
        .await;
    let text = alice.human(&["reactions", &format!("bob#{seq_arg}")]).await;
    assert_eq!(text.trim_end(), format!("#{seq} in bob: no reactions"));
    let got = listen
        .wait_for("bob's removal", |v| {
            v["type"] == "reaction" && v["user"] == "bob" && v["added"] == false
        })
        .await;
    assert_eq!(got["count"], 0);
    // One emoji: two letters are refused by the server.
    let err = bob
        .fails(&["react", &format!("alice#{seq_arg}"), "ab"])
        .await;
    assert_eq!(err["code"], "invalid_argument", "{err}");
    // Carol is not in the conversation: there is none with alice for her.
    let err = carol
        .fails(&["reactions", &format!("alice#{seq_arg}")])
        .await;
    assert_eq!(err["code"], "not_found", "{err}");

    // Forwarding copies the message into another conversation as bob's.
    let forwarded = bob
        .ok(&["forward", &format!("alice#{seq_arg}"), "carol"])
        .await;
    assert_eq!(forwarded.len(), 1, "{forwarded:?}");
    let f = &forwarded[0];
    assert_eq!(f["type"], "ack");
    assert_eq!(f["to"], "carol");
    assert_ne!(f["conversation_id"], conversation);
    let history = carol.ok(&["history", "bob"]).await;
    let m = history
        .iter()
        .find(|v| is_message(v, "lunch?"))
        .unwrap_or_else(|| panic!("carol has no forwarded message: {history:?}"));
    assert_eq!(m["from"], "bob");
    assert_eq!(m["seq"], f["seq"]);
    // To a group, named as '#NAME'.
    let created = bob
        .ok(&["group", "create", "Lunch", "--member", "carol"])
        .await;
    let group = created[0]["id"].as_i64().unwrap();
    let text = bob
        .human(&["forward", &format!("alice#{reply_seq}"), "#lunch"])
        .await;
    assert!(text.starts_with(&format!("sent to #{group}: #")), "{text}");
    let history = carol.ok(&["history", &format!("#{group}")]).await;
    assert!(history.iter().any(|v| is_message(v, "yes")), "{history:?}");

    listen.stop().await;
    server.stop().await;
}

#[test]
fn bad_group_syntax_is_a_usage_error() {
    for args in [["send", "#", "x"], ["history", "#0", "--limit=1"]] {
        let out = std::process::Command::new(BIN).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

/// Runs `args` as `user` and returns the raw exit status and stdout
/// bytes (for commands whose stdout is not JSON lines).
async fn raw_stdout(user: &User, args: &[&str]) -> (std::process::ExitStatus, Vec<u8>, String) {
    let child = user.command(args).spawn().unwrap();
    let output = timeout(WAIT, child.wait_with_output())
        .await
        .expect("command timed out")
        .unwrap();
    (
        output.status,
        output.stdout,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The texts of the message lines of `lines`.
fn texts(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .filter(|v| v["type"] == "message")
        .map(|v| v["text"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_send_from_stdin_and_download_by_message_reference() {
    let server = TestServer::start().await;
    let alice = server.user("alice");
    let bob = server.user("bob");
    alice.register().await;
    bob.register().await;

    // Text from stdin (`-`), and from a file (`--message-file`), both less
    // one final line break; a too-long file is refused before connecting.
    let run = alice
        .run(&["send", "bob", "-"], Some("two\nlines from stdin\n"))
        .await;
    assert!(run.success(), "{run:?}");
    assert_eq!(run.lines[0]["type"], "ack");
    let note = write_file(alice.home(), "note.txt", b"from a file\n");
    alice.ok(&["send", "bob", "--message-file", &note]).await;
    let long = write_file(alice.home(), "long.txt", &vec![b'x'; 70 * 1024]);
    let err = alice.fails(&["send", "bob", "--message-file", &long]).await;
    assert_eq!(err["code"], "too_large", "{err}");
    let usage = alice.run(&["send", "bob"], None).await;
    assert_eq!(usage.output.status.code(), Some(2), "{usage:?}");

    // A file from stdin, named with --name.
    let bytes = random_bytes(300_000, 7);
    let mut child = alice
        .command(&["send-file", "bob", "-", "--name", "data.bin"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(&bytes).await.unwrap();
    drop(pipe);
    let out = timeout(WAIT, child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let sent = Run::from(out);
    assert!(sent.success(), "{sent:?}");
    assert_eq!(sent.lines[0]["media"]["filename"], "data.bin");
    assert_eq!(sent.lines[0]["media"]["size"], 300_000);
    let file_seq = sent.lines[0]["seq"].as_u64().unwrap();
    alice.ok(&["send", "bob", "after the file"]).await;

    let history = bob.ok(&["history", "alice"]).await;
    assert_eq!(
        texts(&history)[..2],
        [
            "two\nlines from stdin".to_string(),
            "from a file".to_string()
        ]
    );

    // `download CONV --latest -o -`: the newest file, to stdout, verified.
    let (status, stdout, stderr) =
        raw_stdout(&bob, &["download", "alice", "--latest", "-o", "-"]).await;
    assert!(status.success(), "{stderr}");
    assert!(stdout == bytes, "stdout holds exactly the file's bytes");
    // `download CONV#SEQ` into a directory: the file's name there.
    let dir = bob.home().join("in");
    std::fs::create_dir(&dir).unwrap();
    let got = bob
        .ok(&[
            "download",
            &format!("alice#{file_seq}"),
            "-o",
            dir.to_str().unwrap(),
        ])
        .await;
    assert_eq!(got[0]["type"], "download");
    assert_eq!(std::fs::read(dir.join("data.bin")).unwrap(), bytes);

    // Wrong references get typed errors.
    let err = bob.fails(&["download", "alice#1"]).await;
    assert_eq!(err["code"], "not_a_file", "{err}");
    let err = bob.fails(&["download", "alice#99"]).await;
    assert_eq!(err["code"], "not_found", "{err}");
    let err = bob.fails(&["download", "alice"]).await;
    assert_eq!(err["code"], "usage", "{err}");
    assert!(
        err["message"].as_str().unwrap().contains("--latest"),
        "{err}"
    );
    let err = bob.fails(&["download", "alice#1", "--latest"]).await;
    assert_eq!(err["code"], "usage", "{err}");
    let carol = server.user("carol");
    carol.register().await;
    let err = carol.fails(&["download", "alice", "--latest"]).await;
    assert_eq!(err["code"], "not_found", "{err}");
    // The old two-word message syntax is a usage error naming the new one.
    let old = bob.run(&["edit", "alice", "1", "new", "text"], None).await;
    assert_eq!(old.output.status.code(), Some(2), "{old:?}");
    assert!(old.stderr.contains("CONVERSATION#SEQ"), "{}", old.stderr);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_filters_stops_and_runs_a_command_per_event() {
    let server = TestServer::start().await;
    let alice = server.user("alice");
    let bob = server.user("bob");
    let carol = server.user("carol");
    let dave = server.user("dave");
    for u in [&alice, &bob, &carol, &dave] {
        u.register().await;
    }
    carol.ok(&["send", "bob", "c1"]).await;
    alice.ok(&["send", "bob", "a1"]).await;
    carol.ok(&["send", "bob", "c2"]).await;
    alice.ok(&["send", "bob", "a2"]).await;

    // --with follows one conversation; --once stops after one event and
    // keeps that conversation's own resume point.
    let first = bob.ok(&["listen", "--with", "alice", "--once"]).await;
    assert_eq!(texts(&first), ["a1"], "{first:?}");
    assert_eq!(first.len(), 1, "{first:?}");

    // A failing --exec command stops listen, and its event stays unseen.
    let failed = bob
        .run(
            &[
                "listen",
                "--with",
                "alice",
                "--exec",
                "exit 3",
                "--timeout",
                "20s",
            ],
            None,
        )
        .await;
    assert!(!failed.success());
    assert_eq!(failed.output.status.code(), Some(1), "{failed:?}");
    assert!(
        failed.stderr.contains("exited with status 3"),
        "{}",
        failed.stderr
    );
    let again = bob.ok(&["listen", "--with", "alice", "--once"]).await;
    assert_eq!(texts(&again), ["a2"], "{again:?}");

    // --exec gets each event's JSON line on stdin, in order; --timeout
    // ends a listen with nothing left (exit 0).
    let log = bob.home().join("events.jsonl");
    let hook = format!("cat >> '{}'", log.display());
    let replay = bob
        .ok(&[
            "listen",
            "--with",
            "alice",
            "--from-start",
            "--timeout",
            "3s",
            "--exec",
            &hook,
        ])
        .await;
    assert_eq!(texts(&replay), ["a1", "a2"], "{replay:?}");
    let hooked: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(hooked, replay, "the command saw what was printed");

    // --once with a deadline and nothing to print: exit 1, `timed_out`.
    let started = std::time::Instant::now();
    let err = bob
        .fails(&["listen", "--with", "dave", "--once", "--timeout", "1s"])
        .await;
    assert_eq!(err["code"], "timed_out", "{err}");
    assert!(started.elapsed() < Duration::from_secs(15));

    // A live event reaches a waiting --once.
    let mut waiting = bob.listen(&["--with", "dave", "--once"]).await;
    carol.ok(&["send", "bob", "c3"]).await;
    dave.ok(&["send", "bob", "d1"]).await;
    let line = waiting
        .wait_for("dave's message", |v| v["type"] == "message")
        .await;
    assert_eq!(line["text"], "d1", "carol's message was filtered out");
    let (status, stderr, rest) = waiting.exited().await;
    assert!(status.success(), "{stderr}");
    assert!(rest.is_empty(), "{rest:?}");

    // None of that moved the plain listen's cursor: it starts at the
    // beginning of bob's log.
    let plain = bob.ok(&["listen", "--once"]).await;
    assert_eq!(texts(&plain), ["c1"], "{plain:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwd_profiles_completions_and_manual() {
    // Room for the six password checks below.
    let server = TestServer::start_with(|c| {
        c.limits.login_per_user_ip.burst = 10;
    })
    .await;
    let alice = server.user("alice");
    alice.register().await;
    let pw = format!("{}\n", password_of("alice"));
    let laptop = alice
        .run(
            &["--profile", "laptop", "login", "alice", "--password-stdin"],
            Some(&pw),
        )
        .await;
    assert!(laptop.success(), "{laptop:?}");
    let listening = alice.listen(&["--profile", "laptop"]).await;

    // Wrong current password, weak new one: typed errors, nothing changed.
    let wrong = alice
        .run(
            &["passwd", "--password-stdin"],
            Some("not-the-password\nnew-password-1\n"),
        )
        .await;
    assert_eq!(wrong.error()["code"], "wrong_password");
    let weak = alice
        .run(
            &["passwd", "--password-stdin"],
            Some(&format!("{pw}short\n")),
        )
        .await;
    assert_eq!(weak.error()["code"], "weak_password");

    // The change signs the laptop out at once.
    let changed = alice
        .run(
            &["passwd", "--password-stdin", "--sign-out-others"],
            Some(&format!("{pw}new-password-1\n")),
        )
        .await;
    assert!(changed.success(), "{changed:?}");
    assert_eq!(
        changed.lines,
        [serde_json::json!({"type":"password_changed","signed_out":1})]
    );
    let (status, stderr, _) = listening.exited().await;
    assert!(!status.success());
    assert!(stderr.contains("logged out"), "{stderr}");
    let gone = alice.fails(&["--profile", "laptop", "whoami"]).await;
    assert_eq!(gone["code"], "invalid_token");
    let old = alice
        .run(
            &["--profile", "old", "login", "alice", "--password-stdin"],
            Some(&pw),
        )
        .await;
    assert_eq!(old.error()["code"], "wrong_password");
    let new = alice
        .run(
            &["--profile", "new", "login", "alice", "--password-stdin"],
            Some("new-password-1\n"),
        )
        .await;
    assert!(new.success(), "{new:?}");
    alice.ok(&["whoami"]).await;

    // `profiles`: each profile with its state, the current one marked; a
    // profile whose server does not answer is reported, not fatal.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    std::fs::write(
        alice.home().join("profiles").join("away.toml"),
        format!(
            "server = \"{}\"\nca = \"{}\"\nusername = \"alice\"\ntoken = \"qct_x\"\n",
            silent.local_addr().unwrap(),
            alice.ca.display()
        ),
    )
    .unwrap();
    let run = User::run_command(
        alice.bare_command(&["--json", "--connect-timeout", "1", "profiles"]),
        None,
    )
    .await;
    assert!(run.success(), "{run:?}");
    let state = |name: &str| {
        run.lines
            .iter()
            .find(|l| l["name"] == name)
            .unwrap_or_else(|| panic!("no profile {name}: {:?}", run.lines))
            .clone()
    };
    // A failed login (profile "old") saves no profile.
    assert_eq!(run.lines.len(), 4, "{:?}", run.lines);
    assert_eq!(state("default")["state"], "valid");
    assert_eq!(state("default")["current"], true);
    assert_eq!(state("new")["state"], "valid");
    assert_eq!(state("new")["current"], false);
    assert_eq!(state("laptop")["state"], "invalid");
    assert_eq!(state("away")["state"], "unknown");
    assert!(
        state("away")["reason"]
            .as_str()
            .unwrap()
            .contains("no answer"),
        "{:?}",
        state("away")
    );
    let offline = User::run_command(
        alice.bare_command(&["--json", "profiles", "--offline"]),
        None,
    )
    .await;
    assert!(offline.success());
    assert!(offline
        .lines
        .iter()
        .all(|l| l["state"] == "unknown" || l["state"] == "logged_out"));
    let human = alice.human(&["profiles", "--offline"]).await;
    assert!(
        human.lines().any(|l| l.starts_with("* default  alice")),
        "{human}"
    );
    drop(silent);

    // Completions and the manual come from the same definition as --help.
    for shell in ["bash", "zsh", "fish"] {
        let (status, out, err) = raw_stdout(&alice, &["completions", shell]).await;
        assert!(status.success(), "{err}");
        let script = String::from_utf8(out).unwrap();
        assert!(
            script.contains("send-file") && script.contains("message-file"),
            "{shell}: {script:.200}"
        );
    }
    let (status, out, err) = raw_stdout(&alice, &["manpage"]).await;
    assert!(status.success(), "{err}");
    let page = String::from_utf8(out).unwrap();
    assert!(
        page.starts_with(".ie") || page.contains(".TH quichat"),
        "{page:.200}"
    );
    let dir = alice.home().join("man");
    let (status, _, err) = raw_stdout(&alice, &["manpage", "--dir", dir.to_str().unwrap()]).await;
    assert!(status.success(), "{err}");
    assert!(dir.join("quichat.1").is_file());
    assert!(dir.join("quichat-send.1").is_file());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administrators_broadcast_to_everyone() {
    let server = TestServer::start().await;
    let alice = server.user("alice");
    let bob = server.user("bob");
    alice.register().await;
    bob.register().await;
    let err = alice.fails(&["broadcast", "hello", "everyone"]).await;
    assert_eq!(err["code"], "forbidden", "{err}");
    let admin = quichat_server::admin::Admin::new(server.handle.state().store.clone());
    assert!(admin.set_admin("alice", true).await.unwrap());

    let sent = alice.ok(&["broadcast", "hello", "everyone"]).await;
    assert_eq!(sent[0]["type"], "broadcast_sent");
    assert_eq!(sent[0]["recipients"], 2);
    let got = bob.ok(&["listen", "--once", "--timeout", "15s"]).await;
    assert_eq!(got[0]["type"], "broadcast", "{got:?}");
    assert_eq!(got[0]["from"], "alice");
    assert_eq!(got[0]["text"], "hello everyone");
    let human = bob
        .human(&["listen", "--from-start", "--once", "--timeout", "15s"])
        .await;
    assert!(
        human.contains("server broadcast from alice: hello everyone"),
        "{human}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mentions_show_in_listen_and_chats() {
    let server = TestServer::start().await;
    let alice = server.user("alice");
    let bob = server.user("bob");
    alice.register().await;
    bob.register().await;
    alice
        .ok(&["group", "create", "team", "--member", "bob"])
        .await;
    let sent = alice.ok(&["send", "#team", "hi @bob, see you"]).await;
    let seq = sent[0]["seq"].as_u64().unwrap();

    let chats = bob.human(&["chats"]).await;
    assert!(chats.contains("@ you were mentioned"), "{chats}");
    let json = bob.ok(&["chats"]).await;
    assert_eq!(json[0]["mentions"], 1, "{json:?}");

    let events = bob.ok(&["listen", "--timeout", "3s"]).await;
    let at = events
        .iter()
        .position(|v| v["type"] == "mention")
        .unwrap_or_else(|| panic!("no mention line: {events:?}"));
    assert_eq!(events[at]["seq"], seq);
    assert_eq!(events[at]["by"], "alice");
    assert!(
        is_message(&events[at - 1], "hi @bob, see you"),
        "{events:?}"
    );
    let human = bob
        .human(&["listen", "--from-start", "--timeout", "3s"])
        .await;
    assert!(
        human.contains(&format!("🔔 #1 #{seq}: alice mentioned you")),
        "{human}"
    );

    bob.ok(&["read", "#team"]).await;
    let chats = bob.human(&["chats"]).await;
    assert!(!chats.contains("mentioned"), "{chats}");
    server.stop().await;
}
