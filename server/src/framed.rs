//! Reading and writing proto frames on quinn streams.
//!
//! Frames are split by `tokio_util`'s `LengthDelimitedCodec` (4-byte
//! big-endian length, limit checked on the header before any body byte is
//! read) and decoded with postcard.

use futures::StreamExt;
use quichat_proto::frame::{self, HEADER_LEN};
use quichat_proto::ProtoError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio_util::codec::{FramedRead, LengthDelimitedCodec};

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

/// Initial read buffer of a stream: it grows to the frame being read (the
/// codec reserves a frame's length once its header is in), so an idle
/// stream does not hold `FramedRead`'s default 8 KiB.
const INITIAL_BUFFER: usize = 512;

/// Frame reader over a receive stream.
#[derive(Debug)]
pub struct FrameReader {
    inner: FramedRead<quinn::RecvStream, LengthDelimitedCodec>,
    max: usize,
}

impl FrameReader {
    /// Wraps a stream with a frame size limit.
    pub fn new(recv: quinn::RecvStream, max_frame: usize) -> Self {
        let codec = LengthDelimitedCodec::builder()
            .length_field_length(HEADER_LEN)
            .big_endian()
            .max_frame_length(max_frame)
            .new_codec();
        FrameReader {
            inner: FramedRead::with_capacity(recv, codec, INITIAL_BUFFER),
            max: max_frame,
        }
    }

    /// Changes the frame size limit for the frames that follow.
    pub fn set_max_frame(&mut self, max_frame: usize) {
        self.inner.decoder_mut().set_max_frame_length(max_frame);
        self.max = max_frame;
    }

    /// The frame size limit in force.
    pub fn max_frame(&self) -> usize {
        self.max
    }

    /// The next frame, or `None` when the peer finished the stream cleanly.
    pub async fn next<T: DeserializeOwned>(&mut self) -> Result<Option<T>, ReadFrameError> {
        match self.inner.next().await {
            None => Ok(None),
            Some(Ok(body)) => Ok(Some(frame::decode_body(&body)?)),
            Some(Err(e)) => Err(self.explain(e)),
        }
    }

    /// Turns the codec's `io::Error` back into what happened.
    fn explain(&self, e: std::io::Error) -> ReadFrameError {
        let buffered = self.inner.read_buffer();
        let kind = e.kind();
        match e
            .into_inner()
            .map(|inner| inner.downcast::<quinn::ReadError>())
        {
            Some(Ok(read)) => ReadFrameError::Read(*read),
            // A refused length (InvalidData), or the stream ended inside
            // a frame ("bytes remaining on stream").
            _ => frame::reader_failure(kind == std::io::ErrorKind::InvalidData, buffered, self.max)
                .into(),
        }
    }

    /// Splits into the stream and any bytes already read past the last
    /// frame (for streams that continue with a raw body).
    pub fn into_parts(self) -> (quinn::RecvStream, Vec<u8>) {
        let parts = self.inner.into_parts();
        (parts.io, parts.read_buf.to_vec())
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
