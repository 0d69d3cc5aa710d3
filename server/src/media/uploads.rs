//! Resumable, verified, deduplicated uploads.
//!
//! The body streams into an object-store multipart upload keyed by the
//! announced SHA-256, one part (`part_size`, default 8 MiB) at a time, so
//! memory per upload is bounded by the part size whatever the file size.
//! The hash is checked before `complete()`: a mismatch aborts the
//! multipart and nothing becomes visible.
//!
//! An interrupted upload keeps its state (multipart handle, running hash,
//! unflushed tail) in this process, keyed by the client's upload id; the
//! same user can resume it from any connection, and a new stream takes
//! over from a stale one. Sessions idle longer than `upload_ttl_secs` are
//! aborted; a server restart forgets them (the client starts again).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use object_store::{MultipartUpload, PutPayload};
use quichat_proto::media::{
    ByteRange, ClientMedia, MediaInfo, MediaKind, ServerMedia, UploadRequest,
};
use quichat_proto::types::{ConversationRef, UserId};
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::meta::NewObject;
use super::{names, thumbs, MediaError, MediaMeta, MediaStore};
use crate::accounts::{Accounts, Session};
use crate::config::MediaConfig;
use crate::conversations::Conversations;
use crate::ctx::ConnCtx;
use crate::error::ServiceError;
use crate::framed::{write_frame, FrameReader};

/// Largest chunk read from a stream at once.
const READ_CHUNK: usize = 64 * 1024;
/// Bytes kept from the start of a file for MIME sniffing.
const SNIFF_BYTES: usize = 8192;
/// How long a client may take to answer a dedup challenge.
const PROOF_TIMEOUT: Duration = Duration::from_secs(60);

struct Active {
    multipart: Box<dyn MultipartUpload>,
    hasher: Sha256,
    pending: Vec<u8>,
    received: u64,
    head: Vec<u8>,
}

struct Slot {
    owner: UserId,
    request: UploadRequest,
    state: tokio::sync::Mutex<Option<Active>>,
    holder: Mutex<Option<CancellationToken>>,
    touched: Mutex<Instant>,
}

impl Slot {
    fn touch(&self) {
        *self.touched.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }

    fn idle_for(&self) -> Duration {
        self.touched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .elapsed()
    }
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slot")
            .field("owner", &self.owner)
            .field("upload_id", &self.request.upload_id)
            .field("size", &self.request.size)
            .finish()
    }
}

/// The upload service.
#[derive(Debug)]
pub struct Uploads {
    store: MediaStore,
    meta: MediaMeta,
    accounts: Accounts,
    conversations: Conversations,
    config: MediaConfig,
    sessions: Mutex<HashMap<Uuid, Arc<Slot>>>,
    /// Bounds concurrent thumbnail decodes (each may use up to
    /// [`thumbs::MAX_ALLOC`]).
    thumb_decodes: tokio::sync::Semaphore,
}

/// Thumbnail decodes running at once, server-wide.
pub const THUMB_DECODES: usize = 2;

fn hex32(b: &[u8; 32]) -> String {
    hex::encode(b)
}

impl Uploads {
    /// Builds the service.
    pub fn new(
        store: MediaStore,
        meta: MediaMeta,
        accounts: Accounts,
        conversations: Conversations,
        config: MediaConfig,
    ) -> Self {
        Uploads {
            store,
            meta,
            accounts,
            conversations,
            config,
            sessions: Mutex::new(HashMap::new()),
            thumb_decodes: tokio::sync::Semaphore::new(THUMB_DECODES),
        }
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Arc<Slot>>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Number of unfinished uploads held (for tests and metrics).
    pub fn pending_uploads(&self) -> usize {
        self.sessions().len()
    }

    /// Handles an upload stream after its `Upload` frame.
    pub async fn handle(
        &self,
        ctx: &ConnCtx,
        session: &Session,
        req: UploadRequest,
        send: &mut quinn::SendStream,
        mut reader: FrameReader,
    ) -> Result<(), ServiceError> {
        self.validate(session, &req).await?;
        let existing = self.sessions().get(&req.upload_id).cloned();
        if let Some(slot) = existing {
            if slot.owner != session.user_id {
                return Err(ServiceError::InvalidArgument(
                    "this upload id is already in use; choose another".into(),
                ));
            }
            if slot.request.size != req.size || slot.request.sha256 != req.sha256 {
                return Err(ServiceError::InvalidArgument(
                    "this upload id belongs to a different file".into(),
                ));
            }
            return self.receive(ctx, slot, send, reader).await;
        }
        let sha_hex = hex32(&req.sha256);
        if let Some(object) = self.meta.object(&sha_hex).await? {
            if object.size != req.size {
                return Err(ServiceError::HashMismatch(
                    "the size does not match the stored content with this hash".into(),
                ));
            }
            self.check_quota(session, req.size).await?;
            if !self.meta.uploaded_by(session.user_id, &sha_hex).await? {
                self.challenge(&req, send, &mut reader).await?;
            }
            let info = media_info(&req, object.sniffed_mime.clone(), None);
            let new_object = NewObject {
                sha256_hex: sha_hex.clone(),
                size: req.size,
                object_key: MediaStore::object_key(&sha_hex).to_string(),
                thumb_key: None,
                width: None,
                height: None,
                sniffed_mime: object.sniffed_mime,
            };
            self.meta
                .record(session.user_id, &new_object, &info)
                .await?;
            // Re-read so thumbnails and dimensions of the stored object show.
            let stored = self
                .meta
                .visible(session.user_id, info.id)
                .await?
                .map(|l| l.info)
                .unwrap_or(info);
            write_frame(
                send,
                &ServerMedia::Stored {
                    media: stored,
                    deduplicated: true,
                },
            )
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
            return Ok(());
        }
        self.check_quota(session, req.size).await?;
        let multipart = self
            .store
            .start_multipart(&MediaStore::object_key(&sha_hex))
            .await?;
        let slot = Arc::new(Slot {
            owner: session.user_id,
            request: req.clone(),
            state: tokio::sync::Mutex::new(Some(Active {
                multipart,
                hasher: Sha256::new(),
                pending: Vec::with_capacity(self.store.part_size() + READ_CHUNK),
                received: 0,
                head: Vec::new(),
            })),
            holder: Mutex::new(None),
            touched: Mutex::new(Instant::now()),
        });
        let slot = {
            let mut sessions = self.sessions();
            sessions.entry(req.upload_id).or_insert(slot).clone()
        };
        self.receive(ctx, slot, send, reader).await
    }

    async fn validate(&self, session: &Session, req: &UploadRequest) -> Result<(), ServiceError> {
        if req.size == 0 {
            return Err(ServiceError::InvalidArgument("the file is empty".into()));
        }
        if req.size > self.config.max_upload_bytes {
            return Err(ServiceError::TooLarge(format!(
                "the file is {} bytes; this server accepts at most {} bytes",
                req.size, self.config.max_upload_bytes
            )));
        }
        match &req.conversation {
            ConversationRef::Direct(name) => {
                self.accounts.user_id(name).await?;
            }
            ConversationRef::Id(id) => self.conversations.require_member(session, *id).await?,
        }
        Ok(())
    }

    async fn check_quota(&self, session: &Session, size: u64) -> Result<(), ServiceError> {
        let used = self.meta.used_bytes(session.user_id).await?;
        let in_flight: u64 = self
            .sessions()
            .values()
            .filter(|s| s.owner == session.user_id)
            .map(|s| s.request.size)
            .sum();
        if used + in_flight + size > self.config.quota_bytes {
            return Err(ServiceError::QuotaExceeded(format!(
                "this upload needs {size} bytes; you use {used} of your {} byte quota{}",
                self.config.quota_bytes,
                if in_flight > 0 {
                    format!(" and {in_flight} more are in unfinished uploads")
                } else {
                    String::new()
                }
            )));
        }
        Ok(())
    }

    /// Proof of possession for deduplication: the client hashes a nonce
    /// and a few random ranges of the content it claims to have.
    async fn challenge(
        &self,
        req: &UploadRequest,
        send: &mut quinn::SendStream,
        reader: &mut FrameReader,
    ) -> Result<(), ServiceError> {
        let mut nonce = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ranges = challenge_ranges(req.size);
        write_frame(
            send,
            &ServerMedia::Challenge {
                nonce,
                ranges: ranges.clone(),
            },
        )
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let answer = tokio::time::timeout(PROOF_TIMEOUT, reader.next::<ClientMedia>())
            .await
            .map_err(|_| ServiceError::InvalidArgument("no proof within 60 s".into()))?;
        let Ok(Some(ClientMedia::Proof { digest })) = answer else {
            return Err(ServiceError::InvalidArgument(
                "expected a proof of possession".into(),
            ));
        };
        let key = MediaStore::object_key(&hex32(&req.sha256));
        let mut hasher = Sha256::new();
        hasher.update(nonce);
        for r in &ranges {
            let bytes = self
                .store
                .get_range(&key, r.start..r.start + u64::from(r.len))
                .await?;
            hasher.update(&bytes);
        }
        if hasher.finalize().as_slice() != digest {
            return Err(ServiceError::Forbidden(
                "proof of possession failed: upload the file itself".into(),
            ));
        }
        Ok(())
    }

    /// Takes over the slot and streams the body into it.
    async fn receive(
        &self,
        ctx: &ConnCtx,
        slot: Arc<Slot>,
        send: &mut quinn::SendStream,
        reader: FrameReader,
    ) -> Result<(), ServiceError> {
        let token = CancellationToken::new();
        if let Some(old) = slot
            .holder
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace(token.clone())
        {
            old.cancel();
        }
        let mut guard = slot.state.lock().await;
        let Some(active) = guard.as_mut() else {
            return Err(ServiceError::NotFound(
                "this upload has finished or was aborted; start it again".into(),
            ));
        };
        slot.touch();
        write_frame(
            send,
            &ServerMedia::Ready {
                upload_id: slot.request.upload_id,
                offset: active.received,
            },
        )
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let size = slot.request.size;
        let (mut recv, leftover) = reader.into_parts();
        if !leftover.is_empty() {
            if let Err(e) = self.absorb(active, &leftover, size).await {
                self.discard(&slot, &mut guard).await;
                return Err(e);
            }
        }
        while active.received < size {
            let chunk = tokio::select! {
                c = recv.read_chunk(READ_CHUNK, true) => c,
                _ = token.cancelled() => return Ok(()),
                _ = ctx.shutdown.cancelled() => return Ok(()),
            };
            match chunk {
                Ok(Some(chunk)) => {
                    if let Err(e) = self.absorb(active, &chunk.bytes, size).await {
                        self.discard(&slot, &mut guard).await;
                        return Err(e);
                    }
                    slot.touch();
                }
                Ok(None) => {
                    return Err(ServiceError::Incomplete(format!(
                        "the upload stopped at {} of {size} bytes; send it again with the same upload id to resume",
                        active.received
                    )));
                }
                // Connection or stream lost: keep everything for a resume.
                Err(_) => return Ok(()),
            }
        }
        let Some(mut active) = guard.take() else {
            return Err(ServiceError::Internal("upload state vanished".into()));
        };
        self.sessions().remove(&slot.request.upload_id);
        drop(guard);
        self.finish(ctx, slot.owner, &slot.request, &mut active, send)
            .await
    }

    /// Adds received bytes: hash, sniff buffer, and a part when full.
    async fn absorb(
        &self,
        active: &mut Active,
        bytes: &[u8],
        size: u64,
    ) -> Result<(), ServiceError> {
        if active.received + bytes.len() as u64 > size {
            return Err(ServiceError::HashMismatch(format!(
                "more bytes arrived than the announced {size}"
            )));
        }
        active.hasher.update(bytes);
        if active.head.len() < SNIFF_BYTES {
            let take = (SNIFF_BYTES - active.head.len()).min(bytes.len());
            active.head.extend_from_slice(&bytes[..take]);
        }
        active.pending.extend_from_slice(bytes);
        active.received += bytes.len() as u64;
        if active.pending.len() >= self.store.part_size() {
            // Exact capacity: the buffer never reallocates (and never doubles).
            let fresh = Vec::with_capacity(self.store.part_size() + READ_CHUNK);
            let part = std::mem::replace(&mut active.pending, fresh);
            active
                .multipart
                .put_part(PutPayload::from(part))
                .await
                .map_err(MediaError::from)?;
        }
        Ok(())
    }

    /// Aborts and forgets an upload that cannot continue.
    async fn discard(&self, slot: &Slot, guard: &mut tokio::sync::MutexGuard<'_, Option<Active>>) {
        if let Some(mut active) = guard.take() {
            if let Err(e) = active.multipart.abort().await {
                tracing::warn!("aborting upload {}: {e}", slot.request.upload_id);
            }
        }
        self.sessions().remove(&slot.request.upload_id);
    }

    /// Verifies, completes, thumbnails and records a fully received upload.
    async fn finish(
        &self,
        ctx: &ConnCtx,
        owner: UserId,
        req: &UploadRequest,
        active: &mut Active,
        send: &mut quinn::SendStream,
    ) -> Result<(), ServiceError> {
        if !active.pending.is_empty() {
            let part = std::mem::take(&mut active.pending);
            if let Err(e) = active.multipart.put_part(PutPayload::from(part)).await {
                let _ = active.multipart.abort().await;
                return Err(MediaError::from(e).into());
            }
        }
        if ctx.is_revoked() {
            // The device was revoked while its bytes arrived: record nothing.
            let _ = active.multipart.abort().await;
            return Err(ServiceError::InvalidToken);
        }
        let digest = std::mem::take(&mut active.hasher).finalize();
        if digest.as_slice() != req.sha256 {
            if let Err(e) = active.multipart.abort().await {
                tracing::warn!("aborting mismatched upload: {e}");
            }
            return Err(ServiceError::HashMismatch(format!(
                "the content's SHA-256 is {}, not the announced {}; nothing was stored",
                hex::encode(digest),
                hex32(&req.sha256)
            )));
        }
        active
            .multipart
            .complete()
            .await
            .map_err(MediaError::from)?;
        let sha_hex = hex32(&req.sha256);
        let sniffed = names::sniff(&active.head);
        let looks_like_image = sniffed.as_deref().is_some_and(|m| m.starts_with("image/"))
            || (sniffed.is_none() && req.kind == MediaKind::Image);
        let thumb = if looks_like_image && req.size <= thumbs::MAX_SOURCE_BYTES {
            self.thumbnail(&sha_hex).await
        } else {
            None
        };
        let mut info = media_info(req, sniffed.clone(), thumb.as_ref().map(|t| (t.0, t.1)));
        info.has_thumbnail = thumb.is_some();
        let object = NewObject {
            sha256_hex: sha_hex.clone(),
            size: req.size,
            object_key: MediaStore::object_key(&sha_hex).to_string(),
            thumb_key: thumb
                .as_ref()
                .map(|_| MediaStore::thumb_key(&sha_hex).to_string()),
            width: thumb.as_ref().map(|t| t.0),
            height: thumb.as_ref().map(|t| t.1),
            sniffed_mime: sniffed,
        };
        self.meta.record(owner, &object, &info).await?;
        tracing::info!(media = %info.id, size = req.size, kind = info.kind.as_str(), remote = %ctx.remote, "upload stored");
        write_frame(
            send,
            &ServerMedia::Stored {
                media: info,
                deduplicated: false,
            },
        )
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))
    }

    /// Makes and stores a thumbnail; returns the image's dimensions.
    async fn thumbnail(&self, sha_hex: &str) -> Option<(u32, u32)> {
        let bytes = match self.store.get(&MediaStore::object_key(sha_hex)).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!("thumbnail: cannot read object: {e}");
                return None;
            }
        };
        // At most THUMB_DECODES decodes at once, whoever uploads.
        let Ok(_permit) = self.thumb_decodes.acquire().await else {
            return None;
        };
        let made = tokio::task::spawn_blocking(move || thumbs::make(&bytes)).await;
        match made {
            Ok(Ok(t)) => {
                if let Err(e) = self
                    .store
                    .put(&MediaStore::thumb_key(sha_hex), t.jpeg)
                    .await
                {
                    tracing::warn!("thumbnail: cannot store: {e}");
                    return None;
                }
                Some((t.width, t.height))
            }
            Ok(Err(e)) => {
                tracing::debug!("no thumbnail (not decodable): {e}");
                None
            }
            Err(e) => {
                tracing::warn!("thumbnail task failed: {e}");
                None
            }
        }
    }

    /// Aborts uploads idle for longer than the TTL.
    pub async fn sweep(&self) {
        let ttl = Duration::from_secs(self.config.upload_ttl_secs);
        let expired: Vec<Arc<Slot>> = self
            .sessions()
            .values()
            .filter(|s| s.idle_for() > ttl)
            .cloned()
            .collect();
        for slot in expired {
            if let Ok(mut guard) = slot.state.try_lock() {
                tracing::info!(upload = %slot.request.upload_id, "aborting abandoned upload");
                self.discard(&slot, &mut guard).await;
            }
        }
    }

    /// Aborts every unfinished upload (at shutdown: they cannot be resumed
    /// after a restart, so leave nothing behind in the store).
    pub async fn abort_all(&self) {
        let all: Vec<Arc<Slot>> = self.sessions().values().cloned().collect();
        for slot in all {
            let mut guard = slot.state.lock().await;
            self.discard(&slot, &mut guard).await;
        }
    }
}

/// Up to four random ranges of at most 64 KiB inside `size` bytes.
fn challenge_ranges(size: u64) -> Vec<ByteRange> {
    let len = size.min(64 * 1024);
    let mut rng = rand::thread_rng();
    (0..4)
        .map(|_| ByteRange {
            start: rng.gen_range(0..=size - len),
            len: u32::try_from(len).unwrap_or(u32::MAX),
        })
        .collect()
}

fn media_info(req: &UploadRequest, sniffed: Option<String>, dims: Option<(u32, u32)>) -> MediaInfo {
    MediaInfo {
        id: Uuid::now_v7(),
        kind: req.kind,
        size: req.size,
        sha256: req.sha256,
        mime: sniffed.unwrap_or_else(|| names::clean_mime(&req.mime)),
        filename: names::sanitize_filename(&req.filename),
        width: dims.map(|d| d.0),
        height: dims.map(|d| d.1),
        duration_ms: req.duration_ms,
        has_thumbnail: false,
    }
}
