//! The packet loop shared by both decoders and by `probe`.
//!
//! Containers interleave tracks and may end cleanly or in the middle of a packet; decoders may
//! reject single packets. These rules live here once: packets of other tracks are skipped, a
//! demuxer error ends everything with [`AudioError`], and a few undecodable packets are
//! tolerated (real files sometimes start with a damaged frame) but more than
//! [`MAX_BAD_PACKETS`] make the whole stream corrupt, so garbage that happens to look like a
//! container header is not "decoded" into noise.

use symphonia::core::formats::FormatReader;
use symphonia::core::packet::Packet;

use crate::AudioError;

/// Undecodable packets tolerated in one stream.
pub(crate) const MAX_BAD_PACKETS: u32 = 3;

/// The next packet of track `track_id`, or `None` at the end of the stream.
pub(crate) fn next_packet(
    reader: &mut dyn FormatReader,
    track_id: u32,
) -> Result<Option<Packet>, AudioError> {
    loop {
        match reader.next_packet() {
            Ok(Some(packet)) if packet.track_id == track_id => return Ok(Some(packet)),
            Ok(Some(_)) => continue,
            Ok(None) => return Ok(None),
            Err(e) => return Err(AudioError::from_demux(e)),
        }
    }
}

/// Counts undecodable packets and turns too many into [`AudioError::Corrupt`].
#[derive(Debug, Default)]
pub(crate) struct BadPackets {
    count: u32,
    first: Option<String>,
}

impl BadPackets {
    /// Records one undecodable packet.
    pub(crate) fn record(&mut self, why: impl std::fmt::Display) -> Result<(), AudioError> {
        self.count += 1;
        if self.first.is_none() {
            self.first = Some(why.to_string());
        }
        if self.count > MAX_BAD_PACKETS {
            return Err(self.error());
        }
        Ok(())
    }

    /// The error describing the failures so far.
    pub(crate) fn error(&self) -> AudioError {
        AudioError::Corrupt(format!(
            "{} undecodable packet(s), first: {}",
            self.count,
            self.first.as_deref().unwrap_or("?")
        ))
    }
}
