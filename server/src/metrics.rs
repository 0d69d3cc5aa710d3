//! Process-wide counters (exported by the metrics endpoint later; read by
//! tests today).

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters. Relaxed ordering: they are statistics, not synchronisation.
#[derive(Debug, Default)]
pub struct Metrics {
    /// QUIC connections that completed the handshake.
    pub connections_accepted: AtomicU64,
    /// Times a connection's peer address was seen to change (migration,
    /// NAT rebinding); checked per control/chat frame, so a lower bound.
    pub path_changes: AtomicU64,
}

impl Metrics {
    /// Adds one to a counter.
    pub fn incr(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
