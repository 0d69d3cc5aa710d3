//! Collecting decoded audio as one mono channel, under a length limit.
//!
//! Whisper wants mono, and keeping only the mixed channel divides memory by the channel count,
//! so decoders hand every buffer straight to [`MonoSink`] instead of collecting interleaved
//! audio first. The sink is also where `max_seconds` is enforced: it refuses the buffer that
//! would cross the limit, so a huge or endless stream costs at most `max_seconds` of decoding.

use crate::AudioError;

/// Accumulates the channel average of interleaved buffers.
#[derive(Debug)]
pub(crate) struct MonoSink {
    samples: Vec<f32>,
    /// Whether samples are kept, or only counted (for `probe`).
    store: bool,
    frames: u64,
    sample_rate: u32,
    max_frames: u64,
    max_seconds: u64,
}

impl MonoSink {
    /// A sink for audio at `sample_rate` that holds at most `max_seconds`.
    /// `expected_frames` (from a header, untrusted) only sizes the first allocation.
    pub(crate) fn new(sample_rate: u32, max_seconds: u64, expected_frames: Option<u64>) -> Self {
        let max_frames = max_seconds.saturating_mul(u64::from(sample_rate));
        let reserve = expected_frames.unwrap_or(0).min(max_frames);
        MonoSink {
            samples: Vec::with_capacity(usize::try_from(reserve).unwrap_or(0)),
            store: true,
            frames: 0,
            sample_rate,
            max_frames,
            max_seconds,
        }
    }

    /// A sink that only counts frames, without limit.
    pub(crate) fn counter(sample_rate: u32) -> Self {
        MonoSink {
            samples: Vec::new(),
            store: false,
            frames: 0,
            sample_rate,
            max_frames: u64::MAX,
            max_seconds: u64::MAX,
        }
    }

    /// Frames (per channel) collected so far.
    pub(crate) fn frames(&self) -> u64 {
        self.frames
    }

    /// Adds interleaved `channels`-channel samples (a whole number of frames). Non-finite
    /// values become silence and everything is clamped to [-1, 1] (float WAV may hold anything).
    pub(crate) fn push_interleaved(
        &mut self,
        interleaved: &[f32],
        channels: usize,
    ) -> Result<(), AudioError> {
        let channels = channels.max(1);
        let frames = interleaved.len() / channels;
        let total = self.frames.saturating_add(frames as u64);
        if total > self.max_frames {
            return Err(AudioError::too_long(
                total,
                self.sample_rate,
                self.max_seconds,
            ));
        }
        self.frames = total;
        if !self.store {
            return Ok(());
        }
        let scale = 1.0 / channels as f32;
        self.samples.extend(
            interleaved
                .chunks_exact(channels)
                .map(|frame| clean(frame.iter().map(|s| clean(*s)).sum::<f32>() * scale)),
        );
        Ok(())
    }

    /// The collected mono samples.
    pub(crate) fn into_samples(self) -> Vec<f32> {
        self.samples
    }
}

/// NaN and infinities become 0, the rest is clamped to [-1, 1].
pub(crate) fn clean(s: f32) -> f32 {
    if s.is_finite() {
        s.clamp(-1.0, 1.0)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_channels_and_cleans() {
        let mut sink = MonoSink::new(8000, 1, None);
        sink.push_interleaved(&[1.0, 0.0, -1.0, -1.0, f32::NAN, 0.5, 3.0, 3.0], 2)
            .unwrap();
        assert_eq!(sink.into_samples(), vec![0.5, -1.0, 0.25, 1.0]);
    }

    #[test]
    fn enforces_limit() {
        let mut sink = MonoSink::new(10, 1, Some(u64::MAX));
        sink.push_interleaved(&[0.0; 10], 1).unwrap();
        let err = sink.push_interleaved(&[0.0; 1], 1).unwrap_err();
        assert_eq!(err, AudioError::TooLong { seconds: 2, max: 1 });
    }
}
