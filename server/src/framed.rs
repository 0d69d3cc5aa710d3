//! Reading and writing proto frames on quinn streams.

use quichat_proto::frame::{self, FrameDecoder};
use quichat_proto::ProtoError;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadFrameError {
    /// The bytes were not a valid frame.
    #[error(transparent)]
    Proto(#[from] ProtoError),
    /// The stream failed.
    #[error("stream read failed: {0}")]
    Read(#[from] quinn::ReadError),
}

/// Frame reader over a receive stream.
#[derive(Debug)]
pub struct FrameReader {
    recv: quinn::RecvStream,
    decoder: FrameDecoder,
}

impl FrameReader {
    /// Wraps a stream with a frame size limit.
    pub fn new(recv: quinn::RecvStream, max_frame: usize) -> Self {
        FrameReader {
            recv,
            decoder: FrameDecoder::new(max_frame),
        }
    }

    /// The next frame, or `None` when the peer finished the stream cleanly.
    pub async fn next<T: DeserializeOwned>(&mut self) -> Result<Option<T>, ReadFrameError> {
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
    /// Splits into the stream and any bytes already read past the last
    /// frame (for streams that continue with a raw body).
    pub fn into_parts(mut self) -> (quinn::RecvStream, Vec<u8>) {
        let rest = self.decoder.take_buffered();
        (self.recv, rest)
    }
}

/// Encodes and writes one frame.
pub async fn write_frame<T: Serialize>(
    send: &mut quinn::SendStream,
    value: &T,
) -> Result<(), WriteFrameError> {
    let bytes = frame::encode(value)?;
    send.write_all(&bytes).await?;
    Ok(())
}

/// Why a frame could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteFrameError {
    /// Encoding failed.
    #[error(transparent)]
    Proto(#[from] ProtoError),
    /// The stream failed.
    #[error("stream write failed: {0}")]
    Write(#[from] quinn::WriteError),
}
