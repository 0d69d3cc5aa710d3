//! Every supported format, generated from one espeak-ng recording: probe reports the source's
//! duration, decode agrees with probe, and `to_whisper` yields the right number of 16 kHz
//! samples carrying the same signal as the source.

#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

mod common;

use common::{best_correlation, correlation, fixtures, rms};
use quichat_audio::{decode, probe, to_whisper, AudioInfo, WHISPER_SAMPLE_RATE};

/// Allowed duration error for lossless and Ogg formats: the tools keep the exact length
/// (Ogg records it in granule positions, Opus pre-skip included), so this is slack only.
const EXACT_MS: (f64, f64) = (-30.0, 30.0);
/// MP3 from sox (libmp3lame) carries no LAME/Xing header, so nothing tells the decoder about
/// the encoder delay (576 + 529 = 1105 frames, measured below as the lag against the source)
/// nor about the padding of the last frame (less than one frame: 576 frames for MPEG-2 at
/// 22.05 kHz, 1152 for MPEG-1 at 44.1 kHz). At 22.05 kHz that adds up to 76 ms, always extra.
const MP3_MS: (f64, f64) = (-30.0, 80.0);

fn check(name: &str, codec: &str, sample_rate: u32, channels: u16, tolerance_ms: (f64, f64)) {
    let Some(f) = fixtures() else { return };
    if name.ends_with(".mp3") && !f.mp3 {
        eprintln!(
            "skipping {name}: {} is set and sox cannot write MP3",
            common::SKIP_ENV
        );
        return;
    }
    let bytes = f.get(name);

    let info = probe(bytes).unwrap();
    assert_eq!(info.codec, codec, "{name}");
    assert_eq!(info.sample_rate, sample_rate, "{name}");
    assert_eq!(info.channels, channels, "{name}");
    let error_ms = (info.duration_secs() - f.source_seconds()) * 1000.0;
    assert!(
        (tolerance_ms.0..=tolerance_ms.1).contains(&error_ms),
        "{name}: duration {} ms, source {:.1} ms",
        info.duration_ms,
        f.source_seconds() * 1000.0
    );
    let error_ms = info.duration_ms as f64 - f.source_seconds() * 1000.0;
    assert!((tolerance_ms.0 - 1.0..=tolerance_ms.1 + 1.0).contains(&error_ms));

    let decoded = decode(bytes, 600).unwrap();
    assert_eq!(decoded.info, info, "{name}: probe and decode disagree");
    assert_eq!(decoded.samples.len() as u64, info.frames);
    assert_eq!(decoded.sample_rate, sample_rate);
    assert!(decoded.samples.iter().all(|s| (-1.0..=1.0).contains(s)));

    let whisper = to_whisper(bytes, 600).unwrap();
    let expected = (info.duration_secs() * f64::from(WHISPER_SAMPLE_RATE)).round() as i64;
    assert!(
        (whisper.len() as i64 - expected).abs() <= 1,
        "{name}: {} samples at 16 kHz, expected {expected}",
        whisper.len()
    );
    assert!(whisper.iter().all(|s| (-1.0..=1.0).contains(s)));
    let level = rms(&whisper);
    assert!(level > 0.03, "{name}: rms {level} (silence?)");

    // Same signal as the source, resampled the same way.
    let reference = to_whisper(&f.source, 600).unwrap();
    if codec == "mp3" {
        // Delayed by the encoder delay; compare two seconds of speech at the best lag.
        let window = 16_000..48_000;
        let (corr, lag) = best_correlation(&reference[window.clone()], &whisper[window], 1_000);
        assert!(corr > 0.95, "{name}: correlation {corr} at lag {lag}");
        let delay_frames = lag as f64 * f64::from(sample_rate) / 16_000.0;
        assert!(
            (1_000.0..=1_200.0).contains(&delay_frames),
            "{name}: delay {delay_frames} frames"
        );
    } else {
        assert!(
            (whisper.len() as i64 - reference.len() as i64).abs() <= 2,
            "{name}: {} samples, the source resamples to {}",
            whisper.len(),
            reference.len()
        );
        let corr = correlation(&reference, &whisper, 0);
        assert!(corr > 0.95, "{name}: correlation with the source {corr}");
    }
}

#[test]
fn wav_source_22050_mono_s16() {
    check("source.wav", "pcm_s16le", 22_050, 1, EXACT_MS);
}

#[test]
fn wav_44100_stereo() {
    check("stereo44.wav", "pcm_s16le", 44_100, 2, EXACT_MS);
}

#[test]
fn wav_8000_mono() {
    check("mono8k.wav", "pcm_s16le", 8_000, 1, EXACT_MS);
}

#[test]
fn wav_16000_mono_is_not_resampled() {
    check("mono16k.wav", "pcm_s16le", 16_000, 1, EXACT_MS);
    let Some(f) = fixtures() else { return };
    let decoded = decode(f.get("mono16k.wav"), 600).unwrap();
    assert_eq!(
        to_whisper(f.get("mono16k.wav"), 600).unwrap(),
        decoded.samples
    );
}

#[test]
fn wav_48000_six_channels() {
    check("six48k.wav", "pcm_s16le", 48_000, 6, EXACT_MS);
}

#[test]
fn wav_unsigned_8_bit() {
    check("u8.wav", "pcm_u8", 22_050, 1, EXACT_MS);
}

#[test]
fn wav_24_bit() {
    check("s24.wav", "pcm_s24le", 22_050, 1, EXACT_MS);
}

#[test]
fn wav_32_bit_int() {
    check("s32.wav", "pcm_s32le", 22_050, 1, EXACT_MS);
}

#[test]
fn wav_32_bit_float() {
    check("f32.wav", "pcm_f32le", 22_050, 1, EXACT_MS);
}

#[test]
fn flac() {
    check("source.flac", "flac", 22_050, 1, EXACT_MS);
}

#[test]
fn ogg_vorbis() {
    check("source.ogg", "vorbis", 22_050, 1, EXACT_MS);
}

#[test]
fn mp3_mpeg2_mono() {
    check("source.mp3", "mp3", 22_050, 1, MP3_MS);
}

#[test]
fn mp3_mpeg1_stereo() {
    check("stereo44.mp3", "mp3", 44_100, 2, MP3_MS);
}

#[test]
fn ogg_opus_mono() {
    check("source.opus", "opus", 48_000, 1, EXACT_MS);
}

#[test]
fn ogg_opus_stereo_from_44100() {
    // opusenc resamples to 48 kHz; the header's "input sample rate" (44 100) is not the
    // decoding rate.
    check("stereo.opus", "opus", 48_000, 2, EXACT_MS);
}

#[test]
fn wav_variants_resample_to_the_source_length() {
    let Some(f) = fixtures() else { return };
    let reference = to_whisper(&f.source, 600).unwrap().len() as i64;
    let exact = (f.source_seconds() * 16_000.0).round() as i64;
    assert!((reference - exact).abs() <= 1, "{reference} vs {exact}");
    for name in ["stereo44.wav", "mono8k.wav", "mono16k.wav", "six48k.wav"] {
        let len = to_whisper(f.get(name), 600).unwrap().len() as i64;
        assert!((len - reference).abs() <= 2, "{name}: {len} vs {reference}");
    }
}

#[test]
fn channels_are_averaged() {
    let Some(f) = fixtures() else { return };
    let source = decode(&f.source, 600).unwrap().samples;
    let left_only = decode(f.get("left_only.wav"), 600).unwrap();
    assert_eq!(left_only.info.channels, 2);
    assert_eq!(left_only.samples.len(), source.len());
    for (mixed, original) in left_only.samples.iter().zip(&source) {
        assert!((mixed - original / 2.0).abs() < 1e-6);
    }
}

#[test]
fn probe_reports_milliseconds() {
    let Some(f) = fixtures() else { return };
    let AudioInfo {
        duration_ms,
        frames,
        ..
    } = probe(&f.source).unwrap();
    assert_eq!(frames, f.source_frames);
    assert_eq!(duration_ms, (f.source_seconds() * 1000.0).round() as u64);
}
