//! Lines and fragments about media: uploads, downloads, labels of media
//! messages, transcripts of voice notes.

use std::path::Path;

use quichat_client::{DownloadOutcome, UploadOutcome};
use quichat_proto::media::{MediaId, MediaInfo, MediaKind};
use quichat_proto::types::{SendAck, Transcript, TranscriptStatus};
use serde::Serialize;

use super::messages::AckLine;
use super::FILENAME_CHARS;
use crate::output::{human_duration, human_size, preview, sanitize};

/// The `media` object of JSON lines: a media object's metadata.
#[derive(Debug, Serialize)]
pub struct MediaJson {
    id: MediaId,
    kind: &'static str,
    size: u64,
    sha256: String,
    mime: String,
    filename: String,
    width: Option<u32>,
    height: Option<u32>,
    duration_ms: Option<u64>,
    has_thumbnail: bool,
}

impl MediaJson {
    /// From the server's media info.
    pub fn new(m: &MediaInfo) -> Self {
        MediaJson {
            id: m.id,
            kind: m.kind.as_str(),
            size: m.size,
            sha256: hex::encode(m.sha256),
            mime: m.mime.clone(),
            filename: m.filename.clone(),
            width: m.width,
            height: m.height,
            duration_ms: m.duration_ms,
            has_thumbnail: m.has_thumbnail,
        }
    }
}

/// `image photo.jpg, 1.2 MiB, 800×600, id 0190...`: what a media message
/// shows, with the full id so that it can be copied into `download`.
pub fn media_label(m: &MediaInfo) -> String {
    if m.kind == MediaKind::Voice {
        return voice_label(m);
    }
    let mut label = format!(
        "{} {}, {}",
        m.kind.as_str(),
        preview(&m.filename, FILENAME_CHARS),
        human_size(m.size)
    );
    if let (Some(w), Some(h)) = (m.width, m.height) {
        label.push_str(&format!(", {w}×{h}"));
    }
    if let Some(ms) = m.duration_ms {
        label.push_str(&format!(", {}", human_duration(ms)));
    }
    label.push_str(&format!(", id {}", m.id));
    label
}

/// `voice note.ogg, 4.2 s, id 0190...`: a voice note's label (its length
/// matters more than its size).
fn voice_label(m: &MediaInfo) -> String {
    let mut label = format!("voice {}", preview(&m.filename, FILENAME_CHARS));
    if let Some(ms) = m.duration_ms {
        label.push_str(&format!(", {}", voice_duration(ms)));
    }
    label.push_str(&format!(", id {}", m.id));
    label
}

/// A voice note's length: `4.2 s` below a minute, else `1:05`.
pub fn voice_duration(ms: u64) -> String {
    if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        human_duration(ms)
    }
}

/// The `transcript` object of JSON message lines.
#[derive(Debug, Serialize)]
pub struct TranscriptJson {
    status: &'static str,
    text: String,
    language: Option<String>,
    reason: Option<String>,
    segments: Vec<SegmentJson>,
}

/// One timed span of a transcript.
#[derive(Debug, Serialize)]
pub struct SegmentJson {
    start_ms: u64,
    end_ms: u64,
    text: String,
}

impl TranscriptJson {
    /// From the server's transcript.
    pub fn new(t: &Transcript) -> Self {
        let (status, reason) = match &t.status {
            TranscriptStatus::Pending => ("pending", None),
            TranscriptStatus::Done => ("done", None),
            TranscriptStatus::Failed { reason } => ("failed", Some(reason.clone())),
        };
        TranscriptJson {
            status,
            text: t.text.clone(),
            language: t.language.clone(),
            reason,
            segments: t
                .segments
                .iter()
                .map(|s| SegmentJson {
                    start_ms: s.start_ms,
                    end_ms: s.end_ms,
                    text: s.text.clone(),
                })
                .collect(),
        }
    }
}

/// A transcript for people: `“please call me back”`, `(transcribing…)`
/// or `(transcription failed: REASON)`.
pub fn transcript_human(t: &Transcript) -> String {
    match &t.status {
        TranscriptStatus::Pending => "(transcribing…)".to_string(),
        TranscriptStatus::Done if t.text.trim().is_empty() => "(no speech)".to_string(),
        TranscriptStatus::Done => format!("“{}”", sanitize(t.text.trim())),
        TranscriptStatus::Failed { reason } => {
            format!("(transcription failed: {})", sanitize(reason))
        }
    }
}

/// A transcript in a one-line preview of at most `max` characters of text.
pub(super) fn transcript_preview(t: &Transcript, max: usize) -> String {
    match &t.status {
        TranscriptStatus::Pending => "(transcribing…)".to_string(),
        TranscriptStatus::Done if t.text.trim().is_empty() => "(no speech)".to_string(),
        TranscriptStatus::Done => format!("“{}”", preview(t.text.trim(), max)),
        TranscriptStatus::Failed { .. } => "(transcription failed)".to_string(),
    }
}

/// `{"type":"ack"}` of `send-file`: the message ack plus the upload.
#[derive(Debug, Serialize)]
pub struct MediaAckLine {
    #[serde(flatten)]
    ack: AckLine,
    media: MediaJson,
    deduplicated: bool,
    resumed_from: u64,
    bytes_sent: u64,
}

impl MediaAckLine {
    /// From the upload and the ack of the message that carries it.
    pub fn new(to: &str, upload: &UploadOutcome, ack: &SendAck) -> Self {
        MediaAckLine {
            ack: AckLine::new(to, ack),
            media: MediaJson::new(&upload.media),
            deduplicated: upload.deduplicated,
            resumed_from: upload.resumed_from,
            bytes_sent: upload.bytes_sent,
        }
    }

    /// `sent report.pdf (2.0 MiB) to bob: #5 in conversation 1 at ...`,
    /// plus how the upload went when not from scratch.
    pub fn human(to: &str, upload: &UploadOutcome, ack: &SendAck) -> String {
        format!(
            "sent {} ({}) {}{}",
            preview(&upload.media.filename, FILENAME_CHARS),
            human_size(upload.media.size),
            AckLine::details(to, ack),
            Self::how(upload)
        )
    }

    /// ` (already on the server, nothing uploaded)`, ` (resumed at …)` or
    /// nothing.
    fn how(upload: &UploadOutcome) -> String {
        if upload.deduplicated {
            " (already on the server, nothing uploaded)".to_string()
        } else if upload.resumed_from > 0 {
            format!(" (resumed at {})", human_size(upload.resumed_from))
        } else {
            String::new()
        }
    }
}

/// `{"type":"ack"}` of `send-voice`: the `send-file` ack plus the voice
/// note's length.
#[derive(Debug, Serialize)]
pub struct VoiceAckLine {
    #[serde(flatten)]
    ack: MediaAckLine,
    duration_ms: Option<u64>,
}

impl VoiceAckLine {
    /// From the upload and the ack of the message that carries it.
    pub fn new(to: &str, upload: &UploadOutcome, ack: &SendAck) -> Self {
        VoiceAckLine {
            ack: MediaAckLine::new(to, upload, ack),
            duration_ms: upload.media.duration_ms,
        }
    }

    /// `sent voice note (4.2 s) to bob: #7 in conversation 1 at ... —
    /// transcribing`.
    pub fn human(to: &str, upload: &UploadOutcome, ack: &SendAck) -> String {
        let length = upload
            .media
            .duration_ms
            .map(|ms| format!(" ({})", voice_duration(ms)))
            .unwrap_or_default();
        format!(
            "sent voice note{length} {}{} — transcribing",
            AckLine::details(to, ack),
            MediaAckLine::how(upload)
        )
    }
}

/// `{"type":"download"}`: a media file was downloaded (or was already
/// complete).
#[derive(Debug, Serialize)]
pub struct DownloadLine {
    media: MediaJson,
    path: String,
    resumed_from: u64,
    bytes_received: u64,
}

impl DownloadLine {
    /// From the finished download to `path`.
    pub fn new(d: &DownloadOutcome, path: &Path) -> Self {
        DownloadLine {
            media: MediaJson::new(&d.media),
            path: path.display().to_string(),
            resumed_from: d.resumed_from,
            bytes_received: d.bytes_received,
        }
    }

    /// `downloaded photo.jpg (1.2 MiB) to ./photo.jpg`, or, when the file
    /// was there already, `photo.jpg (1.2 MiB) is already complete in
    /// ./photo.jpg (checked)`.
    pub fn human(d: &DownloadOutcome, path: &Path) -> String {
        let name = preview(&d.media.filename, FILENAME_CHARS);
        let size = human_size(d.media.size);
        let path = preview(&path.display().to_string(), usize::MAX);
        if d.already_complete {
            return format!("{name} ({size}) is already complete in {path} (checked)");
        }
        let resumed = if d.resumed_from > 0 {
            format!(" (resumed at {})", human_size(d.resumed_from))
        } else {
            String::new()
        };
        format!("downloaded {name} ({size}) to {path}{resumed}")
    }
}
