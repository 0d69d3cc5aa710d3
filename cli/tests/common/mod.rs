//! Helpers shared by the CLI's end-to-end tests: a real server started in
//! the test process (SQLite in a temporary directory, port 0), users with a
//! `QUICHAT_HOME` of their own, and runs of the real `quichat` binary.
//!
//! Each test file uses only some of them.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use quichat_server::{Config, Server, ServerHandle};
use serde_json::Value;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::time::timeout;

pub const BIN: &str = env!("CARGO_BIN_EXE_quichat");
pub const WAIT: Duration = Duration::from_secs(20);

/// Variables of the developer's environment that would change the CLI's
/// behaviour.
pub const CLI_ENV: &[&str] = &[
    "QUICHAT_SERVER",
    "QUICHAT_CA",
    "QUICHAT_PIN",
    "QUICHAT_PROFILE",
    "QUICHAT_JSON",
    "QUICHAT_DEVICE_NAME",
    "RUST_LOG",
    // A desktop session's bus: tests that want one give their own.
    "DBUS_SESSION_BUS_ADDRESS",
];

pub struct TestServer {
    pub handle: ServerHandle,
    pub config: Config,
    pub addr: String,
    pub ca: PathBuf,
    pub _dir: TempDir,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// A server whose configuration `tweak` changed first.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().join("data"),
            ..Config::default()
        };
        tweak(&mut config);
        let handle = Server::start(config.clone()).await.unwrap();
        let ca = handle.ca_path().expect("dev CA generated").clone();
        config.listen = handle.local_addr();
        TestServer {
            config,
            addr: handle.local_addr().to_string(),
            ca,
            handle,
            _dir: dir,
        }
    }

    pub fn user(&self, name: &'static str) -> User {
        User {
            name,
            home: tempfile::tempdir().unwrap(),
            server: self.addr.clone(),
            ca: self.ca.clone(),
        }
    }

    pub async fn stop(self) {
        timeout(WAIT, self.handle.stop()).await.unwrap();
    }

    /// Stops the server and starts it again on the same address, data
    /// directory and database.
    pub async fn restart(self) -> TestServer {
        self.restart_after(async {}).await
    }

    /// [`TestServer::restart`], waiting for `between` while it is down.
    pub async fn restart_after(self, between: impl std::future::Future<Output = ()>) -> TestServer {
        let TestServer {
            handle,
            config,
            addr,
            ca,
            _dir,
        } = self;
        timeout(WAIT, handle.stop()).await.unwrap();
        between.await;
        // quinn's endpoint driver may hold the UDP port for a moment after
        // the handle stopped: retry the bind briefly.
        let mut tries = 0;
        let handle = loop {
            match Server::start(config.clone()).await {
                Ok(h) => break h,
                Err(quichat_server::StartError::Bind { .. }) if tries < 50 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("restart failed: {e}"),
            }
        };
        TestServer {
            handle,
            config,
            addr,
            ca,
            _dir,
        }
    }
}

pub fn password_of(name: &str) -> String {
    format!("{name}-correct-horse")
}

/// One person: a `QUICHAT_HOME` of their own.
pub struct User {
    pub name: &'static str,
    pub home: TempDir,
    pub server: String,
    pub ca: PathBuf,
}

/// A finished command: status, stdout parsed as JSON lines, stderr.
#[derive(Debug)]
pub struct Run {
    pub output: Output,
    pub lines: Vec<Value>,
    pub stderr: String,
}

impl Run {
    pub fn from(output: Output) -> Run {
        let stdout = String::from_utf8(output.stdout.clone()).unwrap();
        let lines = stdout
            .lines()
            .map(|l| {
                assert!(l.starts_with(r#"{"type":""#), "type comes first: {l}");
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l:?}"))
            })
            .collect();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        Run {
            output,
            lines,
            stderr,
        }
    }

    pub fn success(&self) -> bool {
        self.output.status.success()
    }

    /// The single `{"type":"error"}` line of a failed command.
    pub fn error(&self) -> &Value {
        assert!(!self.success(), "expected a failure: {self:?}");
        assert_eq!(self.output.status.code(), Some(1), "{self:?}");
        assert!(
            self.stderr.contains("quichat: error: "),
            "stderr: {}",
            self.stderr
        );
        assert_eq!(self.lines.len(), 1, "{self:?}");
        assert_eq!(self.lines[0]["type"], "error");
        &self.lines[0]
    }
}

impl User {
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// The binary with this user's home and no trust options.
    pub fn bare_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        for var in CLI_ENV {
            cmd.env_remove(var);
        }
        cmd.env("QUICHAT_HOME", self.home())
            .current_dir(self.home())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    /// The binary with `--server`, `--ca` and `--json`.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut all = vec![
            "--server",
            &self.server,
            "--ca",
            self.ca.to_str().unwrap(),
            "--json",
        ];
        all.extend_from_slice(args);
        self.bare_command(&all)
    }

    pub async fn run_command(mut cmd: Command, stdin: Option<&str>) -> Run {
        if stdin.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let mut child = cmd.spawn().unwrap();
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().unwrap();
            pipe.write_all(input.as_bytes()).await.unwrap();
            drop(pipe);
        }
        let output = timeout(WAIT, child.wait_with_output())
            .await
            .expect("command timed out")
            .unwrap();
        Run::from(output)
    }

    pub async fn run(&self, args: &[&str], stdin: Option<&str>) -> Run {
        Self::run_command(self.command(args), stdin).await
    }

    /// Runs a command that must succeed; returns its JSON lines.
    pub async fn ok(&self, args: &[&str]) -> Vec<Value> {
        let run = self.run(args, None).await;
        assert!(run.success(), "{args:?} failed: {run:?}");
        run.lines
    }

    /// Runs a command that must fail; returns its error line.
    pub async fn fails(&self, args: &[&str]) -> Value {
        let run = self.run(args, None).await;
        run.error().clone()
    }

    /// Runs a command without `--json` that must succeed; returns its
    /// stdout (the human form).
    pub async fn human(&self, args: &[&str]) -> String {
        let mut all = vec!["--server", &self.server, "--ca", self.ca.to_str().unwrap()];
        all.extend_from_slice(args);
        let mut child = self.bare_command(&all).spawn().unwrap();
        drop(child.stdin.take());
        let output = timeout(WAIT, child.wait_with_output())
            .await
            .expect("command timed out")
            .unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(
            output.status.success(),
            "{args:?} failed: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    }

    pub async fn register(&self) -> Value {
        let pw = format!("{}\n", password_of(self.name));
        let run = self
            .run(&["register", self.name, "--password-stdin"], Some(&pw))
            .await;
        assert!(run.success(), "register failed: {run:?}");
        assert_eq!(run.lines.len(), 1);
        let session = run.lines[0].clone();
        assert_eq!(session["type"], "session");
        assert_eq!(session["username"], self.name);
        assert!(session["device_id"].as_i64().unwrap() > 0);
        assert!(session.get("token").is_none());
        session
    }

    pub async fn listen(&self, args: &[&str]) -> Listener {
        self.listen_with_env(args, &[]).await
    }

    /// `listen` with extra environment variables.
    pub async fn listen_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Listener {
        let mut all = vec!["listen"];
        all.extend_from_slice(args);
        let mut cmd = self.command(&all);
        cmd.envs(env.iter().copied());
        let mut child = cmd.spawn().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
        // The banner comes once the feed is subscribed and signals are
        // handled.
        let banner = timeout(WAIT, async {
            loop {
                match stderr.next_line().await.unwrap() {
                    Some(line) if line.starts_with("listening as ") => return line,
                    Some(_) => continue,
                    None => panic!("listen exited before subscribing"),
                }
            }
        })
        .await
        .expect("no listen banner");
        assert!(banner.contains(self.name), "{banner}");
        let seen = Arc::new(std::sync::Mutex::new(String::new()));
        let sink = seen.clone();
        let stderr_rest = tokio::spawn(async move {
            while let Ok(Some(line)) = stderr.next_line().await {
                let mut rest = sink.lock().unwrap();
                rest.push_str(&line);
                rest.push('\n');
            }
            let rest = sink.lock().unwrap().clone();
            rest
        });
        Listener {
            child,
            stdout,
            stderr_rest,
            stderr_seen: seen,
        }
    }

    pub fn profile_text(&self, name: &str) -> String {
        std::fs::read_to_string(self.home().join("profiles").join(format!("{name}.toml"))).unwrap()
    }
}

/// A running `listen --json`.
pub struct Listener {
    pub child: Child,
    pub stdout: Lines<BufReader<ChildStdout>>,
    pub stderr_rest: tokio::task::JoinHandle<String>,
    /// Stderr after the banner, so far.
    pub stderr_seen: Arc<std::sync::Mutex<String>>,
}

impl Listener {
    /// Waits until stderr (after the banner) contains `needle`.
    pub async fn wait_stderr(&self, needle: &str) {
        let found = timeout(WAIT, async {
            while !self.stderr_seen.lock().unwrap().contains(needle) {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
        assert!(
            found.is_ok(),
            "listen never printed {needle:?} on stderr: {}",
            self.stderr_seen.lock().unwrap()
        );
    }

    /// Sends `signal` (`INT`, `TERM`) and returns the exit status and how
    /// long the exit took.
    pub async fn signal(mut self, signal: &str) -> (std::process::ExitStatus, Duration) {
        let pid = self.child.id().unwrap().to_string();
        let sent = std::time::Instant::now();
        let status = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .unwrap();
        assert!(status.success());
        let status = timeout(WAIT, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("listen ignored SIG{signal}"))
            .unwrap();
        (status, sent.elapsed())
    }

    pub async fn next(&mut self) -> Option<Value> {
        let line = timeout(WAIT, self.stdout.next_line())
            .await
            .expect("no output from listen")
            .unwrap()?;
        assert!(line.starts_with(r#"{"type":""#), "type comes first: {line}");
        Some(serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}")))
    }

    /// Reads lines until one matches; fails after `WAIT` in total.
    pub async fn wait_for(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        self.wait_for_within(what, WAIT, pred).await
    }

    /// Reads lines until one matches; fails after `limit` in total.
    pub async fn wait_for_within(
        &mut self,
        what: &str,
        limit: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let found = timeout(limit, async {
            loop {
                match self.stdout.next_line().await.unwrap() {
                    Some(line) => {
                        let v: Value = serde_json::from_str(&line).unwrap();
                        if pred(&v) {
                            return v;
                        }
                    }
                    None => panic!("listen ended before printing {what}"),
                }
            }
        })
        .await;
        found.unwrap_or_else(|_| panic!("timed out waiting for {what}"))
    }

    /// Asserts that nothing is printed for `quiet`.
    pub async fn assert_quiet(&mut self, quiet: Duration) {
        if let Ok(line) = timeout(quiet, self.stdout.next_line()).await {
            panic!("unexpected output from listen: {line:?}");
        }
    }

    /// Stops it like Ctrl-C would (SIGTERM), expects a clean exit and
    /// returns what it printed after the last read line.
    pub async fn stop(mut self) -> Vec<Value> {
        let pid = self.child.id().unwrap().to_string();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(status.success());
        let mut rest = Vec::new();
        while let Some(v) = self.next().await {
            rest.push(v);
        }
        let status = timeout(WAIT, self.child.wait()).await.unwrap().unwrap();
        let stderr = timeout(WAIT, self.stderr_rest).await.unwrap().unwrap();
        assert!(status.success(), "listen exited with {status}: {stderr}");
        rest
    }

    /// Waits for it to exit on its own; returns the status and stderr.
    pub async fn exited(mut self) -> (std::process::ExitStatus, String, Vec<Value>) {
        let mut rest = Vec::new();
        while let Some(v) = self.next().await {
            rest.push(v);
        }
        let status = timeout(WAIT, self.child.wait()).await.unwrap().unwrap();
        let stderr = timeout(WAIT, self.stderr_rest).await.unwrap().unwrap();
        (status, stderr, rest)
    }
}
