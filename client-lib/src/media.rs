//! Uploads and downloads, each on its own QUIC stream.
//!
//! Uploads are resumable: the upload id is derived from the user, the
//! content hash and the size, so retrying the same file (even from a new
//! process) continues where the server stopped. Downloads resume from a
//! byte offset and are verified against the SHA-256 the server reports.

use std::path::Path;

use quichat_proto::media::{
    ClientMedia, MediaId, MediaInfo, MediaKind, MediaVariant, ServerMedia, UploadRequest,
};
use quichat_proto::stream::{StreamHeader, StreamKind};
use quichat_proto::types::{ConversationRef, MessageBody, Recipient, SendAck, SendMessage};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeek, AsyncSeekExt, AsyncWrite, AsyncWriteExt};
use uuid::Uuid;

use crate::framed::{write_frame, FrameReader};
use crate::{Client, ClientError};

/// Size of the chunks read from files and written to streams.
const CHUNK: usize = 256 * 1024;

/// Progress of a transfer: `(bytes done, bytes total)`.
pub trait Progress: FnMut(u64, u64) + Send {}
impl<T: FnMut(u64, u64) + Send> Progress for T {}

/// What to upload and where it is going.
#[derive(Debug, Clone)]
pub struct UploadSpec {
    /// The conversation it is meant for.
    pub conversation: ConversationRef,
    /// Kind; `None` guesses from the content and file name.
    pub kind: Option<MediaKind>,
    /// MIME type; `None` guesses from the content and file name.
    pub mime: Option<String>,
    /// File name shown to others; `None` uses the path's name.
    pub filename: Option<String>,
    /// Duration for audio/video, when known.
    pub duration_ms: Option<u64>,
    /// Upload id; `None` derives a stable one (so a retry resumes).
    pub upload_id: Option<Uuid>,
}

impl UploadSpec {
    /// An upload for the direct conversation with `user`, everything else
    /// guessed.
    pub fn to_user(user: &str) -> Self {
        UploadSpec::to(&Recipient::User(user.to_string()))
    }

    /// An upload for the conversation `to` names (a user or a group),
    /// everything else guessed.
    pub fn to(to: &Recipient) -> Self {
        UploadSpec {
            conversation: to.conversation(),
            kind: None,
            mime: None,
            filename: None,
            duration_ms: None,
            upload_id: None,
        }
    }
}

/// How an upload ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadOutcome {
    /// The stored media.
    pub media: MediaInfo,
    /// True when the server already had the content (no body was sent).
    pub deduplicated: bool,
    /// Offset the server resumed from (0 for a fresh upload).
    pub resumed_from: u64,
    /// Body bytes sent over the network by this call.
    pub bytes_sent: u64,
}

/// How a download ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadOutcome {
    /// What was downloaded.
    pub media: MediaInfo,
    /// Bytes already present locally before this call.
    pub resumed_from: u64,
    /// Bytes received by this call.
    pub bytes_received: u64,
    /// The target file already held exactly this media; nothing was
    /// transferred.
    pub already_complete: bool,
}

/// What [`Client::download_file`] does when the target file exists and is
/// not already the media.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfExists {
    /// Fail with [`ClientError::FileExists`]; the file is untouched.
    Refuse,
    /// Replace it, once the download is complete and verified.
    Replace,
}

/// The partial file a download into `path` writes to: beside it, named
/// after it and the first 12 hex digits of the media's SHA-256
/// (`photo.jpg.3f2a9c1b04de.part`), so a download resumes only from its
/// own bytes, never from an unrelated file.
pub fn part_path(path: &Path, sha256: &[u8; 32]) -> std::path::PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "download".into());
    name.push(format!(".{}.part", &hex::encode(sha256)[..12]));
    path.with_file_name(name)
}

/// Whether the file at `path` has the media's size and SHA-256.
async fn file_matches(path: &Path, media: &MediaInfo) -> Result<bool, ClientError> {
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(|e| io_err(&format!("cannot read {}", path.display()), e))?;
    let (sha, size) = hash_reader(&mut file)
        .await
        .map_err(|e| io_err(&format!("cannot read {}", path.display()), e))?;
    Ok(size == media.size && sha == media.sha256)
}

async fn remove_quietly(path: &Path) {
    if let Err(e) = tokio::fs::remove_file(path).await {
        tracing::debug!("could not remove {}: {e}", path.display());
    }
}

/// SHA-256 and length of everything `reader` yields.
pub async fn hash_reader<R: AsyncRead + Unpin>(reader: &mut R) -> std::io::Result<([u8; 32], u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hasher.finalize().into(), total))
}

/// Guesses kind and MIME type from the first bytes and the file name.
pub fn guess_kind(head: &[u8], filename: &str) -> (MediaKind, String) {
    let ext = Path::new(filename)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let mime = infer::get(head)
        .map(|t| t.mime_type().to_string())
        .or_else(|| {
            let m = match ext.as_str() {
                "txt" | "md" => "text/plain",
                "json" => "application/json",
                "csv" => "text/csv",
                "opus" => "audio/opus",
                "wav" => "audio/wav",
                "pdf" => "application/pdf",
                _ => return None,
            };
            Some(m.to_string())
        })
        .unwrap_or_else(|| "application/octet-stream".to_string());
    let kind = match mime.split('/').next() {
        Some("image") => MediaKind::Image,
        Some("video") => MediaKind::Video,
        Some("audio") => MediaKind::Audio,
        _ => MediaKind::File,
    };
    (kind, mime)
}

fn io_err(what: &str, e: std::io::Error) -> ClientError {
    ClientError::Io {
        context: what.to_string(),
        reason: e.to_string(),
    }
}

fn stream_err(e: impl std::fmt::Display) -> ClientError {
    ClientError::closed(e.to_string())
}

impl Client {
    async fn open_media(&self) -> Result<(quinn::SendStream, FrameReader), ClientError> {
        let (mut send, recv) = self.connection().open_bi().await?;
        // Bulk bytes yield to control and chat frames.
        let _ = send.set_priority(quichat_proto::stream::MEDIA_STREAM_PRIORITY);
        write_frame(
            &mut send,
            &StreamHeader {
                kind: StreamKind::Media,
            },
        )
        .await?;
        Ok((send, FrameReader::new(recv)))
    }

    /// Uploads a file from disk: hashes it, guesses what is not given, and
    /// uploads (resuming if the server holds part of it).
    pub async fn upload_file(
        &self,
        path: &Path,
        spec: UploadSpec,
        progress: impl Progress,
    ) -> Result<UploadOutcome, ClientError> {
        let mut file = tokio::fs::File::open(path)
            .await
            .map_err(|e| io_err(&format!("cannot open {}", path.display()), e))?;
        let (sha256, size) = hash_reader(&mut file)
            .await
            .map_err(|e| io_err(&format!("cannot read {}", path.display()), e))?;
        file.rewind().await.map_err(|e| io_err("seek", e))?;
        let mut head = vec![0u8; 8192];
        let n = file.read(&mut head).await.map_err(|e| io_err("read", e))?;
        head.truncate(n);
        file.rewind().await.map_err(|e| io_err("seek", e))?;
        let name = spec.filename.clone().unwrap_or_else(|| {
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "file".into())
        });
        let (kind, mime) = guess_kind(&head, &name);
        let request = UploadRequest {
            upload_id: spec
                .upload_id
                .unwrap_or_else(|| self.stable_upload_id(&sha256, size)),
            size,
            sha256,
            mime: spec.mime.unwrap_or(mime),
            filename: name,
            kind: spec.kind.unwrap_or(kind),
            duration_ms: spec.duration_ms,
            conversation: spec.conversation,
        };
        self.upload(&mut file, request, progress).await
    }

    /// An upload id that is the same for the same user, content and size,
    /// so that retrying an upload resumes it.
    pub fn stable_upload_id(&self, sha256: &[u8; 32], size: u64) -> Uuid {
        let user = self.session().map(|s| s.user_id).unwrap_or_default();
        let mut h = Sha256::new();
        h.update(b"quichat-upload-id");
        h.update(user.to_be_bytes());
        h.update(sha256);
        h.update(size.to_be_bytes());
        let digest = h.finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Uuid::new_v8(bytes)
    }

    /// Uploads `request.size` bytes from a seekable source whose SHA-256
    /// is `request.sha256`.
    pub async fn upload<R>(
        &self,
        source: &mut R,
        request: UploadRequest,
        mut progress: impl Progress,
    ) -> Result<UploadOutcome, ClientError>
    where
        R: AsyncRead + AsyncSeek + Unpin,
    {
        let (mut send, mut reader) = self.open_media().await?;
        let size = request.size;
        write_frame(&mut send, &ClientMedia::Upload(request)).await?;
        let mut frame = reader.next::<ServerMedia>().await?;
        // Known content: prove possession, then the server answers Stored.
        if let Some(ServerMedia::Challenge { nonce, ranges }) = &frame {
            let mut hasher = Sha256::new();
            hasher.update(nonce);
            for r in ranges {
                source
                    .seek(std::io::SeekFrom::Start(r.start))
                    .await
                    .map_err(|e| io_err("seek", e))?;
                let mut bytes = vec![0u8; r.len as usize];
                source
                    .read_exact(&mut bytes)
                    .await
                    .map_err(|e| io_err("read", e))?;
                hasher.update(&bytes);
            }
            let digest: [u8; 32] = hasher.finalize().into();
            write_frame(&mut send, &ClientMedia::Proof { digest }).await?;
            frame = reader.next::<ServerMedia>().await?;
        }
        match frame {
            Some(ServerMedia::Ready { offset, .. }) => {
                source
                    .seek(std::io::SeekFrom::Start(offset))
                    .await
                    .map_err(|e| io_err("seek", e))?;
                progress(offset, size);
                let mut buf = vec![0u8; CHUNK];
                let mut done = offset;
                while done < size {
                    let want = usize::try_from((size - done).min(CHUNK as u64)).unwrap_or(CHUNK);
                    // Fill the whole chunk before writing: quinn keeps one
                    // segment per write, so many tiny writes (a slow pipe)
                    // would make its send buffer expensive to scan.
                    let mut n = 0;
                    while n < want {
                        let got = source
                            .read(&mut buf[n..want])
                            .await
                            .map_err(|e| io_err("read", e))?;
                        if got == 0 {
                            break;
                        }
                        n += got;
                    }
                    if n == 0 {
                        return Err(ClientError::Io {
                            context: "upload source".into(),
                            reason: format!("it ended at {done} of {size} bytes"),
                        });
                    }
                    send.write_all(&buf[..n]).await?;
                    done += n as u64;
                    progress(done, size);
                }
                send.finish().map_err(stream_err)?;
                match reader.next::<ServerMedia>().await? {
                    Some(ServerMedia::Stored {
                        media,
                        deduplicated,
                    }) => Ok(UploadOutcome {
                        media,
                        deduplicated,
                        resumed_from: offset,
                        bytes_sent: done - offset,
                    }),
                    other => Err(unexpected_media(other, self)),
                }
            }
            // Stored without a body: deduplicated.
            Some(ServerMedia::Stored {
                media,
                deduplicated,
            }) => {
                progress(size, size);
                let _ = send.finish();
                Ok(UploadOutcome {
                    media,
                    deduplicated,
                    resumed_from: 0,
                    bytes_sent: 0,
                })
            }
            other => Err(unexpected_media(other, self)),
        }
    }

    /// Downloads bytes `[offset, offset + length)` of a media object into
    /// `sink`. Returns the media and the number of bytes written.
    pub async fn download<W>(
        &self,
        media_id: MediaId,
        variant: MediaVariant,
        offset: u64,
        length: Option<u64>,
        sink: &mut W,
        mut progress: impl Progress,
    ) -> Result<(MediaInfo, u64), ClientError>
    where
        W: AsyncWrite + Unpin,
    {
        let (mut send, mut reader) = self.open_media().await?;
        write_frame(
            &mut send,
            &ClientMedia::Download {
                media_id,
                variant,
                offset,
                length,
            },
        )
        .await?;
        let _ = send.finish();
        let (media, length, total) = match reader.next::<ServerMedia>().await? {
            Some(ServerMedia::Body {
                media,
                length,
                total,
                ..
            }) => (media, length, total),
            other => return Err(unexpected_media(other, self)),
        };
        let (mut recv, leftover) = reader.into_parts();
        let mut got = 0u64;
        progress(offset, total);
        if !leftover.is_empty() {
            sink.write_all(&leftover)
                .await
                .map_err(|e| io_err("write", e))?;
            got += leftover.len() as u64;
            progress(offset + got, total);
        }
        let mut failure = None;
        while got < length {
            match recv.read_chunk(CHUNK, true).await {
                Ok(Some(chunk)) => {
                    sink.write_all(&chunk.bytes)
                        .await
                        .map_err(|e| io_err("write", e))?;
                    got += chunk.bytes.len() as u64;
                    progress(offset + got, total);
                }
                Ok(None) => break,
                Err(e) => {
                    failure = Some(ClientError::from(e));
                    break;
                }
            }
        }
        // Flush even on failure, so a partial file holds every byte received
        // and a resume continues from its true length.
        sink.flush().await.map_err(|e| io_err("write", e))?;
        if let Some(e) = failure {
            return Err(e);
        }
        if got != length {
            return Err(ClientError::closed(format!(
                "download stopped at {} of {} bytes; run it again to resume",
                offset + got,
                offset + length
            )));
        }
        Ok((media, got))
    }

    /// Downloads a whole media object into `sink` (a pipe, stdout), hashing
    /// the bytes on the way: a download whose size or SHA-256 does not
    /// match the media fails with [`ClientError::Integrity`] after the
    /// last byte. The bytes already written cannot be taken back, so a
    /// caller that must never pass on unverified bytes downloads to a
    /// file ([`Client::download_file`]) instead.
    pub async fn download_verified<W>(
        &self,
        media_id: MediaId,
        sink: &mut W,
        progress: impl Progress,
    ) -> Result<MediaInfo, ClientError>
    where
        W: AsyncWrite + Unpin,
    {
        let mut hashing = HashingWriter {
            inner: sink,
            hasher: Sha256::new(),
        };
        let (media, got) = self
            .download(
                media_id,
                MediaVariant::Original,
                0,
                None,
                &mut hashing,
                progress,
            )
            .await?;
        let digest: [u8; 32] = hashing.hasher.finalize().into();
        if got != media.size || digest != media.sha256 {
            return Err(ClientError::Integrity(format!(
                "the downloaded bytes of media {media_id} do not match its SHA-256 \
                 ({got} of {} bytes received); discard what was written",
                media.size
            )));
        }
        Ok(media)
    }

    /// Downloads a media object to `path`, safely:
    ///
    /// - bytes go into this download's own partial file beside `path`
    ///   ([`part_path`]), which a later call resumes from; nothing else is
    ///   ever resumed or appended to;
    /// - the partial file is renamed to `path` only after its size and
    ///   SHA-256 match the media, so `path` never holds a prefix;
    /// - an existing `path` is kept: if it already is this media (checked
    ///   by hash) the call reports it complete, otherwise it fails with
    ///   [`ClientError::FileExists`] unless `if_exists` is
    ///   [`IfExists::Replace`];
    /// - a partial file that turns out not to match is deleted.
    pub async fn download_file(
        &self,
        media_id: MediaId,
        path: &Path,
        if_exists: IfExists,
        progress: impl Progress,
    ) -> Result<DownloadOutcome, ClientError> {
        // Ask first, so an unknown or forbidden id leaves no file behind.
        let media = self.media_info(media_id).await?;
        let ctx = |what: &str, p: &Path| format!("{what} {}", p.display());
        match tokio::fs::metadata(path).await {
            Ok(m) if !m.is_file() => {
                return Err(ClientError::Io {
                    context: ctx("cannot write", path),
                    reason: "it is not a regular file".into(),
                })
            }
            Ok(m) => {
                if m.len() == media.size && file_matches(path, &media).await? {
                    return Ok(DownloadOutcome {
                        media,
                        resumed_from: m.len(),
                        bytes_received: 0,
                        already_complete: true,
                    });
                }
                if if_exists == IfExists::Refuse {
                    return Err(ClientError::FileExists(path.display().to_string()));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&ctx("cannot open", path), e)),
        }
        let part = part_path(path, &media.sha256);
        let existing = match tokio::fs::metadata(&part).await {
            Ok(m) if m.is_file() && m.len() <= media.size => m.len(),
            Ok(_) => {
                // Ours, but longer than the media: start over.
                remove_quietly(&part).await;
                0
            }
            Err(_) => 0,
        };
        let mut got = 0;
        if existing < media.size {
            let mut file = tokio::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&part)
                .await
                .map_err(|e| io_err(&ctx("cannot write", &part), e))?;
            let (_, n) = self
                .download(
                    media_id,
                    MediaVariant::Original,
                    existing,
                    None,
                    &mut file,
                    progress,
                )
                .await?;
            file.sync_all()
                .await
                .map_err(|e| io_err(&ctx("cannot write", &part), e))?;
            got = n;
        }
        if !file_matches(&part, &media).await? {
            remove_quietly(&part).await;
            return Err(ClientError::Integrity(format!(
                "the downloaded bytes of media {media_id} do not match its SHA-256; \
                 the partial file was deleted, download again"
            )));
        }
        tokio::fs::rename(&part, path)
            .await
            .map_err(|e| io_err(&ctx("cannot move the download to", path), e))?;
        Ok(DownloadOutcome {
            media,
            resumed_from: existing,
            bytes_received: got,
            already_complete: false,
        })
    }

    /// The metadata of a media object (a zero-length download).
    pub async fn media_info(&self, media_id: MediaId) -> Result<MediaInfo, ClientError> {
        let (media, _) = self
            .download(
                media_id,
                MediaVariant::Original,
                0,
                Some(0),
                &mut tokio::io::sink(),
                |_, _| {},
            )
            .await?;
        Ok(media)
    }

    /// Sends a voice note: reads its duration (the server decodes it
    /// again for transcription), uploads it as `voice` and sends it.
    /// Recipients see "transcribing…" and then the transcript as a
    /// `MessageUpdated` event.
    pub async fn send_voice(
        &self,
        to: impl Into<Recipient>,
        path: &Path,
        caption: &str,
        progress: impl Progress,
    ) -> Result<(SendAck, UploadOutcome), ClientError> {
        self.send_voice_as(to, path, None, caption, progress).await
    }

    /// [`Client::send_voice`], with the file name the others see
    /// (`None`: the path's name). Errors name the file by it too.
    pub async fn send_voice_as(
        &self,
        to: impl Into<Recipient>,
        path: &Path,
        filename: Option<String>,
        caption: &str,
        progress: impl Progress,
    ) -> Result<(SendAck, UploadOutcome), ClientError> {
        let shown = filename
            .clone()
            .unwrap_or_else(|| path.display().to_string());
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|e| io_err(&format!("cannot read {shown}"), e))?;
        let info = tokio::task::spawn_blocking(move || quichat_audio::probe(&bytes))
            .await
            .map_err(|e| ClientError::Protocol(format!("audio probe task: {e}")))?
            .map_err(|e| ClientError::Io {
                context: format!("{shown} is not usable audio"),
                reason: e.to_string(),
            })?;
        let to = to.into();
        let mut spec = UploadSpec::to(&to);
        spec.kind = Some(MediaKind::Voice);
        spec.duration_ms = Some(info.duration_ms);
        spec.filename = filename;
        let outcome = self.upload_file(path, spec, progress).await?;
        let ack = self.send_media(to, outcome.media.clone(), caption).await?;
        Ok((ack, outcome))
    }

    /// Sends a message that carries uploaded media.
    pub async fn send_media(
        &self,
        to: impl Into<Recipient>,
        media: MediaInfo,
        caption: &str,
    ) -> Result<SendAck, ClientError> {
        self.send(SendMessage {
            client_id: Uuid::now_v7(),
            to: to.into(),
            body: MessageBody::Media {
                media: Box::new(media),
                caption: caption.to_string(),
            },
        })
        .await
    }
}

fn unexpected_media(frame: Option<ServerMedia>, client: &Client) -> ClientError {
    match frame {
        Some(ServerMedia::Error(e)) => ClientError::Server(e),
        Some(other) => ClientError::Protocol(format!("unexpected media frame {other:?}")),
        None => client
            .connection()
            .close_reason()
            .map(ClientError::from)
            .unwrap_or_else(|| ClientError::closed("the media stream ended early")),
    }
}

/// Passes writes through to `inner`, hashing what `inner` accepted.
struct HashingWriter<'a, W> {
    inner: &'a mut W,
    hasher: Sha256,
}

impl<W: AsyncWrite + Unpin> AsyncWrite for HashingWriter<'_, W> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let this = &mut *self;
        let written = std::pin::Pin::new(&mut *this.inner).poll_write(cx, buf);
        if let std::task::Poll::Ready(Ok(n)) = &written {
            this.hasher.update(&buf[..*n]);
        }
        written
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut *self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut *self.inner).poll_shutdown(cx)
    }
}
