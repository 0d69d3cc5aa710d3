//! Reading and writing proto frames on quinn streams (client side): the
//! same `LengthDelimitedCodec` settings as the server's reader.

use futures::StreamExt;
use quichat_proto::frame::{self, HEADER_LEN};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio_util::codec::{FramedRead, LengthDelimitedCodec};

use crate::ClientError;

/// Frame reader over a receive stream.
#[derive(Debug)]
pub(crate) struct FrameReader {
    inner: FramedRead<quinn::RecvStream, LengthDelimitedCodec>,
}

impl FrameReader {
    pub(crate) fn new(recv: quinn::RecvStream) -> Self {
        let codec = LengthDelimitedCodec::builder()
            .length_field_length(HEADER_LEN)
            .big_endian()
            .max_frame_length(frame::MAX_FRAME)
            .new_codec();
        FrameReader {
            inner: FramedRead::new(recv, codec),
        }
    }

    /// The next frame, or `None` at a clean end of stream.
    pub(crate) async fn next<T: DeserializeOwned>(&mut self) -> Result<Option<T>, ClientError> {
        match self.inner.next().await {
            None => Ok(None),
            Some(Ok(body)) => Ok(Some(frame::decode_body(&body)?)),
            Some(Err(e)) => Err(self.explain(e)),
        }
    }

    /// Turns the codec's `io::Error` back into what happened (a lost
    /// connection keeps its close code).
    fn explain(&self, e: std::io::Error) -> ClientError {
        let buffered = self.inner.read_buffer();
        let kind = e.kind();
        match e
            .into_inner()
            .map(|inner| inner.downcast::<quinn::ReadError>())
        {
            Some(Ok(read)) => (*read).into(),
            // A refused length (InvalidData), or the stream ended inside
            // a frame ("bytes remaining on stream").
            _ => frame::reader_failure(
                kind == std::io::ErrorKind::InvalidData,
                buffered,
                frame::MAX_FRAME,
            )
            .into(),
        }
    }

    /// Splits into the stream and any bytes read past the last frame.
    pub(crate) fn into_parts(self) -> (quinn::RecvStream, Vec<u8>) {
        let parts = self.inner.into_parts();
        (parts.io, parts.read_buf.to_vec())
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
