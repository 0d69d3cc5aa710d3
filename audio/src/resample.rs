//! Resampling mono audio to Whisper's 16 kHz.
//!
//! Dropping or interpolating samples would fold everything above 8 kHz back into the speech
//! band (aliasing). rubato's synchronous `Fft` resampler instead applies a band-limited
//! (anti-aliasing, Blackman-Harris windowed) filter in the frequency domain and is exact for
//! any pair of integer rates, e.g. 22 050 → 16 000 (441:320) or 44 100 → 16 000 (441:160).
//! `process_all` removes the filter's delay, so the output is aligned with the input and
//! holds `ceil(frames × 16000 / rate)` samples.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

use crate::mono::clean;
use crate::AudioError;

/// Frames per processing chunk: big enough for efficient FFTs, small enough to keep the
/// resampler's buffers tiny.
const CHUNK_FRAMES: usize = 1024;

/// Resamples mono `samples` from `from_rate` to `to_rate`; output values are in [-1, 1].
pub(crate) fn resample_mono(
    samples: &[f32],
    from_rate: u32,
    to_rate: u32,
) -> Result<Vec<f32>, AudioError> {
    if from_rate == to_rate || samples.is_empty() {
        return Ok(samples.iter().copied().map(clean).collect());
    }
    let internal = |what: &str, e: &dyn std::fmt::Display| {
        AudioError::Unsupported(format!(
            "resampling {from_rate} Hz to {to_rate} Hz: {what}: {e}"
        ))
    };
    let mut resampler = Fft::<f32>::new(
        from_rate as usize,
        to_rate as usize,
        CHUNK_FRAMES,
        1,
        FixedSync::Input,
    )
    .map_err(|e| internal("setup", &e))?;
    let input =
        InterleavedSlice::new(samples, 1, samples.len()).map_err(|e| internal("input", &e))?;
    let output = resampler
        .process_all(&input, samples.len(), None)
        .map_err(|e| internal("processing", &e))?;
    let mut out = output.take_data();
    for s in &mut out {
        *s = clean(*s);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f32, rate: u32, seconds: f32) -> Vec<f32> {
        let n = (rate as f32 * seconds) as usize;
        (0..n)
            .map(|i| 0.5 * (2.0 * std::f32::consts::PI * freq * i as f32 / rate as f32).sin())
            .collect()
    }

    fn rms(x: &[f32]) -> f32 {
        (x.iter().map(|s| s * s).sum::<f32>() / x.len() as f32).sqrt()
    }

    #[test]
    fn length_follows_ratio() {
        for rate in [8_000, 22_050, 44_100, 48_000, 11_025, 96_000] {
            let input = vec![0.1; 12_345];
            let out = resample_mono(&input, rate, 16_000).unwrap();
            let expected = (12_345u64 * 16_000).div_ceil(u64::from(rate));
            assert_eq!(out.len() as u64, expected, "from {rate}");
        }
    }

    #[test]
    fn keeps_speech_band_and_removes_aliases() {
        // 1 kHz passes; 12 kHz (above the new 8 kHz Nyquist) must not alias to 4 kHz.
        let pass = resample_mono(&sine(1_000.0, 44_100, 1.0), 44_100, 16_000).unwrap();
        let stop = resample_mono(&sine(12_000.0, 44_100, 1.0), 44_100, 16_000).unwrap();
        let mid = |x: &[f32]| x[2_000..x.len() - 2_000].to_vec();
        assert!((rms(&mid(&pass)) - 0.5 / 2f32.sqrt()).abs() < 0.01);
        assert!(rms(&mid(&stop)) < 0.001, "alias rms {}", rms(&mid(&stop)));
    }
}
