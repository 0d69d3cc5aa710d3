//! Length-prefixed postcard frames.
//!
//! A frame is a big-endian `u32` body length followed by the postcard
//! encoding of one value. The decoder is a small state machine over bytes
//! (in the spirit of `quinn-proto`): callers push whatever chunks they read
//! and pull complete frames out, so it works with any transport.

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

/// Incremental frame decoder with a size limit.
#[derive(Debug)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    max: usize,
}

impl FrameDecoder {
    /// A decoder that rejects bodies larger than `max` bytes.
    pub fn new(max: usize) -> Self {
        FrameDecoder {
            buf: Vec::new(),
            max,
        }
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Returns the next complete frame body, `Ok(None)` if more bytes are
    /// needed, or an error if the announced length is over the limit.
    ///
    /// The length check happens as soon as the 4-byte prefix is present, so
    /// an oversized frame is rejected before its body is buffered.
    pub fn next_body(&mut self) -> Result<Option<Vec<u8>>, ProtoError> {
        if self.buf.len() < HEADER_LEN {
            return Ok(None);
        }
        let len = self.announced_len();
        if len > self.max {
            return Err(ProtoError::FrameTooLarge { len, max: self.max });
        }
        if self.buf.len() < HEADER_LEN + len {
            return Ok(None);
        }
        let body = self.buf[HEADER_LEN..HEADER_LEN + len].to_vec();
        self.buf.drain(..HEADER_LEN + len);
        Ok(Some(body))
    }

    /// Returns and decodes the next complete frame.
    pub fn next_frame<T: DeserializeOwned>(&mut self) -> Result<Option<T>, ProtoError> {
        match self.next_body()? {
            Some(body) => decode_body(&body).map(Some),
            None => Ok(None),
        }
    }

    /// Called when the stream has ended: an error if a partial frame is
    /// still buffered.
    pub fn finish(&self) -> Result<(), ProtoError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let want = if self.buf.len() >= HEADER_LEN {
            self.announced_len()
        } else {
            HEADER_LEN
        };
        Err(ProtoError::Truncated {
            have: self.buf.len(),
            want,
        })
    }

    /// Takes the bytes buffered after the last returned frame (for streams
    /// that switch from frames to a raw body).
    pub fn take_buffered(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// Bytes buffered but not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    fn announced_len(&self) -> usize {
        let mut len = [0u8; HEADER_LEN];
        len.copy_from_slice(&self.buf[..HEADER_LEN]);
        u32::from_be_bytes(len) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::{ClientControl, Request};
    use crate::rpc::session;

    #[test]
    fn roundtrip_in_small_chunks() {
        let frame = ClientControl {
            req_id: 7,
            request: Request::Session(session::Request::Ping),
        };
        let bytes = encode(&frame).unwrap();
        let mut dec = FrameDecoder::new(MAX_FRAME);
        for b in &bytes[..bytes.len() - 1] {
            dec.push(std::slice::from_ref(b));
            assert_eq!(dec.next_frame::<ClientControl>().unwrap(), None);
        }
        dec.push(&bytes[bytes.len() - 1..]);
        assert_eq!(dec.next_frame::<ClientControl>().unwrap(), Some(frame));
        assert!(dec.finish().is_ok());
    }

    #[test]
    fn oversized_prefix_is_rejected_before_body() {
        let mut dec = FrameDecoder::new(16);
        dec.push(&100u32.to_be_bytes());
        assert_eq!(
            dec.next_body(),
            Err(ProtoError::FrameTooLarge { len: 100, max: 16 })
        );
    }

    #[test]
    fn garbage_is_malformed_not_panic() {
        let mut dec = FrameDecoder::new(MAX_FRAME);
        dec.push(&[0, 0, 0, 3, 0xff, 0xff, 0xff]);
        assert!(matches!(
            dec.next_frame::<ClientControl>(),
            Err(ProtoError::Malformed(_))
        ));
    }

    #[test]
    fn truncated_frame_reported_on_finish() {
        let mut dec = FrameDecoder::new(MAX_FRAME);
        dec.push(&[0, 0, 0, 9, 1, 2]);
        assert_eq!(dec.next_body(), Ok(None));
        assert_eq!(
            dec.finish(),
            Err(ProtoError::Truncated { have: 6, want: 9 })
        );
    }

    /// Poor man's fuzzing (no extra dependency): many random byte strings,
    /// fed in random chunk sizes, must decode or fail, never panic.
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
            let mut bytes: Vec<u8> = (0..len).map(|_| rand() as u8).collect();
            // Mostly plausible lengths, so bodies actually get decoded.
            if bytes.len() >= 4 && rand() % 4 != 0 {
                let body = (bytes.len() - 4) as u32;
                bytes[..4].copy_from_slice(&body.to_be_bytes());
            }
            let mut dec = FrameDecoder::new(1024);
            let mut rest = &bytes[..];
            while !rest.is_empty() {
                let n = 1 + (rand() as usize % rest.len());
                dec.push(&rest[..n]);
                rest = &rest[n..];
            }
            if let Ok(Some(body)) = dec.next_body() {
                let _ = decode_body::<ClientControl>(&body);
                let _ = decode_body::<ClientChat>(&body);
                let _ = decode_body::<ServerControl>(&body);
                let _ = decode_body::<ServerChat>(&body);
            }
            let _ = dec.finish();
        }
    }
}
