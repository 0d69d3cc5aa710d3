//! What the `quichat-server` binary shows an operator: a bind error that
//! names its cause once, `print-config` with the URLs in effect (secrets
//! masked), and logs without colour codes on a pipe and without one line
//! per SQL statement at `RUST_LOG=debug`.

#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};

const BIN: &str = env!("CARGO_BIN_EXE_quichat-server");

#[test]
fn bind_error_names_its_cause_once() -> Result<()> {
    let taken = std::net::UdpSocket::bind("127.0.0.1:0")?;
    let addr = taken.local_addr()?;
    let dir = tempfile::tempdir()?;
    let out = Command::new(BIN)
        .args(["--listen", &addr.to_string(), "--data-dir"])
        .arg(dir.path())
        .env("RUST_LOG", "off")
        .output()?;
    ensure!(out.status.code() == Some(1), "{out:?}");
    let stderr = String::from_utf8(out.stderr)?;
    ensure!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );
    ensure!(
        stderr.matches("in use").count() == 1,
        "the cause is repeated: {stderr}"
    );
    Ok(())
}

#[test]
fn print_config_shows_the_urls_in_effect() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let out = Command::new(BIN)
        .arg("--data-dir")
        .arg(dir.path())
        .arg("print-config")
        .output()?;
    ensure!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout)?;
    let d = dir.path().display();
    ensure!(
        text.contains(&format!("database_url = \"sqlite://{d}/quichat.db")),
        "{text}"
    );
    ensure!(
        text.contains(&format!("url = \"file://{d}/media\"")),
        "{text}"
    );

    let out = Command::new(BIN)
        .arg("--data-dir")
        .arg(dir.path())
        .args([
            "--database-url",
            "postgres://quichat:hunter2-secret@db.example:5432/quichat",
            "print-config",
        ])
        .output()?;
    ensure!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout)?;
    ensure!(
        !text.contains("hunter2-secret"),
        "the password leaked: {text}"
    );
    ensure!(text.contains("db.example:5432/quichat"), "{text}");
    Ok(())
}

/// Runs an idle server for two seconds with `RUST_LOG=level`, stderr on a
/// pipe, and returns what it logged.
fn idle_logs(level: &str) -> Result<String> {
    let dir = tempfile::tempdir()?;
    let mut child = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("RUST_LOG", level)
        .env_remove("NO_COLOR")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    // The transcription and outbox pollers query several times a second.
    std::thread::sleep(Duration::from_secs(2));
    child.kill()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait()?.is_none() {
        ensure!(Instant::now() < deadline, "the server did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .context("stderr")?
        .read_to_string(&mut stderr)?;
    ensure!(stderr.contains("server started"), "{stderr}");
    Ok(stderr)
}

fn sql_lines(logs: &str) -> usize {
    logs.lines().filter(|l| l.contains("sqlx::query")).count()
}

#[test]
fn logs_on_a_pipe_are_plain_and_debug_has_no_sql_flood() -> Result<()> {
    let debug = idle_logs("debug")?;
    ensure!(!debug.contains('\u{1b}'), "colour codes on a pipe");
    ensure!(
        sql_lines(&debug) == 0,
        "{} SQL statement lines at debug",
        sql_lines(&debug)
    );
    // They are still there for whoever asks for trace.
    let trace = idle_logs("trace")?;
    ensure!(sql_lines(&trace) > 0, "no SQL statements even at trace");
    Ok(())
}

#[test]
fn wire_errors_read_as_their_message() {
    let e = quichat_client::proto::WireError::new(
        quichat_client::proto::ErrorCode::WrongPassword,
        "wrong password",
    );
    assert_eq!(e.to_string(), "wrong password");
}

/// A renewed certificate is picked up without a restart (SIGHUP calls
/// this): new connections get the new one, the open ones carry on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewed_certificate_is_served_without_dropping_anyone() -> Result<()> {
    use quichat_client::{Client, ClientConfig, Trust};
    use quichat_server::certs::ensure_dev_identity;

    let work = tempfile::tempdir()?;
    let (a, b) = (work.path().join("a"), work.path().join("b"));
    ensure_dev_identity(&a, &[])?;
    ensure_dev_identity(&b, &[])?;
    let live = work.path().join("live");
    std::fs::create_dir(&live)?;
    let install = |from: &std::path::Path| -> Result<()> {
        std::fs::copy(from.join("server.pem"), live.join("cert.pem"))?;
        std::fs::copy(from.join("server-key.pem"), live.join("key.pem"))?;
        Ok(())
    };
    install(&a)?;
    let config = quichat_server::config::Config {
        listen: "127.0.0.1:0".parse()?,
        data_dir: work.path().join("data"),
        cert: Some(live.join("cert.pem")),
        key: Some(live.join("key.pem")),
        ..Default::default()
    };
    let handle = quichat_server::Server::start(config).await?;
    let addr = handle.local_addr().to_string();
    let trusting = |dir: &std::path::Path| -> Result<ClientConfig> {
        Ok(ClientConfig::new(
            &addr,
            Trust::CaPem(std::fs::read(dir.join("ca.pem"))?),
        ))
    };
    let before = Client::connect(&trusting(&a)?).await?;
    before
        .register("alice", "long-enough-password", "laptop")
        .await?;
    let old_fingerprint = handle.fingerprint().to_string();

    install(&b)?;
    let fingerprint = handle.reload_tls()?;
    ensure!(
        fingerprint != old_fingerprint,
        "the fingerprint did not change"
    );
    let after = Client::connect(&trusting(&b)?).await?;
    after.ping().await?;
    ensure!(
        Client::connect(&trusting(&a)?).await.is_err(),
        "new connections still get the old certificate"
    );
    before.ping().await.context("the open connection dropped")?;

    // A broken renewal keeps the working certificate.
    std::fs::write(live.join("cert.pem"), "not a certificate")?;
    ensure!(handle.reload_tls().is_err());
    Client::connect(&trusting(&b)?).await?.ping().await?;
    handle.stop().await;
    Ok(())
}

/// The same through the binary: SIGHUP reloads the certificate files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_certificate() -> Result<()> {
    use quichat_client::{Client, ClientConfig, Trust};
    use quichat_server::certs::ensure_dev_identity;
    use std::io::BufRead;

    let work = tempfile::tempdir()?;
    let (a, b) = (work.path().join("a"), work.path().join("b"));
    ensure_dev_identity(&a, &[])?;
    ensure_dev_identity(&b, &[])?;
    let (cert, key) = (work.path().join("cert.pem"), work.path().join("key.pem"));
    std::fs::copy(a.join("server.pem"), &cert)?;
    std::fs::copy(a.join("server-key.pem"), &key)?;
    let mut child = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(work.path().join("data"))
        .arg("--cert")
        .arg(&cert)
        .arg("--key")
        .arg(&key)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut stdout = std::io::BufReader::new(child.stdout.take().context("stdout")?);
    let mut first = String::new();
    stdout.read_line(&mut first)?;
    // Keep reading: the server prints more, and a closed pipe would end it.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let addr = first
        .strip_prefix("quichat server listening on ")
        .and_then(|r| r.split_whitespace().next())
        .with_context(|| format!("unexpected first line: {first}"))?
        .to_string();
    let trusting = |dir: &std::path::Path| -> Result<ClientConfig> {
        Ok(ClientConfig::new(
            &addr,
            Trust::CaPem(std::fs::read(dir.join("ca.pem"))?),
        ))
    };
    let result = async {
        let open = Client::connect(&trusting(&a)?).await?;
        std::fs::copy(b.join("server.pem"), &cert)?;
        std::fs::copy(b.join("server-key.pem"), &key)?;
        let status = Command::new("kill")
            .args(["-HUP", &child.id().to_string()])
            .status()?;
        ensure!(status.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match Client::connect(&trusting(&b)?).await {
                Ok(c) => {
                    c.ping().await?;
                    break;
                }
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => anyhow::bail!("the new certificate is not served: {e}"),
            }
        }
        open.ping().await.context("the open connection dropped")?;
        Ok(())
    }
    .await;
    let _ = child.kill();
    let _ = child.wait();
    result
}

fn repo_file(path: &str) -> Result<String> {
    let at = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path);
    std::fs::read_to_string(&at).with_context(|| format!("reading {}", at.display()))
}

/// The systemd unit in `deploy/` is sandboxed, reloads with SIGHUP and
/// stops with SIGTERM: parsed as sections of `key=value` lines.
#[test]
fn the_systemd_unit_is_sandboxed() -> Result<()> {
    let text = repo_file("deploy/quichat-server.service")?;
    let mut section = String::new();
    let mut service = std::collections::HashMap::new();
    let mut environment = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .with_context(|| format!("not key=value: {line}"))?;
        if section == "Service" && key == "Environment" {
            environment.push(value.to_string());
        } else if section == "Service" {
            service.insert(key.to_string(), value.to_string());
        }
    }
    for (key, value) in [
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("KillSignal", "SIGTERM"),
        ("User", "quichat"),
    ] {
        ensure!(
            service.get(key).map(String::as_str) == Some(value),
            "[Service] {key} should be {value}, is {:?}",
            service.get(key)
        );
    }
    ensure!(service["ExecStart"].contains("quichat-server serve"));
    ensure!(service["ExecReload"].contains("-HUP"));
    // Large buffers go back to the system when freed (DEPLOY.md, "Memory").
    ensure!(
        environment
            .iter()
            .any(|e| e == "MALLOC_MMAP_THRESHOLD_=1048576"),
        "no MALLOC_MMAP_THRESHOLD_ in {environment:?}"
    );
    Ok(())
}

/// The example production config is a valid config (unknown keys are
/// refused) and names PostgreSQL, S3 and operator certificates.
#[test]
fn the_production_example_config_parses() -> Result<()> {
    let config: quichat_server::config::Config =
        toml::from_str(&repo_file("deploy/quichat.prod.toml")?)?;
    ensure!(config.cert.is_some() && config.key.is_some(), "{config:?}");
    ensure!(
        config
            .media
            .url
            .as_deref()
            .is_some_and(|u| u.starts_with("s3://")),
        "{config:?}"
    );
    Ok(())
}

/// The `${VAR...}` names a Compose file interpolates (outside comments),
/// and whether each has a default (`${VAR:-x}`) rather than being required
/// (`${VAR:?msg}` or plain `${VAR}`).
fn compose_variables(text: &str) -> Vec<(String, bool)> {
    let mut vars = Vec::new();
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let mut rest = code.as_str();
    while let Some(at) = rest.find("${") {
        rest = &rest[at + 2..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let has_default = rest[name.len()..].starts_with(":-");
        vars.push((name, has_default));
    }
    vars
}

/// `deploy/docker-compose.yml` is valid YAML whose pieces fit together:
/// every service it depends on exists (with a health check where it waits
/// for health), every `QUICHAT_*` variable it sets is one the server reads
/// (`quichat-server --help` lists them), every required variable is in
/// `deploy/.env.example`, the files it mounts and builds from exist, and
/// only QUIC is published to the world (everything else on loopback).
#[test]
fn the_compose_file_fits_the_server_and_its_env_example() -> Result<()> {
    use yaml_rust2::{Yaml, YamlLoader};

    let text = repo_file("deploy/docker-compose.yml")?;
    let docs = YamlLoader::load_from_str(&text).context("deploy/docker-compose.yml")?;
    ensure!(docs.len() == 1, "one YAML document, found {}", docs.len());
    let services = docs[0]["services"]
        .as_hash()
        .context("a `services` mapping")?;
    let names: Vec<&str> = services.keys().filter_map(Yaml::as_str).collect();
    for wanted in ["postgres", "minio", "minio-init", "quichat"] {
        ensure!(
            names.contains(&wanted),
            "no `{wanted}` service in {names:?}"
        );
    }

    let help = Command::new(BIN).args(["serve", "--help"]).output()?;
    // Wrapped to the terminal's width: join it back into one line.
    let help = String::from_utf8(help.stdout)?
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for (name, service) in services {
        let name = name.as_str().context("a service name")?;
        if let Some(deps) = service["depends_on"].as_hash() {
            for (dep, how) in deps {
                let dep = dep.as_str().context("a dependency name")?;
                let target = &docs[0]["services"][dep];
                ensure!(!target.is_badvalue(), "{name} depends on a missing {dep}");
                if how["condition"].as_str() == Some("service_healthy") {
                    ensure!(
                        !target["healthcheck"]["test"].is_badvalue(),
                        "{name} waits for {dep} to be healthy, but {dep} has no health check"
                    );
                }
            }
        }
        if let Some(ports) = service["ports"].as_vec() {
            for port in ports {
                let port = port.as_str().context("a port as a string")?;
                ensure!(
                    port.starts_with("127.0.0.1:") || port == "4433:4433/udp",
                    "{name} publishes {port} beyond loopback"
                );
            }
        }
        if let Some(volumes) = service["volumes"].as_vec() {
            for volume in volumes.iter().filter_map(Yaml::as_str) {
                if let Some(file) = volume.strip_prefix("./") {
                    let file = file.split(':').next().unwrap_or(file);
                    repo_file(&format!("deploy/{file}"))
                        .with_context(|| format!("{name} mounts ./{file}"))?;
                }
            }
        }
        if let Some(env) = service["environment"].as_hash() {
            for key in env.keys().filter_map(Yaml::as_str) {
                if key.starts_with("QUICHAT_") {
                    // `[env: KEY=]`, or `[env: KEY]` where values are hidden.
                    ensure!(
                        help.contains(&format!("env: {key}="))
                            || help.contains(&format!("env: {key}]")),
                        "{name} sets {key}, which quichat-server does not read"
                    );
                }
            }
        }
    }
    let quichat = &docs[0]["services"]["quichat"];
    let dockerfile = quichat["build"]["dockerfile"]
        .as_str()
        .context("quichat's build.dockerfile")?;
    repo_file(dockerfile)?;
    ensure!(
        quichat["ports"]
            .as_vec()
            .is_some_and(|p| p.iter().any(|p| p.as_str() == Some("4433:4433/udp"))),
        "QUIC (4433/udp) is not published"
    );
    ensure!(
        quichat["environment"]["QUICHAT_DATABASE_URL"]
            .as_str()
            .is_some_and(|u| u.starts_with("postgres://") && u.contains("@postgres:5432/")),
        "quichat does not use the compose PostgreSQL"
    );

    let example = repo_file("deploy/.env.example")?;
    let defined: Vec<&str> = example
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim()))
        .collect();
    let vars = compose_variables(&text);
    ensure!(vars.len() > 5, "found only {vars:?}");
    for (var, has_default) in vars {
        ensure!(
            has_default || defined.contains(&var.as_str()),
            "docker-compose.yml requires ${{{var}}}, which deploy/.env.example does not list"
        );
    }
    Ok(())
}
