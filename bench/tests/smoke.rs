//! Smoke test: every scenario at a tiny size through the built binary,
//! against the debug `quichat-server` in the same target directory (built
//! by `cargo test --workspace`). It checks behaviour, never timing: the
//! JSON parses, every scenario moved something, and nothing failed.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn bench() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_quichat-bench"))
}

/// The `quichat-server` next to the bench binary; its absence is a
/// failure with instructions, not a skip.
fn server() -> PathBuf {
    let bench = bench();
    let server = bench.with_file_name(format!("quichat-server{}", std::env::consts::EXE_SUFFIX));
    assert!(
        server.is_file(),
        "the smoke test needs the quichat-server binary at {} (next to {}); \
         `cargo test --workspace` builds it, or run `cargo build -p quichat-server` first",
        server.display(),
        bench.display()
    );
    server
}

fn number(v: &Value, path: &[&str]) -> f64 {
    let mut at = v;
    for key in path {
        at = match key.parse::<usize>() {
            Ok(i) => &at[i],
            Err(_) => &at[*key],
        };
    }
    at.as_f64()
        .unwrap_or_else(|| panic!("{} is not a number in the report: {at}", path.join(".")))
}

#[test]
fn every_scenario_runs_at_a_tiny_size() {
    let server = server();
    let plots = tempfile::tempdir().unwrap();
    let out = Command::new(bench())
        .arg("--json")
        .arg("--server-bin")
        .arg(&server)
        .arg("--plot")
        .arg(plots.path())
        .args(["all", "--preset", "smoke"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "quichat-bench failed:\n{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "the output is not JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    for name in [
        "messages",
        "connections",
        "hol",
        "media",
        "fanout",
        "broadcast",
    ] {
        let s = &report["scenarios"][name];
        assert!(s.is_object(), "no {name} report in {report}");
        assert!(
            number(s, &["summary", "throughput"]) > 0.0,
            "{name}: zero throughput: {s}"
        );
        assert_eq!(
            number(s, &["summary", "failures"]),
            0.0,
            "{name}: failures: {}",
            s["summary"]["first_failure"]
        );
        assert_eq!(s["target"]["kind"], "child", "{name}");
    }
    let s = &report["scenarios"];
    // Every baseline measured something too.
    assert!(number(s, &["messages", "raw_quinn", "acks_per_s"]) > 0.0);
    assert!(number(s, &["messages", "server", "send_receive", "count"]) > 0.0);
    assert!(number(s, &["messages", "raw_quinn", "send_receive", "count"]) > 0.0);
    assert!(number(s, &["messages", "database", "0", "rows_per_s"]) > 0.0);
    assert!(number(s, &["messages", "ratios", "acks_per_s_vs_raw"]) > 0.0);
    assert_eq!(s["messages"]["sweep"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        number(s, &["connections", "server", "connected"]),
        number(s, &["connections", "server", "requested"])
    );
    assert_eq!(
        number(s, &["connections", "raw_quinn", "connected"]),
        number(s, &["connections", "raw_quinn", "requested"])
    );
    assert!(number(s, &["hol", "idle", "send_ack", "count"]) > 0.0);
    assert!(number(s, &["hol", "loaded", "send_ack", "count"]) > 0.0);
    assert!(number(s, &["media", "download", "mib_per_s"]) > 0.0);
    assert!(number(s, &["media", "raw_upload", "mib_per_s"]) > 0.0);
    assert!(number(s, &["media", "raw_download", "mib_per_s"]) > 0.0);
    assert_eq!(
        number(s, &["fanout", "group", "deliveries"]),
        number(s, &["fanout", "group", "expected_deliveries"])
    );
    assert!(number(s, &["fanout", "one_recipient", "deliveries"]) > 0.0);
    // Every account got the broadcast (300 seeded + 5 real ones), and the
    // chat pair measured both phases.
    assert_eq!(number(s, &["broadcast", "delivered"]), 305.0);
    assert_eq!(
        number(s, &["broadcast", "delivered"]),
        number(s, &["broadcast", "recipients"])
    );
    assert!(number(s, &["broadcast", "chat_idle", "count"]) > 0.0);
    assert!(number(s, &["broadcast", "chat_during", "count"]) > 0.0);
    for chart in [
        "messages-latency.svg",
        "messages-sweep.svg",
        "connections-rss.svg",
        "hol-p50-p99.svg",
        "hol-latency.svg",
        "media-throughput.svg",
        "fanout-latency.svg",
        "broadcast-chat.svg",
    ] {
        let text = std::fs::read_to_string(plots.path().join(chart))
            .unwrap_or_else(|e| panic!("no chart {chart}: {e}"));
        assert!(text.contains("<svg"), "{chart} is not SVG");
    }
}

#[test]
fn a_missing_server_binary_is_a_clear_error() {
    let out = Command::new(bench())
        .args([
            "--server-bin",
            "/nonexistent/quichat-server",
            "media",
            "--mib",
            "1",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent/quichat-server"), "{stderr}");
}
