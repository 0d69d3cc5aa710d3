//! Profiles: display name, status line, avatar; and the user directory
//! (search by username or display-name prefix).
//!
//! A user who blocked the viewer is invisible to them: `get` answers
//! `not_found` (as for a user that does not exist) and search skips them.

use quichat_proto::event::EventBody;
use quichat_proto::media::{MediaId, MediaKind};
use quichat_proto::social::{Profile, ProfileUpdate, MAX_DISPLAY_NAME_CHARS, MAX_STATUS_CHARS};
use quichat_proto::types::UserId;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::accounts::Session;
use crate::contacts;
use crate::error::{ServiceError, StoreError};
use crate::events::{append_all, Fanout};
use crate::media::meta::{media_columns, media_from_row};
use crate::media::MediaMeta;
use crate::store::{now_ms, Store};

/// Columns (`p_*` plus the avatar's `md_*`) that [`profile_from_row`]
/// reads, from `users u` joined with [`PROFILE_JOINS`].
pub const PROFILE_COLUMNS: &str = concat!(
    "u.id AS p_id, u.username AS p_username, u.display_name AS p_display_name, \
     u.status_line AS p_status, ",
    media_columns!()
);

/// Joins that [`PROFILE_COLUMNS`] needs after `users u`.
pub const PROFILE_JOINS: &str = "LEFT JOIN media md ON md.id = u.avatar_media_id \
     LEFT JOIN media_objects mo ON mo.sha256 = md.sha256";

/// Builds a [`Profile`] from a row holding [`PROFILE_COLUMNS`].
pub fn profile_from_row(row: &AnyRow) -> Result<Profile, ServiceError> {
    let avatar: Option<String> = row.try_get("md_id")?;
    Ok(Profile {
        username: row.try_get("p_username")?,
        display_name: row.try_get("p_display_name")?,
        status: row.try_get("p_status")?,
        avatar: match avatar {
            Some(_) => Some(media_from_row(row)?),
            None => None,
        },
    })
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub(crate) fn like_prefix(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Trims user-written text (a display name, a note, a category name) and
/// checks it: no control characters, at most `max_chars` characters.
pub fn clean_text(what: &str, text: &str, max_chars: usize) -> Result<String, ServiceError> {
    let text = text.trim();
    if text.chars().any(char::is_control) {
        return Err(ServiceError::InvalidArgument(format!(
            "the {what} may not contain control characters"
        )));
    }
    let n = text.chars().count();
    if n > max_chars {
        return Err(ServiceError::InvalidArgument(format!(
            "the {what} is {n} characters; the limit is {max_chars}"
        )));
    }
    Ok(text.to_string())
}

/// The profiles service.
#[derive(Debug, Clone)]
pub struct Profiles {
    store: Store,
    media: MediaMeta,
}

impl Profiles {
    /// Wraps the store.
    pub fn new(store: Store, media: MediaMeta) -> Self {
        Profiles { store, media }
    }

    /// `username`'s profile as `viewer` may see it.
    pub async fn get(&self, viewer: &Session, username: &str) -> Result<Profile, ServiceError> {
        let sql = format!(
            "SELECT {PROFILE_COLUMNS} FROM users u {PROFILE_JOINS} \
             WHERE u.username = $1 AND NOT EXISTS ( \
                 SELECT 1 FROM blocks b WHERE b.user_id = u.id AND b.blocked_id = $2)"
        );
        let row = sqlx::query(&sql)
            .bind(username.trim().to_lowercase())
            .bind(viewer.user_id)
            .fetch_optional(self.store.pool())
            .await?
            .ok_or_else(|| ServiceError::UnknownUser(crate::accounts::echo(username)))?;
        profile_from_row(&row)
    }

    /// Changes the caller's profile. Friends (except those the caller
    /// blocked) and the caller's devices get a `ProfileUpdated` event.
    pub async fn update(
        &self,
        session: &Session,
        update: &ProfileUpdate,
    ) -> Result<(Profile, Fanout), ServiceError> {
        let display_name = update
            .display_name
            .as_deref()
            .map(|n| clean_text("display name", n, MAX_DISPLAY_NAME_CHARS))
            .transpose()?;
        let status = update
            .status
            .as_deref()
            .map(|s| clean_text("status line", s, MAX_STATUS_CHARS))
            .transpose()?;
        if let Some(Some(id)) = update.avatar {
            self.check_avatar(session.user_id, id).await?;
        }
        let now = now_ms();
        let mut w = self.store.begin_write().await?;
        if let Some(name) = &display_name {
            sqlx::query(
                "UPDATE users SET display_name = $1, display_name_lower = $2 WHERE id = $3",
            )
            .bind(name)
            .bind(name.to_lowercase())
            .bind(session.user_id)
            .execute(&mut *w.tx)
            .await?;
        }
        if let Some(status) = &status {
            sqlx::query("UPDATE users SET status_line = $1 WHERE id = $2")
                .bind(status)
                .bind(session.user_id)
                .execute(&mut *w.tx)
                .await?;
        }
        if let Some(avatar) = update.avatar {
            sqlx::query("UPDATE users SET avatar_media_id = $1 WHERE id = $2")
                .bind(avatar.map(|id| id.to_string()))
                .bind(session.user_id)
                .execute(&mut *w.tx)
                .await?;
        }
        let sql = format!("SELECT {PROFILE_COLUMNS} FROM users u {PROFILE_JOINS} WHERE u.id = $1");
        let row = sqlx::query(&sql)
            .bind(session.user_id)
            .fetch_one(&mut *w.tx)
            .await?;
        let profile = profile_from_row(&row)?;
        let mut audience = contacts::friends_not_blocked(&mut *w.tx, session.user_id)
            .await
            .map_err(StoreError::Db)?;
        audience.push(session.user_id);
        let fanout = append_all(
            &mut w.tx,
            self.store.backend(),
            &audience,
            EventBody::ProfileUpdated(profile.clone()),
            now,
        )
        .await
        .map_err(StoreError::Db)?;
        w.commit().await?;
        Ok((profile, fanout))
    }

    /// An avatar must be an image the caller uploaded (or can see).
    pub async fn check_avatar(&self, user: UserId, id: MediaId) -> Result<(), ServiceError> {
        let located = self.media.visible(user, id).await?.ok_or_else(|| {
            ServiceError::NotFound(format!("media {id} not found; upload the image first"))
        })?;
        if located.info.kind != MediaKind::Image {
            return Err(ServiceError::InvalidArgument(format!(
                "an avatar must be an image, not {}",
                located.info.kind.as_str()
            )));
        }
        Ok(())
    }

    /// Users whose username or display name starts with `prefix`, by
    /// username, after `after`; never one who blocked the viewer, nor the
    /// viewer. Returns the page and whether more exist.
    pub async fn search(
        &self,
        viewer: &Session,
        prefix: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<Profile>, bool), ServiceError> {
        let prefix = prefix.trim().to_lowercase();
        if prefix.is_empty() || prefix.chars().count() > MAX_DISPLAY_NAME_CHARS {
            return Err(ServiceError::InvalidArgument(format!(
                "search for 1 to {MAX_DISPLAY_NAME_CHARS} characters"
            )));
        }
        let limit = limit.clamp(1, quichat_proto::rpc::MAX_PAGE);
        let sql = format!(
            "SELECT {PROFILE_COLUMNS} FROM users u {PROFILE_JOINS} \
             WHERE (u.username LIKE $1 ESCAPE '\\' OR u.display_name_lower LIKE $1 ESCAPE '\\') \
             AND u.username > $2 AND u.id <> $3 \
             AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.user_id = u.id AND b.blocked_id = $3) \
             ORDER BY u.username LIMIT $4"
        );
        let rows = sqlx::query(&sql)
            .bind(like_prefix(&prefix))
            .bind(after.unwrap_or(""))
            .bind(viewer.user_id)
            .bind(i64::from(limit) + 1)
            .fetch_all(self.store.pool())
            .await?;
        let has_more = rows.len() > limit as usize;
        let users = rows
            .iter()
            .take(limit as usize)
            .map(profile_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((users, has_more))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_are_escaped() {
        assert_eq!(like_prefix("al"), "al%");
        assert_eq!(like_prefix("a_%\\"), "a\\_\\%\\\\%");
    }

    #[test]
    fn profile_text_is_bounded_and_clean() {
        assert_eq!(clean_text("x", "  Bob  ", 10).unwrap(), "Bob");
        assert!(clean_text("x", "a\u{1b}b", 10).is_err());
        assert!(clean_text("x", &"é".repeat(11), 10).is_err());
    }
}
