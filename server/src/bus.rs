//! Cross-node delivery over NATS (core publish/subscribe).
//!
//! Every node of a cluster shares the database (the source of truth) and
//! connects to the same NATS. Each committed event that a node publishes
//! to its hub also goes out on the bus, one message per recipient, on the
//! subject `<cluster>.v1.user.<user id>`; a node subscribes to a user's
//! subject while that user has a device connected to it, and pushes what
//! arrives to those devices. So a message sent through node A reaches
//! its recipients' devices on nodes B and C live, and so does everything
//! else that goes through the hub: receipts, edits, recalls, reactions,
//! group events, transcripts.
//!
//! The bus is an optimisation, like every live push: a message lost on
//! the way (NATS down, a full queue, a subscription that was still being
//! set up) is in the database, and the device finds it on its next sync
//! (the client syncs when it sees a gap in its event seqs, and on every
//! reconnect).
//!
//! A device revoked on one node loses its connections on every node: the
//! kick goes to every node on `<cluster>.v1.kicks`. Ephemeral pushes
//! (presence, typing) and "this user's notification settings changed"
//! (the receiving node reloads them from the database) go on the user's
//! subject too.
//!
//! A message is `[version = 1][origin node, u16 big-endian][kind][...]`:
//! kind 1, an event for the subject's user (`[seq, postcard varint]
//! [EventBody, postcard]`, the body bytes being the shared encoding the
//! push path makes once per event, `fanout::SharedBody::wire`); kind 2, a
//! device kick (`hub::Kick`, postcard); kind 3, an ephemeral
//! `ServerControl` frame (postcard); kind 4, a settings change (no
//! payload). A node ignores versions and kinds
//! it does not know (a rolling upgrade's newer node may send them) and
//! its own messages.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use quichat_proto::control::ServerControl;
use quichat_proto::event::EventBody;
use quichat_proto::types::UserId;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, error, warn};

use crate::fanout::{Delivery, Fanout, SharedBody};
use crate::hub::{BusFeeds, Hub, Kick, Push, Signal};
use crate::metrics::Metrics;

/// The version of the bus message format this node writes and reads.
pub const BUS_VERSION: u8 = 1;

/// Message kind: an event for the subject's user.
const KIND_EVENT: u8 = 1;
/// Message kind: a device kick, for every node.
const KIND_KICK: u8 = 2;
/// Message kind: an ephemeral control frame (presence, typing) for the
/// subject's user.
const KIND_EPHEMERAL: u8 = 3;
/// Message kind: the subject user's notification settings changed.
const KIND_SETTINGS: u8 = 4;

/// What a bus message says.
#[derive(Debug, Clone, PartialEq)]
pub enum BusMessage {
    /// An event (its seq in the subject user's log, and its body).
    Event(u64, Box<EventBody>),
    /// A device was revoked.
    Kick(Kick),
    /// An ephemeral frame for the subject's user.
    Ephemeral(Box<ServerControl>),
    /// The subject user's notification settings changed.
    SettingsChanged,
}

/// Why the bus could not start.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// NATS did not accept the connection.
    #[error("cannot connect to NATS at {url}: {reason}")]
    Connect {
        /// The URL, credentials masked.
        url: String,
        /// Why.
        reason: String,
    },
}

/// What the bus needs to know about this node.
#[derive(Debug, Clone)]
pub struct BusConfig {
    /// The cluster's subject prefix (`[cluster] name`).
    pub cluster: String,
    /// This node's id (`[cluster] node_id`).
    pub node: u16,
}

impl BusConfig {
    /// The subject a user's events travel on.
    pub fn subject(&self, user: UserId) -> String {
        format!("{}.v1.user.{user}", self.cluster)
    }

    /// The subject kicks travel on (every node listens).
    pub fn kicks(&self) -> String {
        format!("{}.v1.kicks", self.cluster)
    }
}

/// Connects to NATS.
pub async fn connect(url: &str) -> Result<async_nats::Client, BusError> {
    async_nats::ConnectOptions::new()
        .name("quichat-server")
        .connect(url)
        .await
        .map_err(|e| BusError::Connect {
            url: crate::store::redact_url(url),
            reason: e.to_string(),
        })
}

/// The bus message for one delivery, from node `origin`.
pub fn encode(origin: u16, seq: u64, body: &[u8]) -> Option<Bytes> {
    let mut out = postcard::to_extend(&seq, header(origin, KIND_EVENT)).ok()?;
    out.extend_from_slice(body);
    Some(Bytes::from(out))
}

/// The first bytes of every message: version, origin node, kind.
fn header(origin: u16, kind: u8) -> Vec<u8> {
    let [hi, lo] = origin.to_be_bytes();
    vec![BUS_VERSION, hi, lo, kind]
}

/// The bus message for a kick, from node `origin`.
pub fn encode_kick(origin: u16, kick: &Kick) -> Option<Bytes> {
    postcard::to_extend(kick, header(origin, KIND_KICK))
        .ok()
        .map(Bytes::from)
}

/// The bus message for a signal (an ephemeral frame, a settings change),
/// from node `origin`, and the user whose subject it goes on.
pub fn encode_signal(origin: u16, signal: &Signal) -> Option<(UserId, Bytes)> {
    match signal {
        Signal::Ephemeral(user, frame) => {
            let out = postcard::to_extend(frame.as_ref(), header(origin, KIND_EPHEMERAL)).ok()?;
            Some((*user, Bytes::from(out)))
        }
        Signal::SettingsChanged(user) => Some((*user, Bytes::from(header(origin, KIND_SETTINGS)))),
    }
}

/// A bus message and its origin node; `None` for a version or a kind
/// this node does not know, or bytes that are no message.
pub fn decode(bytes: &[u8]) -> Option<(u16, BusMessage)> {
    let (&version, rest) = bytes.split_first()?;
    if version != BUS_VERSION || rest.len() < 3 {
        return None;
    }
    let origin = u16::from_be_bytes([rest[0], rest[1]]);
    let message = match rest[2] {
        KIND_EVENT => {
            let (seq, body) = postcard::take_from_bytes::<u64>(&rest[3..]).ok()?;
            BusMessage::Event(seq, Box::new(postcard::from_bytes::<EventBody>(body).ok()?))
        }
        KIND_KICK => BusMessage::Kick(postcard::from_bytes(&rest[3..]).ok()?),
        KIND_EPHEMERAL => BusMessage::Ephemeral(Box::new(postcard::from_bytes(&rest[3..]).ok()?)),
        KIND_SETTINGS => BusMessage::SettingsChanged,
        _ => return None,
    };
    Some((origin, message))
}

/// Starts the bus tasks: one publishes this node's fan-outs, one follows
/// which users are online here and keeps a subscription per user.
pub fn spawn(
    client: async_nats::Client,
    config: BusConfig,
    hub: Arc<Hub>,
    notify: crate::notify::Notify,
    metrics: Arc<Metrics>,
    tracker: &TaskTracker,
    cancel: CancellationToken,
) {
    let BusFeeds {
        deliveries: outgoing,
        kicks,
        signals,
    } = hub.attach_bus();
    let (presence_tx, presence) = mpsc::unbounded_channel();
    hub.add_presence_sink(presence_tx);
    tracker.spawn(publish(
        client.clone(),
        config.clone(),
        outgoing,
        metrics.clone(),
        cancel.clone(),
    ));
    tracker.spawn(publish_kicks(
        client.clone(),
        config.clone(),
        kicks,
        cancel.clone(),
    ));
    tracker.spawn(follow_kicks(
        client.clone(),
        config.clone(),
        hub.clone(),
        cancel.clone(),
    ));
    tracker.spawn(publish_signals(
        client.clone(),
        config.clone(),
        signals,
        cancel.clone(),
    ));
    tracker.spawn(follow(
        client, config, hub, notify, presence, metrics, cancel,
    ));
}

/// The next item of a queue or subscription; `None` when it ended or the
/// server is stopping.
async fn until<T>(
    cancel: &CancellationToken,
    next: impl std::future::Future<Output = Option<T>>,
) -> Option<T> {
    tokio::select! {
        item = next => item,
        _ = cancel.cancelled() => None,
    }
}

async fn publish(
    client: async_nats::Client,
    config: BusConfig,
    mut outgoing: mpsc::Receiver<Vec<Delivery>>,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
) {
    loop {
        let Some(batch) = until(&cancel, outgoing.recv()).await else {
            return;
        };
        for d in batch {
            // The same encoding the push tasks share, counted where made.
            let wire = d.body.wire(|| {
                metrics.push_encodes.inc();
            });
            let Some(message) = wire.and_then(|w| encode(config.node, d.seq, w)) else {
                continue;
            };
            match client.publish(config.subject(d.user), message).await {
                Ok(()) => metrics.bus_published.inc(),
                Err(e) => {
                    // Sync heals it; say so once per batch at most.
                    warn!("bus publish failed (devices on other nodes catch up on sync): {e}");
                    break;
                }
            };
        }
    }
}

async fn publish_kicks(
    client: async_nats::Client,
    config: BusConfig,
    mut kicks: mpsc::UnboundedReceiver<Kick>,
    cancel: CancellationToken,
) {
    loop {
        let Some(kick) = until(&cancel, kicks.recv()).await else {
            return;
        };
        let Some(message) = encode_kick(config.node, &kick) else {
            continue;
        };
        if let Err(e) = client.publish(config.kicks(), message).await {
            error!(
                device = kick.device_id,
                "a revocation could not reach the other nodes: {e}"
            );
        }
    }
}

/// Applies other nodes' kicks here.
async fn follow_kicks(
    client: async_nats::Client,
    config: BusConfig,
    hub: Arc<Hub>,
    cancel: CancellationToken,
) {
    let mut subscriber = match client.subscribe(config.kicks()).await {
        Ok(s) => s,
        Err(e) => {
            error!("cannot follow the cluster's revocations: {e}");
            return;
        }
    };
    loop {
        let Some(message) = until(&cancel, subscriber.next()).await else {
            return;
        };
        if let Some((origin, BusMessage::Kick(k))) = decode(&message.payload) {
            if origin != config.node {
                hub.kick_device_local(k.user_id, k.device_id, k.code, &k.reason, None);
            }
        }
    }
}

async fn publish_signals(
    client: async_nats::Client,
    config: BusConfig,
    mut signals: mpsc::Receiver<Signal>,
    cancel: CancellationToken,
) {
    loop {
        let Some(signal) = until(&cancel, signals.recv()).await else {
            return;
        };
        let Some((user, message)) = encode_signal(config.node, &signal) else {
            continue;
        };
        if let Err(e) = client.publish(config.subject(user), message).await {
            debug!("bus signal publish failed (ephemeral; the next one supersedes it): {e}");
        }
    }
}

async fn follow(
    client: async_nats::Client,
    config: BusConfig,
    hub: Arc<Hub>,
    notify: crate::notify::Notify,
    mut presence: mpsc::UnboundedReceiver<crate::hub::PresenceChange>,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
) {
    let mut subscriptions: HashMap<UserId, JoinHandle<()>> = HashMap::new();
    loop {
        let Some((user, online)) = until(&cancel, presence.recv()).await else {
            break;
        };
        if !online {
            // Dropping the subscriber (with its task) unsubscribes.
            if let Some(task) = subscriptions.remove(&user) {
                task.abort();
            }
            continue;
        }
        if subscriptions.contains_key(&user) {
            continue;
        }
        let subject = config.subject(user);
        let mut subscriber = match client.subscribe(subject.clone()).await {
            Ok(s) => s,
            Err(e) => {
                warn!(
                    "bus subscribe to {subject} failed (this node's devices catch up on sync): {e}"
                );
                continue;
            }
        };
        let (hub, metrics, node) = (hub.clone(), metrics.clone(), config.node);
        let notify = notify.clone();
        let task = tokio::spawn(async move {
            while let Some(message) = subscriber.next().await {
                match decode(&message.payload) {
                    Some((origin, _)) if origin == node => {}
                    Some((_, BusMessage::Event(seq, body))) => {
                        metrics.bus_received.inc();
                        let mut fanout = Fanout::new();
                        fanout.push_shared(&SharedBody::new(*body), [(user, seq)]);
                        hub.deliver_local(fanout);
                    }
                    Some((_, BusMessage::Ephemeral(frame))) => {
                        hub.push_ephemeral_local(user, Push::Ephemeral(frame));
                    }
                    Some((_, BusMessage::SettingsChanged)) => match notify.load(user).await {
                        // The version keeps an older read from winning.
                        Ok(settings) => hub.set_notify_local(user, settings),
                        Err(e) => warn!("reloading a user's notification settings failed: {e}"),
                    },
                    _ => debug!("ignored a bus message this node cannot read"),
                }
            }
        });
        subscriptions.insert(user, task);
    }
    for (_, task) in subscriptions {
        task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quichat_proto::types::ReadPosition;

    #[test]
    fn messages_round_trip_and_unknown_versions_are_ignored() {
        let body = EventBody::ReadPosition(ReadPosition {
            conversation_id: 9,
            up_to_seq: 300,
        });
        let wire = quichat_proto::push::encode_body(&body).unwrap();
        for seq in [0, 1, 300, u64::MAX] {
            let m = encode(7, seq, &wire).unwrap();
            assert_eq!(
                decode(&m),
                Some((7, BusMessage::Event(seq, Box::new(body.clone()))))
            );
        }
        let kick = Kick {
            user_id: 3,
            device_id: 9,
            code: 7,
            reason: "revoked".into(),
        };
        let m = encode_kick(2, &kick).unwrap();
        assert_eq!(decode(&m), Some((2, BusMessage::Kick(kick))));
        let typing = ServerControl::SyncHint { head: 4 };
        let (user, m) = encode_signal(3, &Signal::Ephemeral(11, Box::new(typing.clone()))).unwrap();
        assert_eq!(user, 11);
        assert_eq!(
            decode(&m),
            Some((3, BusMessage::Ephemeral(Box::new(typing))))
        );
        let (user, m) = encode_signal(3, &Signal::SettingsChanged(12)).unwrap();
        assert_eq!(user, 12);
        assert_eq!(decode(&m), Some((3, BusMessage::SettingsChanged)));
        let mut newer = encode(7, 1, &wire).unwrap().to_vec();
        newer[0] = BUS_VERSION + 1;
        assert_eq!(decode(&newer), None);
        let mut unknown_kind = encode(7, 1, &wire).unwrap().to_vec();
        unknown_kind[3] = 99;
        assert_eq!(decode(&unknown_kind), None);
        assert_eq!(decode(&[]), None);
        assert_eq!(decode(&[BUS_VERSION, 0, 1]), None);
        assert_eq!(
            decode(&[BUS_VERSION, 0, 1, KIND_EVENT, 5, 0xff, 0xff]),
            None
        );
    }
}
