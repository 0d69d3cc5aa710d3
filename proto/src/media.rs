//! Media streams: one bidirectional stream per upload or download.
//!
//! Upload: `StreamHeader { Media }`, then [`ClientMedia::Upload`]. The
//! server answers with one of
//! - [`ServerMedia::Ready`]: send the raw body from `offset` to the end, then
//!   finish the stream; the server answers [`ServerMedia::Stored`];
//! - [`ServerMedia::Challenge`]: the content is already stored; prove you
//!   have it with [`ClientMedia::Proof`] and get [`ServerMedia::Stored`]
//!   without moving the bytes;
//! - [`ServerMedia::Error`] (too large, over quota, ...), before any byte.
//!
//! Resume: send the same `upload_id` again (on any connection of the same
//! user); `Ready.offset` says how far the server got.
//!
//! Download: [`ClientMedia::Download`]; the server answers
//! [`ServerMedia::Body`] followed by exactly `length` raw bytes, then
//! finishes the stream.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::types::ConversationRef;
use crate::WireError;

/// Server-assigned media id.
pub type MediaId = Uuid;

/// What kind of media a file is (decides how clients show it).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::EnumCount,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[strum(serialize_all = "lowercase")]
pub enum MediaKind {
    /// A picture; the server makes a thumbnail when it can decode it.
    Image,
    /// A video.
    Video,
    /// An audio file.
    Audio,
    /// A recorded voice note.
    Voice,
    /// Anything else.
    File,
}

impl MediaKind {
    /// Stable lower-case name, used in storage and CLI output.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses [`MediaKind::as_str`] output.
    pub fn parse(s: &str) -> Option<MediaKind> {
        s.parse().ok()
    }
}

/// Metadata of a stored media object, as the server knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaInfo {
    /// Media id (what messages refer to).
    pub id: MediaId,
    /// Kind.
    pub kind: MediaKind,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the content.
    pub sha256: [u8; 32],
    /// MIME type sniffed from the content when recognised, else the
    /// uploader's declaration.
    pub mime: String,
    /// Sanitised original file name.
    pub filename: String,
    /// Image width in pixels, when known.
    pub width: Option<u32>,
    /// Image height in pixels, when known.
    pub height: Option<u32>,
    /// Audio/video duration, when known.
    pub duration_ms: Option<u64>,
    /// A thumbnail can be downloaded with [`MediaVariant::Thumbnail`].
    pub has_thumbnail: bool,
}

/// An upload announcement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadRequest {
    /// Chosen by the client; sending it again resumes the upload.
    pub upload_id: Uuid,
    /// Total size in bytes.
    pub size: u64,
    /// SHA-256 of the whole content; checked at the end.
    pub sha256: [u8; 32],
    /// MIME type the client believes the content has.
    pub mime: String,
    /// Original file name (the server sanitises it).
    pub filename: String,
    /// Kind.
    pub kind: MediaKind,
    /// Duration, for audio/video/voice, when the client knows it.
    pub duration_ms: Option<u64>,
    /// The conversation it is meant for (checked: the peer must exist).
    pub conversation: ConversationRef,
}

/// Which bytes of a media object to download.
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
pub enum MediaVariant {
    /// The uploaded file.
    Original,
    /// The server-made thumbnail (JPEG), for images.
    Thumbnail,
}

/// A byte range inside an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ByteRange {
    /// First byte.
    pub start: u64,
    /// Number of bytes.
    pub len: u32,
}

/// Frames from client to server on a media stream.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum ClientMedia {
    /// Start or resume an upload.
    Upload(UploadRequest),
    /// Answer to [`ServerMedia::Challenge`]: SHA-256 over the nonce followed
    /// by the bytes of each range, in order.
    Proof {
        /// The digest.
        digest: [u8; 32],
    },
    /// Download (part of) a media object.
    Download {
        /// Which media.
        media_id: MediaId,
        /// Original or thumbnail.
        variant: MediaVariant,
        /// First byte to send (resume or seek).
        offset: u64,
        /// How many bytes; `None` for everything after `offset`.
        length: Option<u64>,
    },
}

/// Frames from server to client on a media stream.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum ServerMedia {
    /// The transfer failed. Variant 0, as in every server enum.
    Error(WireError),
    /// Send the body from `offset` to the end, then finish the stream.
    Ready {
        /// Echo of the upload id.
        upload_id: Uuid,
        /// Bytes the server already holds for this upload.
        offset: u64,
    },
    /// The content is already stored: prove possession to reuse it.
    Challenge {
        /// Random nonce to prefix.
        nonce: [u8; 16],
        /// Ranges of the content to hash after the nonce.
        ranges: Vec<ByteRange>,
    },
    /// The upload is complete and verified (or deduplicated).
    Stored {
        /// The stored media.
        media: MediaInfo,
        /// True when no body bytes were transferred for it.
        deduplicated: bool,
    },
    /// Download header; exactly `length` raw bytes follow.
    Body {
        /// What is being sent.
        media: MediaInfo,
        /// Offset of the first byte.
        offset: u64,
        /// Number of bytes that follow.
        length: u64,
        /// Total size of the variant (original or thumbnail).
        total: u64,
    },
}
