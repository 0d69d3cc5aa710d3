//! Online devices and live fan-out.
//!
//! Each authenticated connection registers its device here and receives
//! [`Push`]es on a bounded channel. Live pushes are an optimisation: every
//! event is already committed to the user's log, so when a device's
//! channel is full the push is dropped, the link is marked lagged, and the
//! connection tells the client to sync (it will fetch what it missed).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use quichat_proto::event::Event;
use quichat_proto::types::{DeviceId, UserId};
use tokio::sync::mpsc;

/// Capacity of each device's push queue.
pub const PUSH_QUEUE: usize = 1024;

/// Something the hub asks a connection to do.
#[derive(Debug, Clone)]
pub enum Push {
    /// Deliver an event.
    Event(Box<Event>),
    /// Close the connection (device revoked or logged out).
    Kick {
        /// QUIC application close code.
        code: u32,
        /// Readable reason.
        reason: String,
    },
}

#[derive(Debug)]
struct Link {
    conn_id: u64,
    device_id: DeviceId,
    tx: mpsc::Sender<Push>,
    lagged: Arc<AtomicBool>,
}

/// Registry of online devices.
#[derive(Debug, Default)]
pub struct Hub {
    links: Mutex<HashMap<UserId, Vec<Link>>>,
    next_conn: AtomicU64,
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

impl Drop for Registration {
    fn drop(&mut self) {
        let mut links = self.hub.lock();
        if let Some(list) = links.get_mut(&self.user_id) {
            list.retain(|l| l.conn_id != self.conn_id);
            if list.is_empty() {
                links.remove(&self.user_id);
            }
        }
    }
}

impl Hub {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, Vec<Link>>> {
        // A panic while holding this lock cannot leave the map inconsistent
        // (every critical section is a single insert/retain), so recover.
        self.links.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a device's connection and returns its push queue.
    pub fn register(
        self: &Arc<Self>,
        user_id: UserId,
        device_id: DeviceId,
    ) -> (Registration, mpsc::Receiver<Push>) {
        let (tx, rx) = mpsc::channel(PUSH_QUEUE);
        let conn_id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let lagged = Arc::new(AtomicBool::new(false));
        self.lock().entry(user_id).or_default().push(Link {
            conn_id,
            device_id,
            tx,
            lagged: lagged.clone(),
        });
        (
            Registration {
                hub: self.clone(),
                user_id,
                conn_id,
                lagged,
            },
            rx,
        )
    }

    /// Pushes committed events to every online device of their users.
    pub fn publish(&self, events: Vec<(UserId, Event)>) {
        let links = self.lock();
        for (user, event) in events {
            let Some(list) = links.get(&user) else {
                continue;
            };
            for link in list {
                if link
                    .tx
                    .try_send(Push::Event(Box::new(event.clone())))
                    .is_err()
                {
                    link.lagged.store(true, Ordering::Relaxed);
                }
            }
        }
    }

    /// Asks every connection of `device_id` to close.
    pub fn kick_device(&self, user_id: UserId, device_id: DeviceId, code: u32, reason: &str) {
        let links = self.lock();
        if let Some(list) = links.get(&user_id) {
            for link in list.iter().filter(|l| l.device_id == device_id) {
                let _ = link.tx.try_send(Push::Kick {
                    code,
                    reason: reason.to_string(),
                });
            }
        }
    }

    /// Number of registered connections (for metrics and tests).
    pub fn online_connections(&self) -> usize {
        self.lock().values().map(Vec::len).sum()
    }
}
