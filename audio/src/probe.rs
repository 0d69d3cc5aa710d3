//! Measuring a stream without decoding it.
//!
//! The client calls `probe` before sending a voice message, so it should be cheap: every
//! container read here states the duration of each packet (FLAC and MP3: frame headers; Ogg:
//! the Vorbis block sizes or the Opus TOC byte, with the end trimmed to the last granule
//! position), and symphonia's demuxers already subtract the encoder delay and padding they
//! know of. Summing them counts frames exactly while decoding nothing, tens of times faster
//! than decoding. PCM is the exception: a WAV cut inside its last packet still reports that
//! packet's full duration, and "decoding" PCM is a mere conversion, so PCM is decoded and
//! its frames counted (not kept). A header's total (WAV data size, FLAC STREAMINFO) is not
//! taken on trust: it is only compared with the count to spot truncated files (see
//! `integrity`). Tests check that the count equals the number of frames decoding produces.

use symphonia::core::formats::FormatReader;

use crate::container::TrackInfo;
use crate::mono::MonoSink;
use crate::opus_decode::OpusHead;
use crate::packets::next_packet;
use crate::symphonia_decode;
use crate::AudioError;

/// Counts the frames of `track` (per channel, at `track.sample_rate`) by demuxing.
pub(crate) fn count_frames(
    reader: &mut dyn FormatReader,
    track: &TrackInfo,
) -> Result<u64, AudioError> {
    if track.is_pcm {
        let mut counter = MonoSink::counter(track.sample_rate);
        symphonia_decode::decode(reader, track, &mut counter)?;
        return Ok(counter.frames());
    }
    let mut ticks: u64 = 0;
    while let Some(packet) = next_packet(reader, track.id)? {
        ticks = ticks.saturating_add(packet.dur.get());
    }
    let mut frames = track.ticks_to_frames(ticks);
    if track.is_opus {
        // symphonia's Ogg reader leaves Opus pre-skip in the packets (it has no decoder to
        // drop it); the Opus decoder drops it, so the count must too.
        frames = frames.saturating_sub(u64::from(OpusHead::of(track)?.pre_skip));
    }
    Ok(frames)
}
