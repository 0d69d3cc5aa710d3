//! @mentions in group messages.
//!
//! When a group message is stored, its text (or a reply's) is scanned for
//! `@username` and `@all`. Mentioned members (not the author) get a row in
//! `mentions` and a [`Mention`] event right after the message event, in
//! the same transaction. `@all` counts only from the group's owner and
//! admins; from anyone else it is plain text, as in WeChat. A name that is
//! not a member is plain text too. Mentions are taken when a message is
//! sent: editing one in later mentions nobody.
//!
//! The unread ones ("you were mentioned", until the conversation is read
//! past them) come from [`unread`].

use std::collections::BTreeSet;

use quichat_proto::event::EventBody;
use quichat_proto::types::{ConversationId, Mention, MessageId, UserId, MAX_MENTIONS};
use sqlx::{Any, Row, Transaction};

use crate::error::{ServiceError, StoreError};
use crate::events::{append_all, Fanout};
use crate::store::{get_u64, to_i64, Backend, Store};

/// What a text mentions: lower-cased usernames (at most [`MAX_MENTIONS`])
/// and whether it says `@all`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Mentioned {
    /// `@name`s, lower-cased, without repeats.
    pub names: BTreeSet<String>,
    /// `@all` appears.
    pub all: bool,
}

/// Finds `@name` tokens: an `@` at the start or after a character that
/// cannot be in a username (so `bob@example.org` mentions nobody),
/// followed by username characters; a trailing `.` or `-` is punctuation
/// (`thanks @bob.`).
pub fn parse(text: &str) -> Mentioned {
    let mut found = Mentioned::default();
    if !text.contains('@') {
        return found;
    }
    let is_name = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    let mut previous: Option<char> = None;
    for (i, c) in text.char_indices() {
        let starts = c == '@' && previous.is_none_or(|p| !is_name(p) && p != '@');
        previous = Some(c);
        if !starts {
            continue;
        }
        let rest = &text[i + 1..];
        let len = rest.find(|c: char| !is_name(c)).unwrap_or(rest.len());
        let name = rest[..len]
            .trim_end_matches(['.', '-'])
            .to_ascii_lowercase();
        if name == "all" {
            found.all = true;
        } else if (3..=32).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_alphabetic())
            && found.names.len() < MAX_MENTIONS
        {
            found.names.insert(name);
        }
    }
    found
}

/// Records the mentions of group message `message_id` (seq `seq`, by
/// `author`, whose name is `author_name`) among `members`, and appends
/// each mentioned member's [`Mention`] event. Returns their fan-out.
#[allow(clippy::too_many_arguments)]
pub async fn record(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    conversation_id: ConversationId,
    message_id: MessageId,
    seq: u64,
    author: UserId,
    author_name: &str,
    text: &str,
    members: &[UserId],
    now: i64,
) -> Result<Fanout, ServiceError> {
    let mentioned = parse(text);
    if mentioned.names.is_empty() && !mentioned.all {
        return Ok(Fanout::new());
    }
    let everyone = mentioned.all && {
        let role: Option<i64> = sqlx::query_scalar(
            "SELECT role FROM conversation_members WHERE conversation_id = $1 AND user_id = $2",
        )
        .bind(conversation_id)
        .bind(author)
        .fetch_optional(&mut **tx)
        .await
        .map_err(StoreError::Db)?;
        // 1 admin, 2 owner (groups.rs).
        role.is_some_and(|r| r >= 1)
    };
    let mut by_name: Vec<UserId> = Vec::new();
    if !mentioned.names.is_empty() {
        let list = (2..2 + mentioned.names.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT cm.user_id FROM conversation_members cm JOIN users u ON u.id = cm.user_id \
             WHERE cm.conversation_id = $1 AND u.username IN ({list})"
        );
        let mut q = sqlx::query_scalar(&sql).bind(conversation_id);
        for name in &mentioned.names {
            q = q.bind(name.as_str());
        }
        by_name = q.fetch_all(&mut **tx).await.map_err(StoreError::Db)?;
    }
    let named: BTreeSet<UserId> = by_name.into_iter().collect();
    let targets: Vec<(UserId, bool)> = if everyone {
        members.iter().map(|&u| (u, !named.contains(&u))).collect()
    } else {
        named.iter().map(|&u| (u, false)).collect()
    };
    let targets: Vec<(UserId, bool)> = targets.into_iter().filter(|(u, _)| *u != author).collect();
    if targets.is_empty() {
        return Ok(Fanout::new());
    }
    for chunk in targets.chunks(300) {
        let values = (0..chunk.len())
            .map(|i| format!("($1, ${}, ${})", 2 + 2 * i, 3 + 2 * i))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("INSERT INTO mentions (message_id, user_id, via_all) VALUES {values}");
        let mut q = sqlx::query(&sql).bind(message_id);
        for (user, all) in chunk {
            q = q.bind(*user).bind(i64::from(*all));
        }
        q.execute(&mut **tx).await.map_err(StoreError::Db)?;
    }
    let mut fanout = Fanout::new();
    for all in [false, true] {
        let users: Vec<UserId> = targets
            .iter()
            .filter(|(_, a)| *a == all)
            .map(|(u, _)| *u)
            .collect();
        if users.is_empty() {
            continue;
        }
        let body = EventBody::Mention(Mention {
            conversation_id,
            seq,
            by: author_name.to_string(),
            all,
        });
        fanout.extend(
            append_all(tx, backend, &users, body, now)
                .await
                .map_err(StoreError::Db)?,
        );
    }
    Ok(fanout)
}

/// The caller's unread mentions: in messages after their read position in
/// a group they are still in, not recalled and not deleted for them;
/// oldest first, at most [`quichat_proto::rpc::MAX_PAGE`].
pub async fn unread(store: &Store, user: UserId) -> Result<Vec<Mention>, ServiceError> {
    let rows = sqlx::query(
        "SELECT m.conversation_id AS conversation_id, m.seq AS seq, u.username AS by_name, \
         mn.via_all AS via_all \
         FROM mentions mn \
         JOIN messages m ON m.id = mn.message_id \
         JOIN conversation_members cm ON cm.conversation_id = m.conversation_id \
              AND cm.user_id = mn.user_id \
         JOIN users u ON u.id = m.sender_id \
         WHERE mn.user_id = $1 AND m.seq > cm.read_seq AND m.recalled_at IS NULL \
           AND NOT EXISTS (SELECT 1 FROM hidden_messages h \
                           WHERE h.user_id = mn.user_id AND h.message_id = mn.message_id) \
         ORDER BY mn.message_id LIMIT $2",
    )
    .bind(user)
    .bind(to_i64(u64::from(quichat_proto::rpc::MAX_PAGE)))
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Mention {
                conversation_id: r.try_get("conversation_id")?,
                seq: get_u64(r, "seq")?,
                by: r.try_get("by_name")?,
                all: r.try_get::<i64, _>("via_all")? != 0,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<String> {
        parse(text).names.into_iter().collect()
    }

    #[test]
    fn mentions_are_found_where_a_person_would_see_them() {
        assert_eq!(names("hi @bob and @Carol."), ["bob", "carol"]);
        assert_eq!(names("@bob"), ["bob"]);
        assert_eq!(names("(@bob)"), ["bob"]);
        assert_eq!(names("@bob, @bob"), ["bob"]);
        assert_eq!(names("@dr.who-2 hi"), ["dr.who-2"]);
        // Not mentions: an address, a lone @, too short, not a username.
        assert!(names("mail bob@example.org").is_empty());
        assert!(names("@ bob").is_empty());
        assert!(names("@@bob").is_empty());
        assert!(names("@bo").is_empty());
        assert!(names("@9lives").is_empty());
        assert!(names("no mention").is_empty());
        assert!(parse("@all come").all);
        assert!(parse("ALL: @ALL!").all);
        assert!(!parse("@alligator").all);
        assert_eq!(names("@alligator"), ["alligator"]);
        let many: String = (0..80).map(|i| format!("@user{i:03} ")).collect();
        assert_eq!(parse(&many).names.len(), MAX_MENTIONS);
    }
}
