//! Telling a truncated upload from a short recording.
//!
//! A voice message cut off by a failed upload still demuxes: the readers stop at the end of
//! the data. Two checks catch it:
//!
//! * the container's header announced more frames than the stream holds (WAV data size,
//!   FLAC STREAMINFO total);
//! * for Ogg (Opus, Vorbis), whose reader finds its total on the last page present, the
//!   page structure itself (see `ogg_pages`): complete pages, valid checksums, no missing
//!   page, and the end-of-stream flag on the last one.
//!
//! WAV and FLAC cut inside the audio data also fail while reading (unexpected end of data).
//! An MP3 is a bare sequence of frames: cut anywhere, it reads as a shorter file, and the
//! reader drops an incomplete last frame. Detecting that would need the Xing/LAME frame
//! count, which symphonia does not distinguish from its own bit-rate estimate, so truncated
//! MP3 files are accepted as shorter recordings.

use symphonia::core::formats::{well_known::FORMAT_ID_OGG, FormatReader};

use crate::container::TrackInfo;
use crate::AudioError;

/// Container-level checks, before decoding.
pub(crate) fn check_container(bytes: &[u8], reader: &dyn FormatReader) -> Result<(), AudioError> {
    if reader.format_info().format == FORMAT_ID_OGG {
        crate::ogg_pages::check(bytes)?;
    }
    Ok(())
}

/// Checks a frame count against the header's and against emptiness.
pub(crate) fn check_length(track: &TrackInfo, frames: u64) -> Result<(), AudioError> {
    if frames == 0 {
        return Err(AudioError::Empty);
    }
    match track.header_frames {
        Some(announced) if frames < announced => Err(AudioError::Corrupt(format!(
            "truncated or damaged: the header announces {announced} frames, \
                 the stream holds {frames}"
        ))),
        _ => Ok(()),
    }
}
