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

/// Bytes read from a local store at once. object_store's local stream
/// reads 8 KiB per blocking task; a download reads this much per read
/// instead, one read ahead of the write, so it holds at most two.
pub const LOCAL_READ: u64 = 512 * 1024;

async fn stream(
    store: &MediaStore,
    key: &ObjectPath,
    offset: u64,
    length: u64,
    send: &mut quinn::SendStream,
    sent: &prometheus_client::metrics::counter::Counter,
) -> Result<(), ServiceError> {
    if store.is_local() {
        return stream_local(store, key, offset, length, send, sent).await;
    }
    // Over S3, one GET whose body arrives in chunks; each is handed to
    // QUIC without a copy.
    let mut body = store.stream_range(key, offset..offset + length).await?;
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        let n = chunk.len() as u64;
        if send.write_chunk(chunk).await.is_err() {
            // The client went away; it can resume with an offset.
            return Ok(());
        }
        sent.inc_by(n);
    }
    Ok(())
}

/// A local range in [`LOCAL_READ`] pieces, reading the next piece while
/// the current one is written.
async fn stream_local(
    store: &MediaStore,
    key: &ObjectPath,
    offset: u64,
    length: u64,
    send: &mut quinn::SendStream,
    sent: &prometheus_client::metrics::counter::Counter,
) -> Result<(), ServiceError> {
    let end = offset + length;
    let piece = |from: u64| from..(from + LOCAL_READ).min(end);
    let mut current = store.get_range(key, piece(offset)).await?;
    let mut pos = offset + current.len() as u64;
    loop {
        let n = current.len() as u64;
        if n == 0 {
            return Err(ServiceError::Internal(format!(
                "media object {key} ends before its recorded size"
            )));
        }
        let next = async {
            if pos < end {
                Some(store.get_range(key, piece(pos)).await)
            } else {
                None
            }
        };
        let (written, next) = tokio::join!(send.write_chunk(current), next);
        if written.is_err() {
            // The client went away; it can resume with an offset.
            return Ok(());
        }
        sent.inc_by(n);
        match next {
            None => return Ok(()),
            Some(bytes) => {
                current = bytes?;
                pos += current.len() as u64;
            }
        }
    }
}
