//! Resumable, verified, deduplicated uploads.
//!
//! The body streams into an object-store multipart upload keyed by the
//! announced SHA-256, one part (`part_size`, default 8 MiB) at a time, so
//! memory per upload is bounded by the part size whatever the file size.
//! The hash is checked before `complete()`: a mismatch aborts the
//! multipart and nothing becomes visible.
//!
//! The part buffer grows with what arrives (it is never preallocated), so
//! an upload that declares a large file but sends little holds little.
//!
//! An interrupted upload keeps its state (multipart handle, running hash)
//! in this process, keyed by the client's upload id; the same user can
//! resume it from any connection, and a new stream takes over from a stale
//! one. Its unflushed tail leaves memory as soon as no stream is attached:
//! it is spilled to a private file under `<data_dir>/uploads/` and read
//! back on resume, so an idle upload holds no part buffer. Each user has
//! at most `max_unfinished_uploads`; a new one evicts that user's least
//! recently used idle upload (as it does when unfinished uploads would
//! push the user over quota). Uploads idle longer than `upload_ttl_secs`
//! are aborted; a server restart forgets them (the client starts again).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
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
    pending: PartBuffer,
    /// The unflushed tail, when it was spilled to disk.
    spilled: Option<PathBuf>,
    /// Bytes handed to the store as parts (checked against the size
    /// before the upload is completed).
    stored: u64,
    received: u64,
    head: Vec<u8>,
}

/// The unflushed tail of an upload. It grows with what arrives, at most
/// doubling, up to one part plus a read chunk; its capacity is counted in
/// [`Uploads::buffered_bytes`] for as long as it lives.
struct PartBuffer {
    bytes: Vec<u8>,
    counter: Arc<AtomicUsize>,
}

impl PartBuffer {
    fn new(counter: Arc<AtomicUsize>) -> Self {
        PartBuffer {
            bytes: Vec::new(),
            counter,
        }
    }

    fn len(&self) -> usize {
        self.bytes.len()
    }

    fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Appends `data`, growing the buffer to at most `limit` bytes of
    /// capacity unless `data` itself needs more.
    fn extend(&mut self, data: &[u8], limit: usize) {
        let need = self.bytes.len() + data.len();
        let before = self.bytes.capacity();
        if need > before {
            let target = need.max(before.saturating_mul(2)).min(limit.max(need));
            self.bytes.reserve_exact(target - self.bytes.len());
            self.counter
                .fetch_add(self.bytes.capacity() - before, Ordering::Relaxed);
        }
        self.bytes.extend_from_slice(data);
    }

    /// Takes bytes read back from a spill file (the buffer is empty).
    fn refill(&mut self, bytes: Vec<u8>) {
        self.take();
        self.counter.fetch_add(bytes.capacity(), Ordering::Relaxed);
        self.bytes = bytes;
    }

    /// Hands the bytes over (to the store or a spill file) and frees the
    /// buffer.
    fn take(&mut self) -> Vec<u8> {
        self.counter
            .fetch_sub(self.bytes.capacity(), Ordering::Relaxed);
        std::mem::take(&mut self.bytes)
    }
}

impl Drop for PartBuffer {
    fn drop(&mut self) {
        self.counter
            .fetch_sub(self.bytes.capacity(), Ordering::Relaxed);
    }
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
    /// Where idle uploads' unflushed tails wait for a resume.
    spill_dir: PathBuf,
    /// Bytes of part buffers held in memory, all uploads together.
    buffered: Arc<AtomicUsize>,
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
        spill_dir: PathBuf,
    ) -> Self {
        Uploads {
            store,
            meta,
            accounts,
            conversations,
            config,
            sessions: Mutex::new(HashMap::new()),
            spill_dir,
            buffered: Arc::new(AtomicUsize::new(0)),
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

    /// Bytes of upload part buffers held in memory (for tests and metrics).
    pub fn buffered_bytes(&self) -> usize {
        self.buffered.load(Ordering::Relaxed)
    }

    /// Prepares the spill directory: private, and empty (uploads do not
    /// survive a restart, so their spilled tails are stale).
    pub fn prepare_spill_dir(dir: &std::path::Path) -> std::io::Result<()> {
        match std::fs::remove_dir_all(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        crate::private_fs::create_dir(dir)
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
            self.make_room(session, req.size, false).await?;
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
        self.make_room(session, req.size, true).await?;
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
                pending: PartBuffer::new(self.buffered.clone()),
                spilled: None,
                stored: 0,
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

    /// Checks the quota and the per-user cap on unfinished uploads
    /// (`new_slot`: this upload will hold one), evicting the user's least
    /// recently used idle uploads while they are what stands in the way.
    async fn make_room(
        &self,
        session: &Session,
        size: u64,
        new_slot: bool,
    ) -> Result<(), ServiceError> {
        let used = self.meta.used_bytes(session.user_id).await?;
        let max_slots = self.config.max_unfinished_uploads.max(1) as usize;
        loop {
            let mine: Vec<Arc<Slot>> = self
                .sessions()
                .values()
                .filter(|s| s.owner == session.user_id)
                .cloned()
                .collect();
            let in_flight: u64 = mine.iter().map(|s| s.request.size).sum();
            if used + size > self.config.quota_bytes {
                return Err(ServiceError::QuotaExceeded(format!(
                    "this upload needs {size} bytes; you use {used} of your {} byte quota",
                    self.config.quota_bytes
                )));
            }
            let over_quota = used + in_flight + size > self.config.quota_bytes;
            let over_slots = new_slot && mine.len() >= max_slots;
            if !over_quota && !over_slots {
                return Ok(());
            }
            // Evict the least recently used upload that no stream holds.
            let Some(victim) = mine
                .into_iter()
                .filter(|s| s.state.try_lock().is_ok())
                .max_by_key(|s| s.idle_for())
            else {
                return Err(ServiceError::QuotaExceeded(if over_slots {
                    format!(
                        "you already have {max_slots} uploads in progress, the most this server allows at once; wait for one to finish"
                    )
                } else {
                    format!(
                        "this upload needs {size} bytes; you use {used} of your {} byte quota and {in_flight} more are in uploads in progress",
                        self.config.quota_bytes
                    )
                }));
            };
            if let Ok(mut guard) = victim.state.try_lock() {
                tracing::info!(upload = %victim.request.upload_id, "evicting an idle unfinished upload to make room");
                self.discard(&victim, &mut guard).await;
            };
        }
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
        if let Err(e) = self.unspill(active).await {
            tracing::warn!(upload = %slot.request.upload_id, "reading a spilled upload tail: {e}");
            self.discard(&slot, &mut guard).await;
            return Err(ServiceError::NotFound(
                "this upload's saved state was lost; start it again".into(),
            ));
        }
        let size = slot.request.size;
        let (mut recv, leftover) = reader.into_parts();
        if !leftover.is_empty() {
            if let Err(e) = self.absorb(active, &leftover, size).await {
                self.discard(&slot, &mut guard).await;
                return Err(e);
            }
        }
        let stopped = loop {
            if active.received >= size {
                break None;
            }
            let chunk = tokio::select! {
                c = recv.read_chunk(READ_CHUNK, true) => c,
                _ = token.cancelled() => break Some(Ok(())),
                _ = ctx.shutdown.cancelled() => break Some(Ok(())),
            };
            match chunk {
                Ok(Some(chunk)) => {
                    if let Err(e) = self.absorb(active, &chunk.bytes, size).await {
                        self.discard(&slot, &mut guard).await;
                        return Err(e);
                    }
                    ctx.state
                        .metrics
                        .upload_bytes
                        .inc_by(chunk.bytes.len() as u64);
                    slot.touch();
                }
                Ok(None) => {
                    break Some(Err(ServiceError::Incomplete(format!(
                        "the upload stopped at {} of {size} bytes; send it again with the same upload id to resume",
                        active.received
                    ))));
                }
                // Connection or stream lost: keep everything for a resume.
                Err(_) => break Some(Ok(())),
            }
        };
        if let Some(result) = stopped {
            // No stream is attached any more: the tail leaves memory.
            if let Err(e) = self.spill(slot.request.upload_id, active).await {
                tracing::warn!(upload = %slot.request.upload_id, "spilling an upload tail: {e}; the upload starts over");
                self.discard(&slot, &mut guard).await;
            }
            return result;
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
        active
            .pending
            .extend(bytes, self.store.part_size() + READ_CHUNK);
        active.received += bytes.len() as u64;
        if active.pending.len() >= self.store.part_size() {
            let part = active.pending.take();
            let len = part.len() as u64;
            active
                .multipart
                .put_part(PutPayload::from(part))
                .await
                .map_err(MediaError::from)?;
            active.stored += len;
        }
        Ok(())
    }

    /// Moves the unflushed tail of an upload no stream is attached to
    /// into a private file, freeing its buffer.
    async fn spill(&self, upload_id: Uuid, active: &mut Active) -> std::io::Result<()> {
        if active.pending.is_empty() {
            return Ok(());
        }
        let path = self.spill_dir.join(upload_id.to_string());
        let bytes = active.pending.take();
        let mut options = tokio::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        options.mode(0o600);
        let mut file = options.open(&path).await?;
        tokio::io::AsyncWriteExt::write_all(&mut file, &bytes).await?;
        // tokio's File writes in the background: without the flush, a
        // resume could read the file back before the write finished and
        // lose part of the tail.
        tokio::io::AsyncWriteExt::flush(&mut file).await?;
        active.spilled = Some(path);
        Ok(())
    }

    /// Reads a spilled tail back into memory, for a stream that resumes.
    async fn unspill(&self, active: &mut Active) -> std::io::Result<()> {
        let Some(path) = active.spilled.take() else {
            return Ok(());
        };
        let bytes = tokio::fs::read(&path).await?;
        if bytes.len() as u64 != active.received - active.stored {
            return Err(std::io::Error::other(format!(
                "the spilled tail has {} bytes, not {}",
                bytes.len(),
                active.received - active.stored
            )));
        }
        if let Err(e) = tokio::fs::remove_file(&path).await {
            tracing::warn!("removing {}: {e}", path.display());
        }
        active.pending.refill(bytes);
        Ok(())
    }

    /// Aborts and forgets an upload that cannot continue.
    async fn discard(&self, slot: &Slot, guard: &mut tokio::sync::MutexGuard<'_, Option<Active>>) {
        if let Some(mut active) = guard.take() {
            if let Some(path) = active.spilled.take() {
                if let Err(e) = tokio::fs::remove_file(&path).await {
                    tracing::warn!("removing {}: {e}", path.display());
                }
            }
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
            let part = active.pending.take();
            let len = part.len() as u64;
            if let Err(e) = active.multipart.put_part(PutPayload::from(part)).await {
                let _ = active.multipart.abort().await;
                return Err(MediaError::from(e).into());
            }
            active.stored += len;
        }
        if active.stored != req.size {
            // The hash covers the bytes received; this covers what the
            // store was given. A mismatch is a server bug: store nothing.
            let _ = active.multipart.abort().await;
            tracing::error!(
                upload = %req.upload_id,
                stored = active.stored,
                size = req.size,
                "upload parts do not add up to its size"
            );
            return Err(ServiceError::Internal(
                "the upload's parts do not add up to its size".into(),
            ));
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
