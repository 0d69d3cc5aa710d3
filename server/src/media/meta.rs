//! Media metadata in SQL: objects, per-upload rows, quotas, visibility.
//!
//! Visibility rule (every read goes through it): a user may see a media
//! object if they uploaded it, or if it was shared in a message of a
//! conversation they are a member of.

use quichat_proto::media::{MediaId, MediaInfo, MediaKind};
use quichat_proto::types::UserId;
use sqlx::any::AnyRow;
use sqlx::Row;
use uuid::Uuid;

use crate::error::ServiceError;
use crate::store::{now_ms, to_i64, Store};

/// Columns (aliased `md_*`) read by [`media_from_row`]; queries join
/// `media md` and `media_objects mo`. A macro so that other column lists
/// can `concat!` it.
macro_rules! media_columns {
    () => {
        "md.id AS md_id, md.kind AS md_kind, md.size AS md_size, \
         md.sha256 AS md_sha256, md.mime AS md_mime, md.filename AS md_filename, \
         md.duration_ms AS md_duration_ms, mo.width AS md_width, mo.height AS md_height, \
         mo.thumb_key AS md_thumb_key"
    };
}
pub(crate) use media_columns;

/// [`media_columns!`] as a constant.
pub const MEDIA_COLUMNS: &str = media_columns!();

/// Builds [`MediaInfo`] from a row holding [`MEDIA_COLUMNS`].
pub fn media_from_row(row: &AnyRow) -> Result<MediaInfo, ServiceError> {
    let id: String = row.try_get("md_id")?;
    let kind: String = row.try_get("md_kind")?;
    let sha: String = row.try_get("md_sha256")?;
    let size: i64 = row.try_get("md_size")?;
    let duration: Option<i64> = row.try_get("md_duration_ms")?;
    let width: Option<i64> = row.try_get("md_width")?;
    let height: Option<i64> = row.try_get("md_height")?;
    let thumb: Option<String> = row.try_get("md_thumb_key")?;
    let bad = |what: &str| ServiceError::Internal(format!("stored media {what} is invalid"));
    let sha256: [u8; 32] = hex::decode(&sha)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| bad("hash"))?;
    Ok(MediaInfo {
        id: Uuid::parse_str(&id).map_err(|_| bad("id"))?,
        kind: MediaKind::parse(&kind).ok_or_else(|| bad("kind"))?,
        size: u64::try_from(size).unwrap_or(0),
        sha256,
        mime: row.try_get("md_mime")?,
        filename: row.try_get("md_filename")?,
        width: width.and_then(|w| u32::try_from(w).ok()),
        height: height.and_then(|h| u32::try_from(h).ok()),
        duration_ms: duration.and_then(|d| u64::try_from(d).ok()),
        has_thumbnail: thumb.is_some(),
    })
}

/// A stored object's facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectFacts {
    /// Size in bytes.
    pub size: u64,
    /// What the server sniffed from the content.
    pub sniffed_mime: Option<String>,
}

/// What to record for a newly stored object.
#[derive(Debug, Clone)]
pub struct NewObject {
    /// Hex SHA-256.
    pub sha256_hex: String,
    /// Size.
    pub size: u64,
    /// Key of the content.
    pub object_key: String,
    /// Key of the thumbnail, if one was made.
    pub thumb_key: Option<String>,
    /// Image dimensions.
    pub width: Option<u32>,
    /// Image dimensions.
    pub height: Option<u32>,
    /// Sniffed MIME type.
    pub sniffed_mime: Option<String>,
}

/// A media row plus where its bytes are.
#[derive(Debug, Clone)]
pub struct Located {
    /// Metadata.
    pub info: MediaInfo,
    /// Key of the original.
    pub object_key: String,
    /// Key of the thumbnail.
    pub thumb_key: Option<String>,
}

/// SQL access for media.
#[derive(Debug, Clone)]
pub struct MediaMeta {
    store: Store,
}

impl MediaMeta {
    /// Wraps the store.
    pub fn new(store: Store) -> Self {
        MediaMeta { store }
    }

    /// The stored object with this hash, if any.
    pub async fn object(&self, sha256_hex: &str) -> Result<Option<ObjectFacts>, ServiceError> {
        let row = sqlx::query("SELECT size, sniffed_mime FROM media_objects WHERE sha256 = $1")
            .bind(sha256_hex)
            .fetch_optional(self.store.pool())
            .await?;
        row.map(|r| {
            let size: i64 = r.try_get("size")?;
            Ok(ObjectFacts {
                size: u64::try_from(size).unwrap_or(0),
                sniffed_mime: r.try_get("sniffed_mime")?,
            })
        })
        .transpose()
    }

    /// Bytes the user's uploads take (each upload counts, deduplicated or not).
    pub async fn used_bytes(&self, user: UserId) -> Result<u64, ServiceError> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) AS used FROM media WHERE uploader_id = $1",
        )
        .bind(user)
        .fetch_one(self.store.pool())
        .await?;
        let used: i64 = row.try_get("used")?;
        Ok(u64::try_from(used).unwrap_or(0))
    }

    /// True when the user has uploaded this content before.
    pub async fn uploaded_by(&self, user: UserId, sha256_hex: &str) -> Result<bool, ServiceError> {
        let row = sqlx::query(
            "SELECT 1 AS one FROM media WHERE uploader_id = $1 AND sha256 = $2 LIMIT 1",
        )
        .bind(user)
        .bind(sha256_hex)
        .fetch_optional(self.store.pool())
        .await?;
        Ok(row.is_some())
    }

    /// Records an object (no-op if it exists) and a media row for it.
    pub async fn record(
        &self,
        uploader: UserId,
        object: &NewObject,
        info: &MediaInfo,
    ) -> Result<(), ServiceError> {
        let now = now_ms();
        let mut w = self.store.begin_write().await?;
        sqlx::query(
            "INSERT INTO media_objects (sha256, size, object_key, thumb_key, width, height, sniffed_mime, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (sha256) DO NOTHING",
        )
        .bind(&object.sha256_hex)
        .bind(to_i64(object.size))
        .bind(&object.object_key)
        .bind(&object.thumb_key)
        .bind(object.width.map(i64::from))
        .bind(object.height.map(i64::from))
        .bind(&object.sniffed_mime)
        .bind(now)
        .execute(&mut *w.tx)
        .await?;
        sqlx::query(
            "INSERT INTO media (id, uploader_id, sha256, kind, mime, filename, size, duration_ms, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(info.id.to_string())
        .bind(uploader)
        .bind(&object.sha256_hex)
        .bind(info.kind.as_str())
        .bind(&info.mime)
        .bind(&info.filename)
        .bind(to_i64(info.size))
        .bind(info.duration_ms.map(to_i64))
        .bind(now)
        .execute(&mut *w.tx)
        .await?;
        w.commit().await?;
        Ok(())
    }

    /// The media with this id if `user` may see it: its uploader, members
    /// of conversations it was sent in, and (for an avatar) everyone its
    /// owner has not blocked. `None` otherwise (the caller cannot tell
    /// "missing" from "forbidden").
    pub async fn visible(
        &self,
        user: UserId,
        id: MediaId,
    ) -> Result<Option<Located>, ServiceError> {
        let sql = format!(
            "SELECT {MEDIA_COLUMNS}, mo.object_key AS object_key FROM media md \
             JOIN media_objects mo ON mo.sha256 = md.sha256 \
             WHERE md.id = $1 AND (md.uploader_id = $2 OR EXISTS ( \
                 SELECT 1 FROM messages m \
                 JOIN conversation_members cm ON cm.conversation_id = m.conversation_id \
                 WHERE m.media_id = md.id AND cm.user_id = $2 AND m.seq > cm.joined_seq) OR EXISTS ( \
                 SELECT 1 FROM users av WHERE av.avatar_media_id = md.id AND NOT EXISTS ( \
                     SELECT 1 FROM blocks b WHERE b.user_id = av.id AND b.blocked_id = $2)))"
        );
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .bind(user)
            .fetch_optional(self.store.pool())
            .await?;
        row.map(|r| {
            Ok(Located {
                info: media_from_row(&r)?,
                object_key: r.try_get("object_key")?,
                thumb_key: r.try_get("md_thumb_key")?,
            })
        })
        .transpose()
    }
}
