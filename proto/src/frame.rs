//! Length-prefixed postcard frames.
//!
//! A frame is a big-endian `u32` body length followed by the postcard
//! encoding of one value. This crate encodes frames and decodes bodies; the
//! length-prefixed splitting on a stream is `tokio_util`'s
//! `LengthDelimitedCodec` (4-byte big-endian length, the limit checked as
//! soon as the header is in, before the body is read), configured the same
//! way on both sides (`server/src/framed.rs`, `client-lib/src/framed.rs`).

use serde::{de::DeserializeOwned, Serialize};

use crate::ProtoError;

/// Size of the length prefix in bytes.
pub const HEADER_LEN: usize = 4;

/// Maximum frame body on control and chat streams (1 MiB).
pub const MAX_FRAME: usize = 1024 * 1024;

/// Encodes `value` as one frame (length prefix + postcard body).
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, ProtoError> {
    let mut out = postcard::to_extend(value, vec![0u8; HEADER_LEN])
        .map_err(|e| ProtoError::Encode(e.to_string()))?;
    let body_len = out.len() - HEADER_LEN;
    let len = u32::try_from(body_len).map_err(|_| ProtoError::Encode("frame over 4 GiB".into()))?;
    out[..HEADER_LEN].copy_from_slice(&len.to_be_bytes());
    Ok(out)
}

/// Decodes a frame body (without the length prefix).
pub fn decode_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ProtoError> {
    postcard::from_bytes(body).map_err(|e| ProtoError::Malformed(e.to_string()))
}

/// The announced body length in a buffer that starts with a frame header,
/// if the header is complete. Readers use it to say how large a refused
/// frame claimed to be, or how much of a truncated one arrived.
pub fn announced_len(buf: &[u8]) -> Option<usize> {
    let header: [u8; HEADER_LEN] = buf.get(..HEADER_LEN)?.try_into().ok()?;
    Some(u32::from_be_bytes(header) as usize)
}

/// What a length-delimited reader's failure meant, given the bytes it
/// still held: a refused length (`too_long`, the codec's `InvalidData`)
/// is [`ProtoError::FrameTooLarge`]; otherwise the stream ended inside a
/// frame ([`ProtoError::Truncated`]). Shared by both sides' readers.
pub fn reader_failure(too_long: bool, buffered: &[u8], max: usize) -> ProtoError {
    if too_long {
        ProtoError::FrameTooLarge {
            len: announced_len(buffered).unwrap_or(usize::MAX),
            max,
        }
    } else {
        ProtoError::Truncated {
            have: buffered.len(),
            want: announced_len(buffered).map_or(HEADER_LEN, |n| n + HEADER_LEN),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::{ClientControl, Request};
    use crate::rpc::session;

    #[test]
    fn roundtrip() {
        let frame = ClientControl {
            req_id: 7,
            request: Request::Session(session::Request::Ping),
        };
        let bytes = encode(&frame).unwrap();
        assert_eq!(announced_len(&bytes), Some(bytes.len() - HEADER_LEN));
        assert_eq!(
            decode_body::<ClientControl>(&bytes[HEADER_LEN..]).unwrap(),
            frame
        );
        assert_eq!(announced_len(&bytes[..3]), None);
        assert_eq!(
            reader_failure(true, &100u32.to_be_bytes(), 16),
            ProtoError::FrameTooLarge { len: 100, max: 16 }
        );
        assert_eq!(
            reader_failure(false, &[0, 0, 0, 9, 1, 2], 16),
            ProtoError::Truncated { have: 6, want: 13 }
        );
    }

    #[test]
    fn garbage_is_malformed_not_panic() {
        assert!(matches!(
            decode_body::<ClientControl>(&[0xff, 0xff, 0xff]),
            Err(ProtoError::Malformed(_))
        ));
    }

    /// Poor man's fuzzing (no extra dependency): many random bodies must
    /// decode or fail, never panic.
    #[test]
    fn random_bytes_never_panic() {
        use crate::chat::{ClientChat, ServerChat};
        use crate::control::ServerControl;
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut rand = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..5000 {
            let len = (rand() % 64) as usize;
            let body: Vec<u8> = (0..len).map(|_| rand() as u8).collect();
            let _ = decode_body::<ClientControl>(&body);
            let _ = decode_body::<ClientChat>(&body);
            let _ = decode_body::<ServerControl>(&body);
            let _ = decode_body::<ServerChat>(&body);
        }
    }
}
