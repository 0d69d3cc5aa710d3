//! Decode-anything entry points for the fuzz targets.
//!
//! Not part of the crate's API: the cargo-fuzz targets in `fuzz/` (built on
//! nightly) and the stable corpus replay test (`audio/tests/fuzz_corpus.rs`,
//! part of `cargo test`) both call these functions, so what CI replays is
//! exactly what was fuzzed.
//!
//! Each function runs one of the crate's real entry points on untrusted
//! bytes. Errors are expected and ignored; a panic is a bug, and so is a
//! panic of a third-party decoder that [`crate::probe`]/[`crate::decode`]
//! caught and turned into [`AudioError::Corrupt`]: those are re-raised
//! here, so the fuzzer and the replay test see them (under libFuzzer the
//! panic hook aborts at the original panic anyway).

use crate::{AudioError, PANIC_PREFIX, WHISPER_SAMPLE_RATE};

/// The length limit the server decodes voice notes with (the default of
/// `[transcription] max_audio_secs`).
pub const MAX_SECONDS: u64 = 600;

/// What the client runs before sending a voice note: [`crate::probe`].
pub fn probe(bytes: &[u8]) {
    match crate::probe(bytes) {
        Ok(info) => {
            assert!(info.frames > 0, "probe accepted an empty stream");
            assert!(
                info.sample_rate > 0 && info.channels > 0,
                "probe reported {info:?}"
            );
        }
        Err(e) => no_caught_panic(&e),
    }
}

/// What the server's transcription worker runs on an uploaded voice note:
/// [`crate::to_whisper`] (decode, mix to mono, resample to 16 kHz) with
/// the server's default length limit.
pub fn decode(bytes: &[u8]) {
    match crate::to_whisper(bytes, MAX_SECONDS) {
        Ok(samples) => {
            assert!(!samples.is_empty(), "decoded to no samples");
            let max = MAX_SECONDS * u64::from(WHISPER_SAMPLE_RATE) + 1;
            assert!(
                samples.len() as u64 <= max,
                "{} samples, more than {MAX_SECONDS} s",
                samples.len()
            );
            assert!(
                samples.iter().all(|s| (-1.0..=1.0).contains(s)),
                "a sample outside [-1, 1] (or NaN)"
            );
        }
        Err(e) => no_caught_panic(&e),
    }
}

fn no_caught_panic(e: &AudioError) {
    if let AudioError::Corrupt(m) = e {
        assert!(!m.starts_with(PANIC_PREFIX), "a decoder panicked: {m}");
    }
}
