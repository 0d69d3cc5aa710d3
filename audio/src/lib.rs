//! Audio for quichat voice messages: read a recording's duration, decode it, and turn it into
//! the 16 kHz mono `f32` signal Whisper transcribes.
//!
//! * [`probe`]: what a file is and how long (the client shows it before sending).
//! * [`decode`]: the whole recording as mono `f32` at its own sample rate.
//! * [`to_whisper`]: [`decode`], then resampling to [`WHISPER_SAMPLE_RATE`].
//!
//! Everything is synchronous and CPU-bound; async callers run it on a blocking thread
//! (`tokio::task::spawn_blocking`). Input is untrusted bytes: the container is recognised
//! from the content (no file name or MIME type), failures are [`AudioError`] values, and a
//! panic inside a third-party decoder is caught and reported as [`AudioError::Corrupt`]
//! (with `panic = "abort"` it would abort instead). `max_seconds` bounds the work and memory
//! of [`decode`] and [`to_whisper`].
//!
//! # Example
//!
//! ```
//! # fn wav(rate: u32, pcm: &[i16]) -> Vec<u8> {
//! #     let data: Vec<u8> = pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
//! #     let mut w = b"RIFF".to_vec();
//! #     w.extend((36 + data.len() as u32).to_le_bytes());
//! #     w.extend(b"WAVEfmt ");
//! #     w.extend(16u32.to_le_bytes());
//! #     w.extend(1u16.to_le_bytes()); // PCM
//! #     w.extend(1u16.to_le_bytes()); // mono
//! #     w.extend(rate.to_le_bytes());
//! #     w.extend((rate * 2).to_le_bytes());
//! #     w.extend(2u16.to_le_bytes());
//! #     w.extend(16u16.to_le_bytes());
//! #     w.extend(b"data");
//! #     w.extend((data.len() as u32).to_le_bytes());
//! #     w.extend(data);
//! #     w
//! # }
//! // One second of a 440 Hz tone, as a 44.1 kHz WAV file.
//! let tone: Vec<i16> = (0..44_100)
//!     .map(|i| ((i as f32 * 440.0 / 44_100.0 * std::f32::consts::TAU).sin() * 10_000.0) as i16)
//!     .collect();
//! let bytes = wav(44_100, &tone);
//!
//! let info = quichat_audio::probe(&bytes)?;
//! assert_eq!((info.codec.as_str(), info.duration_ms), ("pcm_s16le", 1_000));
//!
//! let samples = quichat_audio::to_whisper(&bytes, 600)?;
//! assert_eq!(samples.len(), 16_000);
//! # Ok::<(), quichat_audio::AudioError>(())
//! ```
//!
//! # Formats and decoders
//!
//! | container | codec | decoder |
//! | --- | --- | --- |
//! | WAV | PCM 8/16/24/32-bit integer, 32/64-bit float, A-law, µ-law | symphonia (pure Rust) |
//! | FLAC | FLAC | symphonia |
//! | MP3 | MPEG-1/2 layer III | symphonia |
//! | Ogg | Vorbis | symphonia |
//! | Ogg | Opus | libopus via the `opus` crate; symphonia demuxes |
//!
//! symphonia is built with only these formats. It has no Opus decoder, so Opus packets go to
//! libopus, the reference decoder, built from the sources bundled in `opusic-sys` (needs
//! cmake and a C compiler at build time, no system library). Opus is decoded at 48 kHz, the
//! header's pre-skip is dropped and its output gain applied (RFC 7845); only mono and stereo
//! streams (channel mapping family 0, what phones record) are supported.
//!
//! Durations exclude encoder delay and padding where the file records them (MP3 LAME/Xing
//! header, Ogg granule positions, Opus pre-skip), so they match the original recording.
//!
//! Truncated or damaged files are rejected as [`AudioError::Corrupt`] when detectable: a
//! header that announces more audio than present (WAV, FLAC; FLAC also drops frames whose
//! checksum fails), or an Ogg file with an incomplete page, a checksum mismatch, a missing
//! page or no end-of-stream page. A cut MP3 reads as a shorter recording (the format has no
//! total to compare with), and PCM has no checksums.
//!
//! # Tests
//!
//! The integration tests generate real recordings at test time and need `espeak-ng`, `sox`
//! (with `libsox-fmt-all`, which includes MP3 encoding) and `opusenc` (Debian package
//! `opus-tools`). Without them the tests fail, naming the packages to install; setting
//! `QUICHAT_TEST_SKIP_AUDIO_TOOLS=1` skips those tests instead. If sox cannot write MP3, only
//! the MP3 tests are skipped (with a message).

mod container;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod integrity;
mod mono;
mod ogg_pages;
mod opus_decode;
mod packets;
mod probe;
mod resample;
mod symphonia_decode;
mod wave_fmt;

use std::panic::{catch_unwind, AssertUnwindSafe};

pub use error::AudioError;

/// The sample rate Whisper expects.
pub const WHISPER_SAMPLE_RATE: u32 = 16_000;

/// Upper bound of frames per input byte used to size the first allocation (low-bit-rate Opus
/// reaches ~64; growth beyond the first allocation is ordinary `Vec` doubling).
const PLAUSIBLE_FRAMES_PER_BYTE: u64 = 64;

/// What a recording is and how long it lasts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioInfo {
    /// Codec name: `"pcm_s16le"` (and the other `pcm_*`), `"flac"`, `"mp3"`, `"vorbis"`,
    /// `"opus"`.
    pub codec: String,
    /// Sample rate of the decoded audio, in Hz. For Opus this is always 48 000 (the rate
    /// Opus decodes at; the header's "input sample rate" is informational only).
    pub sample_rate: u32,
    /// Channels in the stream (decoded audio is mixed down to one).
    pub channels: u16,
    /// Duration in milliseconds, rounded to the nearest.
    pub duration_ms: u64,
    /// Frames (samples per channel) at `sample_rate`, without encoder delay and padding.
    pub frames: u64,
}

impl AudioInfo {
    fn new(codec: String, sample_rate: u32, channels: u16, frames: u64) -> Self {
        let rate = u128::from(sample_rate.max(1));
        let ms = (u128::from(frames) * 1000 + rate / 2) / rate;
        AudioInfo {
            codec,
            sample_rate,
            channels,
            duration_ms: u64::try_from(ms).unwrap_or(u64::MAX),
            frames,
        }
    }

    /// Duration in seconds.
    pub fn duration_secs(&self) -> f64 {
        self.frames as f64 / f64::from(self.sample_rate.max(1))
    }
}

/// A decoded recording, mixed down to mono.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The stream's description; `info.frames == samples.len()`.
    pub info: AudioInfo,
    /// Mono samples (the average of all channels), in [-1, 1].
    pub samples: Vec<f32>,
    /// Sample rate of `samples` (equal to `info.sample_rate`).
    pub sample_rate: u32,
}

/// Identifies the stream in `bytes` and counts its frames exactly.
///
/// Reads every packet but decodes none (packet durations come from the container), so it is
/// fast even for long files and needs no length limit. It does not prove that every packet
/// decodes; [`decode`] does.
pub fn probe(bytes: &[u8]) -> Result<AudioInfo, AudioError> {
    guard(|| {
        let container::Opened { mut reader, track } = container::open(bytes)?;
        integrity::check_container(bytes, reader.as_ref())?;
        let frames = probe::count_frames(reader.as_mut(), &track)?;
        integrity::check_length(&track, frames)?;
        Ok(AudioInfo::new(
            track.codec,
            track.sample_rate,
            track.channels,
            frames,
        ))
    })
}

/// Decodes `bytes` to mono `f32` at the stream's sample rate.
///
/// Fails with [`AudioError::TooLong`] as soon as the header announces, or decoding reaches,
/// more than `max_seconds` of audio, so the work and memory spent are bounded by
/// `max_seconds` whatever the input claims.
pub fn decode(bytes: &[u8], max_seconds: u64) -> Result<Decoded, AudioError> {
    guard(|| {
        let container::Opened { mut reader, track } = container::open(bytes)?;
        let max_frames = max_seconds.saturating_mul(u64::from(track.sample_rate));
        if let Some(announced) = track.header_frames.filter(|&f| f > max_frames) {
            return Err(AudioError::too_long(
                announced,
                track.sample_rate,
                max_seconds,
            ));
        }
        integrity::check_container(bytes, reader.as_ref())?;
        // Size the first allocation from the header, but never beyond what the input could
        // plausibly hold (a forged header must not cost memory).
        let plausible = (bytes.len() as u64).saturating_mul(PLAUSIBLE_FRAMES_PER_BYTE);
        let reserve = track.header_frames.map(|f| f.min(plausible));
        let mut sink = mono::MonoSink::new(track.sample_rate, max_seconds, reserve);
        if track.is_opus {
            opus_decode::decode(reader.as_mut(), &track, &mut sink)?;
        } else {
            symphonia_decode::decode(reader.as_mut(), &track, &mut sink)?;
        }
        let frames = sink.frames();
        integrity::check_length(&track, frames)?;
        Ok(Decoded {
            info: AudioInfo::new(track.codec, track.sample_rate, track.channels, frames),
            samples: sink.into_samples(),
            sample_rate: track.sample_rate,
        })
    })
}

/// Decodes `bytes`, mixes to mono and resamples to [`WHISPER_SAMPLE_RATE`] with a
/// band-limited resampler. The result holds `ceil(frames × 16000 / sample_rate)` samples in
/// [-1, 1], ready for Whisper.
pub fn to_whisper(bytes: &[u8], max_seconds: u64) -> Result<Vec<f32>, AudioError> {
    let decoded = decode(bytes, max_seconds)?;
    guard(|| resample_to_whisper(&decoded.samples, decoded.sample_rate))
}

/// Resamples mono samples at `sample_rate` to [`WHISPER_SAMPLE_RATE`], clamped to [-1, 1].
/// Useful for audio that did not come from a file (e.g. tests, live capture).
pub fn resample_to_whisper(samples: &[f32], sample_rate: u32) -> Result<Vec<f32>, AudioError> {
    if sample_rate == 0 || sample_rate > container::MAX_SAMPLE_RATE {
        return Err(AudioError::Unsupported(format!(
            "sample rate {sample_rate} Hz"
        )));
    }
    resample::resample_mono(samples, sample_rate, WHISPER_SAMPLE_RATE)
}

/// How the message of an [`AudioError::Corrupt`] made from a caught panic starts.
const PANIC_PREFIX: &str = "decoder failure: ";

/// Runs `f`, turning a panic (a decoder bug met on hostile input) into an error.
fn guard<T>(f: impl FnOnce() -> Result<T, AudioError>) -> Result<T, AudioError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        Err(AudioError::Corrupt(format!("{PANIC_PREFIX}{why}")))
    })
}
