//! Wire types and framing for quichat.
//!
//! This crate is the contract between `quichat-server` and `quichat-client`.
//! It is deliberately pure: no async runtime, no sockets, no files. Both
//! sides split QUIC streams into frames with `tokio_util`'s
//! `LengthDelimitedCodec`, decode bodies with [`frame::decode_body`] and
//! write the bytes produced by [`frame::encode`].
//!
//! Layout of a connection (see `ARCHITECTURE.md` for the full flow):
//! - every stream starts with a [`stream::StreamHeader`] frame naming its kind;
//! - the **control** stream carries [`control::ClientControl`] requests and
//!   [`control::ServerControl`] responses and events (receipts, read positions);
//! - the **chat** stream carries [`chat::ClientChat`] sends and
//!   [`chat::ServerChat`] acks and pushed messages;
//! - **media** streams carry one upload or download each ([`media`]).

pub mod chat;
pub mod control;
pub mod error;
pub mod event;
pub mod frame;
#[doc(hidden)]
pub mod fuzzing;
pub mod group;
pub mod media;
pub mod notify;
pub mod push;
pub mod rpc;
pub mod social;
pub mod stream;
pub mod types;

pub use error::{ErrorCode, ProtoError, WireError};

/// ALPN identifier negotiated during the TLS handshake.
pub const ALPN: &[u8] = b"quichat/1";

/// Protocol version carried in the hello. Bumped on incompatible changes.
///
/// Version 2 adds the push flags: a version-2 connection gets its events
/// as `ServerControl::Flagged`/`ServerChat::Flagged` ([`notify::Flagged`]),
/// a version-1 connection as before.
pub const PROTOCOL_VERSION: u16 = 2;

/// The oldest protocol version the server still accepts.
pub const MIN_PROTOCOL_VERSION: u16 = 1;
