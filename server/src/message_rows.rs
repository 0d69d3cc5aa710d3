//! How a stored message is read back: the columns and joins every query
//! that returns messages uses (history, sync, the conversation list), and
//! the row mapping. Used by `messages`, `history`, `conversations` and
//! `events`; depends on none of them.

use quichat_proto::media::MediaKind;
use quichat_proto::types::{Message, MessageBody, Quote, Recipient, Reply, QUOTE_CHARS};
use quichat_proto::types::{Transcript, TranscriptSegment, TranscriptStatus};
use sqlx::any::AnyRow;
use sqlx::Row;
use uuid::Uuid;

use crate::error::ServiceError;
use crate::media::meta::{media_columns, media_from_row};
use crate::store::get_u64;

/// Columns (aliased `m_*` and `md_*`) that [`message_from_row`] reads,
/// from `messages m` joined with [`MESSAGE_JOINS`].
pub const MESSAGE_COLUMNS: &str = concat!(
    "m.id AS m_id, m.conversation_id AS m_conversation_id, \
     m.seq AS m_seq, s.username AS m_sender, m.client_id AS m_client_id, \
     r.username AS m_to, m.created_at AS m_created_at, m.kind AS m_kind, m.body AS m_body, \
     t.status AS t_status, t.text AS t_text, t.language AS t_language, \
     t.segments AS t_segments, t.error AS t_error, \
     m.edited_at AS m_edited_at, m.recalled_at AS m_recalled_at, rb.username AS m_recalled_by, \
     m.reply_to_seq AS m_reply_to_seq, q.kind AS q_kind, q.body AS q_body, \
     qs.username AS q_sender, qmd.filename AS q_filename, ",
    media_columns!()
);

/// Joins that [`MESSAGE_COLUMNS`] needs after `messages m`.
pub const MESSAGE_JOINS: &str = "LEFT JOIN users s ON s.id = m.sender_id \
     LEFT JOIN users r ON r.id = m.to_user_id \
     LEFT JOIN media md ON md.id = m.media_id \
     LEFT JOIN media_objects mo ON mo.sha256 = md.sha256 \
     LEFT JOIN transcripts t ON t.message_id = m.id \
     LEFT JOIN users rb ON rb.id = m.recalled_by \
     LEFT JOIN messages q ON q.conversation_id = m.conversation_id AND q.seq = m.reply_to_seq \
     LEFT JOIN users qs ON qs.id = q.sender_id \
     LEFT JOIN media qmd ON qmd.id = q.media_id";

/// Builds a [`Message`] from a row holding [`MESSAGE_COLUMNS`].
pub fn message_from_row(row: &AnyRow) -> Result<Message, ServiceError> {
    let client_id: String = row.try_get("m_client_id")?;
    let kind: String = row.try_get("m_kind")?;
    let body: String = row.try_get("m_body")?;
    let to: Option<String> = row.try_get("m_to")?;
    Ok(Message {
        id: row.try_get("m_id")?,
        conversation_id: row.try_get("m_conversation_id")?,
        seq: get_u64(row, "m_seq")?,
        sender: row.try_get("m_sender")?,
        client_id: Uuid::parse_str(&client_id)
            .map_err(|e| ServiceError::Internal(format!("stored client id: {e}")))?,
        // Direct messages name their addressee; group messages have none.
        to: match to {
            Some(name) => Recipient::User(name),
            None => Recipient::Group(row.try_get("m_conversation_id")?),
        },
        sent_at_ms: row.try_get("m_created_at")?,
        transcript: transcript_from_row(row)?,
        body: match kind.as_str() {
            "text" => match row.try_get::<Option<i64>, _>("m_edited_at")? {
                Some(edited_at_ms) => MessageBody::Edited {
                    text: body,
                    edited_at_ms,
                },
                None => MessageBody::Text(body),
            },
            "reply" => MessageBody::Reply(Box::new(Reply {
                to_seq: u64::try_from(
                    row.try_get::<Option<i64>, _>("m_reply_to_seq")?
                        .unwrap_or_default(),
                )
                .unwrap_or_default(),
                text: body,
                quote: quote_of(
                    &row.try_get::<Option<String>, _>("q_kind")?
                        .unwrap_or_default(),
                    &row.try_get::<Option<String>, _>("q_body")?
                        .unwrap_or_default(),
                    row.try_get::<Option<String>, _>("q_sender")?
                        .unwrap_or_default(),
                    row.try_get::<Option<String>, _>("q_filename")?.as_deref(),
                ),
                edited_at_ms: row.try_get("m_edited_at")?,
            })),
            "recalled" => MessageBody::Recalled {
                by: row
                    .try_get::<Option<String>, _>("m_recalled_by")?
                    .unwrap_or_default(),
                at_ms: row
                    .try_get::<Option<i64>, _>("m_recalled_at")?
                    .unwrap_or_default(),
            },
            "system" => MessageBody::System(serde_json::from_str(&body).map_err(|e| {
                ServiceError::Internal(format!("stored group notice does not decode: {e}"))
            })?),
            other if MediaKind::parse(other).is_some() => MessageBody::Media {
                media: Box::new(media_from_row(row)?),
                caption: body,
            },
            other => {
                return Err(ServiceError::Internal(format!(
                    "unknown message kind {other}"
                )))
            }
        },
    })
}

/// What a reply shows of the message it answers (`kind`, `body` and the
/// media's `filename` as stored now): nothing of it once recalled.
pub fn quote_of(kind: &str, body: &str, sender: String, filename: Option<&str>) -> Quote {
    let snippet = match kind {
        "text" | "reply" => body,
        "recalled" | "system" => "",
        _ if !body.is_empty() => body,
        _ => filename.unwrap_or_default(),
    };
    Quote {
        sender,
        kind: kind.to_string(),
        snippet: snippet.chars().take(QUOTE_CHARS).collect(),
        recalled: kind == "recalled",
    }
}

/// The transcript columns (`t_*`) of a message row, if it has one.
pub fn transcript_from_row(row: &AnyRow) -> Result<Option<Transcript>, ServiceError> {
    let status: Option<String> = row.try_get("t_status")?;
    let Some(status) = status else {
        return Ok(None);
    };
    let error: Option<String> = row.try_get("t_error")?;
    let segments: Option<String> = row.try_get("t_segments")?;
    let segments: Vec<TranscriptSegment> = match segments {
        Some(json) => serde_json::from_str::<Vec<StoredSegment>>(&json)
            .map_err(|e| ServiceError::Internal(format!("stored segments: {e}")))?
            .into_iter()
            .map(|s| TranscriptSegment {
                start_ms: s.start_ms,
                end_ms: s.end_ms,
                text: s.text,
            })
            .collect(),
        None => Vec::new(),
    };
    Ok(Some(Transcript {
        status: match status.as_str() {
            "done" => TranscriptStatus::Done,
            "failed" => TranscriptStatus::Failed {
                reason: error.unwrap_or_else(|| "transcription failed".into()),
            },
            _ => TranscriptStatus::Pending,
        },
        text: row
            .try_get::<Option<String>, _>("t_text")?
            .unwrap_or_default(),
        language: row.try_get("t_language")?,
        segments,
    }))
}

/// How segments are stored (JSON in `transcripts.segments`).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct StoredSegment {
    /// Start in ms.
    pub start_ms: u64,
    /// End in ms.
    pub end_ms: u64,
    /// Text.
    pub text: String,
}
