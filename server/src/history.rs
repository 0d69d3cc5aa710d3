//! Paged history of one conversation, newest first.

use quichat_proto::types::{ConversationId, ConversationRef, Message};

use crate::accounts::Session;
use crate::conversations::Conversations;
use crate::error::ServiceError;
use crate::message_rows::{message_from_row, MESSAGE_COLUMNS, MESSAGE_JOINS};
use crate::store::{to_i64, Store};

/// The history service.
#[derive(Debug, Clone)]
pub struct History {
    store: Store,
    conversations: Conversations,
}

impl History {
    /// Wraps the store.
    pub fn new(store: Store, conversations: Conversations) -> Self {
        History {
            store,
            conversations,
        }
    }

    /// A page of history, newest first: messages before `before_seq` (or
    /// the newest), at most `limit`; and whether older ones exist.
    pub async fn page(
        &self,
        session: &Session,
        conv: &ConversationRef,
        before_seq: Option<u64>,
        limit: u32,
    ) -> Result<(Option<ConversationId>, Vec<Message>, bool), ServiceError> {
        let Some(conversation_id) = self.conversations.resolve(session, conv).await? else {
            return Ok((None, Vec::new(), false));
        };
        // A group member sees history from their join on.
        let since = self
            .conversations
            .joined_seq(session, conversation_id)
            .await?;
        let limit = limit.clamp(1, quichat_proto::rpc::MAX_PAGE);
        let before = before_seq.map(to_i64).unwrap_or(i64::MAX);
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m {MESSAGE_JOINS} \
             WHERE m.conversation_id = $1 AND m.seq < $2 AND m.seq > $4 \
             AND NOT EXISTS (SELECT 1 FROM hidden_messages h \
             WHERE h.user_id = $5 AND h.message_id = m.id) \
             ORDER BY m.seq DESC LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(conversation_id)
            .bind(before)
            .bind(i64::from(limit) + 1)
            .bind(to_i64(since))
            .bind(session.user_id)
            .fetch_all(self.store.pool())
            .await?;
        let has_more = rows.len() > limit as usize;
        let messages = rows
            .iter()
            .take(limit as usize)
            .map(message_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((Some(conversation_id), messages, has_more))
    }
}
