//! The durable job queue in SQL.
//!
//! Claiming is one `UPDATE … WHERE id = (SELECT … LIMIT 1) RETURNING`: on
//! PostgreSQL the subquery uses `FOR UPDATE SKIP LOCKED`, so concurrent
//! workers never claim the same job; on SQLite the statement runs under
//! the database's single-writer lock (and the process's write mutex),
//! which gives the same guarantee. A running job whose lease expired is
//! claimable again: that is how a dead worker's job is taken over.

use std::time::Duration;

use quichat_proto::event::EventBody;
use quichat_proto::types::{ConversationId, MessageId, MessageUpdate, Transcript, UserId};
use sqlx::Row;

use crate::error::{ServiceError, StoreError};
use crate::events::Fanout;
use crate::events::{append_event, NewEvent};
use crate::message_rows::StoredSegment;
use crate::store::{get_u64, now_ms, to_i64, Backend, Store};

/// A claimed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Job id.
    pub id: i64,
    /// The voice message.
    pub message_id: MessageId,
    /// Its media.
    pub media_id: String,
    /// Attempts so far, including this one.
    pub attempts: u32,
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Transcribed.
    Done(Transcript),
    /// Will be retried after a backoff.
    Retry {
        /// Why it failed this time.
        error: String,
    },
    /// Gave up (bad audio, or too many attempts).
    Failed {
        /// Why.
        reason: String,
    },
}

/// The queue.
#[derive(Debug, Clone)]
pub struct Jobs {
    store: Store,
}

/// Backoff before retry `attempt` (1-based): 2, 4, 8, … seconds, at most 5 min.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_secs(2u64.saturating_pow(attempt.min(16)).min(300))
}

impl Jobs {
    /// Wraps the store.
    pub fn new(store: Store) -> Self {
        Jobs { store }
    }

    /// Jobs queued or running.
    pub async fn queue_depth(&self) -> Result<u64, ServiceError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM transcription_jobs WHERE state IN ('queued', 'running')",
        )
        .fetch_one(self.store.pool())
        .await?;
        Ok(u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or(0))
    }

    /// Claims the oldest runnable job for `worker` with a lease.
    pub async fn claim(&self, worker: &str, lease: Duration) -> Result<Option<Job>, ServiceError> {
        let now = now_ms();
        let lock = match self.store.backend() {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE transcription_jobs SET state = 'running', attempts = attempts + 1, \
             lease_until = $1, worker = $2, updated_at = $3 \
             WHERE id = (SELECT id FROM transcription_jobs \
                 WHERE (state = 'queued' AND run_after <= $3) OR (state = 'running' AND lease_until < $3) \
                 ORDER BY id LIMIT 1 {lock}) \
             RETURNING id, message_id, media_id, attempts"
        );
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let mut w = self.store.begin_write().await?;
        let row = sqlx::query(&sql)
            .bind(now.saturating_add(lease_ms))
            .bind(worker)
            .bind(now)
            .fetch_optional(&mut *w.tx)
            .await
            .map_err(StoreError::Db)?;
        w.commit().await?;
        row.map(|r| {
            Ok(Job {
                id: r.try_get("id")?,
                message_id: r.try_get("message_id")?,
                media_id: r.try_get("media_id")?,
                attempts: u32::try_from(get_u64(&r, "attempts")?).unwrap_or(u32::MAX),
            })
        })
        .transpose()
    }

    /// Where the job's audio is stored.
    pub async fn object_key(&self, job: &Job) -> Result<String, ServiceError> {
        let row = sqlx::query(
            "SELECT mo.object_key AS object_key FROM media md \
             JOIN media_objects mo ON mo.sha256 = md.sha256 WHERE md.id = $1",
        )
        .bind(&job.media_id)
        .fetch_one(self.store.pool())
        .await?;
        Ok(row.try_get("object_key")?)
    }

    /// Records how a job ended. Returns the events to deliver (empty when
    /// the job will be retried, or when another worker took it over).
    pub async fn finish(
        &self,
        job: &Job,
        worker: &str,
        outcome: Outcome,
        max_attempts: u32,
        outbox: bool,
    ) -> Result<Fanout, ServiceError> {
        let now = now_ms();
        let outcome = match outcome {
            Outcome::Retry { error } if job.attempts >= max_attempts => Outcome::Failed {
                reason: format!("gave up after {} attempts: {error}", job.attempts),
            },
            other => other,
        };
        let mut w = self.store.begin_write().await?;
        let (state, run_after, last_error) = match &outcome {
            Outcome::Done(_) => ("done", now, None),
            Outcome::Retry { error } => (
                "queued",
                now.saturating_add(
                    i64::try_from(backoff(job.attempts).as_millis()).unwrap_or(i64::MAX),
                ),
                Some(error.clone()),
            ),
            Outcome::Failed { reason } => ("failed", now, Some(reason.clone())),
        };
        let owned = sqlx::query(
            "UPDATE transcription_jobs SET state = $1, run_after = $2, last_error = $3, \
             lease_until = NULL, updated_at = $4 \
             WHERE id = $5 AND state = 'running' AND worker = $6",
        )
        .bind(state)
        .bind(run_after)
        .bind(last_error)
        .bind(now)
        .bind(job.id)
        .bind(worker)
        .execute(&mut *w.tx)
        .await
        .map_err(StoreError::Db)?;
        if owned.rows_affected() == 0 {
            // The lease expired and another worker owns the job now.
            return Ok(Fanout::new());
        }
        let transcript = match outcome {
            Outcome::Retry { .. } => {
                w.commit().await?;
                return Ok(Fanout::new());
            }
            Outcome::Done(t) => {
                let segments: Vec<StoredSegment> = t
                    .segments
                    .iter()
                    .map(|s| StoredSegment {
                        start_ms: s.start_ms,
                        end_ms: s.end_ms,
                        text: s.text.clone(),
                    })
                    .collect();
                let json = serde_json::to_string(&segments)
                    .map_err(|e| ServiceError::Internal(format!("segments: {e}")))?;
                sqlx::query(
                    "UPDATE transcripts SET status = 'done', text = $1, language = $2, segments = $3, \
                     error = NULL, updated_at = $4 WHERE message_id = $5",
                )
                .bind(&t.text)
                .bind(&t.language)
                .bind(json)
                .bind(now)
                .bind(job.message_id)
                .execute(&mut *w.tx)
                .await
                .map_err(StoreError::Db)?;
                t
            }
            Outcome::Failed { reason } => {
                sqlx::query(
                    "UPDATE transcripts SET status = 'failed', error = $1, updated_at = $2 WHERE message_id = $3",
                )
                .bind(&reason)
                .bind(now)
                .bind(job.message_id)
                .execute(&mut *w.tx)
                .await
                .map_err(StoreError::Db)?;
                Transcript {
                    status: quichat_proto::types::TranscriptStatus::Failed { reason },
                    ..Transcript::pending()
                }
            }
        };
        let row = sqlx::query("SELECT conversation_id, seq FROM messages WHERE id = $1")
            .bind(job.message_id)
            .fetch_one(&mut *w.tx)
            .await
            .map_err(StoreError::Db)?;
        let conversation_id: ConversationId = row.try_get("conversation_id")?;
        let seq = get_u64(&row, "seq")?;
        // Members who joined after the message never saw it; those who
        // deleted it for themselves do not want its transcript.
        let members: Vec<UserId> = sqlx::query(
            "SELECT cm.user_id FROM conversation_members cm \
             WHERE cm.conversation_id = $1 AND cm.joined_seq < $2 \
             AND NOT EXISTS (SELECT 1 FROM hidden_messages h \
                             WHERE h.user_id = cm.user_id AND h.message_id = $3)",
        )
        .bind(conversation_id)
        .bind(to_i64(seq))
        .bind(job.message_id)
        .fetch_all(&mut *w.tx)
        .await
        .map_err(StoreError::Db)?
        .iter()
        .map(|r| r.try_get("user_id"))
        .collect::<Result<_, _>>()?;
        let fanout = append_event(
            &mut w.tx,
            self.store.backend(),
            &members,
            &NewEvent::MessageUpdated {
                conversation_id,
                message_id: job.message_id,
            },
            &EventBody::MessageUpdated(MessageUpdate {
                conversation_id,
                message_id: job.message_id,
                seq,
                transcript,
            }),
            now,
        )
        .await
        .map_err(StoreError::Db)?;
        if outbox {
            for d in &fanout {
                super::outbox::record(&mut w.tx, d.user, d.seq, now).await?;
            }
        }
        w.commit().await?;
        Ok(fanout)
    }
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_secs(2));
        assert_eq!(backoff(2), Duration::from_secs(4));
        assert_eq!(backoff(5), Duration::from_secs(32));
        assert_eq!(backoff(9), Duration::from_secs(300));
        assert_eq!(backoff(u32::MAX), Duration::from_secs(300));
    }
}
