//! Online devices and live fan-out.
//!
//! Each authenticated connection registers its device here and receives
//! [`Push`]es on a bounded channel. Live pushes are an optimisation: every
//! event is already committed to the user's log, so when a device's
//! channel is full the push is dropped, the link is marked lagged, and the
//! connection tells the client to sync (it will fetch what it missed).
//!
//! Revocation is not a push: [`Hub::kick_device`] closes the device's QUIC
//! connections itself and flags their sessions as revoked, so a device
//! whose queues are full (it stopped reading) is cut off all the same.
//! Devices revoked in the last [`REVOKED_MEMORY`] are remembered, so a
//! connection whose token check raced with the revocation is refused when
//! it registers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use quichat_proto::control::ServerControl;
use quichat_proto::notify::PushFlags;
use quichat_proto::types::{DeviceId, UserId};
use tokio::sync::mpsc;

use crate::fanout::{Fanout, SharedBody};

/// Capacity of each device's push queue.
pub const PUSH_QUEUE: usize = 1024;

/// How long a revoked device id is remembered: far longer than a token
/// check takes, so an authentication that read the token just before the
/// revocation committed still cannot register afterwards.
pub const REVOKED_MEMORY: Duration = Duration::from_secs(120);

/// Something the hub asks a connection to deliver.
#[derive(Debug, Clone)]
pub enum Push {
    /// Deliver an event, with the flags its user's settings give it.
    Event {
        /// Its seq in the user's log.
        seq: u64,
        /// Its body, shared (and encoded once) for all its recipients.
        body: Arc<SharedBody>,
        /// What the recipient's settings make of it.
        flags: PushFlags,
    },
    /// An ephemeral control frame, not in the log (presence, typing).
    Ephemeral(Box<ServerControl>),
}

/// A user's first device connected (`true`) or last one left (`false`).
pub type PresenceChange = (UserId, bool);

/// What the hub needs to cut a connection off: the connection itself and
/// the flag its stream handlers check before acting.
#[derive(Debug, Clone)]
pub struct Kickable {
    /// The QUIC connection, closed by a kick.
    pub conn: quinn::Connection,
    /// Set by a kick; chat, media and control refuse to act once it is.
    pub revoked: Arc<AtomicBool>,
}

#[derive(Debug)]
struct Link {
    conn_id: u64,
    device_id: DeviceId,
    tx: mpsc::Sender<Push>,
    lagged: Arc<AtomicBool>,
    kickable: Kickable,
}

#[derive(Debug, Default)]
struct Links {
    by_user: HashMap<UserId, Vec<Link>>,
    /// The notification settings of every user in `by_user`.
    notify: HashMap<UserId, Arc<crate::notify::Settings>>,
    /// Recently revoked devices and when they were revoked.
    revoked: HashMap<DeviceId, Instant>,
}

/// Registry of online devices.
#[derive(Debug, Default)]
pub struct Hub {
    links: Mutex<Links>,
    next_conn: AtomicU64,
    /// Where online/offline transitions go (the presence task, the bus).
    presence: Mutex<Vec<mpsc::UnboundedSender<PresenceChange>>>,
    /// Where committed events also go for other nodes (`bus.rs`), when
    /// this node is part of a cluster.
    bus: Mutex<Option<BusSinks>>,
}

/// Where the hub hands what other nodes must know to the bus.
#[derive(Debug)]
struct BusSinks {
    deliveries: mpsc::Sender<Vec<crate::fanout::Delivery>>,
    /// Never dropped: a device revoked here must lose its connections on
    /// every node.
    kicks: mpsc::UnboundedSender<Kick>,
    /// Best effort, like the local pushes they mirror.
    signals: mpsc::Sender<Signal>,
}

/// Something other nodes' connections of a user should know that is not
/// in the event log.
#[derive(Debug, Clone)]
pub enum Signal {
    /// An ephemeral control frame (presence, typing) for the user.
    Ephemeral(UserId, Box<ServerControl>),
    /// The user's notification settings changed (nodes where the user is
    /// online reload them).
    SettingsChanged(UserId),
}

/// What [`Hub::attach_bus`] hands the bus.
#[derive(Debug)]
pub struct BusFeeds {
    /// Every published fan-out.
    pub deliveries: mpsc::Receiver<Vec<crate::fanout::Delivery>>,
    /// Every device kick.
    pub kicks: mpsc::UnboundedReceiver<Kick>,
    /// Ephemeral pushes and settings changes.
    pub signals: mpsc::Receiver<Signal>,
}

/// A device revocation for the other nodes of a cluster.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Kick {
    /// Whose device.
    pub user_id: UserId,
    /// The device.
    pub device_id: DeviceId,
    /// The QUIC close code its connections get.
    pub code: u32,
    /// The readable reason.
    pub reason: String,
}

/// Batches of deliveries waiting for the bus; beyond this, the bus drops
/// them (other nodes' devices then catch up on sync).
pub const BUS_QUEUE: usize = 4096;

/// Why [`Hub::register`] refused a connection.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// The device was revoked meanwhile.
    #[error("this device was revoked")]
    Revoked,
    /// The user already has this many connections, the cap.
    #[error("the user already has {0} connections")]
    TooMany(u32),
}

/// A connection's registration; unregisters on drop.
#[derive(Debug)]
pub struct Registration {
    hub: Arc<Hub>,
    user_id: UserId,
    conn_id: u64,
    /// Set when a push was dropped because the queue was full.
    pub lagged: Arc<AtomicBool>,
}

impl Registration {
    /// This connection's id in the hub (to spare it in [`Hub::kick_device`]).
    pub fn conn_id(&self) -> u64 {
        self.conn_id
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut links = self.hub.lock();
        if let Some(list) = links.by_user.get_mut(&self.user_id) {
            list.retain(|l| l.conn_id != self.conn_id);
            if list.is_empty() {
                links.by_user.remove(&self.user_id);
                links.notify.remove(&self.user_id);
                // Sent under the lock, so transitions queue in the order
                // they happened.
                self.hub.presence_changed(self.user_id, false);
            }
        }
    }
}

impl Hub {
    fn lock(&self) -> std::sync::MutexGuard<'_, Links> {
        // A panic while holding this lock cannot leave the map inconsistent
        // (every critical section is a single insert/retain), so recover.
        self.links.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a device's connection and returns its push queue, unless
    /// the device was revoked in the last [`REVOKED_MEMORY`] or the user
    /// already has `max_per_user` connections (0: no cap). `notify` are the
    /// user's notification settings as read before (kept unless the hub
    /// already holds newer ones).
    pub fn register(
        self: &Arc<Self>,
        user_id: UserId,
        device_id: DeviceId,
        kickable: Kickable,
        max_per_user: u32,
        notify: crate::notify::Settings,
    ) -> Result<(Registration, mpsc::Receiver<Push>), RegisterError> {
        let (tx, rx) = mpsc::channel(PUSH_QUEUE);
        let conn_id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let lagged = Arc::new(AtomicBool::new(false));
        let mut links = self.lock();
        if links.revoked.contains_key(&device_id) {
            kickable.revoked.store(true, Ordering::SeqCst);
            return Err(RegisterError::Revoked);
        }
        let list = links.by_user.entry(user_id).or_default();
        let open = u32::try_from(list.len()).unwrap_or(u32::MAX);
        if max_per_user > 0 && open >= max_per_user {
            return Err(RegisterError::TooMany(open));
        }
        if list.is_empty() {
            self.presence_changed(user_id, true);
        }
        list.push(Link {
            conn_id,
            device_id,
            tx,
            lagged: lagged.clone(),
            kickable,
        });
        Self::keep_newer(&mut links.notify, user_id, notify);
        drop(links);
        Ok((
            Registration {
                hub: self.clone(),
                user_id,
                conn_id,
                lagged,
            },
            rx,
        ))
    }

    /// Stores `settings` for `user` unless newer ones are there already.
    fn keep_newer(
        map: &mut HashMap<UserId, Arc<crate::notify::Settings>>,
        user: UserId,
        settings: crate::notify::Settings,
    ) {
        match map.get(&user) {
            Some(held) if held.version > settings.version => {}
            _ => {
                map.insert(user, Arc::new(settings));
            }
        }
    }

    /// Replaces the notification settings of an online user (after they
    /// changed them), unless newer ones are held; tells the other nodes.
    pub fn set_notify(&self, user: UserId, settings: crate::notify::Settings) {
        self.signal(Signal::SettingsChanged(user));
        self.set_notify_local(user, settings);
    }

    /// [`Hub::set_notify`] on this node only.
    pub fn set_notify_local(&self, user: UserId, settings: crate::notify::Settings) {
        let mut links = self.lock();
        if links.by_user.contains_key(&user) {
            Self::keep_newer(&mut links.notify, user, settings);
        }
    }

    /// The notification settings held for an online user.
    pub fn notify_of(&self, user: UserId) -> Option<Arc<crate::notify::Settings>> {
        self.lock().notify.get(&user).cloned()
    }

    /// Pushes committed events to every online device of their users, each
    /// with the flags its user's notification settings give it; in a
    /// cluster, hands them to the bus for the other nodes too. Bodies stay
    /// shared: the connections encode each one once between them.
    pub fn publish(&self, fanout: Fanout) {
        if let Some(bus) = self.bus().as_ref() {
            // A full bus queue drops the batch: the database has it, and
            // other nodes' devices find it on their next sync.
            if bus
                .deliveries
                .try_send(fanout.iter().cloned().collect())
                .is_err()
            {
                tracing::warn!("the bus queue is full: a fan-out goes to other nodes only on sync");
            }
        }
        self.deliver_local(fanout);
    }

    /// Pushes events to this node's online devices only (events that came
    /// from another node over the bus).
    pub fn deliver_local(&self, fanout: Fanout) {
        let now = crate::store::now_ms();
        let mentions = crate::notify::mentioned_in(fanout.iter().map(|d| (d.user, d.body.body())));
        let links = self.lock();
        for delivery in fanout {
            let Some(list) = links.by_user.get(&delivery.user) else {
                continue;
            };
            let body = delivery.body.body();
            let flags = links
                .notify
                .get(&delivery.user)
                .map_or(PushFlags::default(), |s| {
                    s.flags(
                        body,
                        crate::notify::is_mentioned(&mentions, delivery.user, body),
                        now,
                    )
                });
            for link in list {
                let push = Push::Event {
                    seq: delivery.seq,
                    body: delivery.body.clone(),
                    flags,
                };
                if link.tx.try_send(push).is_err() {
                    link.lagged.store(true, Ordering::Relaxed);
                }
            }
        }
    }

    /// Cuts off every connection of a revoked device at once, on every
    /// node of a cluster: flags each session revoked and closes the QUIC
    /// connection with `code`, whatever its queues hold. The connection `spare` (the one that asked to log
    /// out) is flagged but left open, so it can deliver its answer before
    /// it closes itself.
    pub fn kick_device(
        &self,
        user_id: UserId,
        device_id: DeviceId,
        code: u32,
        reason: &str,
        spare: Option<u64>,
    ) {
        if let Some(bus) = self.bus().as_ref() {
            let _ = bus.kicks.send(Kick {
                user_id,
                device_id,
                code,
                reason: reason.to_string(),
            });
        }
        self.kick_device_local(user_id, device_id, code, reason, spare);
    }

    /// [`Hub::kick_device`] on this node only (a kick from another node).
    pub fn kick_device_local(
        &self,
        user_id: UserId,
        device_id: DeviceId,
        code: u32,
        reason: &str,
        spare: Option<u64>,
    ) {
        let mut links = self.lock();
        let now = Instant::now();
        links
            .revoked
            .retain(|_, at| now.duration_since(*at) < REVOKED_MEMORY);
        links.revoked.insert(device_id, now);
        if let Some(list) = links.by_user.get(&user_id) {
            for link in list.iter().filter(|l| l.device_id == device_id) {
                link.kickable.revoked.store(true, Ordering::SeqCst);
                if Some(link.conn_id) != spare {
                    link.kickable.conn.close(code.into(), reason.as_bytes());
                }
            }
        }
    }

    /// Closes every connection of `user_id` with `code` (an administrator
    /// disabled the account, revoked its devices or reset its password);
    /// their sessions stop acting at once.
    pub fn kick_user(&self, user_id: UserId, code: u32, reason: &str) {
        let links = self.lock();
        if let Some(list) = links.by_user.get(&user_id) {
            for link in list {
                link.kickable.revoked.store(true, Ordering::SeqCst);
                link.kickable.conn.close(code.into(), reason.as_bytes());
            }
        }
    }

    /// Sends online/offline transitions to `sink` (too) from now on.
    pub fn add_presence_sink(&self, sink: mpsc::UnboundedSender<PresenceChange>) {
        self.presence
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(sink);
    }

    fn presence_changed(&self, user: UserId, online: bool) {
        for sink in self
            .presence
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = sink.send((user, online));
        }
    }

    /// Sends every published fan-out and every device kick to the bus
    /// from now on, and returns their receiving ends.
    pub fn attach_bus(&self) -> BusFeeds {
        let (deliveries, deliveries_rx) = mpsc::channel(BUS_QUEUE);
        let (kicks, kicks_rx) = mpsc::unbounded_channel();
        let (signals, signals_rx) = mpsc::channel(BUS_QUEUE);
        *self.bus() = Some(BusSinks {
            deliveries,
            kicks,
            signals,
        });
        BusFeeds {
            deliveries: deliveries_rx,
            kicks: kicks_rx,
            signals: signals_rx,
        }
    }

    fn bus(&self) -> std::sync::MutexGuard<'_, Option<BusSinks>> {
        // Every critical section is one assignment or one send.
        self.bus.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn signal(&self, signal: Signal) {
        if let Some(bus) = self.bus().as_ref() {
            let _ = bus.signals.try_send(signal);
        }
    }

    /// Whether any device of `user` is connected.
    pub fn is_online(&self, user: UserId) -> bool {
        self.lock().by_user.contains_key(&user)
    }

    /// Offers an ephemeral push (presence, typing) to every connection of
    /// `user`, on every node; a full queue drops it (it is not in the log,
    /// and the next one supersedes it).
    pub fn push_ephemeral(&self, user: UserId, push: Push) {
        if let Push::Ephemeral(frame) = &push {
            self.signal(Signal::Ephemeral(user, frame.clone()));
        }
        self.push_ephemeral_local(user, push);
    }

    /// [`Hub::push_ephemeral`] on this node only.
    pub fn push_ephemeral_local(&self, user: UserId, push: Push) {
        if let Some(list) = self.lock().by_user.get(&user) {
            for link in list {
                let _ = link.tx.try_send(push.clone());
            }
        }
    }

    /// Number of registered connections (for metrics and tests).
    pub fn online_connections(&self) -> usize {
        self.lock().by_user.values().map(Vec::len).sum()
    }
}
