//! `send-file` (and `send-image`, `send-video`, `send-audio`),
//! `send-voice` and `download`: media transfers with a progress bar.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Result;
use quichat_client::{Client, ClientError, DownloadOutcome, IfExists, UploadSpec};
use quichat_proto::media::{MediaId, MediaInfo, MediaKind};
use quichat_proto::rpc::MAX_PAGE;
use quichat_proto::types::MessageBody;

use crate::args::MediaArgs;
use crate::error::CliError;
use crate::output::preview;
use crate::progress::Transfer;
use crate::render::{DownloadLine, MediaAckLine, VoiceAckLine};
use crate::session::Context;
use crate::target::{label, DownloadArg, Target};

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

/// The file a media command sends: a path, or stdin (`-`) copied into a
/// private temporary file first, because an upload needs the size and
/// hash before the first byte and reads the file twice.
struct Source {
    /// What to upload.
    path: PathBuf,
    /// The name for the progress bar.
    bar_name: String,
    /// The name the others see (`None`: the path's).
    filename: Option<String>,
    /// Keeps the copy of stdin until the upload is done.
    _stdin_copy: Option<tempfile::NamedTempFile>,
}

impl Source {
    /// Checks the file (or reads stdin) before connecting.
    fn open(args: &MediaArgs) -> Result<Source> {
        if args.path != Path::new("-") {
            return Ok(Source {
                bar_name: check_sendable(&args.path)?,
                path: args.path.clone(),
                filename: args.name.clone(),
                _stdin_copy: None,
            });
        }
        let filename = args.name.clone().unwrap_or_else(|| "stdin".to_string());
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            eprintln!("quichat: reading the file from stdin; end it with Ctrl-D");
        }
        // Created 0600 in the temporary directory, deleted on drop.
        let mut copy = tempfile::NamedTempFile::new()
            .map_err(|e| file_error(format!("cannot create a temporary file for stdin: {e}")))?;
        std::io::copy(&mut stdin.lock(), copy.as_file_mut())
            .map_err(|e| file_error(format!("cannot read the file from stdin: {e}")))?;
        Ok(Source {
            path: copy.path().to_path_buf(),
            bar_name: preview(&filename, BAR_NAME_CHARS),
            filename: Some(filename),
            _stdin_copy: Some(copy),
        })
    }
}

/// `send-file TO PATH|-`: uploads (resuming or deduplicating when the
/// server has the file or part of it), then sends the media message.
pub async fn send_file(ctx: &Context, args: MediaArgs, kind: Option<MediaKind>) -> Result<()> {
    let source = Source::open(&args)?;
    let name = &source.bar_name;
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
        spec.filename = source.filename.clone();
        let progress = bar.callback(format!("uploading {name}"), format!("storing {name}"));
        let upload = client.upload_file(&source.path, spec, progress).await?;
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

/// `send-voice TO PATH|-`: reads the audio's length (refusing a file that
/// is not audio), uploads it as a voice note and sends it; the server
/// transcribes it afterwards.
pub async fn send_voice(ctx: &Context, args: MediaArgs) -> Result<()> {
    let source = Source::open(&args)?;
    let name = &source.bar_name;
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
    let result = client
        .send_voice_as(
            &to,
            &source.path,
            source.filename.clone(),
            &args.caption,
            progress,
        )
        .await;
    drop(bar);
    client.close().await;
    let (ack, upload) = result?;
    let to = label(&to);
    ctx.printer.emit(
        &VoiceAckLine::human(&to, &upload, &ack),
        VoiceAckLine::new(&to, &upload, &ack),
    )
}

/// `download MSG|MEDIA_ID|CONV --latest [-o PATH|-] [--force]`:
/// downloads to the media's file name (or `PATH`) through a partial file
/// that resumes, checking the SHA-256 before the file gets its name; or,
/// with `-o -`, streams it to stdout and checks it at the end.
pub async fn download(
    ctx: &Context,
    what: DownloadArg,
    latest: bool,
    output: Option<PathBuf>,
    force: bool,
) -> Result<()> {
    let (client, _) = ctx.session().await?;
    let result = async {
        let media_id = media_of(&client, &what, latest).await?;
        if output.as_deref() == Some(Path::new("-")) {
            return download_to_stdout(ctx, &client, media_id)
                .await
                .map(|()| None);
        }
        download_with(ctx, &client, media_id, output, force)
            .await
            .map(Some)
    }
    .await;
    client.close().await;
    match result? {
        Some((outcome, path)) => ctx.printer.emit(
            &DownloadLine::human(&outcome, &path),
            DownloadLine::new(&outcome, &path),
        ),
        // Stdout held the file itself: nothing else goes there.
        None => Ok(()),
    }
}

/// The media id `what` names: as given, the file of a message, or the
/// newest file of a conversation (`--latest`).
async fn media_of(client: &Client, what: &DownloadArg, latest: bool) -> Result<MediaId> {
    let usage = |message: String| -> anyhow::Error { CliError::new("usage", message).into() };
    match (what, latest) {
        (DownloadArg::Media(id), false) => Ok(*id),
        (DownloadArg::Message(m), false) => {
            let to = m.conversation.resolve(client).await?;
            let page = client
                .history(to.conversation(), Some(m.seq.saturating_add(1)), 1)
                .await?;
            let message = page
                .messages
                .into_iter()
                .find(|msg| msg.seq == m.seq)
                .ok_or_else(|| CliError::new("not_found", format!("there is no message {m}")))?;
            match message.body {
                MessageBody::Media { media, .. } => Ok(media.id),
                MessageBody::Recalled { .. } => Err(CliError::new(
                    "not_found",
                    format!("message {m} was recalled; its file is gone"),
                )
                .into()),
                _ => Err(CliError::new(
                    "not_a_file",
                    format!(
                        "message {m} is not a file (it is a {} message)",
                        message.body.kind()
                    ),
                )
                .into()),
            }
        }
        (DownloadArg::Conversation(target), true) => {
            let to = target.resolve(client).await?;
            let mut before = None;
            loop {
                let page = client.history(to.conversation(), before, MAX_PAGE).await?;
                if let Some(media) = page.messages.iter().find_map(|msg| match &msg.body {
                    MessageBody::Media { media, .. } => Some(media.id),
                    _ => None,
                }) {
                    return Ok(media);
                }
                match page.messages.last() {
                    Some(oldest) if page.has_more => before = Some(oldest.seq),
                    _ => {
                        return Err(CliError::new(
                            "not_found",
                            format!("no file was sent in {} yet", label(&to)),
                        )
                        .into())
                    }
                }
            }
        }
        (DownloadArg::Conversation(target), false) => Err(usage(format!(
            "'{}' names a conversation, not a file: add --latest for its newest file, \
             or name a message ({}#SEQ)",
            target_word(target),
            target_word(target)
        ))),
        (_, true) => Err(usage(
            "--latest takes a conversation (e.g. `download bob --latest`), not a message or \
             a media id"
                .into(),
        )),
    }
}

/// A target as typed: `bob`, `#12`, `#family`.
fn target_word(target: &Target) -> String {
    match target {
        Target::User(name) => name.clone(),
        Target::Group(g) => g.to_string(),
    }
}

/// `download ... -o -`: the verified stream to stdout, with the progress
/// bar (if any) on stderr.
async fn download_to_stdout(ctx: &Context, client: &Client, media_id: MediaId) -> Result<()> {
    let bar = Transfer::new(ctx.opts.json, "downloading".to_string());
    let progress = bar.callback("downloading".to_string(), "checking".to_string());
    let mut stdout = tokio::io::stdout();
    let result = client
        .download_verified(media_id, &mut stdout, progress)
        .await;
    drop(bar);
    match result {
        Ok(_) => Ok(()),
        Err(ClientError::Integrity(reason)) => Err(CliError::new("hash_mismatch", reason).into()),
        Err(e) => Err(e.into()),
    }
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
pub fn local_filename(media: &MediaInfo) -> String {
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
