//! Test fixtures: real recordings made at test time with espeak-ng, sox and opusenc.
//!
//! The tools are required: a missing tool fails the tests with the package to install
//! (`espeak-ng`, `sox` + `libsox-fmt-all`, `opus-tools`), so a CI machine without them cannot
//! pass silently. Set `QUICHAT_TEST_SKIP_AUDIO_TOOLS=1` to skip the tests that need them
//! instead (for machines where they cannot be installed).
//!
//! Files are generated once per test binary, read into memory, and the temporary directory
//! is removed.

// Helpers run inside tests; each test binary uses a different part of this module.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

/// The sentence spoken in every fixture.
pub const TEXT: &str = "Hello, this is a quichat voice message test. \
                        The quick brown fox jumps over the lazy dog.";

/// Environment variable that turns missing tools into skipped tests.
pub const SKIP_ENV: &str = "QUICHAT_TEST_SKIP_AUDIO_TOOLS";

/// One generated file.
#[derive(Debug)]
pub struct Fixture {
    pub name: &'static str,
    pub bytes: Vec<u8>,
}

/// All generated files, plus the source's length measured by sox.
#[derive(Debug)]
pub struct Fixtures {
    /// The espeak-ng recording (22 050 Hz mono 16-bit WAV).
    pub source: Vec<u8>,
    /// Frames of the source, from `soxi -s`.
    pub source_frames: u64,
    /// Sample rate of the source, from `soxi -r`.
    pub source_rate: u32,
    pub files: Vec<Fixture>,
    /// Whether sox could encode MP3 (it needs libsox-fmt-mp3).
    pub mp3: bool,
}

impl Fixtures {
    pub fn get(&self, name: &str) -> &[u8] {
        &self
            .files
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("no fixture {name}"))
            .bytes
    }

    pub fn source_seconds(&self) -> f64 {
        self.source_frames as f64 / f64::from(self.source_rate)
    }
}

/// The fixtures, or `None` when the tools are missing and `QUICHAT_TEST_SKIP_AUDIO_TOOLS=1`.
pub fn fixtures() -> Option<&'static Fixtures> {
    static FIXTURES: OnceLock<Option<Fixtures>> = OnceLock::new();
    FIXTURES.get_or_init(generate).as_ref()
}

fn generate() -> Option<Fixtures> {
    let missing: Vec<&str> = [
        ("espeak-ng", "espeak-ng"),
        ("sox", "sox libsox-fmt-all"),
        ("soxi", "sox"),
        ("opusenc", "opus-tools"),
    ]
    .into_iter()
    .filter(|(tool, _)| !tool_present(tool))
    .map(|(tool, package)| {
        eprintln!("missing {tool} (apt-get install {package})");
        tool
    })
    .collect();
    if !missing.is_empty() {
        if std::env::var(SKIP_ENV).is_ok_and(|v| v == "1") {
            eprintln!("{SKIP_ENV}=1: skipping tests that need {missing:?}");
            return None;
        }
        panic!(
            "audio test tools missing: {missing:?}; install them (apt-get install espeak-ng \
             sox libsox-fmt-all opus-tools) or set {SKIP_ENV}=1 to skip these tests"
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run("espeak-ng", &["-w", p(d, "source.wav").as_str(), TEXT]);
    let source_frames: u64 = soxi(d, "-s").parse().unwrap();
    let source_rate: u32 = soxi(d, "-r").parse().unwrap();
    assert_eq!(source_rate, 22_050, "espeak-ng's default rate changed");
    assert_eq!(soxi(d, "-c"), "1");

    let src = p(d, "source.wav");
    // sox SOURCE [output options] OUTPUT
    let sox = |out: &str, options: &[&str]| {
        let out = p(d, out);
        let mut args = vec![src.as_str()];
        args.extend_from_slice(options);
        args.push(out.as_str());
        run("sox", &args);
    };
    sox("stereo44.wav", &["-r", "44100", "-c", "2"]);
    sox("mono8k.wav", &["-r", "8000"]);
    sox("u8.wav", &["-b", "8", "-e", "unsigned-integer"]);
    sox("s24.wav", &["-b", "24"]);
    sox("s32.wav", &["-b", "32"]);
    sox("f32.wav", &["-b", "32", "-e", "floating-point"]);
    sox("mono16k.wav", &["-r", "16000"]);
    sox("six48k.wav", &["-r", "48000", "-c", "6"]);
    // Effects follow the output name: left = the voice, right = silence.
    run(
        "sox",
        &[
            src.as_str(),
            p(d, "left_only.wav").as_str(),
            "remix",
            "1",
            "0",
        ],
    );
    sox("ima_adpcm.wav", &["-e", "ima-adpcm"]);
    sox("source.aiff", &[]);
    sox("source.flac", &[]);
    sox("source.ogg", &[]);
    // sox writes MP3 only with libsox-fmt-mp3 (libmp3lame, part of libsox-fmt-all). Like the
    // other tools it is required; only the documented opt-out skips the MP3 tests.
    let mp3 = try_run("sox", &[src.as_str(), p(d, "source.mp3").as_str()])
        && try_run(
            "sox",
            &[p(d, "stereo44.wav").as_str(), p(d, "stereo44.mp3").as_str()],
        );
    if !mp3 {
        if std::env::var(SKIP_ENV).is_ok_and(|v| v == "1") {
            eprintln!("{SKIP_ENV}=1 and sox cannot write MP3: skipping the MP3 tests");
        } else {
            panic!(
                "sox cannot write MP3: apt-get install libsox-fmt-mp3 (or libsox-fmt-all), \
                 or set {SKIP_ENV}=1 to skip these tests"
            );
        }
    }
    run(
        "opusenc",
        &["--quiet", src.as_str(), p(d, "source.opus").as_str()],
    );
    run(
        "opusenc",
        &[
            "--quiet",
            p(d, "stereo44.wav").as_str(),
            p(d, "stereo.opus").as_str(),
        ],
    );

    // Six channels: channel mapping family 1 (surround), which the crate rejects.
    run(
        "opusenc",
        &[
            "--quiet",
            p(d, "six48k.wav").as_str(),
            p(d, "six.opus").as_str(),
        ],
    );

    let mut files = Vec::new();
    for name in [
        "source.wav",
        "stereo44.wav",
        "mono8k.wav",
        "u8.wav",
        "s24.wav",
        "s32.wav",
        "f32.wav",
        "mono16k.wav",
        "six48k.wav",
        "left_only.wav",
        "ima_adpcm.wav",
        "source.aiff",
        "source.flac",
        "source.ogg",
        "source.mp3",
        "stereo44.mp3",
        "source.opus",
        "stereo.opus",
        "six.opus",
    ] {
        if name.ends_with(".mp3") && !mp3 {
            continue;
        }
        files.push(Fixture {
            name,
            bytes: std::fs::read(d.join(name)).unwrap(),
        });
    }
    Some(Fixtures {
        source: std::fs::read(d.join("source.wav")).unwrap(),
        source_frames,
        source_rate,
        files,
        mp3,
    })
}

fn p(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().unwrap().to_string()
}

fn tool_present(tool: &str) -> bool {
    Command::new(tool)
        .arg("--help")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok()
}

fn try_run(tool: &str, args: &[&str]) -> bool {
    let out = Command::new(tool).args(args).output().unwrap();
    out.status.success()
}

fn run(tool: &str, args: &[&str]) {
    let out = Command::new(tool).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{tool} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn soxi(dir: &Path, flag: &str) -> String {
    let out = Command::new("soxi")
        .args([flag, p(dir, "source.wav").as_str()])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Root mean square.
pub fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|&s| f64::from(s) * f64::from(s)).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

/// Normalised correlation of `a` and `b` where `b` is shifted by `lag` samples
/// (positive: `b` is late), over their overlap.
pub fn correlation(a: &[f32], b: &[f32], lag: isize) -> f64 {
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (i, &x) in a.iter().enumerate() {
        let j = i as isize + lag;
        if j < 0 || j as usize >= b.len() {
            continue;
        }
        let y = b[j as usize];
        ab += f64::from(x) * f64::from(y);
        aa += f64::from(x) * f64::from(x);
        bb += f64::from(y) * f64::from(y);
    }
    ab / (aa.sqrt() * bb.sqrt()).max(1e-12)
}

/// The best correlation and its lag within `-max_lag..=max_lag`.
pub fn best_correlation(a: &[f32], b: &[f32], max_lag: isize) -> (f64, isize) {
    (-max_lag..=max_lag)
        .map(|lag| (correlation(a, b, lag), lag))
        .fold((f64::MIN, 0), |best, c| if c.0 > best.0 { c } else { best })
}

/// A small deterministic PRNG (xorshift64*), so random-input tests are reproducible.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}
