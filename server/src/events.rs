//! The per-user event log: append inside write transactions, read for sync.
//!
//! Invariant: a user's event seqs are dense (1, 2, 3, ...) and commit in
//! order, because each append bumps `users.event_seq` under that row's lock
//! (PostgreSQL) or the single-writer lock (SQLite), and the lock is held
//! until commit. Transactions that append for several users lock them in
//! ascending id order, so they cannot deadlock.

use quichat_proto::event::{Event, EventBody};
use quichat_proto::types::{
    Broadcast, BroadcastId, ConversationId, Message, MessageBody, MessageEdit, MessageId,
    MessageRecall, MessageUpdate, ReadPosition, Receipt, ReceiptKind, UserId,
};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::error::ServiceError;
use crate::fanout::SharedBody;
use crate::message_rows::{message_from_row, MESSAGE_COLUMNS, MESSAGE_JOINS};
use crate::store::{get_u64, to_i64, Backend, Params, Store};

/// How an event kind is stored in `events.kind`. Append new kinds with
/// new numbers; never reuse one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i64)]
enum EventKind {
    Message = 1,
    Receipt = 2,
    ReadPosition = 3,
    MessageUpdated = 4,
    /// The whole body is in `payload` (JSON of [`EventBody`]): profile
    /// changes, friend requests, contact changes.
    Payload = 5,
    /// A message's text was edited; read from the message row, so the
    /// log never keeps an old text.
    MessageEdited = 6,
    /// A message was recalled; read from the message row.
    MessageRecalled = 7,
    /// A server broadcast; read from its `broadcasts` row, which every
    /// user's event shares.
    Broadcast = 8,
}

impl EventKind {
    fn from_i64(n: i64) -> Option<EventKind> {
        Some(match n {
            1 => EventKind::Message,
            2 => EventKind::Receipt,
            3 => EventKind::ReadPosition,
            4 => EventKind::MessageUpdated,
            5 => EventKind::Payload,
            6 => EventKind::MessageEdited,
            7 => EventKind::MessageRecalled,
            8 => EventKind::Broadcast,
            _ => return None,
        })
    }
}

const RECEIPT_DELIVERED: i64 = 1;
const RECEIPT_READ: i64 = 2;

/// The stored columns of an event (besides user, seq and time). Kinds that
/// have no message row carry their body as JSON in `payload`; events
/// outside any conversation leave `conversation_id` NULL.
#[derive(Debug, Default)]
struct EventColumns {
    kind: i64,
    conversation_id: Option<ConversationId>,
    message_id: Option<MessageId>,
    actor_id: Option<UserId>,
    receipt_kind: Option<i64>,
    up_to_seq: Option<i64>,
    payload: Option<String>,
    broadcast_id: Option<BroadcastId>,
}

pub use crate::fanout::Fanout;

/// The start of every insert into the log (the values follow), as a
/// literal so the one-row insert can `concat!` it.
macro_rules! insert_events {
    () => {
        "INSERT INTO events (user_id, seq, kind, conversation_id, message_id, \
         actor_id, receipt_kind, up_to_seq, payload, broadcast_id, created_at)"
    };
}
const INSERT_EVENTS: &str = insert_events!();

/// An event to append, before it has a seq.
#[derive(Debug, Clone)]
pub enum NewEvent {
    /// A message was stored.
    Message {
        /// Conversation.
        conversation_id: ConversationId,
        /// Message.
        message_id: MessageId,
    },
    /// `actor` received or read up to `up_to_seq`.
    Receipt {
        /// Conversation.
        conversation_id: ConversationId,
        /// Who.
        actor_id: UserId,
        /// Delivered or read.
        kind: ReceiptKind,
        /// Watermark.
        up_to_seq: u64,
    },
    /// A message changed (its transcript).
    MessageUpdated {
        /// Conversation.
        conversation_id: ConversationId,
        /// Message.
        message_id: MessageId,
    },
    /// The user's own read position moved.
    ReadPosition {
        /// Conversation.
        conversation_id: ConversationId,
        /// Watermark.
        up_to_seq: u64,
    },
    /// An event outside conversations (profiles, contacts), stored whole
    /// as JSON: its body does not depend on rows that may change later.
    Body(Box<EventBody>),
    /// A message's text was edited (the text is read from its row).
    MessageEdited {
        /// Conversation.
        conversation_id: ConversationId,
        /// Message.
        message_id: MessageId,
    },
    /// A message was recalled.
    MessageRecalled {
        /// Conversation.
        conversation_id: ConversationId,
        /// Message.
        message_id: MessageId,
    },
    /// A server broadcast (read from its row).
    Broadcast(BroadcastId),
}

/// Appends `event` to `user_id`'s log and returns its seq.
pub async fn append(
    tx: &mut Transaction<'static, Any>,
    user_id: UserId,
    event: &NewEvent,
    now: i64,
) -> Result<u64, sqlx::Error> {
    append_columns(tx, user_id, &event.columns(), now).await
}

/// [`append`] with the columns already computed (so an event appended to
/// many logs is serialised once).
async fn append_columns(
    tx: &mut Transaction<'static, Any>,
    user_id: UserId,
    c: &EventColumns,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let row =
        sqlx::query("UPDATE users SET event_seq = event_seq + 1 WHERE id = $1 RETURNING event_seq")
            .bind(user_id)
            .fetch_one(&mut **tx)
            .await?;
    let seq = get_u64(&row, "event_seq")?;
    let q = sqlx::query(concat!(
        insert_events!(),
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .bind(user_id)
    .bind(to_i64(seq));
    bind_columns(q, c, now).execute(&mut **tx).await?;
    Ok(seq)
}

impl NewEvent {
    /// The columns this event is stored in.
    fn columns(&self) -> EventColumns {
        match self {
            NewEvent::Message {
                conversation_id,
                message_id,
            } => EventColumns {
                kind: EventKind::Message as i64,
                conversation_id: Some(*conversation_id),
                message_id: Some(*message_id),
                ..EventColumns::default()
            },
            NewEvent::Receipt {
                conversation_id,
                actor_id,
                kind,
                up_to_seq,
            } => EventColumns {
                kind: EventKind::Receipt as i64,
                conversation_id: Some(*conversation_id),
                actor_id: Some(*actor_id),
                receipt_kind: Some(match kind {
                    ReceiptKind::Delivered => RECEIPT_DELIVERED,
                    ReceiptKind::Read => RECEIPT_READ,
                }),
                up_to_seq: Some(to_i64(*up_to_seq)),
                ..EventColumns::default()
            },
            NewEvent::MessageUpdated {
                conversation_id,
                message_id,
            } => EventColumns {
                kind: EventKind::MessageUpdated as i64,
                conversation_id: Some(*conversation_id),
                message_id: Some(*message_id),
                ..EventColumns::default()
            },
            NewEvent::ReadPosition {
                conversation_id,
                up_to_seq,
            } => EventColumns {
                kind: EventKind::ReadPosition as i64,
                conversation_id: Some(*conversation_id),
                up_to_seq: Some(to_i64(*up_to_seq)),
                ..EventColumns::default()
            },
            NewEvent::MessageEdited {
                conversation_id,
                message_id,
            } => EventColumns {
                kind: EventKind::MessageEdited as i64,
                conversation_id: Some(*conversation_id),
                message_id: Some(*message_id),
                ..EventColumns::default()
            },
            NewEvent::MessageRecalled {
                conversation_id,
                message_id,
            } => EventColumns {
                kind: EventKind::MessageRecalled as i64,
                conversation_id: Some(*conversation_id),
                message_id: Some(*message_id),
                ..EventColumns::default()
            },
            NewEvent::Broadcast(id) => EventColumns {
                kind: EventKind::Broadcast as i64,
                broadcast_id: Some(*id),
                ..EventColumns::default()
            },
            NewEvent::Body(body) => EventColumns {
                kind: EventKind::Payload as i64,
                // Serialising plain data into a String cannot fail.
                payload: serde_json::to_string(body).ok(),
                ..EventColumns::default()
            },
        }
    }
}

/// Binds `c` and `now`, the columns after user and seq, in
/// [`INSERT_EVENTS`] order.
fn bind_columns<'q>(
    q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    c: &'q EventColumns,
    now: i64,
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    q.bind(c.kind)
        .bind(c.conversation_id)
        .bind(c.message_id)
        .bind(c.actor_id)
        .bind(c.receipt_kind)
        .bind(c.up_to_seq)
        .bind(c.payload.as_deref())
        .bind(c.broadcast_id)
        .bind(now)
}

/// Locks the logs of `users` (sorted) in ascending id order on
/// PostgreSQL, before they are bumped (SQLite has one writer).
async fn lock_logs(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    users: &[UserId],
) -> Result<(), sqlx::Error> {
    if backend != Backend::Postgres {
        return Ok(());
    }
    let sql = format!(
        "SELECT id FROM users WHERE id IN ({}) ORDER BY id FOR NO KEY UPDATE",
        Params::new(backend).list(users.len())
    );
    let mut q = sqlx::query(&sql);
    for u in users {
        q = q.bind(*u);
    }
    q.fetch_all(&mut **tx).await?;
    Ok(())
}

/// Logs locked and bumped per statement by [`append_many`]: keeps each
/// statement's bind count far below both backends' limits.
///
/// PostgreSQL rows are locked `FOR NO KEY UPDATE`, the lock the `UPDATE`
/// of `event_seq` takes anyway, never `FOR UPDATE`: the same transaction
/// (and concurrent ones) already hold `FOR KEY SHARE` on those user rows
/// from the foreign keys of the messages and memberships they inserted,
/// and `FOR UPDATE` conflicts with that, which deadlocked two senders
/// writing to the same recipient.
const APPEND_CHUNK: usize = 500;

/// Appends the same event to the logs of `users` (sorted and deduplicated
/// first) and returns each user's new seq, in ascending user order.
///
/// A fixed number of statements per [`APPEND_CHUNK`] users, never one per
/// user: the logs are locked in ascending id order (PostgreSQL: `SELECT
/// ... ORDER BY id FOR UPDATE`; SQLite has one writer), bumped with one
/// `UPDATE ... RETURNING`, and the events written with one `INSERT ...
/// SELECT` that reads the bumped seqs back inside the same transaction.
async fn append_many(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    users: &[UserId],
    c: &EventColumns,
    now: i64,
) -> Result<Vec<(UserId, u64)>, sqlx::Error> {
    let mut users = users.to_vec();
    users.sort_unstable();
    users.dedup();
    let mut seqs = Vec::with_capacity(users.len());
    for chunk in users.chunks(APPEND_CHUNK) {
        if let [one] = chunk {
            seqs.push((*one, append_columns(tx, *one, c, now).await?));
            continue;
        }
        lock_logs(tx, backend, chunk).await?;
        let sql = format!(
            "UPDATE users SET event_seq = event_seq + 1 WHERE id IN ({}) \
             RETURNING id, event_seq",
            Params::new(backend).list(chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for u in chunk {
            q = q.bind(*u);
        }
        let mut bumped = q
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|r| Ok((r.try_get::<UserId, _>("id")?, get_u64(r, "event_seq")?)))
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        bumped.sort_unstable();
        let mut p = Params::new(backend);
        let sql = format!(
            "{INSERT_EVENTS} SELECT id, event_seq, {} FROM users WHERE id IN ({})",
            p.list(9),
            p.list(chunk.len())
        );
        let mut q = bind_columns(sqlx::query(&sql), c, now);
        for u in chunk {
            q = q.bind(*u);
        }
        q.execute(&mut **tx).await?;
        seqs.extend(bumped);
    }
    Ok(seqs)
}

/// Rows per multi-row `INSERT` in [`append_rows`]: 11 binds each, far
/// below both backends' limits.
const INSERT_CHUNK: usize = 400;

/// Appends many events, any number per user, and returns each one's seq
/// in the order given (a user's events get consecutive seqs in that
/// order). A fixed number of statements per chunk, never one per event:
/// the users' logs are locked in ascending id order (PostgreSQL; SQLite
/// has one writer), each bumped by its count in one `UPDATE ... CASE`,
/// and the events written with multi-row `INSERT`s.
pub async fn append_rows(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    rows: &[(UserId, NewEvent)],
    now: i64,
) -> Result<Vec<u64>, sqlx::Error> {
    let mut counts: std::collections::BTreeMap<UserId, u64> = std::collections::BTreeMap::new();
    for (user, _) in rows {
        *counts.entry(*user).or_default() += 1;
    }
    let users: Vec<(UserId, u64)> = counts.into_iter().collect();
    // The first seq each user's events take, in ascending user order.
    let mut next: std::collections::HashMap<UserId, u64> = std::collections::HashMap::new();
    for chunk in users.chunks(APPEND_CHUNK) {
        let ids: Vec<UserId> = chunk.iter().map(|(u, _)| *u).collect();
        lock_logs(tx, backend, &ids).await?;
        let mut p = Params::new(backend);
        let cases: String = (0..chunk.len())
            .map(|_| format!(" WHEN {} THEN {}", p.one(), p.one()))
            .collect();
        let sql = format!(
            "UPDATE users SET event_seq = event_seq + CASE id{cases} ELSE 0 END \
             WHERE id IN ({}) RETURNING id, event_seq",
            p.list(chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for (u, n) in chunk {
            q = q.bind(*u).bind(to_i64(*n));
        }
        for (u, _) in chunk {
            q = q.bind(*u);
        }
        for r in q.fetch_all(&mut **tx).await? {
            let user: UserId = r.try_get("id")?;
            let head = get_u64(&r, "event_seq")?;
            let n = chunk
                .binary_search_by_key(&user, |(u, _)| *u)
                .map_or(0, |i| chunk[i].1);
            next.insert(user, head + 1 - n);
        }
    }
    let mut seqs = Vec::with_capacity(rows.len());
    for (user, _) in rows {
        let slot = next.get_mut(user).ok_or(sqlx::Error::RowNotFound)?;
        seqs.push(*slot);
        *slot += 1;
    }
    let columns: Vec<EventColumns> = rows.iter().map(|(_, e)| e.columns()).collect();
    let mut at = 0;
    for chunk in columns.chunks(INSERT_CHUNK) {
        let mut p = Params::new(backend);
        let values = (0..chunk.len())
            .map(|_| format!("({})", p.list(11)))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("{INSERT_EVENTS} VALUES {values}");
        let mut q = sqlx::query(&sql);
        for (i, c) in chunk.iter().enumerate() {
            q = bind_columns(q.bind(rows[at + i].0).bind(to_i64(seqs[at + i])), c, now);
        }
        q.execute(&mut **tx).await?;
        at += chunk.len();
    }
    Ok(seqs)
}

/// Appends `event` to the logs of `users` (see [`append_many`]) and returns
/// the fan-out: `body`, held once for all of them, under each user's seq.
pub async fn append_event(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    users: &[UserId],
    event: &NewEvent,
    body: &EventBody,
    now: i64,
) -> Result<Fanout, sqlx::Error> {
    let seqs = append_many(tx, backend, users, &event.columns(), now).await?;
    let mut fanout = Fanout::new();
    fanout.push_shared(&SharedBody::new(body.clone()), seqs);
    Ok(fanout)
}

/// Appends the same self-contained event body to the logs of `users` and
/// returns the fan-out.
pub async fn append_all(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    users: &[UserId],
    body: EventBody,
    now: i64,
) -> Result<Fanout, sqlx::Error> {
    let event = NewEvent::Body(Box::new(body.clone()));
    append_event(tx, backend, users, &event, &body, now).await
}

/// Reads the event log.
#[derive(Debug, Clone)]
pub struct Events {
    store: Store,
}

impl Events {
    /// Wraps the store.
    pub fn new(store: Store) -> Self {
        Events { store }
    }

    /// Events with seq > `after`, oldest first, at most `limit`; and whether
    /// more exist.
    pub async fn sync(
        &self,
        user_id: UserId,
        after: u64,
        limit: u32,
    ) -> Result<(Vec<Event>, bool), ServiceError> {
        let limit = limit.clamp(1, quichat_proto::rpc::MAX_PAGE);
        let sql = format!(
            "SELECT e.seq AS e_seq, e.kind AS e_kind, e.conversation_id AS e_conversation_id, \
             e.receipt_kind AS e_receipt_kind, e.up_to_seq AS e_up_to_seq, \
             e.payload AS e_payload, \
             e.created_at AS e_created_at, a.username AS e_actor, \
             b.id AS b_id, b.text AS b_text, b.created_at AS b_created_at, \
             bs.username AS b_sender, {MESSAGE_COLUMNS} \
             FROM events e \
             LEFT JOIN users a ON a.id = e.actor_id \
             LEFT JOIN broadcasts b ON b.id = e.broadcast_id \
             LEFT JOIN users bs ON bs.id = b.sender_id \
             LEFT JOIN messages m ON m.id = e.message_id {MESSAGE_JOINS} \
             WHERE e.user_id = $1 AND e.seq > $2 ORDER BY e.seq LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(user_id)
            .bind(to_i64(after))
            .bind(i64::from(limit) + 1)
            .fetch_all(self.store.pool())
            .await?;
        let has_more = rows.len() > limit as usize;
        let events = rows
            .iter()
            .take(limit as usize)
            .map(event_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((events, has_more))
    }

    /// The highest seq in the user's log.
    pub async fn head(&self, user_id: UserId) -> Result<u64, ServiceError> {
        let row = sqlx::query("SELECT event_seq FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_one(self.store.pool())
            .await?;
        Ok(get_u64(&row, "event_seq")?)
    }
}

fn event_from_row(row: &AnyRow) -> Result<Event, ServiceError> {
    let seq = get_u64(row, "e_seq")?;
    let raw_kind: i64 = row.try_get("e_kind")?;
    let kind = EventKind::from_i64(raw_kind).ok_or_else(|| {
        ServiceError::Internal(format!("unknown event kind {raw_kind} at seq {seq}"))
    })?;
    let conversation_id: Option<ConversationId> = row.try_get("e_conversation_id")?;
    let in_conversation = || {
        conversation_id.ok_or_else(|| {
            ServiceError::Internal(format!("event {seq} ({kind:?}) has no conversation"))
        })
    };
    let up_to = || -> Result<u64, ServiceError> {
        let up_to: Option<i64> = row.try_get("e_up_to_seq")?;
        Ok(u64::try_from(up_to.unwrap_or(0)).unwrap_or(0))
    };
    let body = match kind {
        EventKind::Message => EventBody::Message(message_from_row(row)?),
        EventKind::Receipt => {
            let receipt_kind: Option<i64> = row.try_get("e_receipt_kind")?;
            let actor: Option<String> = row.try_get("e_actor")?;
            EventBody::Receipt(Receipt {
                conversation_id: in_conversation()?,
                by: actor.unwrap_or_default(),
                kind: if receipt_kind == Some(RECEIPT_READ) {
                    ReceiptKind::Read
                } else {
                    ReceiptKind::Delivered
                },
                up_to_seq: up_to()?,
                at_ms: row.try_get("e_created_at")?,
            })
        }
        EventKind::ReadPosition => EventBody::ReadPosition(ReadPosition {
            conversation_id: in_conversation()?,
            up_to_seq: up_to()?,
        }),
        EventKind::Payload => {
            let payload: Option<String> = row.try_get("e_payload")?;
            serde_json::from_str(payload.as_deref().unwrap_or_default()).map_err(|e| {
                ServiceError::Internal(format!("event {seq}: stored body does not decode: {e}"))
            })?
        }
        EventKind::MessageUpdated | EventKind::MessageEdited | EventKind::MessageRecalled => {
            message_change(kind, seq, message_from_row(row)?)?
        }
        EventKind::Broadcast => EventBody::Broadcast(Broadcast {
            id: row
                .try_get::<Option<BroadcastId>, _>("b_id")?
                .ok_or_else(|| {
                    ServiceError::Internal(format!("event {seq}: its broadcast is gone"))
                })?,
            from: row.try_get("b_sender")?,
            text: row.try_get("b_text")?,
            sent_at_ms: row.try_get("b_created_at")?,
        }),
    };
    Ok(Event { seq, body })
}

/// The body of an event about a change to `message`, read from its row as
/// it is now. A change to a message recalled since syncs as its recall:
/// the old text or transcript is gone, and nothing resurrects it.
fn message_change(kind: EventKind, seq: u64, message: Message) -> Result<EventBody, ServiceError> {
    if let MessageBody::Recalled { by, at_ms } = message.body {
        return Ok(EventBody::MessageRecalled(MessageRecall {
            conversation_id: message.conversation_id,
            seq: message.seq,
            by,
            at_ms,
        }));
    }
    Ok(match kind {
        EventKind::MessageEdited => {
            let (text, edited_at_ms) = match message.body {
                MessageBody::Edited { text, edited_at_ms } => (text, edited_at_ms),
                MessageBody::Text(text) => (text, message.sent_at_ms),
                MessageBody::Reply(reply) => {
                    let at = reply.edited_at_ms.unwrap_or(message.sent_at_ms);
                    (reply.text, at)
                }
                other => {
                    return Err(ServiceError::Internal(format!(
                        "event {seq}: edited message {} is {}",
                        message.id,
                        other.kind()
                    )))
                }
            };
            EventBody::MessageEdited(MessageEdit {
                conversation_id: message.conversation_id,
                seq: message.seq,
                text,
                edited_at_ms,
            })
        }
        EventKind::MessageUpdated => EventBody::MessageUpdated(MessageUpdate {
            conversation_id: message.conversation_id,
            message_id: message.id,
            seq: message.seq,
            transcript: message
                .transcript
                .unwrap_or_else(quichat_proto::types::Transcript::pending),
        }),
        other => {
            return Err(ServiceError::Internal(format!(
                "event {seq}: {other:?} for message {} that is not recalled",
                message.id
            )))
        }
    })
}
