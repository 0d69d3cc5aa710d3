//! Checking the page structure of an Ogg file (RFC 3533) before trusting its demuxer.
//!
//! symphonia's Ogg reader is forgiving: it skips a page whose checksum fails, and a file cut
//! off simply ends early. For a voice message either means lost audio that would go
//! unnoticed: the reader takes the total length from the last page it finds, so nothing is
//! left to compare with. This walk is cheap (one pass, no decoding) and strict:
//!
//! * every page is complete (a cut inside a page is truncation),
//! * every page's CRC-32 matches (damage),
//! * page sequence numbers of each logical stream have no gap (a lost page),
//! * the last page carries the end-of-stream flag (a cut exactly between pages).
//!
//! Bytes that are not a page after the last page (some tools append tags) end the walk
//! without an error; the demuxer has its own resynchronisation for such data.

use std::collections::HashMap;

use crate::AudioError;

/// Length of the fixed part of a page header.
const HEADER_LEN: usize = 27;
/// `header_type` flag of the last page of a logical stream.
const EOS: u8 = 0x04;

/// Checks every page of the Ogg file `bytes`.
pub(crate) fn check(bytes: &[u8]) -> Result<(), AudioError> {
    let mut pos = 0usize;
    let mut last_flags = None;
    let mut sequences: HashMap<u32, u32> = HashMap::new();
    while pos < bytes.len() {
        let rest = &bytes[pos..];
        if !rest.starts_with(b"OggS") {
            if rest.len() < 4 && b"OggS".starts_with(rest) {
                return Err(truncated());
            }
            return Ok(());
        }
        if rest.len() < HEADER_LEN {
            return Err(truncated());
        }
        let segments = usize::from(rest[26]);
        let Some(table) = rest.get(HEADER_LEN..HEADER_LEN + segments) else {
            return Err(truncated());
        };
        let body: usize = table.iter().map(|&s| usize::from(s)).sum();
        let Some(page) = rest.get(..HEADER_LEN + segments + body) else {
            return Err(truncated());
        };
        let field =
            |at: usize| u32::from_le_bytes([page[at], page[at + 1], page[at + 2], page[at + 3]]);
        let (serial, sequence, stored_crc) = (field(14), field(18), field(22));
        if page_crc(page) != stored_crc {
            return Err(AudioError::Corrupt(format!(
                "Ogg page {sequence} at byte {pos} fails its checksum (damaged data)"
            )));
        }
        if let Some(previous) = sequences.insert(serial, sequence) {
            if previous.checked_add(1) != Some(sequence) {
                return Err(AudioError::Corrupt(format!(
                    "Ogg pages missing between pages {previous} and {sequence}"
                )));
            }
        }
        last_flags = Some(page[5]);
        pos += page.len();
    }
    match last_flags {
        Some(flags) if flags & EOS == 0 => Err(AudioError::Corrupt(
            "truncated: the Ogg stream has no end-of-stream page".into(),
        )),
        _ => Ok(()),
    }
}

fn truncated() -> AudioError {
    AudioError::Corrupt("truncated: the data ends inside an Ogg page".into())
}

/// CRC-32 of a page as Ogg defines it: polynomial 0x04c11db7, not reflected, initial value
/// and final XOR 0, computed with the checksum field (bytes 22..26) taken as zero.
fn page_crc(page: &[u8]) -> u32 {
    page.iter().enumerate().fold(0u32, |crc, (i, &byte)| {
        let byte = if (22..26).contains(&i) { 0 } else { byte };
        (crc << 8) ^ CRC_TABLE[usize::from((crc >> 24) as u8 ^ byte)]
    })
}

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut r = (i as u32) << 24;
        let mut bit = 0;
        while bit < 8 {
            r = if r & 0x8000_0000 != 0 {
                (r << 1) ^ 0x04c1_1db7
            } else {
                r << 1
            };
            bit += 1;
        }
        table[i] = r;
        i += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    fn page(flags: u8, sequence: u32, body: &[u8]) -> Vec<u8> {
        let mut p = b"OggS".to_vec();
        p.extend_from_slice(&[0, flags]);
        p.extend_from_slice(&[0; 8]); // granule position
        p.extend_from_slice(&7u32.to_le_bytes()); // serial
        p.extend_from_slice(&sequence.to_le_bytes());
        p.extend_from_slice(&[0; 4]); // checksum, filled below
        p.push(1);
        p.push(u8::try_from(body.len()).unwrap());
        p.extend_from_slice(body);
        let crc = page_crc(&p);
        p[22..26].copy_from_slice(&crc.to_le_bytes());
        p
    }

    fn stream() -> Vec<u8> {
        let mut s = page(0x02, 0, b"head");
        s.extend(page(0, 1, b"data"));
        s.extend(page(EOS, 2, b"end"));
        s
    }

    #[test]
    fn accepts_a_complete_stream() {
        assert_eq!(check(&stream()), Ok(()));
        let mut trailing = stream();
        trailing.extend_from_slice(b"TAG junk");
        assert_eq!(check(&trailing), Ok(()));
    }

    #[test]
    fn rejects_every_cut() {
        let s = stream();
        for cut in 1..s.len() {
            assert!(
                matches!(check(&s[..cut]), Err(AudioError::Corrupt(_))),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn rejects_damage_and_gaps() {
        let mut damaged = stream();
        let at = damaged.len() - 2;
        damaged[at] ^= 1;
        assert!(matches!(check(&damaged), Err(AudioError::Corrupt(m)) if m.contains("checksum")));
        let mut gap = page(0x02, 0, b"head");
        gap.extend(page(EOS, 2, b"end"));
        assert!(matches!(check(&gap), Err(AudioError::Corrupt(m)) if m.contains("missing")));
    }

    #[test]
    fn crc_matches_the_reference_value() {
        // CRC-32/MPEG-2 without final inversion and zero init (the Ogg variant) of "123456789".
        let crc = b"123456789".iter().fold(0u32, |crc, &b| {
            (crc << 8) ^ CRC_TABLE[usize::from((crc >> 24) as u8 ^ b)]
        });
        assert_eq!(crc, 0x89a1_897f);
    }
}
