//! `quichat chat` driven through tmux, as a person would use it: the real
//! binary in a detached tmux session of a fixed size, keys sent with
//! `send-keys`, the screen read with `capture-pane`, against a real server
//! started in this process; the other side is the plain CLI.
//!
//! tmux is required: without it the test fails (it does not skip).

#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use common::*;

/// How long the screen may take to show something.
const SCREEN_WAIT: Duration = Duration::from_secs(20);

/// A private tmux server (its own socket), killed on drop.
struct Tmux {
    socket: PathBuf,
    _dir: TempDir,
}

impl Tmux {
    fn new() -> Tmux {
        match std::process::Command::new("tmux").arg("-V").output() {
            Ok(out) if out.status.success() => {}
            Ok(out) => panic!(
                "`tmux -V` failed ({}); this test drives `quichat chat` through tmux: \
                 install it (apt-get install tmux)",
                out.status
            ),
            Err(e) => panic!(
                "tmux is not installed or not on PATH ({e}); this test drives `quichat chat` \
                 through tmux: install it (apt-get install tmux)"
            ),
        }
        let dir = tempfile::tempdir().unwrap();
        Tmux {
            socket: dir.path().join("tmux.sock"),
            _dir: dir,
        }
    }

    /// Runs `tmux -u -S SOCKET ARGS...` (UTF-8 forced, whatever the
    /// locale); returns stdout.
    fn tmux(&self, args: &[&str]) -> String {
        let out = std::process::Command::new("tmux")
            .arg("-u")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts `command` (a shell line) in a detached 120×40 session.
    fn start(&self, session: &str, command: &str) {
        self.tmux(&[
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            "120",
            "-y",
            "40",
            command,
        ]);
    }

    /// Types `text` literally.
    fn type_text(&self, session: &str, text: &str) {
        self.tmux(&["send-keys", "-t", session, "-l", text]);
    }

    /// Presses keys by tmux name (`Enter`, `C-c`, `Up`).
    fn press(&self, session: &str, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", session];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// The visible screen.
    fn screen(&self, session: &str) -> String {
        self.tmux(&["capture-pane", "-p", "-t", session])
    }

    /// Polls the screen until `pred` holds; fails with the screen after
    /// [`SCREEN_WAIT`].
    async fn wait_for(&self, session: &str, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen(session);
            if pred(&screen) {
                return screen;
            }
            if start.elapsed() > SCREEN_WAIT {
                panic!("the screen never showed {what} within {SCREEN_WAIT:?}:\n{screen}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = std::process::Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

/// `'text'` for a POSIX shell.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The shell line that runs `quichat ARGS` as `user` (in their home, with
/// their `QUICHAT_HOME` and none of the developer's `QUICHAT_*`), then
/// prints its exit status and keeps the pane open. `RUST_LOG=debug`:
/// nothing of it may reach the screen while the chat screen is up.
fn chat_line(user: &User, args: &[&str]) -> String {
    let mut line = format!("cd {} && env", quote(user.home().to_str().unwrap()));
    for var in CLI_ENV {
        line.push_str(&format!(" -u {var}"));
    }
    line.push_str(&format!(
        " QUICHAT_HOME={} RUST_LOG=debug {} --server {} --ca {}",
        quote(user.home().to_str().unwrap()),
        quote(BIN),
        quote(&user.server),
        quote(user.ca.to_str().unwrap())
    ));
    for arg in args {
        line.push(' ');
        line.push_str(&quote(arg));
    }
    line.push_str("; echo EXIT=$?; sleep 30");
    line
}

/// The screen row that shows `text`.
fn row_with<'a>(screen: &'a str, text: &str) -> Option<&'a str> {
    screen.lines().find(|l| l.contains(text))
}

/// Whether the row with `text` ends with exactly `mark` (after the text).
fn marked(screen: &str, text: &str, mark: &str) -> bool {
    row_with(screen, text).is_some_and(|row| {
        let after = row.split(text).nth(1).unwrap_or_default();
        after.trim_end_matches([' ', '│']).trim() == mark
    })
}

async fn wait_json(what: &str, mut check: impl AsyncFnMut() -> Option<Value>) -> Value {
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Stops the server, waits until alice's screen shows the lost
/// connection, and starts it again on the same address and data.
async fn restart_slowly(server: TestServer, tmux: &Tmux) -> TestServer {
    server
        .restart_after(async {
            tmux.wait_for("chat", "the lost connection", |s| {
                s.contains("○ reconnecting")
            })
            .await;
        })
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_screen_sends_receives_shows_receipts_and_quits() {
    let tmux = Tmux::new();
    let server = TestServer::start().await;
    let alice = server.user("alice");
    let bob = server.user("bob");
    alice.register().await;
    bob.register().await;
    bob.ok(&["send", "alice", "hi alice"]).await;
    let group = bob
        .ok(&["group", "create", "fam", "--member", "alice"])
        .await;
    let group_id = group[0]["id"].as_i64().unwrap();
    let chats = alice.ok(&["chats"]).await;
    let with_bob = chats.iter().find(|c| c["peer"] == "bob").unwrap();
    assert_eq!(with_bob["unread"], 1, "{chats:?}");

    // Bob's listen shows what alice's screen sends (and sends delivered
    // receipts for it).
    let mut listen = bob.listen(&[]).await;

    tmux.start("chat", &chat_line(&alice, &["chat", "bob"]));
    let screen = tmux
        .wait_for("chat", "the conversation with bob", |s| {
            s.contains("connected as alice") && s.contains("#1 bob: hi alice")
        })
        .await;
    assert!(screen.contains("message to bob"), "{screen}");
    assert!(
        screen.contains(&format!("#{group_id} “fam”")),
        "the group is listed: {screen}"
    );
    assert!(screen.contains("PgUp PgDn: scroll"), "the keys: {screen}");
    assert!(
        !screen.contains("DEBUG"),
        "log lines on the screen: {screen}"
    );

    // Opening the conversation marked it read.
    wait_json("the unread count to clear", async || {
        let chats = alice.ok(&["chats"]).await;
        let c = chats.iter().find(|c| c["peer"] == "bob")?.clone();
        (c["unread"] == 0).then_some(c)
    })
    .await;

    // Typing sends a typing notice; Enter sends the message.
    tmux.type_text("chat", "hello from the tui");
    let typing = listen
        .wait_for("alice typing", |v| v["type"] == "typing")
        .await;
    assert_eq!(typing["from"], "alice");
    tmux.press("chat", &["Enter"]);
    let got = listen
        .wait_for("alice's message", |v| {
            v["type"] == "message" && v["text"] == "hello from the tui"
        })
        .await;
    assert_eq!(got["from"], "alice");
    let history = bob.ok(&["history", "alice"]).await;
    assert!(
        history.iter().any(|m| m["text"] == "hello from the tui"),
        "{history:?}"
    );

    // Delivered (bob's listen and history have it), then read.
    tmux.wait_for("chat", "✓ after alice's message", |s| {
        marked(s, "alice: hello from the tui", "✓")
    })
    .await;
    bob.ok(&["read", "alice"]).await;
    tmux.wait_for("chat", "✓✓ after alice's message", |s| {
        marked(s, "alice: hello from the tui", "✓✓")
    })
    .await;

    // Bob answers with the CLI: it shows up on alice's screen.
    bob.ok(&["send", "alice", "reply from bob"]).await;
    tmux.wait_for("chat", "bob's reply", |s| s.contains("bob: reply from bob"))
        .await;

    // The server goes away: the status line says so; once it is back,
    // the feed resumes and new messages arrive.
    let server = restart_slowly(server, &tmux).await;
    bob.ok(&["send", "alice", "after the restart"]).await;
    tmux.wait_for("chat", "a message after the restart", |s| {
        s.contains("bob: after the restart") && s.contains("● connected as alice")
    })
    .await;

    // A file from bob: /download N puts it in alice's current directory.
    let bytes: Vec<u8> = (0..50_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let report = bob.home().join("report.bin");
    std::fs::write(&report, &bytes).unwrap();
    let sent = bob
        .ok(&["send-file", "alice", report.to_str().unwrap()])
        .await;
    let seq = sent[0]["seq"].as_u64().unwrap();
    let media_id = sent[0]["media"]["id"].as_str().unwrap().to_string();
    tmux.wait_for("chat", "the file entry", |s| {
        s.contains("[file report.bin, 48.8 KiB,") && s.contains(&media_id[..20])
    })
    .await;
    tmux.type_text("chat", &format!("/download {seq}"));
    tmux.press("chat", &["Enter"]);
    tmux.wait_for("chat", "the download", |s| {
        s.contains("downloaded report.bin (48.8 KiB) to ./report.bin")
    })
    .await;
    assert_eq!(
        std::fs::read(alice.home().join("report.bin")).unwrap(),
        bytes
    );

    // /file uploads and sends.
    let upload = alice.home().join("notes.txt");
    std::fs::write(&upload, "some notes\n".repeat(1000)).unwrap();
    tmux.type_text("chat", &format!("/file {}", upload.display()));
    tmux.press("chat", &["Enter"]);
    let media = listen
        .wait_for("alice's file", |v| {
            v["type"] == "message" && v["media"]["filename"] == "notes.txt"
        })
        .await;
    assert_eq!(media["media"]["size"], 11_000);
    tmux.wait_for("chat", "the upload's result", |s| {
        s.contains("sent notes.txt (10.7 KiB) to bob")
    })
    .await;
    let screen = tmux.screen("chat");
    assert!(
        !screen.contains("DEBUG"),
        "log lines on the screen: {screen}"
    );

    // Bob in a chat screen of his own types: alice sees it.
    tmux.start("bob", &chat_line(&bob, &["chat", "alice"]));
    tmux.wait_for("bob", "bob's screen", |s| s.contains("connected as bob"))
        .await;
    tmux.type_text("bob", "thinking");
    tmux.wait_for("chat", "bob typing", |s| s.contains("… bob is typing"))
        .await;
    tmux.press("bob", &["C-u", "C-c"]);
    let bob_screen = tmux
        .wait_for("bob", "bob's EXIT=", |s| s.contains("EXIT="))
        .await;
    assert!(bob_screen.contains("EXIT=0"), "{bob_screen}");

    // /quit: exit status 0, and the terminal is back (the chat screen is
    // gone, the shell's output is there).
    tmux.type_text("chat", "/quit");
    tmux.press("chat", &["Enter"]);
    let screen = tmux
        .wait_for("chat", "EXIT=0", |s| s.contains("EXIT="))
        .await;
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(
        !screen.contains("connected as alice"),
        "the chat screen was left on the terminal: {screen}"
    );

    // Again, opening the group first by name: the list and the receipts
    // so far come back, Up switches to bob, Ctrl-C quits with 0.
    tmux.start("again", &chat_line(&alice, &["chat", "#fam"]));
    tmux.wait_for("again", "the group open", |s| {
        s.contains(&format!("#{group_id} “fam” (2 members)")) && s.contains("bob created")
    })
    .await;
    tmux.press("again", &["Up"]);
    tmux.wait_for("again", "✓✓ from the receipts so far", |s| {
        s.contains("message to bob") && marked(s, "alice: hello from the tui", "✓✓")
    })
    .await;
    tmux.press("again", &["C-c"]);
    let screen = tmux
        .wait_for("again", "EXIT=0", |s| s.contains("EXIT="))
        .await;
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(!screen.contains("connected as alice"), "{screen}");

    listen.stop().await;
    server.stop().await;
}

/// Without a terminal (a script, a pipe), `chat` says so instead of
/// drawing into the pipe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_needs_a_terminal() {
    let server = TestServer::start().await;
    let alice = server.user("alice");
    alice.register().await;
    let error = alice.fails(&["chat", "bob"]).await;
    assert_eq!(error["code"], "not_a_terminal", "{error}");
    server.stop().await;
}

/// The shell line builder quotes what a shell would split.
#[test]
fn shell_words_are_quoted() {
    assert_eq!(quote("#fam"), "'#fam'");
    assert_eq!(quote("it's"), r"'it'\''s'");
}
