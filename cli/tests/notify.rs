//! Notification settings from the command line (`mute`, `unmute`, `dnd`,
//! the `chats` mark) and `listen --notify` against a real session D-Bus:
//! a private `dbus-daemon` with a notification service on it that records
//! what it is asked to show (the freedesktop `org.freedesktop.
//! Notifications` interface, as desktop notification daemons serve it).
//! Needs `dbus-daemon` (Debian: `apt-get install dbus-daemon`).

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

use tokio::sync::mpsc;
use tokio::time::timeout;

use common::*;

/// A private session bus; killed on drop.
struct Bus {
    child: std::process::Child,
    address: String,
}

impl Bus {
    fn start() -> Bus {
        let mut child = std::process::Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot start dbus-daemon (Debian: apt-get install dbus-daemon)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let address = line.trim().to_string();
        assert!(address.starts_with("unix:"), "dbus-daemon printed {line:?}");
        Bus { child, address }
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The notification service: records (summary, body) of each request.
struct Service {
    shown: mpsc::UnboundedSender<(String, String)>,
    next_id: u32,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Service {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &mut self,
        _app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        _actions: Vec<String>,
        _hints: HashMap<String, zbus::zvariant::OwnedValue>,
        _expire_timeout: i32,
    ) -> u32 {
        let _ = self.shown.send((summary, body));
        self.next_id += 1;
        self.next_id
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        (
            "recorder".into(),
            "quichat-tests".into(),
            "1.0".into(),
            "1.2".into(),
        )
    }

    fn get_capabilities(&self) -> Vec<String> {
        vec!["body".into()]
    }

    fn close_notification(&self, _id: u32) {}
}

async fn next_shown(shown: &mut mpsc::UnboundedReceiver<(String, String)>) -> (String, String) {
    timeout(WAIT, shown.recv())
        .await
        .expect("no desktop notification")
        .expect("the service stopped")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_notify_shows_what_the_server_leaves_loud() {
    let bus = Bus::start();
    let (tx, mut shown) = mpsc::unbounded_channel();
    let _service = zbus::connection::Builder::address(bus.address.as_str())
        .unwrap()
        .name("org.freedesktop.Notifications")
        .unwrap()
        .serve_at(
            "/org/freedesktop/Notifications",
            Service {
                shown: tx,
                next_id: 0,
            },
        )
        .unwrap()
        .build()
        .await
        .unwrap();

    let server = TestServer::start().await;
    let alice = server.user("alice");
    let bob = server.user("bob");
    alice.register().await;
    bob.register().await;
    // The group first, so that it is #1.
    alice
        .ok(&["group", "create", "team", "--member", "bob"])
        .await;
    alice.ok(&["send", "bob", "before the start"]).await;
    let mut listen = bob
        .listen_with_env(
            &["--notify"],
            &[("DBUS_SESSION_BUS_ADDRESS", bus.address.as_str())],
        )
        .await;
    listen
        .wait_stderr("desktop notifications through recorder")
        .await;
    // What came before the start is printed, not announced.
    listen
        .wait_for("the old message", |v| v["text"] == "before the start")
        .await;

    alice.ok(&["send", "bob", "hello bob"]).await;
    assert_eq!(
        next_shown(&mut shown).await,
        ("alice".into(), "hello bob".into())
    );
    bob.ok(&["send", "alice", "my own reply"]).await;

    // Muted: chatter is printed but silent; a mention breaks through.
    let muted = bob.ok(&["mute", "#team"]).await;
    assert_eq!(muted[0]["type"], "muted");
    assert_eq!(muted[0]["until"], serde_json::Value::Null);
    alice.ok(&["send", "#team", "muted chatter"]).await;
    alice.ok(&["send", "#team", "look @bob"]).await;
    listen
        .wait_for("the muted message", |v| v["text"] == "muted chatter")
        .await;
    let (summary, body) = next_shown(&mut shown).await;
    assert_eq!(
        summary, "alice mentioned you in #1",
        "own and muted messages stay silent"
    );
    assert_eq!(body, "look @bob");

    // Do not disturb silences everything, until it is off.
    bob.ok(&["dnd", "on"]).await;
    alice.ok(&["send", "bob", "during dnd"]).await;
    alice.ok(&["send", "#team", "@bob during dnd"]).await;
    listen
        .wait_for("the dnd mention", |v| v["text"] == "@bob during dnd")
        .await;
    bob.ok(&["dnd", "off"]).await;
    alice.ok(&["send", "bob", "after dnd"]).await;
    assert_eq!(
        next_shown(&mut shown).await,
        ("alice".into(), "after dnd".into())
    );
    listen.stop().await;
    assert!(shown.try_recv().is_err(), "nothing else was shown");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_notify_without_a_service_fails_readably() {
    let server = TestServer::start().await;
    let bob = server.user("bob");
    bob.register().await;
    // No bus at all, then a bus without a notification service.
    let bus = Bus::start();
    for address in [
        "unix:path=/nonexistent/quichat-test-bus",
        bus.address.as_str(),
    ] {
        let mut cmd = bob.command(&["listen", "--notify"]);
        cmd.env("DBUS_SESSION_BUS_ADDRESS", address);
        let run = User::run_command(cmd, None).await;
        assert_eq!(run.output.status.code(), Some(1), "{address}: {run:?}");
        let error = run.error();
        assert_eq!(error["code"], "notify_unavailable", "{address}: {error}");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("no desktop notification service"),
            "{error}"
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mute_unmute_and_dnd_commands() {
    let server = TestServer::start().await;
    let alice = server.user("alice");
    let bob = server.user("bob");
    alice.register().await;
    bob.register().await;
    alice
        .ok(&["group", "create", "team", "--member", "bob"])
        .await;
    alice.ok(&["send", "bob", "hi"]).await;

    let muted = bob.ok(&["mute", "alice", "--for", "8h"]).await;
    assert_eq!(muted[0]["with"], "alice");
    assert_eq!(muted[0]["muted"], true);
    let until = muted[0]["until"].as_str().unwrap().to_string();
    let human = bob.human(&["mute", "#team"]).await;
    assert!(human.contains("🔕 #1 muted until you unmute it"), "{human}");

    let chats = bob.ok(&["chats"]).await;
    let of = |peer: &str| chats.iter().find(|c| c["peer"] == peer).unwrap().clone();
    assert_eq!(of("alice")["muted_until"], until.as_str());
    assert_eq!(of("#1")["muted_until"], "forever", "{chats:?}");
    let human = bob.human(&["chats"]).await;
    let (total, rows) = human
        .trim_end()
        .lines()
        .collect::<Vec<_>>()
        .split_last()
        .map(|(t, r)| (t.to_string(), r.len()))
        .unwrap();
    assert_eq!(rows, 2, "{human}");
    assert!(human.lines().take(2).all(|l| l.contains("🔕")), "{human}");
    // The total, after the list (people only: not a JSON line).
    assert_eq!(total, "1 unread in 1 of 2 conversations", "{human}");
    assert_eq!(chats.len(), 2, "{chats:?}");

    let settings = bob
        .ok(&[
            "dnd",
            "schedule",
            "22:00-07:30",
            "--tz",
            "Europe/Paris",
            "--allow-mentions",
        ])
        .await;
    assert_eq!(settings[0]["type"], "dnd");
    assert_eq!(settings[0]["mode"], "scheduled");
    assert_eq!(settings[0]["start"], "22:00");
    assert_eq!(settings[0]["end"], "07:30");
    assert_eq!(settings[0]["time_zone"], "Europe/Paris");
    assert_eq!(settings[0]["allow_mentions"], true);
    assert_eq!(
        settings.len(),
        3,
        "the dnd line and two mutes: {settings:?}"
    );
    let human = bob.human(&["dnd"]).await;
    assert!(
        human.contains("⛔ do not disturb: every day 22:00–07:30 (Europe/Paris); mentions and replies still alert"),
        "{human}"
    );
    assert!(human.contains("🔕 alice muted until"), "{human}");

    let unmuted = bob.ok(&["unmute", "alice"]).await;
    assert_eq!(unmuted[0]["muted"], false);
    let off = bob.ok(&["dnd", "off"]).await;
    assert_eq!(off[0]["mode"], "off");
    assert_eq!(off.len(), 2, "only #1 stays muted: {off:?}");
    assert_eq!(off[1]["with"], "#1");

    // Typed errors.
    let e = bob
        .fails(&["dnd", "schedule", "22:00-07:00", "--tz", "Mars/Olympus"])
        .await;
    assert_eq!(e["code"], "invalid_argument", "{e}");
    let run = bob.run(&["dnd", "schedule", "25:00-07:00"], None).await;
    assert_eq!(
        run.output.status.code(),
        Some(2),
        "a bad window is a usage error: {run:?}"
    );
    let e = bob.fails(&["mute", "nobody"]).await;
    assert_eq!(e["code"], "unknown_user", "{e}");
    server.user("carol").register().await;
    let e = bob.fails(&["mute", "carol"]).await;
    assert_eq!(
        e["code"], "not_found",
        "no conversation with carol yet: {e}"
    );
    server.stop().await;
}
