//! Decode-anything entry points for the fuzz targets.
//!
//! Not part of the protocol API: the cargo-fuzz targets in `fuzz/` (built
//! on nightly) and the stable corpus replay test
//! (`proto/tests/fuzz_corpus.rs`, part of `cargo test`) both call these
//! functions, so what CI replays is exactly what was fuzzed.
//!
//! Each function takes untrusted bytes and runs the real decoders on them.
//! Decoding errors are expected and ignored; a panic is a bug. Besides
//! "does not panic", every value that decodes must encode again and decode
//! back to an equal value (a frame the server accepts can always be
//! echoed, logged or stored without surprise).

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::chat::{ClientChat, ServerChat};
use crate::control::{ClientControl, ServerControl};
use crate::frame::{self as framing, HEADER_LEN, MAX_FRAME};
use crate::media::{ClientMedia, ServerMedia};
use crate::stream::{StreamHeader, StreamKind, MAX_HEADER_FRAME};
use crate::ProtoError;

/// Decodes `body` as a `T`; when it decodes, checks that it round-trips.
fn decode_checked<T>(body: &[u8]) -> Option<T>
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let value = framing::decode_body::<T>(body).ok()?;
    let bytes = match framing::encode(&value) {
        Ok(b) => b,
        Err(e) => panic!("a decoded {value:?} does not encode: {e}"),
    };
    assert_eq!(
        framing::announced_len(&bytes),
        Some(bytes.len() - HEADER_LEN),
        "the length prefix of a re-encoded frame is wrong"
    );
    match framing::decode_body::<T>(&bytes[HEADER_LEN..]) {
        Ok(back) => assert_eq!(back, value, "decode(encode(v)) != v"),
        Err(e) => panic!("a re-encoded {value:?} does not decode: {e}"),
    }
    Some(value)
}

/// A control-stream frame body, as the server reads it after the stream
/// header: hello, then authentication, then requests.
pub fn control(body: &[u8]) {
    if let Some(frame) = decode_checked::<ClientControl>(body) {
        // The pre-authentication gate runs on every decoded request.
        let _ = frame.request.is_pre_auth();
    }
}

/// A chat-stream frame body, as the server reads it (message sends).
pub fn chat(body: &[u8]) {
    if let Some(ClientChat::Send(send)) = decode_checked::<ClientChat>(body) {
        let _ = send.body.kind();
        let _ = send.to.conversation();
    }
}

/// A media-stream frame body, as the server reads it: the upload or
/// download request, and the proof of possession.
pub fn media(body: &[u8]) {
    if let Some(ClientMedia::Upload(upload)) = decode_checked::<ClientMedia>(body) {
        let _ = upload.kind.as_str();
    }
}

/// What the stream splitter found; only for the caller's curiosity.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    /// Complete frames handed to a decoder.
    pub frames: usize,
    /// The stream ended inside a frame (or its header).
    pub truncated: bool,
    /// A length prefix over the limit stopped the stream.
    pub too_large: bool,
}

/// A whole stream as the server receives it: `u32` big-endian length
/// prefixes, the first frame a [`StreamHeader`] (at most
/// [`MAX_HEADER_FRAME`] bytes), then frames of the kind it names (at most
/// [`MAX_FRAME`] bytes each), split and refused the way both sides'
/// length-delimited readers do, with [`framing::announced_len`] and
/// [`framing::reader_failure`]. Each frame after the header is decoded as
/// the client's frame of that kind (what the server reads) and as the
/// server's (what the client reads back on the same stream).
pub fn frame(data: &[u8]) -> Split {
    let mut split = Split::default();
    let mut rest = data;
    let mut kind: Option<StreamKind> = None;
    while !rest.is_empty() {
        let max = if kind.is_none() {
            MAX_HEADER_FRAME
        } else {
            MAX_FRAME
        };
        let Some(len) = framing::announced_len(rest) else {
            check_failure(false, rest, max);
            split.truncated = true;
            break;
        };
        if len > max {
            check_failure(true, rest, max);
            split.too_large = true;
            break;
        }
        let Some(body) = rest.get(HEADER_LEN..HEADER_LEN + len) else {
            check_failure(false, rest, max);
            split.truncated = true;
            break;
        };
        rest = &rest[HEADER_LEN + len..];
        split.frames += 1;
        match kind {
            None => match decode_checked::<StreamHeader>(body) {
                Some(header) => kind = Some(header.kind),
                // The server refuses the stream: nothing after it is read.
                None => break,
            },
            Some(StreamKind::Control) => {
                control(body);
                let _ = decode_checked::<ServerControl>(body);
            }
            Some(StreamKind::Chat) => {
                chat(body);
                let _ = decode_checked::<ServerChat>(body);
            }
            Some(StreamKind::Media) => {
                media(body);
                let _ = decode_checked::<ServerMedia>(body);
            }
        }
    }
    split
}

/// The readers' explanation of a failed read must describe these bytes.
fn check_failure(too_long: bool, buffered: &[u8], max: usize) {
    match framing::reader_failure(too_long, buffered, max) {
        ProtoError::FrameTooLarge { len, max: m } => {
            assert!(too_long && len > m && m == max, "wrong FrameTooLarge");
        }
        ProtoError::Truncated { have, want } => {
            assert!(!too_long, "a refused length reported as truncation");
            assert_eq!(have, buffered.len(), "Truncated.have");
            assert!(want > have, "Truncated.want {want} <= have {have}");
        }
        other => panic!("reader_failure returned {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::session;

    fn hello() -> ClientControl {
        ClientControl {
            req_id: 1,
            request: session::Request::Hello {
                version: 1,
                client: "t".into(),
            }
            .into(),
        }
    }

    fn control_stream() -> Vec<u8> {
        let mut s = framing::encode(&StreamHeader {
            kind: StreamKind::Control,
        })
        .unwrap();
        s.extend(framing::encode(&hello()).unwrap());
        s.extend(framing::encode(&hello()).unwrap());
        s
    }

    #[test]
    fn splits_a_stream_like_the_readers() {
        let s = control_stream();
        let whole = Split {
            frames: 3,
            ..Split::default()
        };
        assert_eq!(frame(&s), whole);
        let hello_len = framing::encode(&hello()).unwrap().len();
        let boundaries = [HEADER_LEN + 1, HEADER_LEN + 1 + hello_len];
        for cut in 1..s.len() {
            let split = frame(&s[..cut]);
            // A cut between frames is a clean end; anywhere else the
            // stream ended inside a frame.
            assert_eq!(split.truncated, !boundaries.contains(&cut), "cut at {cut}");
            assert!(!split.too_large);
        }
    }

    #[test]
    fn refuses_oversized_headers_and_frames() {
        // A stream header announcing more than MAX_HEADER_FRAME.
        let mut s = u32::try_from(MAX_HEADER_FRAME + 1)
            .unwrap()
            .to_be_bytes()
            .to_vec();
        s.extend(vec![0; MAX_HEADER_FRAME + 1]);
        assert!(frame(&s).too_large);
        // A body frame over MAX_FRAME after a valid header.
        let mut s = framing::encode(&StreamHeader {
            kind: StreamKind::Chat,
        })
        .unwrap();
        s.extend(u32::try_from(MAX_FRAME + 1).unwrap().to_be_bytes());
        let split = frame(&s);
        assert_eq!((split.frames, split.too_large), (1, true));
    }

    #[test]
    fn a_bad_header_stops_the_stream() {
        let mut s = vec![0, 0, 0, 1, 9];
        s.extend(framing::encode(&hello()).unwrap());
        assert_eq!(frame(&s).frames, 1);
    }

    #[test]
    fn bodies_decode_or_not_without_panicking() {
        let body = &framing::encode(&hello()).unwrap()[HEADER_LEN..];
        control(body);
        chat(body);
        media(body);
        control(&[]);
        control(&[0xff; 40]);
    }
}
