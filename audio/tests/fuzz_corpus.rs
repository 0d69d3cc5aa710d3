//! Replays every committed fuzz corpus input of the audio targets
//! (`fuzz/corpus/audio_probe/`, `fuzz/corpus/audio_decode/`) through the
//! same functions the cargo-fuzz targets call (`quichat_audio::fuzzing`),
//! on the stable toolchain, so `cargo test` keeps every input the fuzzer
//! found interesting passing without nightly. Needs no audio tools: the
//! inputs are committed files.

use std::path::{Path, PathBuf};

use quichat_audio::fuzzing;

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

/// Runs `run` on every input; a panic names the file. Returns how many
/// inputs `probe` accepts as audio, so a corpus that lost every valid
/// recording fails.
fn replay(target: &str, run: fn(&[u8])) -> usize {
    let files = corpus(target);
    for (path, bytes) in &files {
        let result = std::panic::catch_unwind(|| run(bytes));
        assert!(
            result.is_ok(),
            "{target}: {} panics the decoder",
            path.display()
        );
    }
    files
        .iter()
        .filter(|(_, b)| quichat_audio::probe(b).is_ok())
        .count()
}

#[test]
fn audio_probe_corpus() {
    assert!(
        replay("audio_probe", fuzzing::probe) > 0,
        "no valid audio left"
    );
}

#[test]
fn audio_decode_corpus() {
    assert!(
        replay("audio_decode", fuzzing::decode) > 0,
        "no valid audio left"
    );
}
