//! Decoding Ogg/Opus (what phones record) with libopus.
//!
//! symphonia demuxes Ogg/Opus (it parses the `OpusHead` header and computes packet durations
//! and the end trim from granule positions) but has no Opus decoder. Packets are therefore
//! decoded by the reference decoder, libopus, through the `opus` crate. That crate builds the
//! libopus sources bundled in `opusic-sys` with cmake, so no system package (`libopus-dev`) is
//! needed and every machine decodes with the same libopus version. Pure-Rust Opus decoders
//! exist but are young; libopus is the implementation every phone's encoder is tested against.
//!
//! Following RFC 7845: audio is decoded at 48 kHz (Opus's native rate, whatever "input sample
//! rate" the header mentions), the header's `pre_skip` frames are decoded (to warm the
//! decoder up) and then dropped, the header's output gain is applied, and the last packet is
//! cut where the final page's granule position says the audio ends. Only channel mapping
//! family 0 (mono or stereo, what voice recorders write) is supported; multichannel
//! surround streams are rejected as unsupported.

use symphonia::core::formats::FormatReader;

use crate::container::TrackInfo;
use crate::mono::MonoSink;
use crate::packets::{next_packet, BadPackets};
use crate::AudioError;

/// Opus always decodes at 48 kHz here.
pub(crate) const OPUS_RATE: u32 = 48_000;
/// Largest Opus packet duration: 120 ms at 48 kHz.
const MAX_PACKET_FRAMES: usize = 5_760;

/// The fields of the `OpusHead` identification header (RFC 7845 §5.1) that decoding needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OpusHead {
    pub channels: u8,
    pub pre_skip: u16,
    /// Q7.8 dB gain to apply to the decoded output.
    pub output_gain: i16,
    pub mapping_family: u8,
}

impl OpusHead {
    /// Parses the header symphonia stored as the track's extra data.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, AudioError> {
        let corrupt = || AudioError::Corrupt("invalid OpusHead header".into());
        if bytes.len() < 19 || &bytes[..8] != b"OpusHead" {
            return Err(corrupt());
        }
        if bytes[8] >> 4 != 0 {
            return Err(AudioError::Unsupported(format!(
                "Ogg/Opus mapping version {}",
                bytes[8]
            )));
        }
        let head = OpusHead {
            channels: bytes[9],
            pre_skip: u16::from_le_bytes([bytes[10], bytes[11]]),
            output_gain: i16::from_le_bytes([bytes[16], bytes[17]]),
            mapping_family: bytes[18],
        };
        if head.mapping_family != 0 {
            return Err(AudioError::Unsupported(format!(
                "Opus channel mapping family {} ({} channels)",
                head.mapping_family, head.channels
            )));
        }
        if !(1..=2).contains(&head.channels) {
            return Err(corrupt());
        }
        Ok(head)
    }

    /// Reads the header of `track`.
    pub(crate) fn of(track: &TrackInfo) -> Result<Self, AudioError> {
        Self::parse(track.params.extra_data.as_deref().unwrap_or_default())
    }
}

/// Decodes every packet of the Opus `track` into `sink` (at 48 kHz).
pub(crate) fn decode(
    reader: &mut dyn FormatReader,
    track: &TrackInfo,
    sink: &mut MonoSink,
) -> Result<(), AudioError> {
    let head = OpusHead::of(track)?;
    let channels = usize::from(head.channels);
    let layout = if channels == 1 {
        opus::Channels::Mono
    } else {
        opus::Channels::Stereo
    };
    let libopus_error = |e: opus::Error| AudioError::Corrupt(format!("libopus: {e}"));
    let mut decoder = opus::Decoder::new(OPUS_RATE, layout).map_err(libopus_error)?;
    decoder
        .set_gain(i32::from(head.output_gain))
        .map_err(libopus_error)?;

    let mut pcm = vec![0.0_f32; MAX_PACKET_FRAMES * channels];
    let mut to_skip = usize::from(head.pre_skip);
    let mut bad = BadPackets::default();
    while let Some(packet) = next_packet(reader, track.id)? {
        let decoded = match decoder.decode_float(&packet.data, &mut pcm, false) {
            Ok(n) => n.min(MAX_PACKET_FRAMES),
            Err(e) => {
                bad.record(format!("libopus: {e}"))?;
                continue;
            }
        };
        // Cut what the container marks as outside the stream (the end of the last packet).
        let trim_start = frames_of(track, packet.trim_start.get()).min(decoded);
        let trim_end = frames_of(track, packet.trim_end.get());
        let end = decoded.saturating_sub(trim_end).max(trim_start);
        let mut frames = &pcm[trim_start * channels..end * channels];
        // Drop the pre-skip at the start of the stream.
        let skip = to_skip.min(frames.len() / channels);
        frames = &frames[skip * channels..];
        to_skip -= skip;
        sink.push_interleaved(frames, channels)?;
    }
    Ok(())
}

fn frames_of(track: &TrackInfo, ticks: u64) -> usize {
    usize::try_from(track.ticks_to_frames(ticks)).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(channels: u8, family: u8) -> Vec<u8> {
        let mut h = b"OpusHead".to_vec();
        h.extend_from_slice(&[1, channels]);
        h.extend_from_slice(&312u16.to_le_bytes());
        h.extend_from_slice(&16_000u32.to_le_bytes());
        h.extend_from_slice(&(-256i16).to_le_bytes());
        h.push(family);
        h
    }

    #[test]
    fn parses_family_zero() {
        let h = OpusHead::parse(&head(2, 0)).unwrap();
        assert_eq!(
            h,
            OpusHead {
                channels: 2,
                pre_skip: 312,
                output_gain: -256,
                mapping_family: 0
            }
        );
    }

    #[test]
    fn rejects_bad_headers() {
        assert!(matches!(
            OpusHead::parse(&head(6, 1)),
            Err(AudioError::Unsupported(_))
        ));
        assert!(matches!(
            OpusHead::parse(&head(0, 0)),
            Err(AudioError::Corrupt(_))
        ));
        assert!(matches!(
            OpusHead::parse(&head(1, 0)[..18]),
            Err(AudioError::Corrupt(_))
        ));
    }
}
