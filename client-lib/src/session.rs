//! Staying connected: reconnect with backoff, resume the event feed from
//! the cursor, and resend unacknowledged messages with their original
//! client ids (the server deduplicates them).
//!
//! **Stopping.** Every future here is cancellation-safe, and nothing runs
//! in the background: to stop a reconnecting [`Session`] or [`Follower`],
//! drop the future you are awaiting (for example, lose a
//! `tokio::select!` race against a signal). Any connection attempt and
//! backoff sleep end with it, at once. To close politely afterwards, use
//! [`Session::current`], which never reconnects; [`Session::client`]
//! would start reconnecting again.

use std::sync::Arc;
use std::time::Duration;

use quichat_proto::error::close;
use quichat_proto::event::Event;
use quichat_proto::notify::{Flagged, PushFlags};
use quichat_proto::types::{SendAck, SendMessage, SessionInfo};
use quichat_proto::ErrorCode;
use rand::Rng;

use crate::connector::Connector;
use crate::{Client, ClientError, EventStream};

/// Exponential backoff with full jitter: attempt n waits a random time in
/// `[0, min(max, base · 2ⁿ)]`, so many phones coming back after an outage
/// do not reconnect in lockstep.
#[derive(Debug, Clone)]
pub struct Backoff {
    attempt: u32,
    base: Duration,
    max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            attempt: 0,
            base: Duration::from_millis(200),
            max: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// The next wait.
    pub fn next_delay(&mut self) -> Duration {
        let cap = self
            .base
            .saturating_mul(2u32.saturating_pow(self.attempt.min(16)))
            .min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        let millis = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::thread_rng().gen_range(0..=millis))
    }

    /// After a success.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// True for failures that a reconnect may fix.
pub fn is_transient(e: &ClientError) -> bool {
    match e {
        ClientError::Connect { .. } | ClientError::Timeout(_) => true,
        ClientError::Closed { code, .. } => !matches!(
            code.map(|c| c as u32),
            Some(close::AUTH_FAILED) | Some(close::LOGGED_OUT)
        ),
        ClientError::Server(w) => matches!(w.code, ErrorCode::ShuttingDown | ErrorCode::Internal),
        _ => false,
    }
}

/// A device's connection that comes back by itself.
#[derive(Debug)]
pub struct Session {
    connector: Connector,
    token: String,
    current: tokio::sync::Mutex<Option<Client>>,
}

impl Session {
    /// A session for a device token (connects lazily).
    pub fn new(connector: Connector, token: impl Into<String>) -> Arc<Session> {
        Arc::new(Session {
            connector,
            token: token.into(),
            current: tokio::sync::Mutex::new(None),
        })
    }

    /// The live connection, reconnecting (with backoff, until it works or
    /// fails for good: bad token, revoked device) when needed.
    pub async fn client(&self) -> Result<Client, ClientError> {
        let mut current = self.current.lock().await;
        if let Some(c) = current.as_ref() {
            if c.connection().close_reason().is_none() {
                return Ok(c.clone());
            }
        }
        let mut backoff = Backoff::default();
        loop {
            match self.connector.connect_authenticated(&self.token).await {
                Ok((client, _)) => {
                    *current = Some(client.clone());
                    return Ok(client);
                }
                Err(e) if is_transient(&e) => {
                    let wait = backoff.next_delay();
                    tracing::debug!("reconnect failed ({e}); retrying in {wait:?}");
                    tokio::time::sleep(wait).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The connection if one is up now; never connects or waits for one
    /// (use it on the way out, to close politely).
    pub async fn current(&self) -> Option<Client> {
        let current = self.current.lock().await;
        current
            .as_ref()
            .filter(|c| c.connection().close_reason().is_none())
            .cloned()
    }

    /// The session info of the current connection.
    pub async fn info(&self) -> Result<SessionInfo, ClientError> {
        self.client()
            .await?
            .session()
            .ok_or_else(|| ClientError::Protocol("not authenticated".into()))
    }

    /// Sends until the server acknowledges: a send cut off by a lost
    /// connection is retried, with the same client id, on the next one.
    pub async fn send(&self, msg: SendMessage) -> Result<SendAck, ClientError> {
        loop {
            let client = self.client().await?;
            match client.send(msg.clone()).await {
                Ok(ack) => return Ok(ack),
                Err(e) if is_transient(&e) => {
                    tracing::debug!("send interrupted ({e}); resending {}", msg.client_id);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Follows the event feed from `cursor` across reconnects.
    pub fn follow(self: &Arc<Self>, cursor: u64) -> Follower {
        Follower {
            session: self.clone(),
            cursor,
            stream: None,
        }
    }
}

/// What [`Follower::next`] reports.
#[derive(Debug)]
pub enum Followed {
    /// The next event, in order, exactly once, with the flags the server
    /// set for it (whether it should alert: mute, do-not-disturb, mentions).
    Event(Box<Event>, PushFlags),
    /// The connection was lost; the follower is reconnecting.
    Disconnected(ClientError),
    /// An ephemeral notice (presence, typing): not in the log, so not
    /// replayed after a reconnect.
    Notice(crate::Notice),
    /// Connected again and syncing from the cursor.
    Reconnected {
        /// Whether TLS resumption / 0-RTT was used.
        zero_rtt: bool,
    },
}

/// An event feed that survives lost connections and server restarts.
#[derive(Debug)]
pub struct Follower {
    session: Arc<Session>,
    cursor: u64,
    stream: Option<(
        Client,
        EventStream,
        tokio::sync::broadcast::Receiver<crate::Notice>,
    )>,
}

impl Follower {
    /// The last event seq handed out.
    pub fn cursor(&self) -> u64 {
        self.cursor
    }

    /// The next event or connection change. Fails only for good (bad
    /// token, revoked device).
    pub async fn next(&mut self) -> Result<Followed, ClientError> {
        if self.stream.is_none() {
            let client = self.session.client().await?;
            let notices = client.notices();
            let stream = client.subscribe(self.cursor).await?;
            let zero_rtt = client.used_0rtt();
            self.stream = Some((client, stream, notices));
            return Ok(Followed::Reconnected { zero_rtt });
        }
        let Some((client, stream, notices)) = self.stream.as_mut() else {
            return Err(ClientError::Protocol("no stream".into()));
        };
        let next = loop {
            tokio::select! {
                event = stream.next_flagged() => break event,
                notice = notices.recv() => match notice {
                    Ok(notice) => return Ok(Followed::Notice(notice)),
                    // Fell behind: older notices are superseded anyway.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    // The client is gone; the event stream will say why.
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break stream.next_flagged().await,
                },
            }
        };
        match next {
            Some(Ok(Flagged { flags, event })) => {
                self.cursor = event.seq;
                Ok(Followed::Event(Box::new(event), flags))
            }
            other => {
                let err = match other {
                    Some(Err(e)) => e,
                    _ => closed_reason(client),
                };
                // Make sure the old connection is gone before resubscribing.
                client
                    .connection()
                    .close(close::NORMAL.into(), b"resubscribing");
                self.stream = None;
                if is_transient(&err) {
                    Ok(Followed::Disconnected(err))
                } else {
                    Err(err)
                }
            }
        }
    }
}

fn closed_reason(client: &Client) -> ClientError {
    client
        .connection()
        .close_reason()
        .map(ClientError::from)
        .unwrap_or_else(|| ClientError::closed("the event feed ended"))
}
