//! The bare-quinn baseline: a server with the quichat server's transport
//! windows and nothing else (no database, no authentication), run as a
//! child process of this binary (`quichat-bench raw-server`, hidden) so
//! that, like the server under test, it has its own process, runtime,
//! memory and CPU to measure; and the clients that load it.
//!
//! Every stream starts with a mode byte:
//! - `R` + pair id (u32): a receiver; the server answers `K`, then writes
//!   the events of that pair's sender;
//! - `S` + pair id: a sender of `ClientChat::Send` frames (quichat-proto
//!   framing); each is answered with a `ServerChat::Ack` frame and
//!   forwarded to the pair's receiver as a `ServerChat::Event` frame;
//! - `U`: an upload; the server counts the bytes to the end of the stream
//!   and answers the count (u64);
//! - `D` + size (u64): a download of that many bytes.
//!
//! Idle connections open no stream at all.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use futures::StreamExt;
use quichat_proto::chat::{ClientChat, ServerChat};
use quichat_proto::event::{Event, EventBody};
use quichat_proto::frame::{self, HEADER_LEN, MAX_FRAME};
use quichat_proto::types::{Message, SendAck, SendMessage};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::{FramedRead, LengthDelimitedCodec};
use uuid::Uuid;

use crate::cli::RawServerArgs;
use crate::quic::{raw_client_endpoint, raw_server_config, SelfSigned, TransportParams};

const MODE_RECEIVER: u8 = b'R';
const MODE_SENDER: u8 = b'S';
const MODE_UPLOAD: u8 = b'U';
const MODE_DOWNLOAD: u8 = b'D';
const READY: u8 = b'K';
/// Chunk size of bulk transfers (client-lib's `media::CHUNK`).
pub const CHUNK: usize = 256 * 1024;
/// How long a baseline send waits for its ack.
const ACK_TIMEOUT: Duration = Duration::from_secs(30);

/// The length-delimited codec both quichat sides use.
pub fn codec() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .length_field_length(HEADER_LEN)
        .big_endian()
        .max_frame_length(MAX_FRAME)
        .new_codec()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

// ---------------------------------------------------------------- server

#[derive(Default)]
struct State {
    receivers: Mutex<HashMap<u32, mpsc::Sender<Bytes>>>,
    next_id: AtomicI64,
}

/// `quichat-bench raw-server`: serves until its standard input closes
/// (the parent exited or dropped it).
pub async fn serve(args: RawServerArgs) -> Result<()> {
    let cert = std::fs::read_to_string(&args.cert).context("reading --cert")?;
    let key = std::fs::read_to_string(&args.key).context("reading --key")?;
    let params: TransportParams =
        serde_json::from_str(&args.transport).context("parsing --transport")?;
    let config = raw_server_config(&cert, &key, &params)?;
    let endpoint = quinn::Endpoint::server(config, args.listen).context("binding")?;
    println!("listening {}", endpoint.local_addr()?);
    let state = Arc::new(State::default());
    let accept = async {
        while let Some(incoming) = endpoint.accept().await {
            let state = state.clone();
            tokio::spawn(async move {
                if let Err(e) = serve_connection(state, incoming).await {
                    tracing::debug!("baseline connection: {e:#}");
                }
            });
        }
    };
    // Standard input is read on a plain thread (tokio's io-std feature
    // stays off for the workspace): its end means the parent is gone.
    let (closed_tx, closed_rx) = oneshot::channel::<()>();
    std::thread::spawn(move || {
        use std::io::Read;
        let mut buf = [0u8; 64];
        let mut stdin = std::io::stdin();
        while let Ok(n) = stdin.read(&mut buf) {
            if n == 0 {
                break;
            }
        }
        let _ = closed_tx.send(());
    });
    let stdin_closed = async {
        let _ = closed_rx.await;
    };
    tokio::select! {
        _ = accept => {}
        _ = stdin_closed => {}
    }
    endpoint.close(0u32.into(), b"done");
    Ok(())
}

async fn serve_connection(state: Arc<State>, incoming: quinn::Incoming) -> Result<()> {
    let conn = incoming.await?;
    loop {
        let (send, recv) = match conn.accept_bi().await {
            Ok(s) => s,
            Err(quinn::ConnectionError::ApplicationClosed(_))
            | Err(quinn::ConnectionError::LocallyClosed)
            | Err(quinn::ConnectionError::TimedOut) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let state = state.clone();
        tokio::spawn(async move {
            if let Err(e) = serve_stream(state, send, recv).await {
                tracing::debug!("baseline stream: {e:#}");
            }
        });
    }
}

async fn read_u32(recv: &mut quinn::RecvStream) -> Result<u32> {
    let mut b = [0u8; 4];
    recv.read_exact(&mut b).await?;
    Ok(u32::from_be_bytes(b))
}

async fn read_u64(recv: &mut quinn::RecvStream) -> Result<u64> {
    let mut b = [0u8; 8];
    recv.read_exact(&mut b).await?;
    Ok(u64::from_be_bytes(b))
}

async fn serve_stream(
    state: Arc<State>,
    mut send: quinn::SendStream,
    mut recv: quinn::RecvStream,
) -> Result<()> {
    let mut mode = [0u8; 1];
    recv.read_exact(&mut mode).await?;
    match mode[0] {
        MODE_RECEIVER => {
            let pair = read_u32(&mut recv).await?;
            let (tx, mut rx) = mpsc::channel::<Bytes>(4096);
            state
                .receivers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(pair, tx);
            send.write_all(&[READY]).await?;
            while let Some(frame) = rx.recv().await {
                send.write_chunk(frame).await?;
            }
        }
        MODE_SENDER => {
            let pair = read_u32(&mut recv).await?;
            let tx = state
                .receivers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&pair)
                .cloned()
                .with_context(|| format!("no receiver registered for pair {pair}"))?;
            let mut frames = FramedRead::new(recv, codec());
            let mut seq = 0u64;
            while let Some(body) = frames.next().await {
                let ClientChat::Send(msg) = frame::decode_body(&body?)?;
                seq += 1;
                let id = state.next_id.fetch_add(1, Ordering::Relaxed) + 1;
                let sent_at_ms = now_ms();
                let ack = ServerChat::Ack(SendAck {
                    client_id: msg.client_id,
                    message_id: id,
                    conversation_id: i64::from(pair),
                    seq,
                    sent_at_ms,
                    duplicate: false,
                });
                send.write_all(&frame::encode(&ack)?).await?;
                let event = ServerChat::Event(Event {
                    seq,
                    body: EventBody::Message(Message {
                        id,
                        conversation_id: i64::from(pair),
                        seq,
                        sender: "baseline".into(),
                        client_id: msg.client_id,
                        to: msg.to,
                        sent_at_ms,
                        body: msg.body,
                        transcript: None,
                    }),
                });
                tx.send(Bytes::from(frame::encode(&event)?))
                    .await
                    .context("the receiver went away")?;
            }
        }
        MODE_UPLOAD => {
            let mut total = 0u64;
            while let Some(chunk) = recv.read_chunk(usize::MAX, true).await? {
                total += chunk.bytes.len() as u64;
            }
            send.write_all(&total.to_be_bytes()).await?;
            send.finish()?;
            let _ = send.stopped().await;
        }
        MODE_DOWNLOAD => {
            let size = read_u64(&mut recv).await?;
            let chunk = Bytes::from(pattern(CHUNK));
            let mut left = size;
            while left > 0 {
                let n = usize::try_from(left.min(CHUNK as u64)).unwrap_or(CHUNK);
                send.write_chunk(chunk.slice(..n)).await?;
                left -= n as u64;
            }
            send.finish()?;
            let _ = send.stopped().await;
        }
        other => bail!("unknown stream mode {other}"),
    }
    Ok(())
}

/// `len` bytes of a fixed, incompressible-looking pattern.
pub fn pattern(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

// ---------------------------------------------------------------- handle

/// A running baseline server (child process).
#[derive(Debug)]
pub struct RawServer {
    /// Its process id.
    pub pid: u32,
    /// Where it listens.
    pub addr: SocketAddr,
    cert_pem: String,
    child: tokio::process::Child,
}

impl RawServer {
    /// Starts `quichat-bench raw-server` with a fresh certificate (in
    /// `scratch`) and these transport parameters.
    pub async fn start(scratch: &Path, params: &TransportParams) -> Result<RawServer> {
        let cert = SelfSigned::generate()?;
        let (cert_path, key_path): (PathBuf, PathBuf) = cert.write(scratch)?;
        let exe = std::env::current_exe().context("locating this executable")?;
        let mut child = tokio::process::Command::new(exe)
            .arg("raw-server")
            .arg("--cert")
            .arg(&cert_path)
            .arg("--key")
            .arg(&key_path)
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--transport")
            .arg(serde_json::to_string(params)?)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("starting the baseline server")?;
        let pid = child.id().context("the baseline server exited at once")?;
        let stdout = child.stdout.take().context("baseline stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .context("the baseline server did not start within 30 s")??
            .context("the baseline server exited before listening")?;
        let addr: SocketAddr = line
            .strip_prefix("listening ")
            .with_context(|| format!("unexpected baseline output {line:?}"))?
            .parse()
            .context("baseline address")?;
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(RawServer {
            pid,
            addr,
            cert_pem: cert.cert_pem,
            child,
        })
    }

    /// A new client endpoint (its own UDP socket) that trusts this server.
    pub fn endpoint(&self) -> Result<quinn::Endpoint> {
        raw_client_endpoint(&self.cert_pem)
    }

    /// A new connection from `endpoint`.
    pub async fn connect(&self, endpoint: &quinn::Endpoint) -> Result<quinn::Connection> {
        endpoint
            .connect(self.addr, "localhost")
            .context("starting a baseline connection")?
            .await
            .context("baseline handshake")
    }

    /// Stops it.
    pub async fn stop(mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
    }
}

// ---------------------------------------------------------------- clients

type PendingAcks = Arc<Mutex<HashMap<Uuid, oneshot::Sender<()>>>>;

/// The sending side of one baseline pair: one connection, one stream,
/// concurrent sends pipelined on it and matched to acks by client id (as
/// `quichat_client::Client::send` does).
#[derive(Debug, Clone)]
pub struct RawChat {
    send: Arc<tokio::sync::Mutex<quinn::SendStream>>,
    pending: PendingAcks,
    conn: quinn::Connection,
}

/// The receiving side of one baseline pair: its frames.
#[derive(Debug)]
pub struct RawReceiver {
    /// Frames from the server (`ServerChat::Event`).
    pub frames: FramedRead<quinn::RecvStream, LengthDelimitedCodec>,
    /// Keeps the connection open.
    pub conn: quinn::Connection,
    _send: quinn::SendStream,
}

impl RawChat {
    /// Opens pair `pair`: the receiver first (registered when this
    /// returns), then the sender, each on its own endpoint and connection
    /// as every `Client` has.
    pub async fn open_pair(server: &RawServer, pair: u32) -> Result<(RawChat, RawReceiver)> {
        let recv_conn = server.connect(&server.endpoint()?).await?;
        let (mut rsend, mut rrecv) = recv_conn.open_bi().await?;
        let mut hello = vec![MODE_RECEIVER];
        hello.extend_from_slice(&pair.to_be_bytes());
        rsend.write_all(&hello).await?;
        let mut ready = [0u8; 1];
        rrecv
            .read_exact(&mut ready)
            .await
            .context("baseline receiver registration")?;
        if ready[0] != READY {
            bail!("baseline receiver registration answered {}", ready[0]);
        }
        let receiver = RawReceiver {
            frames: FramedRead::new(rrecv, codec()),
            conn: recv_conn,
            _send: rsend,
        };
        let conn = server.connect(&server.endpoint()?).await?;
        let (mut send, recv) = conn.open_bi().await?;
        let mut hello = vec![MODE_SENDER];
        hello.extend_from_slice(&pair.to_be_bytes());
        send.write_all(&hello).await?;
        let pending: PendingAcks = Arc::default();
        let acks = pending.clone();
        tokio::spawn(async move {
            let mut frames = FramedRead::new(recv, codec());
            while let Some(Ok(body)) = frames.next().await {
                if let Ok(ServerChat::Ack(ack)) = frame::decode_body::<ServerChat>(&body) {
                    let tx = acks
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(&ack.client_id);
                    if let Some(tx) = tx {
                        let _ = tx.send(());
                    }
                }
            }
            acks.lock().unwrap_or_else(|p| p.into_inner()).clear();
        });
        Ok((
            RawChat {
                send: Arc::new(tokio::sync::Mutex::new(send)),
                pending,
                conn,
            },
            receiver,
        ))
    }

    /// Sends one message and waits for its ack.
    pub async fn send(&self, msg: SendMessage) -> Result<(), String> {
        let bytes = frame::encode(&ClientChat::Send(msg.clone())).map_err(|e| e.to_string())?;
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(msg.client_id, tx);
        let written = self.send.lock().await.write_all(&bytes).await;
        if let Err(e) = written {
            self.pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&msg.client_id);
            return Err(e.to_string());
        }
        match tokio::time::timeout(ACK_TIMEOUT, rx).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err("baseline connection lost".into()),
            Err(_) => Err(format!(
                "no baseline ack within {} s",
                ACK_TIMEOUT.as_secs()
            )),
        }
    }

    /// Closes the sender's connection.
    pub fn close(&self) {
        self.conn.close(0u32.into(), b"done");
    }
}

/// Uploads `size` bytes of `data` (repeated) on a new stream; returns when
/// the server has counted them all.
pub async fn upload(conn: &quinn::Connection, data: &Bytes, size: u64) -> Result<()> {
    let (mut send, mut recv) = conn.open_bi().await?;
    send.write_all(&[MODE_UPLOAD]).await?;
    let mut left = size;
    while left > 0 {
        let n = usize::try_from(left.min(data.len() as u64)).unwrap_or(data.len());
        send.write_chunk(data.slice(..n)).await?;
        left -= n as u64;
    }
    send.finish()?;
    let mut count = [0u8; 8];
    recv.read_exact(&mut count)
        .await
        .context("the baseline's upload answer")?;
    let got = u64::from_be_bytes(count);
    if got != size {
        bail!("the baseline server counted {got} of {size} uploaded bytes");
    }
    Ok(())
}

/// Downloads `size` bytes on a new stream and discards them.
pub async fn download(conn: &quinn::Connection, size: u64) -> Result<()> {
    let (mut send, mut recv) = conn.open_bi().await?;
    let mut request = vec![MODE_DOWNLOAD];
    request.extend_from_slice(&size.to_be_bytes());
    send.write_all(&request).await?;
    send.finish()?;
    let mut got = 0u64;
    while let Some(chunk) = recv.read_chunk(CHUNK, true).await? {
        got += chunk.bytes.len() as u64;
    }
    if got != size {
        bail!("the baseline download ended at {got} of {size} bytes");
    }
    Ok(())
}
