//! What a committed write publishes: each recipient's copy of its events.
//!
//! An event appended to many logs (a group message to 1,000 members) has
//! one body and a seq per member. The body is held once, behind an `Arc`,
//! and encoded for the wire at most once ([`SharedBody::wire`]), however
//! many connections it goes to: each connection writes a small frame head
//! of its own (`quichat_proto::push::frame_head`) and then these shared
//! bytes.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use quichat_proto::event::{Event, EventBody};
use quichat_proto::types::UserId;

/// An event body shared by every recipient of one event.
#[derive(Debug)]
pub struct SharedBody {
    body: EventBody,
    wire: OnceLock<Option<Bytes>>,
}

impl SharedBody {
    /// Shares `body`.
    pub fn new(body: EventBody) -> Arc<Self> {
        Arc::new(SharedBody {
            body,
            wire: OnceLock::new(),
        })
    }

    /// The body.
    pub fn body(&self) -> &EventBody {
        &self.body
    }

    /// The body's postcard encoding, made by the first caller and shared
    /// by all (`encoded` is called when this call made it); `None` if it
    /// cannot be encoded (plain data always can).
    pub fn wire(&self, encoded: impl FnOnce()) -> Option<&Bytes> {
        self.wire
            .get_or_init(|| {
                encoded();
                quichat_proto::push::encode_body(&self.body)
                    .map(Bytes::from)
                    .inspect_err(|e| tracing::error!("an event body does not encode: {e}"))
                    .ok()
            })
            .as_ref()
    }
}

/// One recipient's copy of a committed event.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Whose log the event is in.
    pub user: UserId,
    /// Its seq in that log.
    pub seq: u64,
    /// The body, shared with the event's other recipients.
    pub body: Arc<SharedBody>,
}

impl Delivery {
    /// The event as its recipient's log holds it.
    pub fn event(&self) -> Event {
        Event {
            seq: self.seq,
            body: self.body.body().clone(),
        }
    }
}

/// Events produced by a write, to publish to online devices after commit.
#[derive(Debug, Default)]
pub struct Fanout(Vec<Delivery>);

impl Fanout {
    /// No events.
    pub fn new() -> Self {
        Fanout::default()
    }

    /// One event for one user.
    pub fn one(user: UserId, event: Event) -> Self {
        let mut fanout = Fanout::new();
        fanout.push(user, event);
        fanout
    }

    /// Adds `event` for `user`, its body not shared with anyone.
    pub fn push(&mut self, user: UserId, event: Event) {
        self.0.push(Delivery {
            user,
            seq: event.seq,
            body: SharedBody::new(event.body),
        });
    }

    /// Adds one body for several users, each at their seq.
    pub fn push_shared(
        &mut self,
        body: &Arc<SharedBody>,
        seqs: impl IntoIterator<Item = (UserId, u64)>,
    ) {
        self.0.extend(seqs.into_iter().map(|(user, seq)| Delivery {
            user,
            seq,
            body: body.clone(),
        }));
    }

    /// Appends another write's events after these.
    pub fn extend(&mut self, other: Fanout) {
        self.0.extend(other.0);
    }

    /// Whether there is nothing to publish.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The deliveries, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Delivery> {
        self.0.iter()
    }
}

impl IntoIterator for Fanout {
    type Item = Delivery;
    type IntoIter = std::vec::IntoIter<Delivery>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Fanout {
    type Item = &'a Delivery;
    type IntoIter = std::slice::Iter<'a, Delivery>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}
