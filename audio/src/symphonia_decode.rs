//! Decoding WAV/PCM, FLAC, MP3 and Vorbis with symphonia's pure-Rust decoders.
//!
//! Pure Rust means no C library to build or to trust with untrusted uploads, for every codec
//! symphonia has. Decoders run in gapless mode, so encoder delay and padding that the
//! container declares (LAME/Xing header for MP3, granule positions for Vorbis) are trimmed
//! and the frame count matches the original recording.

use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::FormatReader;

use crate::container::TrackInfo;
use crate::mono::MonoSink;
use crate::packets::{next_packet, BadPackets};
use crate::AudioError;

/// Decodes every packet of `track` into `sink`.
pub(crate) fn decode(
    reader: &mut dyn FormatReader,
    track: &TrackInfo,
    sink: &mut MonoSink,
) -> Result<(), AudioError> {
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&track.params, &AudioDecoderOptions::default())
        .map_err(|e| match e {
            SymphoniaError::Unsupported(what) => {
                AudioError::Unsupported(format!("{} stream: {what}", track.codec))
            }
            other => AudioError::from_demux(other),
        })?;
    let mut bad = BadPackets::default();
    let mut scratch: Vec<f32> = Vec::new();
    while let Some(packet) = next_packet(reader, track.id)? {
        match decoder.decode(&packet) {
            Ok(buf) => {
                if buf.spec().rate() != track.sample_rate {
                    return Err(AudioError::Unsupported(format!(
                        "sample rate changes mid-stream ({} to {} Hz)",
                        track.sample_rate,
                        buf.spec().rate()
                    )));
                }
                let channels = buf.spec().channels().count();
                buf.copy_to_vec_interleaved(&mut scratch);
                sink.push_interleaved(&scratch, channels)?;
            }
            Err(e @ (SymphoniaError::DecodeError(_) | SymphoniaError::IoError(_))) => {
                bad.record(e)?;
            }
            Err(other) => return Err(AudioError::from_demux(other)),
        }
    }
    Ok(())
}
