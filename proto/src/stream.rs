//! Stream kinds. The first frame of every client-opened stream is a
//! [`StreamHeader`]; the server routes the stream by its kind.

use serde::{Deserialize, Serialize};

/// The kind of a stream.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::EnumCount,
    strum::IntoStaticStr,
)]
pub enum StreamKind {
    /// Bidirectional, opened first: hello, auth, requests, receipts, errors.
    Control,
    /// Bidirectional: message sends and acks; the server pushes messages.
    Chat,
    /// One per file transfer.
    Media,
}

/// Send priority of media streams, on both ends (quinn's default is 0;
/// higher goes first): a packet carries pending control and chat frames
/// before bulk media bytes, so chat stays fast during a transfer.
pub const MEDIA_STREAM_PRIORITY: i32 = -1;

/// Largest stream header frame the server reads (a header is a few
/// bytes): a stream cannot make it buffer a big frame before saying what
/// it is.
pub const MAX_HEADER_FRAME: usize = 256;

/// First frame on every stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamHeader {
    /// Kind of this stream.
    pub kind: StreamKind,
}
