//! quichat client library: one QUIC connection, typed calls, and an
//! ordered, exactly-once event feed.
//!
//! ```no_run
//! # async fn demo() -> Result<(), quichat_client::ClientError> {
//! use quichat_client::{Client, ClientConfig, Trust};
//! let cfg = ClientConfig::new("127.0.0.1:4433", Trust::CaFile("quichat-data/certs/ca.pem".into()));
//! let client = Client::connect(&cfg).await?;
//! let (_session, _token) = client.login("alice", "correct horse", "laptop").await?;
//! let ack = client.send_text("bob", "hello").await?;
//! println!("stored as #{} in conversation {}", ack.seq, ack.conversation_id);
//! # Ok(()) }
//! ```

mod client;
pub mod connector;
pub mod error;
mod framed;
pub mod media;
mod rpc;
pub mod sequencer;
pub mod session;
pub mod trust;

pub use client::{Client, ClientConfig, EventStream, Notice};
pub use connector::Connector;
pub use error::ClientError;
pub use media::{DownloadOutcome, IfExists, UploadOutcome, UploadSpec};
pub use quichat_proto as proto;
pub use rpc::{HistoryPage, WhoRead};
pub use session::{Backoff, Followed, Follower, Session};
pub use trust::Trust;
