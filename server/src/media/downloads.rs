//! Authorised, ranged, streamed downloads.

use futures::StreamExt;
use object_store::path::Path as ObjectPath;
use quichat_proto::media::{MediaId, MediaVariant, ServerMedia};

use super::MediaStore;
use crate::accounts::Session;
use crate::error::ServiceError;
use crate::framed::write_frame;
use crate::AppState;

/// What the client asked for.
#[derive(Debug, Clone, Copy)]
pub struct Wanted {
    /// Media id.
    pub media_id: MediaId,
    /// Original or thumbnail.
    pub variant: MediaVariant,
    /// First byte.
    pub offset: u64,
    /// Byte count, or the rest.
    pub length: Option<u64>,
}

/// Sends the `Body` header and then the bytes, straight from the store.
pub async fn handle(
    state: &AppState,
    session: &Session,
    wanted: Wanted,
    send: &mut quinn::SendStream,
) -> Result<(), ServiceError> {
    let not_found = || ServiceError::NotFound(format!("media {} not found", wanted.media_id));
    let located = state
        .media_meta
        .visible(session.user_id, wanted.media_id)
        .await?
        .ok_or_else(not_found)?;
    let (key, total) = match wanted.variant {
        MediaVariant::Original => (
            ObjectPath::from(located.object_key.clone()),
            located.info.size,
        ),
        MediaVariant::Thumbnail => {
            let key = located
                .thumb_key
                .clone()
                .map(ObjectPath::from)
                .ok_or_else(|| ServiceError::NotFound("this media has no thumbnail".into()))?;
            let size = state
                .media_store
                .size_of(&key)
                .await?
                .ok_or_else(not_found)?;
            (key, size)
        }
    };
    if wanted.offset > total {
        return Err(ServiceError::InvalidArgument(format!(
            "offset {} is past the end ({total} bytes)",
            wanted.offset
        )));
    }
    let length = wanted.length.unwrap_or(u64::MAX).min(total - wanted.offset);
    write_frame(
        send,
        &ServerMedia::Body {
            media: located.info,
            offset: wanted.offset,
            length,
            total,
        },
    )
    .await
    .map_err(|e| ServiceError::Internal(e.to_string()))?;
    if length > 0 {
        stream(
            &state.media_store,
            &key,
            wanted.offset,
            length,
            send,
            &state.metrics.download_bytes,
        )
        .await?;
    }
    Ok(())
}

async fn stream(
    store: &MediaStore,
    key: &ObjectPath,
    offset: u64,
    length: u64,
    send: &mut quinn::SendStream,
    sent: &prometheus_client::metrics::counter::Counter,
) -> Result<(), ServiceError> {
    let mut body = store.stream_range(key, offset..offset + length).await?;
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        if send.write_all(&chunk).await.is_err() {
            // The client went away; it can resume with an offset.
            return Ok(());
        }
        sent.inc_by(chunk.len() as u64);
    }
    Ok(())
}
