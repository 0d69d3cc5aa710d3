//! Refusing WAVE `fmt ` headers that make symphonia's arithmetic overflow,
//! before it reads them: more than [`MAX_CHANNELS`] channels (refused later
//! anyway), and WAVE_FORMAT_EXTENSIBLE channel masks that cannot hold their
//! channel count.
//!
//! With more than 32 channels symphonia 0.6.1 computes a PCM block align
//! as `num_channels * (bits_per_sample / 8)` in `u16`, which overflows for
//! 65 535 channels (a second fuzzing find).
//!
//! symphonia 0.6.1 repairs a mask with fewer bits set than the header's
//! channel count by setting the missing bits above the mask's highest one
//! (`fix_wave_channel_mask` in symphonia-format-riff). When they do not fit
//! in the 32-bit mask (more than 32 channels, or bit 31 already set) its
//! shifts overflow: a panic where overflow checks are on (debug builds, the
//! tests; caught by `guard`, but a decoder panic all the same), silently
//! wrong bits where they are off. Fuzzing found it with a 69-byte file
//! announcing 256 channels and a one-bit mask (`tests/errors.rs`). A
//! header like that describes no real recording, so it is refused here.
//!
//! The check looks at every `fmt ` chunk header in a buffer holding a RIFF
//! header, not only where a chunk walk would find one (the probe also
//! finds a RIFF header after leading junk): a superset of what the demuxer
//! can read, so no layout can get a bad mask past it, and a real
//! file's audio data matching this pattern by chance is not a concern
//! (it would need `fmt `, a plausible length, the extensible tag and an
//! impossible mask in a row).

use crate::container::MAX_CHANNELS;
use crate::AudioError;

/// `wFormatTag` of WAVE_FORMAT_EXTENSIBLE.
const EXTENSIBLE: u16 = 0xfffe;

/// Checks every extensible `fmt ` chunk in `bytes` if they hold a RIFF
/// header anywhere (symphonia's probe finds one after leading junk too);
/// other buffers pass untouched.
pub(crate) fn check(bytes: &[u8]) -> Result<(), AudioError> {
    if find(bytes, b"RIFF").is_none() {
        return Ok(());
    }
    let mut from = 0;
    while let Some(at) = find(&bytes[from..], b"fmt ") {
        let header = from + at;
        // Chunk header (8), then wFormatTag, nChannels, ... dwChannelMask
        // at body offset 20.
        let body = header + 8;
        if let Some(fmt) = bytes.get(body..body + 4) {
            let tag = u16::from_le_bytes([fmt[0], fmt[1]]);
            let channels = u16::from_le_bytes([fmt[2], fmt[3]]);
            // More channels than this crate accepts: also what makes
            // symphonia's `num_channels * (bits_per_sample / 8)` (u16)
            // overflow for PCM.
            if channels > MAX_CHANNELS {
                return Err(AudioError::Unsupported(format!("{channels} channels")));
            }
            if let Some(mask) = bytes
                .get(body + 20..body + 24)
                .filter(|_| tag == EXTENSIBLE)
            {
                let mask = u32::from_le_bytes([mask[0], mask[1], mask[2], mask[3]]);
                check_mask(channels, mask)?;
            }
        }
        from = header + 1;
    }
    Ok(())
}

/// Whether symphonia's repair of `mask` for `channels` (at most
/// [`MAX_CHANNELS`]) stays in 32 bits.
fn check_mask(channels: u16, mask: u32) -> Result<(), AudioError> {
    let missing = u32::from(channels).saturating_sub(mask.count_ones());
    let used = 32 - mask.leading_zeros();
    // `(1 << missing) - 1` needs missing < 32, and shifting it above the
    // mask's highest bit must stay within 32 bits.
    if missing > 0 && (missing >= 32 || used + missing > 32) {
        return Err(AudioError::Corrupt(format!(
            "WAVE header: channel mask {mask:#010x} cannot describe {channels} channels"
        )));
    }
    Ok(())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A RIFF/WAVE header with an extensible `fmt ` chunk.
    fn wave(channels: u16, mask: u32) -> Vec<u8> {
        let mut w = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        w.extend(40u32.to_le_bytes());
        w.extend(EXTENSIBLE.to_le_bytes());
        w.extend(channels.to_le_bytes());
        w.extend([0; 16]);
        w.extend(mask.to_le_bytes());
        w.extend([0; 16]);
        w
    }

    #[test]
    fn consistent_masks_pass() {
        for (channels, mask) in [(1, 0x4), (2, 0x3), (6, 0x3f), (2, 0), (31, 0), (2, 0x7)] {
            assert_eq!(check(&wave(channels, mask)), Ok(()), "{channels} {mask:#x}");
        }
        // The mask of a format that is not extensible is not looked at.
        let mut pcm = wave(2, 0x8000_0000);
        pcm[20] = 1;
        assert_eq!(check(&pcm), Ok(()));
        // Nor is anything without a RIFF header.
        assert_eq!(check(b"OggS\0\0fmt \0\0\0\0"), Ok(()));
    }

    #[test]
    fn a_header_after_junk_is_checked_too() {
        let mut junk = b"O9\x01ggS\xff\x0f".to_vec();
        junk.extend(wave(39, 0x4));
        assert!(matches!(check(&junk), Err(AudioError::Unsupported(_))));
    }

    #[test]
    fn masks_that_overflow_are_refused() {
        assert!(matches!(
            check(&wave(256, 0x4)),
            Err(AudioError::Unsupported(_))
        ));
        assert!(matches!(
            check(&wave(33, 0)),
            Err(AudioError::Unsupported(_))
        ));
        // 32 missing channels: `1 << 32`.
        assert!(matches!(check(&wave(32, 0)), Err(AudioError::Corrupt(_))));
        // Bit 31 set and a channel missing: the repair shifts by 32.
        assert!(matches!(
            check(&wave(2, 0x8000_0000)),
            Err(AudioError::Corrupt(_))
        ));
        // 20 missing channels above bit 15.
        assert!(matches!(
            check(&wave(21, 0x8000)),
            Err(AudioError::Corrupt(_))
        ));
    }
}
