//! The one error type of this crate.
//!
//! Callers (the server's upload handler, the client's "send voice message") only need to tell
//! three situations apart: the bytes are not audio we can read (`Unsupported`), they claim to
//! be audio but are damaged (`Corrupt`), or they are fine but too long (`TooLong`). `Empty` is
//! separate so that a zero-byte upload gets a precise message. The underlying decoder errors
//! are turned into text, so no decoder type leaks into this crate's API.

/// Why audio could not be probed or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AudioError {
    /// Not a container or codec this crate reads (or not audio at all).
    #[error("unsupported audio: {0}")]
    Unsupported(String),
    /// Recognised, but damaged or truncated.
    #[error("corrupt audio: {0}")]
    Corrupt(String),
    /// Longer than the caller's limit. When the limit was hit while decoding, `seconds` is the
    /// length decoded so far (a lower bound of the real length).
    #[error("audio is too long: {seconds} s, the limit is {max} s")]
    TooLong {
        /// Length found, in whole seconds (rounded up).
        seconds: u64,
        /// The caller's limit, in seconds.
        max: u64,
    },
    /// No bytes, or a stream without a single audio frame.
    #[error("audio is empty")]
    Empty,
}

impl AudioError {
    /// Builds a [`AudioError::TooLong`] from a frame count at a sample rate.
    pub(crate) fn too_long(frames: u64, sample_rate: u32, max: u64) -> Self {
        let rate = u64::from(sample_rate.max(1));
        AudioError::TooLong {
            seconds: frames.div_ceil(rate),
            max,
        }
    }

    /// Maps a symphonia error met while reading the container (not while decoding a packet).
    pub(crate) fn from_demux(err: symphonia::core::errors::Error) -> Self {
        use symphonia::core::errors::Error as S;
        match err {
            S::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                AudioError::Corrupt("unexpected end of data (truncated file?)".into())
            }
            S::IoError(e) => AudioError::Corrupt(format!("read error: {e}")),
            S::DecodeError(msg) => AudioError::Corrupt(format!("malformed stream: {msg}")),
            S::Unsupported(what) => AudioError::Unsupported(what.to_string()),
            S::LimitError(what) => AudioError::Corrupt(format!("limit exceeded: {what}")),
            S::SeekError(_) => AudioError::Corrupt("seek error".into()),
            S::ResetRequired => {
                AudioError::Unsupported("chained streams (track list changes mid-stream)".into())
            }
            other => AudioError::Corrupt(other.to_string()),
        }
    }
}
