//! The Slaney-style mel filterbank whisper.cpp reads from the model file.
//!
//! Mirrors `librosa.filters.mel(sr, n_fft, n_mels)` with its defaults
//! (`fmin = 0`, `fmax = sr / 2`, `htk = False`, `norm = "slaney"`), which is
//! what OpenAI's Whisper ships as `mel_filters.npz` and what
//! `convert-pt-to-ggml.py` copies into ggml files. Arithmetic is done in
//! `f64` and rounded to `f32` at the same points librosa does (weights are
//! stored as `f32`, then scaled by the `f64` normalisation factors).

/// Whisper's audio sample rate.
pub const WHISPER_SAMPLE_RATE: u32 = 16_000;
/// Whisper's STFT window length.
pub const WHISPER_N_FFT: usize = 400;

/// A mel filterbank: `n_mels` rows of `n_freqs` weights, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct MelFilters {
    /// Number of mel bands (rows).
    pub n_mels: usize,
    /// Number of FFT bins (columns), `n_fft / 2 + 1`.
    pub n_freqs: usize,
    /// `n_mels × n_freqs` weights.
    pub data: Vec<f32>,
}

impl MelFilters {
    /// The weights of one mel band.
    pub fn row(&self, mel: usize) -> &[f32] {
        &self.data[mel * self.n_freqs..(mel + 1) * self.n_freqs]
    }
}

/// The filterbank Whisper uses for `n_mels` bands (80, or 128 for large-v3).
pub fn whisper_mel_filters(n_mels: usize) -> MelFilters {
    slaney_mel_filters(f64::from(WHISPER_SAMPLE_RATE), WHISPER_N_FFT, n_mels)
}

/// Slaney mel scale: linear below 1 kHz, logarithmic above.
pub fn hz_to_mel(hz: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;
    let logstep = 6.4f64.ln() / 27.0;
    if hz >= MIN_LOG_HZ {
        MIN_LOG_MEL + (hz / MIN_LOG_HZ).ln() / logstep
    } else {
        hz / F_SP
    }
}

/// Inverse of [`hz_to_mel`].
pub fn mel_to_hz(mel: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;
    let logstep = 6.4f64.ln() / 27.0;
    if mel >= MIN_LOG_MEL {
        MIN_LOG_HZ * (logstep * (mel - MIN_LOG_MEL)).exp()
    } else {
        F_SP * mel
    }
}

/// Triangular Slaney-normalised filters from 0 Hz to `sample_rate / 2`.
pub fn slaney_mel_filters(sample_rate: f64, n_fft: usize, n_mels: usize) -> MelFilters {
    let n_freqs = n_fft / 2 + 1;
    // numpy.fft.rfftfreq: k * (1 / (n * d)) with d = 1 / sr.
    let bin_hz = 1.0 / (n_fft as f64 * (1.0 / sample_rate));
    let fft_freqs: Vec<f64> = (0..n_freqs).map(|k| k as f64 * bin_hz).collect();

    // n_mels + 2 points evenly spaced on the mel scale (numpy.linspace).
    let n_points = n_mels + 2;
    let min_mel = hz_to_mel(0.0);
    let max_mel = hz_to_mel(sample_rate / 2.0);
    let step = (max_mel - min_mel) / (n_points - 1) as f64;
    let mel_hz: Vec<f64> = (0..n_points)
        .map(|i| {
            let m = if i == n_points - 1 {
                max_mel
            } else {
                min_mel + i as f64 * step
            };
            mel_to_hz(m)
        })
        .collect();

    let mut data = vec![0f32; n_mels * n_freqs];
    for m in 0..n_mels {
        let (left, center, right) = (mel_hz[m], mel_hz[m + 1], mel_hz[m + 2]);
        let enorm = 2.0 / (right - left);
        for (k, &f) in fft_freqs.iter().enumerate() {
            let lower = -(left - f) / (center - left);
            let upper = (right - f) / (right - center);
            let w = lower.min(upper).max(0.0) as f32;
            data[m * n_freqs + k] = (f64::from(w) * enorm) as f32;
        }
    }
    MelFilters {
        n_mels,
        n_freqs,
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mel_scale_round_trips() {
        for hz in [0.0, 100.0, 999.0, 1000.0, 1234.5, 8000.0] {
            let back = mel_to_hz(hz_to_mel(hz));
            assert!((back - hz).abs() < 1e-9, "{hz} -> {back}");
        }
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
    }
}
