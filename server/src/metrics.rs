//! The server's metrics (prometheus-client), one registry per server.
//!
//! Names follow Prometheus conventions: a `quichat_` prefix, base units
//! (seconds, bytes), `_total` on counters (added by the encoder). The
//! endpoint that serves them, with `/health` and `/ready`, is
//! [`crate::ops_http`]; values that live elsewhere (queue depth, pool use)
//! are read when scraped.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

/// A label naming a kind (stream kind, failure reason, limit, outcome).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Kind {
    /// The kind.
    pub kind: String,
}

impl Kind {
    /// The label `kind="<kind>"`.
    pub fn of(kind: &str) -> Self {
        Kind {
            kind: kind.to_string(),
        }
    }
}

fn latency_histogram() -> Histogram {
    // 0.5 ms .. ~16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

fn job_histogram() -> Histogram {
    // 50 ms .. ~27 min.
    Histogram::new(exponential_buckets(0.05, 2.0, 16))
}

/// Every metric the server records.
#[derive(Debug)]
pub struct Metrics {
    /// QUIC connections that completed the handshake.
    pub connections_accepted: Counter,
    /// Connections open now.
    pub connections_open: Gauge,
    /// Streams opened, by kind (`control`, `chat`, `media`).
    pub streams_opened: Family<Kind, Counter>,
    /// Times a connection's peer address was seen to change (migration,
    /// NAT rebinding); checked per control/chat frame, so a lower bound.
    pub path_changes: Counter,
    /// Messages stored (acknowledged sends, not resends).
    pub messages_stored: Counter,
    /// Message events written to a device's connection.
    pub messages_delivered: Counter,
    /// Events of every kind pushed to a device's connection.
    pub events_pushed: Counter,
    /// Deliveries published on the cluster bus for other nodes.
    pub bus_published: Counter,
    /// Deliveries from other nodes received on the bus.
    pub bus_received: Counter,
    /// Event bodies encoded for pushes: one per event, however many
    /// connections it went to.
    pub push_encodes: Counter,
    /// From a message's commit to its push being written to a recipient's
    /// connection.
    pub delivery_latency: Histogram,
    /// Upload body bytes received.
    pub upload_bytes: Counter,
    /// Download body bytes sent.
    pub download_bytes: Counter,
    /// Uploads that failed, by reason (the error code).
    pub upload_failures: Family<Kind, Counter>,
    /// Transcription jobs finished, by outcome (`done`, `retry`, `failed`).
    pub transcription_jobs: Family<Kind, Counter>,
    /// How long a transcription job took (fetch, decode, Whisper).
    pub transcription_duration: Histogram,
    /// Jobs queued or running, read at scrape time.
    pub transcription_queue: Gauge,
    /// Pooled database connections, by state (`idle`, `in_use`), read at
    /// scrape time.
    pub db_connections: Family<Kind, Gauge>,
    /// Round trip of `SELECT 1` through the pool, measured at scrape time.
    pub db_ping: Gauge<f64, std::sync::atomic::AtomicU64>,
    /// Requests refused by a rate limit, by limit.
    pub rate_limited: Family<Kind, Counter>,
    /// Group commits: transactions the commit writer committed.
    pub commit_batches: Counter,
    /// Writes (sends, receipts) per group commit.
    pub commit_batch_size: Histogram,
    /// From a batch's start to its commit (or failure): what a write
    /// waits once the writer takes it.
    pub commit_duration: Histogram,
    registry: Registry,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut m = Metrics {
            connections_accepted: Counter::default(),
            connections_open: Gauge::default(),
            streams_opened: Family::default(),
            path_changes: Counter::default(),
            messages_stored: Counter::default(),
            messages_delivered: Counter::default(),
            events_pushed: Counter::default(),
            bus_published: Counter::default(),
            bus_received: Counter::default(),
            push_encodes: Counter::default(),
            delivery_latency: latency_histogram(),
            upload_bytes: Counter::default(),
            download_bytes: Counter::default(),
            upload_failures: Family::default(),
            transcription_jobs: Family::default(),
            transcription_duration: job_histogram(),
            transcription_queue: Gauge::default(),
            db_connections: Family::default(),
            db_ping: Gauge::default(),
            rate_limited: Family::default(),
            commit_batches: Counter::default(),
            // 1 .. 512 writes.
            commit_batch_size: Histogram::new(exponential_buckets(1.0, 2.0, 10)),
            commit_duration: latency_histogram(),
            registry: Registry::with_prefix("quichat"),
        };
        let r = &mut m.registry;
        r.register(
            "connections_accepted",
            "QUIC connections that completed the handshake",
            m.connections_accepted.clone(),
        );
        r.register(
            "connections_open",
            "QUIC connections open now",
            m.connections_open.clone(),
        );
        r.register(
            "streams_opened",
            "Streams opened, by kind",
            m.streams_opened.clone(),
        );
        r.register(
            "path_changes",
            "Peer address changes seen (connection migration, NAT rebinding)",
            m.path_changes.clone(),
        );
        r.register(
            "messages_stored",
            "Messages stored and acknowledged",
            m.messages_stored.clone(),
        );
        r.register(
            "messages_delivered",
            "Message events written to a device's connection",
            m.messages_delivered.clone(),
        );
        r.register(
            "events_pushed",
            "Events of every kind pushed to a device's connection",
            m.events_pushed.clone(),
        );
        r.register(
            "bus_published",
            "Deliveries published on the cluster bus for other nodes",
            m.bus_published.clone(),
        );
        r.register(
            "bus_received",
            "Deliveries from other nodes received on the cluster bus",
            m.bus_received.clone(),
        );
        r.register(
            "push_encodes",
            "Event bodies encoded for pushes (one per event, shared by its recipients)",
            m.push_encodes.clone(),
        );
        r.register_with_unit(
            "delivery_latency",
            "From a message's commit to its push to a recipient's connection",
            Unit::Seconds,
            m.delivery_latency.clone(),
        );
        r.register_with_unit(
            "upload",
            "Upload body bytes received",
            Unit::Bytes,
            m.upload_bytes.clone(),
        );
        r.register_with_unit(
            "download",
            "Download body bytes sent",
            Unit::Bytes,
            m.download_bytes.clone(),
        );
        r.register(
            "upload_failures",
            "Uploads that failed, by reason",
            m.upload_failures.clone(),
        );
        r.register(
            "transcription_jobs",
            "Transcription jobs finished, by outcome",
            m.transcription_jobs.clone(),
        );
        r.register_with_unit(
            "transcription_duration",
            "Duration of a transcription job",
            Unit::Seconds,
            m.transcription_duration.clone(),
        );
        r.register(
            "transcription_queue",
            "Transcription jobs queued or running",
            m.transcription_queue.clone(),
        );
        r.register(
            "db_connections",
            "Pooled database connections, by state",
            m.db_connections.clone(),
        );
        r.register_with_unit(
            "db_ping",
            "Round trip of SELECT 1 through the database pool",
            Unit::Seconds,
            m.db_ping.clone(),
        );
        r.register(
            "rate_limited",
            "Requests refused by a rate limit, by limit",
            m.rate_limited.clone(),
        );
        r.register(
            "commit_batches",
            "Group commits (one transaction and one fsync each)",
            m.commit_batches.clone(),
        );
        r.register(
            "commit_batch_size",
            "Writes (sends, receipts) per group commit",
            m.commit_batch_size.clone(),
        );
        r.register_with_unit(
            "commit_duration",
            "From a group commit's start to its commit",
            Unit::Seconds,
            m.commit_duration.clone(),
        );
        m
    }
}

impl Metrics {
    /// The text exposition format (`/metrics`).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// A counter of `family` for `kind` (created on first use).
    pub fn count(family: &Family<Kind, Counter>, kind: &str) {
        family.get_or_create(&Kind::of(kind)).inc();
    }
}

/// Counts a connection as open while it lives.
#[derive(Debug)]
pub struct OpenConnection(Gauge);

impl OpenConnection {
    /// Counts one more open connection until dropped.
    pub fn new(gauge: &Gauge) -> Self {
        gauge.inc();
        OpenConnection(gauge.clone())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.dec();
    }
}
