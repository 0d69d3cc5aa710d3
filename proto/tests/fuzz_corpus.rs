//! Replays every committed fuzz corpus input of the proto targets
//! (`fuzz/corpus/<target>/`) through the same functions the cargo-fuzz
//! targets call (`quichat_proto::fuzzing`), on the stable toolchain, so
//! `cargo test` keeps every input the fuzzer found interesting passing
//! without nightly. Regressions of fixed crashes live beside the code they
//! concern, as ordinary tests.

use std::path::{Path, PathBuf};

use quichat_proto::fuzzing;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read the corpus {}: {e}", dir.display()));
    let mut files: Vec<(PathBuf, Vec<u8>)> = entries
        .map(|entry| {
            let path = entry.expect("corpus entry").path();
            let bytes = std::fs::read(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            (path, bytes)
        })
        .collect();
    files.sort();
    assert!(
        files.len() >= 3,
        "the {target} corpus at {} has {} inputs; it should hold the seeds at least \
         (fuzz/make-seeds.sh)",
        dir.display(),
        files.len()
    );
    files
}

/// Runs `run` on every input of `target`'s corpus; a panic names the file.
fn replay<R>(target: &str, run: impl Fn(&[u8]) -> R) -> Vec<R> {
    corpus(target)
        .iter()
        .map(|(path, bytes)| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(bytes)))
                .unwrap_or_else(|_| panic!("{target}: {} panics the decoder", path.display()))
        })
        .collect()
}

#[test]
fn frame_corpus() {
    let splits = replay("frame", fuzzing::frame);
    // Some inputs must still be whole valid streams, or the corpus no
    // longer reaches the decoders behind the splitter.
    let whole = splits
        .iter()
        .filter(|s| s.frames >= 2 && !s.truncated && !s.too_large)
        .count();
    assert!(whole > 0, "no input of the frame corpus is a whole stream");
}

#[test]
fn control_corpus() {
    replay("control", fuzzing::control);
}

#[test]
fn chat_corpus() {
    replay("chat", fuzzing::chat);
}

#[test]
fn media_corpus() {
    replay("media", fuzzing::media);
}
