//! A short soak (`quichat-bench soak`, seeded) against the debug
//! `quichat-server` on SQLite: ~45 s of mixed load after a 15 s warm-up
//! (about two minutes in all on 2 cores). The run itself checks that no
//! acked message is lost, that every voice note is transcribed, that RSS
//! returns within 32 MiB of its baseline and that every connection is
//! closed, and exits 1 otherwise; this test also checks that every kind of
//! operation ran. `scripts/soak.sh MINUTES` is the long version.
//!
//! Voice notes need the Whisper test model (`QUICHAT_TEST_WHISPER_MODEL`,
//! as the other voice tests; `scripts/test.sh` sets it);
//! `QUICHAT_TEST_SKIP_WHISPER=1` runs the soak without them.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn bench() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_quichat-bench"))
}

/// The `quichat-server` next to the bench binary (built by `cargo test
/// --workspace`); its absence is a failure with instructions.
fn server() -> PathBuf {
    let bench = bench();
    let server = bench.with_file_name(format!("quichat-server{}", std::env::consts::EXE_SUFFIX));
    assert!(
        server.is_file(),
        "the soak test needs the quichat-server binary at {}; `cargo test --workspace` \
         builds it, or run `cargo build -p quichat-server` first",
        server.display()
    );
    server
}

/// The Whisper model, or `None` when `QUICHAT_TEST_SKIP_WHISPER` opts out.
fn whisper_model() -> Option<String> {
    if std::env::var("QUICHAT_TEST_SKIP_WHISPER").is_ok_and(|v| !v.is_empty() && v != "0") {
        eprintln!("QUICHAT_TEST_SKIP_WHISPER is set: the soak runs without voice notes");
        return None;
    }
    let model = std::env::var("QUICHAT_TEST_WHISPER_MODEL").expect(
        "QUICHAT_TEST_WHISPER_MODEL is not set: run the tests through scripts/test.sh, or \
         `export QUICHAT_TEST_WHISPER_MODEL=$(scripts/fetch-test-model.sh)`; \
         QUICHAT_TEST_SKIP_WHISPER=1 opts out of the voice notes",
    );
    assert!(
        std::path::Path::new(&model).is_file(),
        "QUICHAT_TEST_WHISPER_MODEL={model} does not exist"
    );
    Some(model)
}

#[test]
fn a_short_seeded_soak_loses_nothing_and_gives_memory_back() {
    let server = server();
    let model = whisper_model();
    let mut cmd = Command::new(bench());
    cmd.arg("--json")
        .arg("--server-bin")
        .arg(&server)
        // The allocator setting of deploy/ (DEPLOY.md, "Memory").
        .args(["--server-env", "MALLOC_MMAP_THRESHOLD_=1048576"]);
    if let Some(model) = &model {
        cmd.args(["--whisper-model", model]);
    }
    cmd.args([
        "soak",
        "--minutes",
        "0.75",
        "--warmup",
        "15",
        "--settle",
        "5",
        "--seed",
        "7",
        "--users",
        "4",
        "--voice-every",
        "8",
        "--revoke-every",
        "4",
    ]);
    if model.is_none() {
        cmd.arg("--no-voice");
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "the output is not JSON ({e}):\n{}\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    let soak = &report["scenarios"]["soak"];
    assert!(
        out.status.success(),
        "the soak failed: {}\nchecks: {}\n{stderr}",
        soak["summary"]["first_failure"],
        soak["checks"]
    );
    assert_eq!(soak["passed"], true, "{soak}");
    let checks = soak["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 7, "{checks:?}");
    assert!(checks.iter().all(|c| c["ok"] == true), "{checks:?}");
    let messages = &soak["messages"];
    assert!(messages["acked"].as_u64().unwrap() > 200, "{messages}");
    assert_eq!(messages["acked"], messages["found_once"], "{messages}");
    let mut ops = vec![
        "text",
        "burst",
        "history",
        "reconnect",
        "churn",
        "upload",
        "download",
        "revoke",
    ];
    if model.is_some() {
        ops.push("voice");
        assert!(
            soak["voice"]["done"].as_u64().unwrap() > 0,
            "{}",
            soak["voice"]
        );
    }
    for op in ops {
        assert!(
            soak["ops"][op]["count"].as_u64().unwrap_or(0) > 0,
            "{op} never ran: {}",
            soak["ops"]
        );
    }
    let memory = &soak["memory"];
    for key in ["baseline_rss", "peak_rss", "after_rss"] {
        assert!(memory[key].as_u64().unwrap() > 0, "{memory}");
    }
    assert_eq!(soak["target"]["kind"], "child");
    assert_eq!(soak["target"]["database"], "sqlite");
}
