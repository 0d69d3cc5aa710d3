//! Writes the seed inputs of the proto fuzz targets: a few valid
//! encodings of what the server reads first on each stream kind.
//!
//! ```sh
//! cargo run -p quichat-proto --example fuzz_seeds -- fuzz/corpus
//! ```
//!
//! writes `fuzz/corpus/{frame,control,chat,media}/seed-*` (`frame` gets
//! whole streams, length prefixes and stream header included; the others
//! get frame bodies). `fuzz/make-seeds.sh` runs it; `cargo fuzz cmin`
//! renames what it keeps.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use quichat_proto::chat::ClientChat;
use quichat_proto::control::ClientControl;
use quichat_proto::frame::{encode, HEADER_LEN};
use quichat_proto::media::{ClientMedia, MediaInfo, MediaKind, MediaVariant, UploadRequest};
use quichat_proto::rpc::{devices, history, session, sync, Request};
use quichat_proto::stream::{StreamHeader, StreamKind};
use quichat_proto::types::{ConversationRef, MessageBody, Recipient, SendMessage};
use quichat_proto::ProtoError;
use serde::Serialize;
use uuid::Uuid;

fn control_frames() -> Vec<(&'static str, ClientControl)> {
    let c = |req_id, request: Request| ClientControl { req_id, request };
    vec![
        (
            "hello",
            c(
                1,
                session::Request::Hello {
                    version: quichat_proto::PROTOCOL_VERSION,
                    client: "quichat-cli/0.1.0".into(),
                }
                .into(),
            ),
        ),
        (
            "register",
            c(
                2,
                session::Request::Register {
                    username: "alice".into(),
                    password: "correct horse battery".into(),
                    device_name: "laptop".into(),
                }
                .into(),
            ),
        ),
        (
            "login",
            c(
                2,
                session::Request::Login {
                    username: "bob".into(),
                    password: "hunter2hunter2".into(),
                    device_name: "phone".into(),
                }
                .into(),
            ),
        ),
        (
            "authenticate",
            c(
                2,
                session::Request::Authenticate {
                    token: "qct_4l9Qm0sX2vYp8Rk1dZbWfA3nT6eJ7hUcGiOyLrMqPsE".into(),
                }
                .into(),
            ),
        ),
        ("ping", c(3, session::Request::Ping.into())),
        ("logout", c(300, session::Request::Logout.into())),
        ("devices-list", c(4, devices::Request::List.into())),
        (
            "devices-revoke",
            c(5, devices::Request::Revoke { device_id: 7 }.into()),
        ),
        (
            "sync",
            c(
                6,
                sync::Request::Page {
                    after: 41,
                    limit: 500,
                }
                .into(),
            ),
        ),
        (
            "history",
            c(
                70_000,
                history::Request::Page {
                    conversation: ConversationRef::Direct("bob".into()),
                    before_seq: Some(12),
                    limit: 50,
                }
                .into(),
            ),
        ),
    ]
}

fn media_info() -> MediaInfo {
    MediaInfo {
        id: Uuid::from_u128(0x0190_a5b2_0000_7000_8000_0000_0000_0001),
        kind: MediaKind::Voice,
        size: 5_000,
        sha256: [0xab; 32],
        mime: "audio/ogg".into(),
        filename: "note.ogg".into(),
        width: None,
        height: None,
        duration_ms: Some(1_500),
        has_thumbnail: false,
    }
}

fn chat_frames() -> Vec<(&'static str, ClientChat)> {
    let send = |n: u128, to: Recipient, body| {
        ClientChat::Send(SendMessage {
            client_id: Uuid::from_u128(0x0190_a5b2_0000_7000_8000_0000_0000_0100 + n),
            to,
            body,
        })
    };
    vec![
        (
            "text",
            send(1, "bob".into(), MessageBody::Text("hello, bob".into())),
        ),
        (
            "group-text",
            send(
                2,
                Recipient::Group(42),
                MessageBody::Text("hi all ✓".into()),
            ),
        ),
        (
            "media",
            send(
                3,
                "bob".into(),
                MessageBody::Media {
                    media: Box::new(media_info()),
                    caption: "listen".into(),
                },
            ),
        ),
        ("reply", send(4, "bob".into(), MessageBody::reply(7, "yes"))),
    ]
}

fn media_frames() -> Vec<(&'static str, ClientMedia)> {
    vec![
        (
            "upload",
            ClientMedia::Upload(UploadRequest {
                upload_id: Uuid::from_u128(0x0190_a5b2_0000_7000_8000_0000_0000_0200),
                size: 5_000,
                sha256: [0xab; 32],
                mime: "audio/ogg".into(),
                filename: "note.ogg".into(),
                kind: MediaKind::Voice,
                duration_ms: Some(1_500),
                conversation: ConversationRef::Direct("bob".into()),
            }),
        ),
        ("proof", ClientMedia::Proof { digest: [0x5a; 32] }),
        (
            "download",
            ClientMedia::Download {
                media_id: Uuid::from_u128(0x0190_a5b2_0000_7000_8000_0000_0000_0001),
                variant: MediaVariant::Thumbnail,
                offset: 1_024,
                length: Some(4_096),
            },
        ),
    ]
}

/// The frame body of `value` (its encoding without the length prefix).
fn body<T: Serialize>(value: &T) -> Result<Vec<u8>, ProtoError> {
    Ok(encode(value)?[HEADER_LEN..].to_vec())
}

/// A stream: the header frame for `kind`, then `frames`.
fn stream<T: Serialize>(kind: StreamKind, frames: &[&T]) -> Result<Vec<u8>, ProtoError> {
    let mut out = encode(&StreamHeader { kind })?;
    for f in frames {
        out.extend(encode(f)?);
    }
    Ok(out)
}

fn write(dir: &Path, target: &str, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let dir = dir.join(target);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(format!("seed-{name}")), bytes)
}

fn run(dir: &Path) -> Result<usize, Box<dyn std::error::Error>> {
    let mut n = 0;
    let mut put = |target: &str, name: &str, bytes: Vec<u8>| {
        n += 1;
        write(dir, target, name, &bytes)
    };
    let control = control_frames();
    for (name, f) in &control {
        put("control", name, body(f)?)?;
    }
    let chat = chat_frames();
    for (name, f) in &chat {
        put("chat", name, body(f)?)?;
    }
    let media = media_frames();
    for (name, f) in &media {
        put("media", name, body(f)?)?;
    }
    // Whole streams as a client writes them.
    let by_name = |name: &str| control.iter().find(|(n, _)| *n == name).map(|(_, f)| f);
    let session: Vec<&ClientControl> = ["hello", "authenticate", "sync", "history"]
        .into_iter()
        .filter_map(by_name)
        .collect();
    put("frame", "control", stream(StreamKind::Control, &session)?)?;
    let sends: Vec<&ClientChat> = chat.iter().map(|(_, f)| f).collect();
    put("frame", "chat", stream(StreamKind::Chat, &sends)?)?;
    for (name, f) in &media {
        put(
            "frame",
            &format!("media-{name}"),
            stream(StreamKind::Media, &[f])?,
        )?;
    }
    Ok(n)
}

fn main() -> ExitCode {
    let dir = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("fuzz/corpus"), PathBuf::from);
    match run(&dir) {
        Ok(n) => {
            eprintln!("wrote {n} seeds under {}", dir.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fuzz_seeds: {e}");
            ExitCode::FAILURE
        }
    }
}
