//! Opening a byte buffer as a media container and choosing its audio track.
//!
//! All formats, including Ogg/Opus, are demuxed by symphonia: it recognises the container
//! from the bytes (no file name or MIME type is trusted), lists the tracks and hands out
//! packets. What happens to the packets depends on the codec (see `symphonia_decode` and
//! `opus_decode`); this module only gathers what both need to know about the track, and
//! rejects parameters that would make later work unbounded (absurd sample rates or channel
//! counts written in a forged header).

use std::io::Cursor;

use symphonia::core::codecs::audio::well_known as codec;
use symphonia::core::codecs::audio::{AudioCodecId, AudioCodecParameters};
use symphonia::core::codecs::CodecParameters;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, Track};
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::units::TimeBase;

use crate::AudioError;

/// Highest sample rate accepted (Hz). Real recordings stop at 192 kHz; the bound keeps the
/// `max_seconds` limit meaningful in memory terms.
pub(crate) const MAX_SAMPLE_RATE: u32 = 384_000;
/// Most channels accepted.
pub(crate) const MAX_CHANNELS: u16 = 32;

/// What the rest of the crate needs to know about the chosen audio track.
#[derive(Debug, Clone)]
pub(crate) struct TrackInfo {
    /// Track id, to filter packets.
    pub id: u32,
    /// Codec parameters, to build a decoder.
    pub params: AudioCodecParameters,
    /// Codec name as reported in [`crate::AudioInfo::codec`].
    pub codec: String,
    /// Sample rate of the decoded audio (48 kHz for Opus).
    pub sample_rate: u32,
    /// Channel count of the decoded audio.
    pub channels: u16,
    /// Frame count announced by the container (excluding encoder delay and padding), when it
    /// is more than an estimate. Used to reject over-long input before decoding and to spot
    /// truncation, never as the result.
    pub header_frames: Option<u64>,
    /// Whether the codec is Opus (decoded by `opus_decode`, not by symphonia).
    pub is_opus: bool,
    /// Whether the codec is uncompressed PCM (packet durations are not trusted, see `probe`).
    pub is_pcm: bool,
    /// Time base of packet timestamps and durations, when it is not `1 / sample_rate`.
    pub time_base: Option<TimeBase>,
}

impl TrackInfo {
    /// Converts a packet duration (time-base ticks) to frames at `sample_rate`.
    pub(crate) fn ticks_to_frames(&self, ticks: u64) -> u64 {
        match self.time_base {
            None => ticks,
            Some(tb) => {
                let frames =
                    u128::from(ticks) * u128::from(tb.numer.get()) * u128::from(self.sample_rate)
                        / u128::from(tb.denom.get());
                u64::try_from(frames).unwrap_or(u64::MAX)
            }
        }
    }
}

/// A container reader positioned at the start, plus its chosen audio track.
pub(crate) struct Opened<'a> {
    pub reader: Box<dyn FormatReader + 'a>,
    pub track: TrackInfo,
}

/// Recognises the container in `bytes` and selects its first decodable audio track.
pub(crate) fn open(bytes: &[u8]) -> Result<Opened<'_>, AudioError> {
    if bytes.is_empty() {
        return Err(AudioError::Empty);
    }
    crate::wave_fmt::check(bytes)?;
    let mss = MediaSourceStream::new(
        Box::new(Cursor::new(bytes)),
        MediaSourceStreamOptions::default(),
    );
    let reader = symphonia::default::get_probe()
        .probe(
            &Hint::new(),
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| match e {
            symphonia::core::errors::Error::Unsupported(_) => {
                AudioError::Unsupported("not a recognised audio container".into())
            }
            other => AudioError::from_demux(other),
        })?;
    let track = choose_track(reader.as_ref())?;
    Ok(Opened { reader, track })
}

fn choose_track(reader: &dyn FormatReader) -> Result<TrackInfo, AudioError> {
    let mut first_unknown = None;
    for track in reader.tracks() {
        let Some(CodecParameters::Audio(params)) = &track.codec_params else {
            continue;
        };
        let Some(codec) = codec_name(params.codec) else {
            first_unknown.get_or_insert(params.codec);
            continue;
        };
        let is_opus = params.codec == codec::CODEC_ID_OPUS;
        let sample_rate = if is_opus {
            crate::opus_decode::OPUS_RATE
        } else {
            params.sample_rate.unwrap_or(0)
        };
        if sample_rate == 0 || sample_rate > MAX_SAMPLE_RATE {
            return Err(AudioError::Unsupported(format!(
                "sample rate {sample_rate} Hz"
            )));
        }
        let channels = params.channels.as_ref().map_or(0, |c| c.count());
        let channels = match u16::try_from(channels) {
            Ok(c) if (1..=MAX_CHANNELS).contains(&c) => c,
            _ => return Err(AudioError::Unsupported(format!("{channels} channels"))),
        };
        return Ok(TrackInfo {
            id: track.id,
            params: params.clone(),
            codec: codec.to_string(),
            sample_rate,
            channels,
            header_frames: trusted_total(track, params.codec),
            is_opus,
            is_pcm: codec.starts_with("pcm_"),
            time_base: track
                .time_base
                .filter(|tb| !(tb.numer.get() == 1 && tb.denom.get() == sample_rate)),
        });
    }
    Err(match first_unknown {
        Some(id) => AudioError::Unsupported(format!("audio codec {id}")),
        None => AudioError::Unsupported("no audio track".into()),
    })
}

/// The frame total the container announces, where it is exact: WAV (data size), FLAC
/// (STREAMINFO), Ogg (last granule position; for Opus it includes the pre-skip, which
/// decoding drops). symphonia estimates an MP3's total from its bit rate when the file has no
/// Xing/VBRI header, and the two cases cannot be told apart, so MP3 totals are ignored.
fn trusted_total(track: &Track, codec_id: AudioCodecId) -> Option<u64> {
    match codec_id {
        codec::CODEC_ID_MP3 => None,
        codec::CODEC_ID_OPUS => track
            .num_frames
            .map(|n| n.saturating_sub(u64::from(track.delay.unwrap_or(0)))),
        _ => track.num_frames,
    }
}

/// Names the codecs this crate decodes; `None` for any other.
fn codec_name(id: AudioCodecId) -> Option<&'static str> {
    let name = match id {
        codec::CODEC_ID_OPUS => "opus",
        codec::CODEC_ID_VORBIS => "vorbis",
        codec::CODEC_ID_MP3 => "mp3",
        codec::CODEC_ID_FLAC => "flac",
        codec::CODEC_ID_PCM_U8 => "pcm_u8",
        codec::CODEC_ID_PCM_S8 => "pcm_s8",
        codec::CODEC_ID_PCM_S16LE => "pcm_s16le",
        codec::CODEC_ID_PCM_S16BE => "pcm_s16be",
        codec::CODEC_ID_PCM_S24LE => "pcm_s24le",
        codec::CODEC_ID_PCM_S24BE => "pcm_s24be",
        codec::CODEC_ID_PCM_S32LE => "pcm_s32le",
        codec::CODEC_ID_PCM_S32BE => "pcm_s32be",
        codec::CODEC_ID_PCM_U16LE => "pcm_u16le",
        codec::CODEC_ID_PCM_U16BE => "pcm_u16be",
        codec::CODEC_ID_PCM_U24LE => "pcm_u24le",
        codec::CODEC_ID_PCM_U24BE => "pcm_u24be",
        codec::CODEC_ID_PCM_U32LE => "pcm_u32le",
        codec::CODEC_ID_PCM_U32BE => "pcm_u32be",
        codec::CODEC_ID_PCM_F32LE => "pcm_f32le",
        codec::CODEC_ID_PCM_F32BE => "pcm_f32be",
        codec::CODEC_ID_PCM_F64LE => "pcm_f64le",
        codec::CODEC_ID_PCM_F64BE => "pcm_f64be",
        codec::CODEC_ID_PCM_ALAW => "pcm_alaw",
        codec::CODEC_ID_PCM_MULAW => "pcm_mulaw",
        _ => return None,
    };
    Some(name)
}
