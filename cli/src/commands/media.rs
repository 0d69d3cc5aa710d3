//! `send-file` (and `send-image`, `send-video`, `send-audio`),
//! `send-voice` and `download`: media transfers with a progress bar.

use std::path::{Path, PathBuf};

use anyhow::Result;
use quichat_client::{Client, ClientError, DownloadOutcome, IfExists, UploadSpec};
use quichat_proto::media::{MediaId, MediaInfo, MediaKind};

use crate::args::MediaArgs;
use crate::error::CliError;
use crate::output::preview;
use crate::progress::Transfer;
use crate::render::{DownloadLine, MediaAckLine, VoiceAckLine};
use crate::session::Context;
use crate::target::label;

/// Longest file name shown in a progress bar.
const BAR_NAME_CHARS: usize = 24;

/// Longest file name `download` writes by default (bytes).
const MAX_FILENAME_BYTES: usize = 200;

/// A local file error (code `file`).
fn file_error(message: String) -> anyhow::Error {
    CliError::new("file", message).into()
}

/// Fails on a missing file or a directory before connecting; returns the
/// name to show in the progress bar.
fn check_sendable(path: &Path) -> Result<String> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {
            return Err(file_error(format!(
                "cannot send {}: it is a directory",
                path.display()
            )))
        }
        Ok(_) => {}
        Err(e) => return Err(file_error(format!("cannot open {}: {e}", path.display()))),
    }
    Ok(path
        .file_name()
        .map(|n| preview(&n.to_string_lossy(), BAR_NAME_CHARS))
        .unwrap_or_else(|| "file".into()))
}

/// `send-file TO PATH`: uploads (resuming or deduplicating when the
/// server has the file or part of it), then sends the media message.
pub async fn send_file(ctx: &Context, args: MediaArgs, kind: Option<MediaKind>) -> Result<()> {
    let path = args.path.as_path();
    let name = check_sendable(path)?;
    let (client, _) = ctx.session().await?;
    let to = match args.to.resolve(&client).await {
        Ok(to) => to,
        Err(e) => {
            client.close().await;
            return Err(e);
        }
    };
    let bar = Transfer::new(ctx.opts.json, format!("hashing {name}"));
    let result = async {
        let mut spec = UploadSpec::to(&to);
        spec.kind = kind;
        let progress = bar.callback(format!("uploading {name}"), format!("storing {name}"));
        let upload = client.upload_file(path, spec, progress).await?;
        bar.finish();
        let ack = client
            .send_media(&to, upload.media.clone(), &args.caption)
            .await?;
        Ok::<_, anyhow::Error>((upload, ack))
    }
    .await;
    drop(bar);
    client.close().await;
    let (upload, ack) = result?;
    let to = label(&to);
    ctx.printer.emit(
        &MediaAckLine::human(&to, &upload, &ack),
        MediaAckLine::new(&to, &upload, &ack),
    )
}

/// `send-voice TO PATH`: reads the audio's length (refusing a file that
/// is not audio), uploads it as a voice note and sends it; the server
/// transcribes it afterwards.
pub async fn send_voice(ctx: &Context, args: MediaArgs) -> Result<()> {
    let path = args.path.as_path();
    let name = check_sendable(path)?;
    let (client, _) = ctx.session().await?;
    let to = match args.to.resolve(&client).await {
        Ok(to) => to,
        Err(e) => {
            client.close().await;
            return Err(e);
        }
    };
    let bar = Transfer::new(ctx.opts.json, format!("reading {name}"));
    let progress = bar.callback(format!("uploading {name}"), format!("storing {name}"));
    let result = client.send_voice(&to, path, &args.caption, progress).await;
    drop(bar);
    client.close().await;
    let (ack, upload) = result?;
    let to = label(&to);
    ctx.printer.emit(
        &VoiceAckLine::human(&to, &upload, &ack),
        VoiceAckLine::new(&to, &upload, &ack),
    )
}

/// `download MEDIA_ID [-o PATH] [--force]`: downloads to the media's file
/// name (or `PATH`) through a partial file that resumes, checking the
/// SHA-256 before the file gets its name.
pub async fn download(
    ctx: &Context,
    media_id: MediaId,
    output: Option<PathBuf>,
    force: bool,
) -> Result<()> {
    let (client, _) = ctx.session().await?;
    let result = download_with(ctx, &client, media_id, output, force).await;
    client.close().await;
    let (outcome, path) = result?;
    ctx.printer.emit(
        &DownloadLine::human(&outcome, &path),
        DownloadLine::new(&outcome, &path),
    )
}

async fn download_with(
    ctx: &Context,
    client: &Client,
    media_id: MediaId,
    output: Option<PathBuf>,
    force: bool,
) -> Result<(DownloadOutcome, PathBuf)> {
    let media = client.media_info(media_id).await?;
    let path = match output {
        None => Path::new(".").join(local_filename(&media)),
        Some(dir) if dir.is_dir() => dir.join(local_filename(&media)),
        Some(path) => path,
    };
    let name = preview(&media.filename, BAR_NAME_CHARS);
    let bar = Transfer::new(ctx.opts.json, format!("downloading {name}"));
    let progress = bar.callback(format!("downloading {name}"), format!("checking {name}"));
    let if_exists = if force {
        IfExists::Replace
    } else {
        IfExists::Refuse
    };
    let outcome = client
        .download_file(media_id, &path, if_exists, progress)
        .await;
    drop(bar);
    match outcome {
        Ok(outcome) => Ok((outcome, path)),
        Err(ClientError::FileExists(_)) => Err(CliError::new(
            "file_exists",
            format!(
                "{} already exists and is not this file; choose another path with -o, \
                 or replace it with --force",
                path.display()
            ),
        )
        .into()),
        Err(ClientError::Integrity(reason)) => Err(CliError::new("hash_mismatch", reason).into()),
        Err(e) => Err(e.into()),
    }
}

/// The name `download` writes to by default: the server's (already
/// sanitised) file name, sanitised again for the local file system: no
/// directories, no leading dots, no control or reserved characters, not
/// too long. Falls back to the media id.
fn local_filename(media: &MediaInfo) -> String {
    let base = media
        .filename
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default();
    let cleaned: String = base
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = cleaned
        .trim_start_matches(|c: char| c == '.' || c.is_whitespace())
        .trim_end_matches(|c: char| c == '.' || c.is_whitespace());
    let mut name = String::new();
    for c in trimmed.chars() {
        if name.len() + c.len_utf8() > MAX_FILENAME_BYTES {
            break;
        }
        name.push(c);
    }
    if name.is_empty() {
        format!("{}.{}", media.id, media.kind.as_str())
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn named(filename: &str) -> MediaInfo {
        MediaInfo {
            id: Uuid::nil(),
            kind: MediaKind::File,
            size: 1,
            sha256: [0; 32],
            mime: "application/octet-stream".into(),
            filename: filename.into(),
            width: None,
            height: None,
            duration_ms: None,
            has_thumbnail: false,
        }
    }

    #[test]
    fn local_names_are_safe() {
        assert_eq!(local_filename(&named("photo.jpg")), "photo.jpg");
        assert_eq!(local_filename(&named("../../etc/passwd")), "passwd");
        assert_eq!(local_filename(&named("a\\b\\c.txt")), "c.txt");
        assert_eq!(
            local_filename(&named("..")),
            format!("{}.file", Uuid::nil())
        );
        assert_eq!(local_filename(&named(".bashrc")), "bashrc");
        assert_eq!(local_filename(&named("a\u{1b}[2J:b.txt")), "a_[2J_b.txt");
        assert_eq!(local_filename(&named("")), format!("{}.file", Uuid::nil()));
        let long = "é".repeat(300);
        assert!(local_filename(&named(&long)).len() <= MAX_FILENAME_BYTES);
    }
}
