//! Reading and writing proto frames on quinn streams (client side).

use quichat_proto::frame::{self, FrameDecoder};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::ClientError;

/// Frame reader over a receive stream.
#[derive(Debug)]
pub(crate) struct FrameReader {
    recv: quinn::RecvStream,
    decoder: FrameDecoder,
}

impl FrameReader {
    pub(crate) fn new(recv: quinn::RecvStream) -> Self {
        FrameReader {
            recv,
            decoder: FrameDecoder::new(frame::MAX_FRAME),
        }
    }

    /// The next frame, or `None` at a clean end of stream.
    pub(crate) async fn next<T: DeserializeOwned>(&mut self) -> Result<Option<T>, ClientError> {
        loop {
            if let Some(frame) = self.decoder.next_frame::<T>()? {
                return Ok(Some(frame));
            }
            match self.recv.read_chunk(64 * 1024, true).await? {
                Some(chunk) => self.decoder.push(&chunk.bytes),
                None => {
                    self.decoder.finish()?;
                    return Ok(None);
                }
            }
        }
    }
}

impl FrameReader {
    /// Splits into the stream and any bytes read past the last frame.
    pub(crate) fn into_parts(mut self) -> (quinn::RecvStream, Vec<u8>) {
        let rest = self.decoder.take_buffered();
        (self.recv, rest)
    }
}

/// Encodes and writes one frame.
pub(crate) async fn write_frame<T: Serialize>(
    send: &mut quinn::SendStream,
    value: &T,
) -> Result<(), ClientError> {
    let bytes = frame::encode(value)?;
    send.write_all(&bytes).await?;
    Ok(())
}
