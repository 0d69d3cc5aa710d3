//! Media: uploads and downloads on dedicated QUIC streams, bytes in an
//! object store (local directory or S3), metadata in SQL.
//!
//! - `store`: the object_store backend and object keys;
//! - `meta`: media rows, quotas and the "who may see this" query;
//! - `uploads`: resumable, verified, deduplicated uploads;
//! - `downloads`: authorised ranged downloads;
//! - `thumbs`: image thumbnails;
//! - `names`: filename sanitising and MIME sniffing.

pub mod downloads;
pub mod meta;
pub mod names;
pub mod store;
pub mod thumbs;
pub mod uploads;

use std::sync::Arc;

use quichat_proto::media::{ClientMedia, ServerMedia};
use quichat_proto::{ErrorCode, WireError};
use tracing::debug;

use crate::ctx::ConnCtx;
use crate::framed::{write_frame, FrameReader};

pub use meta::MediaMeta;
pub use store::{MediaError, MediaStore};
pub use uploads::Uploads;

/// Serves one media stream: one upload or one download.
pub async fn run_stream(ctx: Arc<ConnCtx>, mut send: quinn::SendStream, mut reader: FrameReader) {
    let Some(session) = ctx.session().cloned() else {
        let err = WireError::new(
            ErrorCode::Unauthenticated,
            "authenticate before opening a media stream",
        );
        let _ = write_frame(&mut send, &ServerMedia::Error(err)).await;
        let _ = send.finish();
        return;
    };
    // The request must arrive in time: a half-sent frame would otherwise
    // hold its buffer for as long as the connection lives.
    let limit = ctx.state.limits.config.first_frame_timeout();
    let Ok(first) = tokio::time::timeout(limit, reader.next::<ClientMedia>()).await else {
        let err = WireError::new(
            ErrorCode::BadFrame,
            format!("no media request within {} ms", limit.as_millis()),
        );
        let _ = write_frame(&mut send, &ServerMedia::Error(err)).await;
        let _ = send.finish();
        return;
    };
    let first = match first {
        Ok(Some(frame)) => frame,
        Ok(None) => return,
        Err(e) => {
            if let Some((err, _)) = crate::ctx::frame_error(&e) {
                let _ = write_frame(&mut send, &ServerMedia::Error(err)).await;
                let _ = send.finish();
            }
            return;
        }
    };
    if let Err(err) = ctx.live_session() {
        let _ = write_frame(&mut send, &ServerMedia::Error(err.into())).await;
        let _ = send.finish();
        return;
    }
    let state = &ctx.state;
    let result = match first {
        ClientMedia::Upload(req) => {
            let r = state
                .uploads
                .handle(&ctx, &session, req, &mut send, reader)
                .await;
            if let Err(e) = &r {
                let code: &'static str = e.code().into();
                crate::metrics::Metrics::count(&state.metrics.upload_failures, code);
            }
            r
        }
        ClientMedia::Download {
            media_id,
            variant,
            offset,
            length,
        } => {
            downloads::handle(
                state,
                &session,
                downloads::Wanted {
                    media_id,
                    variant,
                    offset,
                    length,
                },
                &mut send,
            )
            .await
        }
        ClientMedia::Proof { .. } => Err(crate::ServiceError::InvalidArgument(
            "a proof only answers a challenge".into(),
        )),
    };
    match result {
        Ok(()) => {
            let _ = send.finish();
        }
        Err(e) => {
            if matches!(
                e,
                crate::ServiceError::Store(_)
                    | crate::ServiceError::Internal(_)
                    | crate::ServiceError::Media(_)
            ) {
                tracing::error!("media stream failed: {e}");
            } else {
                debug!("media stream refused: {e}");
            }
            let _ = write_frame(&mut send, &ServerMedia::Error(e.to_wire())).await;
            let _ = send.finish();
        }
    }
}
