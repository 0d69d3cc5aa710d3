//! Delivered and read watermarks per conversation member.
//!
//! Receipts are monotonic watermarks ("everything up to seq N"), like
//! Matrix read markers, so one receipt covers a burst of messages, and a
//! group of any size holds one row per member, never one per message per
//! member. Read implies delivered. Each advance appends a receipt event
//! for the authors of the messages it newly covers (nobody else needs it)
//! and, for reads, a read-position event for the reader's own devices.
//!
//! Receipts for one conversation are merged: every member of a group
//! sends one when a message arrives, so the receipts that queue up for a
//! conversation while the commit writer is busy become one write of a
//! fixed number of set-based statements ([`advance_many`]), not a handful
//! of statements per member. Each caller is still answered on its own.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use futures::future::BoxFuture;
use quichat_proto::event::EventBody;
use quichat_proto::types::{ConversationId, ReadPosition, Receipt, ReceiptKind, UserId};
use sqlx::{Any, Row, Transaction};
use tokio::sync::oneshot;

use crate::accounts::Session;
use crate::commit::{self, Committer};
use crate::conversations::Conversations;
use crate::error::{retry_conflicts, ServiceError, StoreError};
use crate::events::{append_rows, Fanout, NewEvent};
use crate::fanout::SharedBody;
use crate::store::{get_u64, now_ms, to_i64, Backend, Params, Store};

/// The receipts service.
#[derive(Debug, Clone)]
pub struct Receipts {
    store: Store,
    conversations: Conversations,
    committer: Committer,
    pending: Arc<Pending>,
}

impl Receipts {
    /// Wraps the store.
    pub fn new(store: Store, conversations: Conversations, committer: Committer) -> Self {
        Receipts {
            store,
            conversations,
            committer,
            pending: Arc::default(),
        }
    }

    /// Records that a device of the caller has every message up to `up_to`;
    /// the receipt events are published once committed.
    pub async fn delivered(
        &self,
        session: &Session,
        conversation_id: ConversationId,
        up_to: u64,
    ) -> Result<(), ServiceError> {
        self.advance(session, conversation_id, up_to, ReceiptKind::Delivered)
            .await
    }

    /// Records that the caller has read every message up to `up_to`.
    pub async fn mark_read(
        &self,
        session: &Session,
        conversation_id: ConversationId,
        up_to: u64,
    ) -> Result<(), ServiceError> {
        self.advance(session, conversation_id, up_to, ReceiptKind::Read)
            .await
    }

    async fn advance(
        &self,
        session: &Session,
        conversation_id: ConversationId,
        up_to: u64,
        kind: ReceiptKind,
    ) -> Result<(), ServiceError> {
        // Membership, the clamp to the last seq and the current watermark
        // are read by the write itself, in one statement (a receipt is
        // the most frequent write after a send: every recipient sends one).
        if up_to == 0 {
            return Ok(());
        }
        retry_conflicts!(self.write(session, conversation_id, up_to, kind).await)
    }

    /// Queues the watermark advance for the commit writer, merged with
    /// the other advances of the same kind in the same conversation that
    /// are waiting: receipts ride in the same group commits as messages,
    /// and their fan-out is published by the writer once committed.
    async fn write(
        &self,
        session: &Session,
        conversation_id: ConversationId,
        up_to: u64,
        kind: ReceiptKind,
    ) -> Result<(), ServiceError> {
        let key = (conversation_id, kind == ReceiptKind::Read);
        let (reply, answer) = oneshot::channel();
        let first = {
            let mut pending = self.pending.lock();
            let list = pending.entry(key).or_default();
            list.push(Waiting {
                user_id: session.user_id,
                username: session.username.clone(),
                up_to,
                reply,
            });
            list.len() == 1
        };
        if first {
            // Nobody had queued a job for this conversation: this caller
            // does; the callers that come before it runs join it.
            let job = Box::new(Merged {
                pending: self.pending.clone(),
                key,
                kind,
                backend: self.store.backend(),
                taken: None,
                outcomes: Vec::new(),
            });
            if let Err(job) = self.committer.submit(job).await {
                job.finish(Some(ServiceError::Internal(
                    "the server is shutting down; retry".into(),
                )));
            }
        }
        answer.await.unwrap_or_else(|_| {
            Err(ServiceError::Internal(
                "the server is shutting down; retry".into(),
            ))
        })
    }

    /// Advances queued for a merged write that has not started yet (for
    /// diagnostics and tests).
    pub fn waiting(&self) -> usize {
        self.pending.lock().values().map(Vec::len).sum()
    }

    /// Who has read, received, or not yet received message `seq`, for its
    /// sender only. Members who joined after it are not counted.
    pub async fn who_read(
        &self,
        session: &Session,
        conversation_id: ConversationId,
        seq: u64,
    ) -> Result<(Vec<String>, Vec<String>, Vec<String>), ServiceError> {
        let since = self
            .conversations
            .joined_seq(session, conversation_id)
            .await?;
        let missing = || ServiceError::NotFound(format!("message {seq} not found"));
        if seq <= since {
            return Err(missing());
        }
        let row = sqlx::query(
            "SELECT sender_id FROM messages WHERE conversation_id = $1 AND seq = $2 \
             AND kind <> 'system'",
        )
        .bind(conversation_id)
        .bind(to_i64(seq))
        .fetch_optional(self.store.pool())
        .await?
        .ok_or_else(missing)?;
        let sender: UserId = row.try_get("sender_id")?;
        if sender != session.user_id {
            return Err(ServiceError::Forbidden(
                "only the sender can see who received and read a message".into(),
            ));
        }
        let rows = sqlx::query(
            "SELECT u.username AS username, m.delivered_seq AS delivered_seq, \
             m.read_seq AS read_seq FROM conversation_members m JOIN users u ON u.id = m.user_id \
             WHERE m.conversation_id = $1 AND m.user_id <> $2 AND m.joined_seq < $3 \
             ORDER BY u.username",
        )
        .bind(conversation_id)
        .bind(sender)
        .bind(to_i64(seq))
        .fetch_all(self.store.pool())
        .await?;
        let (mut read, mut delivered, mut waiting) = (Vec::new(), Vec::new(), Vec::new());
        for r in &rows {
            let name: String = r.try_get("username")?;
            if get_u64(r, "read_seq")? >= seq {
                read.push(name);
            } else if get_u64(r, "delivered_seq")? >= seq {
                delivered.push(name);
            } else {
                waiting.push(name);
            }
        }
        Ok((read, delivered, waiting))
    }
}

/// Receipts waiting for their merged write, by conversation and kind
/// (`true`: read).
#[derive(Debug, Default)]
struct Pending(std::sync::Mutex<HashMap<(ConversationId, bool), Vec<Waiting>>>);

impl Pending {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(ConversationId, bool), Vec<Waiting>>> {
        // Every critical section is one insert or remove.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One caller's watermark advance.
#[derive(Debug)]
struct Waiting {
    user_id: UserId,
    username: String,
    up_to: u64,
    reply: oneshot::Sender<Result<(), ServiceError>>,
}

/// The commit job of one conversation's waiting advances of one kind.
struct Merged {
    pending: Arc<Pending>,
    key: (ConversationId, bool),
    kind: ReceiptKind,
    backend: Backend,
    /// The advances this job writes, taken from `pending` when it first
    /// runs (a rerun of its batch writes the same ones).
    taken: Option<Vec<Waiting>>,
    /// Each taken advance's outcome, from the last run.
    outcomes: Vec<Result<(), ServiceError>>,
}

impl Merged {
    fn take(&mut self) -> &mut Vec<Waiting> {
        let (pending, key) = (&self.pending, self.key);
        self.taken
            .get_or_insert_with(|| pending.lock().remove(&key).unwrap_or_default())
    }
}

impl commit::Job for Merged {
    fn run<'a>(
        &'a mut self,
        tx: &'a mut Transaction<'static, Any>,
    ) -> BoxFuture<'a, Result<Fanout, ServiceError>> {
        Box::pin(async move {
            let (conversation_id, kind, backend) = (self.key.0, self.kind, self.backend);
            let wants: Vec<Advance> = self
                .take()
                .iter()
                .map(|w| Advance {
                    user_id: w.user_id,
                    username: w.username.clone(),
                    up_to: w.up_to,
                })
                .collect();
            let (outcomes, fanout) =
                advance_many(tx, backend, conversation_id, kind, &wants).await?;
            self.outcomes = outcomes;
            Ok(fanout)
        })
    }

    fn finish(mut self: Box<Self>, error: Option<ServiceError>) {
        // Taken now if the job never ran (its batch failed first).
        let waiting = std::mem::take(self.take());
        let mut outcomes = std::mem::take(&mut self.outcomes).into_iter();
        let mut error = error;
        for w in waiting {
            let result = match error.take() {
                // Every caller gets the failure; the first the error itself.
                Some(e) => {
                    let copy = share(&e);
                    error = Some(copy);
                    Err(e)
                }
                None => outcomes.next().unwrap_or(Ok(())),
            };
            let _ = w.reply.send(result);
        }
    }
}

/// A copy of a write's failure for another caller of the same write: a
/// conflict stays retryable, anything else reads as the batch's failure.
fn share(e: &ServiceError) -> ServiceError {
    match e {
        ServiceError::Store(s) if s.is_retryable() => {
            ServiceError::Store(StoreError::Conflict(s.to_string()))
        }
        other => ServiceError::Store(StoreError::Batch(other.to_string())),
    }
}

/// One reader's wish to move its watermark up to `up_to`.
#[derive(Debug, Clone)]
struct Advance {
    user_id: UserId,
    username: String,
    up_to: u64,
}

/// Moves the watermarks of `wants` (members of `conversation_id`) inside
/// `tx`, with a fixed number of statements however many there are, and
/// appends their receipt events. Returns each advance's outcome (in the
/// order given: not a member is `NotFound`; an advance already covered is
/// `Ok` and writes nothing) and the fan-out.
async fn advance_many(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    conversation_id: ConversationId,
    kind: ReceiptKind,
    wants: &[Advance],
) -> Result<(Vec<Result<(), ServiceError>>, Fanout), ServiceError> {
    let now = now_ms();
    // A reader's devices may each have sent one: the highest counts.
    let mut readers: BTreeMap<UserId, (u64, &str)> = BTreeMap::new();
    for w in wants {
        let entry = readers.entry(w.user_id).or_insert((0, &w.username));
        entry.0 = entry.0.max(w.up_to);
    }
    let ids: Vec<UserId> = readers.keys().copied().collect();
    // Each member's current watermark, and the conversation's last seq.
    let mut current: HashMap<UserId, (u64, u64)> = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let mut p = Params::new(backend);
        let sql = format!(
            "SELECT m.user_id AS user_id, m.delivered_seq AS delivered_seq, \
             m.read_seq AS read_seq, c.last_seq AS last_seq \
             FROM conversation_members m JOIN conversations c ON c.id = m.conversation_id \
             WHERE m.conversation_id = {} AND m.user_id IN ({})",
            p.one(),
            p.list(chunk.len())
        );
        let mut q = sqlx::query(&sql).bind(conversation_id);
        for u in chunk {
            q = q.bind(*u);
        }
        for r in q.fetch_all(&mut **tx).await.map_err(StoreError::Db)? {
            let mark = match kind {
                ReceiptKind::Delivered => get_u64(&r, "delivered_seq")?,
                ReceiptKind::Read => get_u64(&r, "read_seq")?,
            };
            current.insert(r.try_get("user_id")?, (mark, get_u64(&r, "last_seq")?));
        }
    }
    // Who moves, from where to where; grouped by target for the updates.
    let mut by_target: BTreeMap<u64, Vec<UserId>> = BTreeMap::new();
    let mut from: HashMap<UserId, u64> = HashMap::new();
    for (user, (up_to, _)) in &readers {
        if let Some(&(mark, last)) = current.get(user) {
            let target = (*up_to).min(last);
            if target > mark {
                by_target.entry(target).or_default().push(*user);
                from.insert(*user, mark);
            }
        }
    }
    let mut moved: BTreeMap<UserId, (u64, u64)> = BTreeMap::new();
    for (target, users) in &by_target {
        for chunk in users.chunks(CHUNK) {
            // Placeholders in text order, each bound in that order.
            let mut p = Params::new(backend);
            let bound = to_i64(*target);
            let (set, column, targets) = match kind {
                ReceiptKind::Delivered => {
                    (format!("delivered_seq = {}", p.one()), "delivered_seq", 1)
                }
                ReceiptKind::Read => (
                    format!(
                        "read_seq = {}, delivered_seq = CASE WHEN delivered_seq < {} THEN {} \
                         ELSE delivered_seq END",
                        p.one(),
                        p.one(),
                        p.one()
                    ),
                    "read_seq",
                    3,
                ),
            };
            let sql = format!(
                "UPDATE conversation_members SET {set} \
                 WHERE conversation_id = {} AND {column} < {} AND user_id IN ({}) \
                 RETURNING user_id",
                p.one(),
                p.one(),
                p.list(chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for _ in 0..targets {
                q = q.bind(bound);
            }
            q = q.bind(conversation_id).bind(bound);
            for u in chunk {
                q = q.bind(*u);
            }
            for r in q.fetch_all(&mut **tx).await.map_err(StoreError::Db)? {
                let user: UserId = r.try_get("user_id")?;
                moved.insert(user, (from.get(&user).copied().unwrap_or(0), *target));
            }
        }
    }
    // Only the authors of the newly covered messages hear of it: in a
    // group of 1,000, a read makes events for them, not for everyone.
    // One query per distinct range (every member that got the same
    // message shares one).
    let mut authors: HashMap<(u64, u64), Vec<UserId>> = HashMap::new();
    for range in moved.values() {
        if authors.contains_key(range) {
            continue;
        }
        let list = sqlx::query(
            "SELECT DISTINCT sender_id FROM messages WHERE conversation_id = $1 \
             AND seq > $2 AND seq <= $3 AND kind <> 'system'",
        )
        .bind(conversation_id)
        .bind(to_i64(range.0))
        .bind(to_i64(range.1))
        .fetch_all(&mut **tx)
        .await
        .map_err(StoreError::Db)?
        .iter()
        .map(|r| r.try_get("sender_id"))
        .collect::<Result<Vec<UserId>, _>>()?;
        authors.insert(*range, list);
    }
    let mut rows: Vec<(UserId, NewEvent)> = Vec::new();
    let mut bodies: Vec<(usize, std::sync::Arc<SharedBody>)> = Vec::new();
    for (reader, (_, up_to)) in &moved {
        let (_, username) = readers[reader];
        let receipt = NewEvent::Receipt {
            conversation_id,
            actor_id: *reader,
            kind,
            up_to_seq: *up_to,
        };
        let body = SharedBody::new(EventBody::Receipt(Receipt {
            conversation_id,
            by: username.to_string(),
            kind,
            up_to_seq: *up_to,
            at_ms: now,
        }));
        for author in &authors[&moved[reader]] {
            if author != reader {
                bodies.push((rows.len(), body.clone()));
                rows.push((*author, receipt.clone()));
            }
        }
        if kind == ReceiptKind::Read {
            bodies.push((
                rows.len(),
                SharedBody::new(EventBody::ReadPosition(ReadPosition {
                    conversation_id,
                    up_to_seq: *up_to,
                })),
            ));
            rows.push((
                *reader,
                NewEvent::ReadPosition {
                    conversation_id,
                    up_to_seq: *up_to,
                },
            ));
        }
    }
    let seqs = append_rows(tx, backend, &rows, now)
        .await
        .map_err(StoreError::Db)?;
    let mut fanout = Fanout::new();
    for (i, body) in bodies {
        fanout.push_shared(&body, [(rows[i].0, seqs[i])]);
    }
    let outcomes = wants
        .iter()
        .map(|w| {
            if current.contains_key(&w.user_id) {
                Ok(())
            } else {
                Err(ServiceError::NotFound(format!(
                    "conversation {conversation_id} not found"
                )))
            }
        })
        .collect();
    Ok((outcomes, fanout))
}

/// Members per statement: keeps bind counts far below both backends'
/// limits.
const CHUNK: usize = 500;
