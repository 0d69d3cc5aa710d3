//! Command-line syntax: global options and subcommands (clap derive).
//!
//! Everything here is declarative; the commands themselves live in
//! [`crate::commands`].

use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};
use quichat_proto::media::{MediaId, MediaKind};
use quichat_proto::rpc::MAX_PAGE;
use quichat_proto::social::{CategoryId, FriendRequestId};
use quichat_proto::types::DeviceId;

/// quichat: chat with people on a self-hosted quichat server.
///
/// Log in once per profile (`register` or `login`); the profile keeps the
/// server, the trust anchor and the device token, so later commands need
/// no options.
#[derive(Debug, Parser)]
#[command(name = "quichat", version, propagate_version = true)]
pub struct Cli {
    /// Options shared by every command.
    #[command(flatten)]
    pub global: GlobalOpts,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options accepted by every command (before or after the command name).
#[derive(Debug, Clone, Args)]
pub struct GlobalOpts {
    /// Server address [default: the profile's server, else 127.0.0.1:4433]
    #[arg(long, global = true, env = "QUICHAT_SERVER", value_name = "HOST:PORT")]
    pub server: Option<String>,

    /// Trust the server certificate if it is signed by the CA in this PEM
    /// file [default: the profile's trust anchor, else
    /// ./quichat-data/certs/ca.pem if it exists]
    #[arg(
        long,
        global = true,
        env = "QUICHAT_CA",
        value_name = "PATH",
        conflicts_with = "pin"
    )]
    pub ca: Option<PathBuf>,

    /// Trust the server certificate if its SHA-256 fingerprint (or that of
    /// its CA) is this hex string (colons allowed)
    #[arg(long, global = true, env = "QUICHAT_PIN", value_name = "SHA256HEX")]
    pub pin: Option<String>,

    /// Profile holding the login state (letters, digits, '-', '_')
    #[arg(
        long,
        global = true,
        env = "QUICHAT_PROFILE",
        value_name = "NAME",
        default_value = "default"
    )]
    pub profile: String,

    /// Seconds to wait for the server to answer a connection attempt
    #[arg(
        long,
        global = true,
        env = "QUICHAT_CONNECT_TIMEOUT",
        value_name = "SECS",
        default_value_t = 10.0,
        value_parser = parse_timeout
    )]
    pub connect_timeout: f64,

    /// Machine-readable output: one JSON object per line on stdout
    #[arg(long, global = true, env = "QUICHAT_JSON", value_parser = BoolishValueParser::new())]
    pub json: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an account and log this profile in as it
    Register(AuthArgs),
    /// Log this profile in (creates a new device for the account)
    Login(AuthArgs),
    /// Revoke this profile's device token and forget it
    Logout,
    /// Show who this profile is logged in as
    Whoami,
    /// List this account's devices, or revoke one
    Devices {
        /// What to do with the devices (default: list them).
        #[command(subcommand)]
        action: Option<DevicesAction>,
    },
    /// Send a text message to a user
    Send {
        /// Recipient's username
        user: String,
        /// Message text; several words are joined with spaces (put `--`
        /// before text that starts with '-')
        #[arg(required = true, value_name = "TEXT")]
        text: Vec<String>,
    },
    /// Upload a file and send it to a user
    ///
    /// The kind (image, video, audio, file) is guessed from the content
    /// and the file name unless `--kind` says otherwise. An interrupted
    /// upload resumes when the same file is sent again; a file the server
    /// already has is not uploaded twice.
    SendFile(SendFileArgs),
    /// Upload a picture and send it to a user (`send-file --kind image`)
    SendImage(MediaArgs),
    /// Upload a video and send it to a user (`send-file --kind video`)
    SendVideo(MediaArgs),
    /// Upload an audio file and send it to a user (`send-file --kind audio`)
    SendAudio(MediaArgs),
    /// Send a recorded voice note; the server transcribes it
    ///
    /// Takes WAV, Ogg/Opus, MP3, FLAC or Ogg/Vorbis. Its length is read
    /// before the upload; the recipients see "transcribing…" until the
    /// transcript arrives (shown by `listen` and `history`).
    SendVoice(MediaArgs),
    /// Download a file that was sent in a conversation
    ///
    /// Writes to the file's name in the current directory unless `-o`
    /// names another path. Bytes go to a partial file beside it
    /// (`NAME.<sha256 prefix>.part`), which an interrupted download
    /// resumes from; the file gets its name only once its SHA-256
    /// matches. An existing file that is not this media is never touched
    /// unless --force replaces it.
    Download {
        /// Media id, as shown by `history` (`id ...`) or in the JSON `media.id`
        #[arg(value_name = "MEDIA_ID")]
        media_id: MediaId,
        /// Where to write it (a directory means: the file's name in it)
        #[arg(short, long, value_name = "PATH")]
        output: Option<PathBuf>,
        /// Replace an existing file that is not this media (after the
        /// download is complete and verified)
        #[arg(long)]
        force: bool,
    },
    /// Show the conversation with a user, oldest message first
    History {
        /// The other user's username
        user: String,
        /// How many messages to show
        #[arg(long, default_value_t = 20, value_name = "N",
              value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_PAGE)))]
        limit: u32,
        /// Only messages with a sequence number below SEQ (page backwards)
        #[arg(long, value_name = "SEQ")]
        before: Option<u64>,
    },
    /// List conversations with unread counts and the latest message
    Chats,
    /// Mark the conversation with a user read up to its latest message
    Read {
        /// The other user's username
        user: String,
    },
    /// Show or change profiles (display name, status line, avatar)
    Profile {
        /// What to do (default: show your own profile).
        #[command(subcommand)]
        action: Option<ProfileAction>,
    },
    /// Friends and friend requests
    Friends {
        /// What to do (default: list your friends).
        #[command(subcommand)]
        action: Option<FriendsAction>,
    },
    /// Find users by username or display-name prefix
    Search {
        /// The prefix (case-insensitive)
        prefix: String,
        /// How many results
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=MAX_PAGE as i64))]
        limit: u32,
        /// Continue after this username (the last one of the previous page)
        #[arg(long, value_name = "USERNAME")]
        after: Option<String>,
    },
    /// Sort friends into named categories
    Categories {
        /// What to do (default: list your categories).
        #[command(subcommand)]
        action: Option<CategoriesAction>,
    },
    /// Block a user: they can no longer message you, send you friend
    /// requests, or see your presence and profile changes (they are not
    /// told)
    Block {
        /// Username
        user: String,
    },
    /// Unblock a user
    Unblock {
        /// Username
        user: String,
    },
    /// List the users you blocked
    Blocked,
    /// Show your friends' online state, or hide your own
    Presence {
        /// Hide your presence from everyone (they see "offline")
        #[arg(long, conflicts_with = "show")]
        hide: bool,
        /// Show your presence again
        #[arg(long)]
        show: bool,
    },
    /// Print messages, receipts, friend requests, profile changes,
    /// presence and typing as they arrive
    ///
    /// Starts after the last event printed by a previous `listen` of this
    /// profile, so nothing is missed and nothing is printed twice. Runs
    /// until Ctrl-C (exit 0) or until the connection closes (exit 1).
    Listen {
        /// Print everything from the beginning of the account's history
        #[arg(long)]
        from_start: bool,
    },
}

/// Arguments of `register` and `login`.
#[derive(Debug, Args)]
pub struct AuthArgs {
    /// Username (3-32 characters of a-z, 0-9, '_', '.', '-', starting with a
    /// letter; case-insensitive)
    pub user: String,

    /// Read the password from the first line of stdin instead of prompting
    #[arg(long)]
    pub password_stdin: bool,

    /// Name of this device as shown by `quichat devices` [default:
    /// quichat-cli@HOSTNAME]
    #[arg(long, env = "QUICHAT_DEVICE_NAME", value_name = "NAME")]
    pub device_name: Option<String>,
}

/// Arguments shared by `send-file` and its fixed-kind aliases.
#[derive(Debug, Args)]
pub struct MediaArgs {
    /// Recipient's username
    pub user: String,
    /// The file to send
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// Text shown with the file
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub caption: String,
}

/// Arguments of `send-file`.
#[derive(Debug, Args)]
pub struct SendFileArgs {
    /// Recipient, file and caption.
    #[command(flatten)]
    pub media: MediaArgs,
    /// Kind of media [default: guessed from the content and the file name]
    #[arg(long, value_enum)]
    pub kind: Option<KindArg>,
}

/// `--kind` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    /// A picture (the server makes a thumbnail)
    Image,
    /// A video
    Video,
    /// An audio file
    Audio,
    /// A recorded voice note
    Voice,
    /// Anything else
    File,
}

impl From<KindArg> for MediaKind {
    fn from(k: KindArg) -> MediaKind {
        match k {
            KindArg::Image => MediaKind::Image,
            KindArg::Video => MediaKind::Video,
            KindArg::Audio => MediaKind::Audio,
            KindArg::Voice => MediaKind::Voice,
            KindArg::File => MediaKind::File,
        }
    }
}

/// Subcommands of `devices`.
#[derive(Debug, Subcommand)]
pub enum DevicesAction {
    /// List the devices (the default)
    List,
    /// Revoke a device: its token stops working and it is disconnected
    Revoke {
        /// Device id, as shown by `quichat devices`
        id: DeviceId,
    },
}

/// A timeout in seconds: positive, at most an hour.
fn parse_timeout(s: &str) -> Result<f64, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("'{s}' is not a number of seconds"))?;
    if secs > 0.0 && secs <= 3600.0 {
        Ok(secs)
    } else {
        Err("the timeout must be more than 0 and at most 3600 seconds".into())
    }
}

/// `profile` actions.
#[derive(Debug, Subcommand)]
pub enum ProfileAction {
    /// Show a profile (default: your own)
    Show {
        /// Username
        user: Option<String>,
    },
    /// Change your profile; options you leave out stay as they are
    Set {
        /// Display name (empty clears it)
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// Status line (empty clears it)
        #[arg(long, value_name = "TEXT")]
        status: Option<String>,
        /// An image file to upload as your avatar
        #[arg(long, value_name = "PATH", conflicts_with = "no_avatar")]
        avatar: Option<PathBuf>,
        /// Remove your avatar
        #[arg(long)]
        no_avatar: bool,
    },
}

/// `friends` actions.
#[derive(Debug, Subcommand)]
pub enum FriendsAction {
    /// List your friends (the default)
    List,
    /// Send a friend request (accepts theirs if they asked first)
    Add {
        /// Username
        user: String,
        /// A note for them
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Accept a friend request addressed to you
    Accept {
        /// Request id, as shown by `friends requests`
        id: FriendRequestId,
    },
    /// Decline a friend request addressed to you
    Decline {
        /// Request id
        id: FriendRequestId,
    },
    /// Withdraw a friend request you sent
    Cancel {
        /// Request id
        id: FriendRequestId,
    },
    /// End a friendship
    Remove {
        /// Username
        user: String,
    },
    /// Pending requests, to you and from you
    Requests,
}

/// `categories` actions.
#[derive(Debug, Subcommand)]
pub enum CategoriesAction {
    /// List your categories (the default)
    List,
    /// Create a category
    Create {
        /// Name
        name: String,
    },
    /// Rename a category
    Rename {
        /// Category id, as shown by `categories`
        id: CategoryId,
        /// New name
        name: String,
    },
    /// Delete a category (its friends keep none)
    Delete {
        /// Category id
        id: CategoryId,
    },
    /// Put a friend into a category
    Move {
        /// The friend's username
        user: String,
        /// Category id; leave it out to take the friend out of any category
        id: Option<CategoryId>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_work_after_the_command() {
        let cli = Cli::try_parse_from([
            "quichat",
            "send",
            "bob",
            "hello",
            "there",
            "--json",
            "--profile",
            "p2",
        ])
        .expect("parses");
        assert!(cli.global.json);
        assert_eq!(cli.global.profile, "p2");
        match cli.command {
            Command::Send { user, text } => {
                assert_eq!(user, "bob");
                assert_eq!(text.join(" "), "hello there");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn media_commands_parse() {
        let cli = Cli::try_parse_from([
            "quichat",
            "send-file",
            "bob",
            "a.pdf",
            "--caption",
            "the report",
            "--kind",
            "voice",
        ])
        .expect("parses");
        match cli.command {
            Command::SendFile(a) => {
                assert_eq!(a.media.user, "bob");
                assert_eq!(a.media.path, PathBuf::from("a.pdf"));
                assert_eq!(a.media.caption, "the report");
                assert_eq!(a.kind.map(MediaKind::from), Some(MediaKind::Voice));
            }
            other => panic!("unexpected {other:?}"),
        }
        // The aliases fix the kind.
        assert!(
            Cli::try_parse_from(["quichat", "send-image", "bob", "a.png", "--kind", "file"])
                .is_err()
        );
        let cli = Cli::try_parse_from([
            "quichat",
            "download",
            "0190a5b2-0000-7000-8000-000000000001",
            "-o",
            "x.bin",
        ])
        .expect("parses");
        match cli.command {
            Command::Download {
                media_id, output, ..
            } => {
                assert_eq!(media_id.to_string(), "0190a5b2-0000-7000-8000-000000000001");
                assert_eq!(output, Some(PathBuf::from("x.bin")));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(Cli::try_parse_from(["quichat", "download", "not-a-uuid"]).is_err());
        let cli = Cli::try_parse_from([
            "quichat",
            "send-voice",
            "bob",
            "note.ogg",
            "--caption",
            "listen",
        ])
        .expect("parses");
        match cli.command {
            Command::SendVoice(a) => {
                assert_eq!(a.user, "bob");
                assert_eq!(a.path, PathBuf::from("note.ogg"));
                assert_eq!(a.caption, "listen");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(
            Cli::try_parse_from(["quichat", "send-voice", "bob", "a.wav", "--kind", "file"])
                .is_err()
        );
    }

    #[test]
    fn ca_and_pin_conflict() {
        assert!(Cli::try_parse_from(["quichat", "--ca", "x", "--pin", "ab", "whoami"]).is_err());
    }
}
