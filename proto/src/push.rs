//! Pushed event frames built around a body encoded once.
//!
//! One event body (a group message, say) goes to every member under a
//! different seq and with different flags, so each member's frame differs
//! only before the body: postcard writes a struct's fields in order and an
//! enum as its variant index followed by its content, and the body is the
//! last field of [`Event`], [`Flagged`] and of the frame variants that
//! carry them. So the server encodes the body once
//! ([`encode_body`]) and gives each recipient a small [`frame_head`] (the
//! length header, the variant, the flags and the seq) followed by those
//! shared bytes. The result is byte for byte the frame [`crate::frame::encode`]
//! makes of the whole value (pinned by this module's tests).

use crate::chat::ServerChat;
use crate::control::ServerControl;
use crate::event::{Event, EventBody};
use crate::frame::{self, HEADER_LEN};
use crate::notify::{Flagged, PushFlags};
use crate::types::ReadPosition;
use crate::ProtoError;

/// Which stream a pushed event goes on: messages on the chat stream (when
/// the client opened one), everything else on the control stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushStream {
    /// As [`ServerChat::Event`] or [`ServerChat::Flagged`].
    Chat,
    /// As [`ServerControl::Event`] or [`ServerControl::Flagged`].
    Control,
}

/// The postcard encoding of `body`, to share between the frames of every
/// recipient of the event.
pub fn encode_body(body: &EventBody) -> Result<Vec<u8>, ProtoError> {
    postcard::to_allocvec(body).map_err(|e| ProtoError::Encode(e.to_string()))
}

/// The whole frame of a pushed `event` on `stream`, with `flags` (a
/// protocol-2 `Flagged`) or without (a protocol-1 `Event`).
pub fn encode_frame(
    stream: PushStream,
    flags: Option<PushFlags>,
    event: Event,
) -> Result<Vec<u8>, ProtoError> {
    match (stream, flags) {
        (PushStream::Chat, Some(flags)) => {
            frame::encode(&ServerChat::Flagged(Flagged { flags, event }))
        }
        (PushStream::Chat, None) => frame::encode(&ServerChat::Event(event)),
        (PushStream::Control, Some(flags)) => {
            frame::encode(&ServerControl::Flagged(Flagged { flags, event }))
        }
        (PushStream::Control, None) => frame::encode(&ServerControl::Event(event)),
    }
}

/// A body whose encoding is known, to find where the body starts in an
/// encoded frame.
fn template() -> EventBody {
    EventBody::ReadPosition(ReadPosition {
        conversation_id: 0,
        up_to_seq: 0,
    })
}

/// The bytes that precede an encoded body of `body_len` bytes in the frame
/// of the event `seq` on `stream`: the length header, the frame variant,
/// the flags (`None`: a protocol-1 plain `Event`) and the seq. The frame is
/// these bytes followed by the body's.
pub fn frame_head(
    stream: PushStream,
    flags: Option<PushFlags>,
    seq: u64,
    body_len: usize,
) -> Result<Vec<u8>, ProtoError> {
    let whole = encode_frame(
        stream,
        flags,
        Event {
            seq,
            body: template(),
        },
    )?;
    let tail = encode_body(&template())?;
    let head_len = whole
        .len()
        .checked_sub(tail.len())
        .filter(|&n| n >= HEADER_LEN && whole.ends_with(&tail))
        .ok_or_else(|| ProtoError::Encode("the event body is not the frame's last field".into()))?;
    let mut head = whole;
    head.truncate(head_len);
    let len = u32::try_from(head_len - HEADER_LEN + body_len)
        .map_err(|_| ProtoError::Encode("frame over 4 GiB".into()))?;
    head[..HEADER_LEN].copy_from_slice(&len.to_be_bytes());
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Broadcast, Receipt, ReceiptKind};

    fn bodies() -> Vec<EventBody> {
        vec![
            template(),
            EventBody::Receipt(Receipt {
                conversation_id: 9_000_000_000,
                by: "alice".into(),
                kind: ReceiptKind::Read,
                up_to_seq: u64::MAX,
                at_ms: -5,
            }),
            EventBody::Broadcast(Broadcast {
                id: 3,
                from: Some("admin".into()),
                text: "x".repeat(70_000),
                sent_at_ms: 1_700_000_000_000,
            }),
        ]
    }

    /// Head plus shared body is exactly the frame of the whole value, for
    /// every stream, with and without flags, at seqs of every varint width.
    #[test]
    fn head_and_body_make_the_whole_frame() {
        for body in bodies() {
            let encoded = encode_body(&body).unwrap();
            for seq in [0, 1, 127, 128, 300, 1 << 35, u64::MAX] {
                for flags in [
                    None,
                    Some(PushFlags(0)),
                    Some(PushFlags(7)),
                    Some(PushFlags(255)),
                ] {
                    for stream in [PushStream::Chat, PushStream::Control] {
                        let event = Event {
                            seq,
                            body: body.clone(),
                        };
                        let whole = encode_frame(stream, flags, event).unwrap();
                        let mut built = frame_head(stream, flags, seq, encoded.len()).unwrap();
                        built.extend_from_slice(&encoded);
                        assert_eq!(built, whole, "{stream:?} {flags:?} seq {seq}");
                    }
                }
            }
        }
    }
}
