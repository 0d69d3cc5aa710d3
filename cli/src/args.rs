//! Command-line syntax: global options and subcommands (clap derive).
//!
//! Everything here is declarative; the commands themselves live in
//! [`crate::commands`].

use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};
use quichat_proto::group::InviteId;
use quichat_proto::media::MediaKind;
use quichat_proto::rpc::MAX_PAGE;
use quichat_proto::social::{CategoryId, FriendRequestId};
use quichat_proto::types::DeviceId;

use crate::target::{DownloadArg, GroupArg, MessageArg, Target};

/// quichat: chat with people on a self-hosted quichat server.
///
/// Log in once per profile (`register` or `login`); the profile keeps the
/// server, the trust anchor and the device token, so later commands need
/// no options.
///
/// Commands that take a conversation (`send`, `send-file`, `history`,
/// `read`, ...) accept a username (`bob`) or a group: `'#12'` by its id,
/// `'#family'` by its name (case-insensitive). Quote them: in a shell `#`
/// starts a comment.
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
/// Listed under their own heading in every command's help.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
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
    /// Send a broadcast to every user of the server (server
    /// administrators only: `quichat-server admin grant USER`)
    ///
    /// Everyone gets it in `listen` (or on their next sync when offline),
    /// as `📢 server broadcast from YOU: TEXT`.
    Broadcast {
        /// The text; several words are joined with spaces. `-` alone reads
        /// it from stdin (up to end of file, without the final line break)
        #[arg(required = true, value_name = "TEXT")]
        text: Vec<String>,
    },
    /// Change this account's password
    ///
    /// Asks for the current password and the new one (twice) on the
    /// terminal; with --password-stdin, reads the current one from the
    /// first line of stdin and the new one from the second. Other devices
    /// stay logged in unless --sign-out-others revokes them (they are
    /// disconnected at once).
    Passwd(PasswdArgs),
    /// List the profiles on this computer: server, user, and whether each
    /// saved session still works
    ///
    /// Asks each profile's server (all at once, each within
    /// --connect-timeout) unless --offline is given.
    Profiles {
        /// Do not contact the servers: show only what is saved
        #[arg(long)]
        offline: bool,
    },
    /// Print a shell completion script
    ///
    /// For example: `quichat completions bash >
    /// ~/.local/share/bash-completion/completions/quichat`, `quichat
    /// completions zsh > ~/.zfunc/_quichat`, or `quichat completions fish
    /// > ~/.config/fish/completions/quichat.fish`.
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `quichat manpage | man -l -`
    ///
    /// With --dir, writes quichat.1 and one page per command
    /// (quichat-send.1, ...) into that directory instead, for `man` to
    /// find under MANPATH.
    Manpage {
        /// Write every page into this directory
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Send a text message to a user or a group
    Send {
        /// Recipient: a username, or a group as '#ID' or '#NAME' (quote
        /// it: '#' starts a shell comment)
        #[arg(value_name = "USER|#GROUP")]
        to: Target,
        /// Message text; several words are joined with spaces (put `--`
        /// before text that starts with '-'). `-` alone reads it from
        /// stdin (up to end of file, without the final line break)
        #[arg(required_unless_present = "message_file", value_name = "TEXT")]
        text: Vec<String>,
        /// Read the text from this file instead (`-`: stdin), less one
        /// final line break
        #[arg(long, short = 'F', value_name = "PATH", conflicts_with = "text")]
        message_file: Option<PathBuf>,
    },
    /// Upload a file and send it to a user or a group
    ///
    /// The kind (image, video, audio, file) is guessed from the content
    /// and the file name unless `--kind` says otherwise. An interrupted
    /// upload resumes when the same file is sent again; a file the server
    /// already has is not uploaded twice.
    SendFile(SendFileArgs),
    /// Upload a picture and send it (`send-file --kind image`)
    SendImage(MediaArgs),
    /// Upload a video and send it (`send-file --kind video`)
    SendVideo(MediaArgs),
    /// Upload an audio file and send it (`send-file --kind audio`)
    SendAudio(MediaArgs),
    /// Send a recorded voice note; the server transcribes it
    ///
    /// Takes WAV, Ogg/Opus, MP3, FLAC or Ogg/Vorbis. Its length is read
    /// before the upload; the recipients see "transcribing…" until the
    /// transcript arrives (shown by `listen` and `history`).
    SendVoice(MediaArgs),
    /// Download a file that was sent in a conversation
    ///
    /// Name the file by its message (`bob#7`), by its media id (as
    /// `history` shows it), or take the newest file of a conversation
    /// (`download bob --latest`). Writes to the file's name in the
    /// current directory unless `-o` names another path. Bytes go to a
    /// partial file beside it (`NAME.<sha256 prefix>.part`), which an
    /// interrupted download resumes from; the file gets its name only once
    /// its SHA-256 matches. An existing file that is not this media is
    /// never touched unless --force replaces it. `-o -` writes the bytes
    /// to stdout instead (checked at the end: a mismatch exits 1).
    Download {
        /// The file: a message (CONVERSATION#SEQ, e.g. bob#7 or '#12#3'),
        /// a media id, or with --latest a conversation (bob, '#12')
        #[arg(value_name = "MSG|MEDIA_ID|CONV")]
        what: DownloadArg,
        /// The newest file (media message) of the conversation
        #[arg(long)]
        latest: bool,
        /// Where to write it (a directory means: the file's name in it;
        /// `-` means stdout)
        #[arg(short, long, value_name = "PATH")]
        output: Option<PathBuf>,
        /// Replace an existing file that is not this media (after the
        /// download is complete and verified)
        #[arg(long)]
        force: bool,
    },
    /// Show a conversation (with a user or a group), oldest message first
    ///
    /// A group's history includes its notices (who joined, left, renamed
    /// it, ...) as `* ...` lines.
    History {
        /// The other user's username, or a group as '#ID' or '#NAME'
        #[arg(value_name = "USER|#GROUP")]
        with: Target,
        /// How many messages to show
        #[arg(long, default_value_t = 20, value_name = "N",
              value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_PAGE)))]
        limit: u32,
        /// Only messages with a sequence number below SEQ (page backwards)
        #[arg(long, value_name = "SEQ")]
        before: Option<u64>,
    },
    /// List conversations (direct and groups) with unread counts and the
    /// latest message
    Chats,
    /// Open the full-screen chat: the conversation list on the left, the
    /// open conversation on the right, an input line below
    ///
    /// Up/Down (or Tab/Shift-Tab) switch conversations, PgUp/PgDn scroll,
    /// Enter sends. Commands: /file PATH, /voice PATH, /download N (the
    /// media of message #N, into the current directory), /help, /quit.
    /// Ctrl-C quits too (exit 0). Updates arrive live, through reconnects.
    Chat {
        /// The conversation to open first: a username, or a group as
        /// '#ID' or '#NAME' (default: the most recent one)
        #[arg(value_name = "USER|#GROUP")]
        peer: Option<Target>,
    },
    /// Mute a conversation: its messages stop alerting (in `listen
    /// --notify` and every other client), except those that mention you or
    /// reply to you
    ///
    /// Muted until you unmute it, or for a while with --for (`--for 8h`,
    /// `--for 1w`). Applies to all your devices.
    Mute {
        /// The other user's username, or a group as '#ID' or '#NAME'
        #[arg(value_name = "USER|#GROUP")]
        conversation: Target,
        /// How long: 30m, 8h, 7d, 2w (default: until `unmute`)
        #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration)]
        duration: Option<u64>,
    },
    /// Unmute a conversation
    Unmute {
        /// The other user's username, or a group as '#ID' or '#NAME'
        #[arg(value_name = "USER|#GROUP")]
        conversation: Target,
    },
    /// Do not disturb: show it (with your muted conversations), or turn it
    /// on, off, or on every day at set hours
    ///
    /// While it is on nothing alerts, on any of your devices; with
    /// --allow-mentions, mentions and replies to you still do.
    Dnd {
        /// What to do (default: show the settings).
        #[command(subcommand)]
        action: Option<DndAction>,
    },
    /// Mark a conversation read up to its latest message
    Read {
        /// The other user's username, or a group as '#ID' or '#NAME'
        #[arg(value_name = "USER|#GROUP")]
        with: Target,
    },
    /// Show who received and read one of your messages
    ///
    /// Prints "read by N of M" and who read it, who has it unread, and who
    /// has not received it yet. Only the message's sender may ask; members
    /// who joined a group after the message are not counted.
    Whoread {
        /// The message: CONVERSATION#SEQ, e.g. bob#7, '#12#3' or
        /// '#family#3' (SEQ is the `#N` of `history`, `seq` in JSON)
        #[arg(value_name = "MSG")]
        message: MessageArg,
    },
    /// Change the text of one of your messages
    ///
    /// Only your own text messages, and only for a while after sending
    /// (the server's edit window, 15 minutes by default). Everyone in the
    /// conversation sees the new text, marked "(edited)".
    Edit {
        /// The message: CONVERSATION#SEQ, e.g. bob#7, '#12#3' or
        /// '#family#3' (SEQ is the `#N` of `history`, `seq` in JSON)
        #[arg(value_name = "MSG")]
        message: MessageArg,
        /// The new text; several words are joined with spaces (put `--`
        /// before text that starts with '-'). `-` alone reads it from
        /// stdin (up to end of file, without the final line break)
        #[arg(required = true, value_name = "TEXT")]
        text: Vec<String>,
    },
    /// Delete a message for everyone (recall it)
    ///
    /// Your own message within the server's recall window (2 minutes by
    /// default); in a group, admins recall members' messages and the
    /// owner anyone's, at any time. The content is erased from the
    /// server; everyone sees "message recalled" instead. To delete a
    /// message only for yourself, use `delete`.
    Recall {
        /// The message: CONVERSATION#SEQ, e.g. bob#7, '#12#3' or
        /// '#family#3' (SEQ is the `#N` of `history`, `seq` in JSON)
        #[arg(value_name = "MSG")]
        message: MessageArg,
    },
    /// Delete a message for you only: hide it on your devices
    ///
    /// Any message of the conversation, yours or not. It disappears from
    /// your history on all of your devices; the others still see it. To
    /// delete a message for everyone, use `recall`.
    Delete {
        /// The message: CONVERSATION#SEQ, e.g. bob#7, '#12#3' or
        /// '#family#3' (SEQ is the `#N` of `history`, `seq` in JSON)
        #[arg(value_name = "MSG")]
        message: MessageArg,
    },
    /// Reply to a message: send a text that quotes it
    ///
    /// The reply goes to the same conversation; everyone sees what it
    /// answers (`[reply to #3 alice: “…”] TEXT`).
    Reply {
        /// The message to answer: CONVERSATION#SEQ, e.g. bob#7 or
        /// '#12#3' (SEQ is the `#N` of `history`, `seq` in JSON)
        #[arg(value_name = "MSG")]
        message: MessageArg,
        /// The reply's text; several words are joined with spaces (put
        /// `--` before text that starts with '-'). `-` alone reads it from
        /// stdin (up to end of file, without the final line break)
        #[arg(required = true, value_name = "TEXT")]
        text: Vec<String>,
    },
    /// Forward a message to another user or group
    ///
    /// A copy of a text or media message is sent to TO as your own
    /// message; a file is shared with the new conversation, not uploaded
    /// again.
    Forward {
        /// The message: CONVERSATION#SEQ, e.g. bob#7, '#12#3' or
        /// '#family#3' (SEQ is the `#N` of `history`, `seq` in JSON)
        #[arg(value_name = "MSG")]
        message: MessageArg,
        /// Where to send it: a username, or a group as '#ID' or '#NAME'
        #[arg(value_name = "TO")]
        to: Target,
    },
    /// React to a message with an emoji, or take a reaction back
    ///
    /// One emoji (a single character as you see it, e.g. 👍 or ❤️);
    /// at most 20 different ones of yours per message. Prints the
    /// message's reactions afterwards.
    React {
        /// The message: CONVERSATION#SEQ, e.g. bob#7, '#12#3' or
        /// '#family#3' (SEQ is the `#N` of `history`, `seq` in JSON)
        #[arg(value_name = "MSG")]
        message: MessageArg,
        /// The emoji
        #[arg(value_name = "EMOJI")]
        emoji: String,
        /// Remove your reaction with this emoji instead of adding it
        #[arg(long)]
        remove: bool,
    },
    /// Show who reacted to a message, and with what
    ///
    /// One entry per emoji, most used first, with how many reacted and
    /// who.
    Reactions {
        /// The message: CONVERSATION#SEQ, e.g. bob#7, '#12#3' or
        /// '#family#3' (SEQ is the `#N` of `history`, `seq` in JSON)
        #[arg(value_name = "MSG")]
        message: MessageArg,
    },
    /// Groups: create, list, members, roles, invites, announcements
    ///
    /// GROUP is '#ID', ID, or the name of one of your groups
    /// (case-insensitive, with or without '#').
    Group {
        /// What to do (default: list your groups).
        #[command(subcommand)]
        action: Option<GroupAction>,
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
    /// Print messages (and their edits, recalls and deletions),
    /// reactions, receipts, friend requests, profile changes, presence and
    /// typing as they arrive
    ///
    /// Starts after the last event printed by a previous `listen` of this
    /// profile, so nothing is missed and nothing is printed twice. Runs
    /// until Ctrl-C (exit 0) or until the connection closes (exit 1).
    ///
    /// For scripts: `--with bob` follows one conversation, `--once` exits
    /// after the first event, `--timeout 30s` at a deadline, and `--exec
    /// CMD` runs a command per event with the event's JSON on its stdin.
    Listen(ListenArgs),
}

/// Arguments of `listen`.
#[derive(Debug, Args)]
pub struct ListenArgs {
    /// Print everything from the beginning of the account's history
    #[arg(long)]
    pub from_start: bool,
    /// Only this conversation's events (messages, receipts, edits,
    /// recalls, reactions, ...) and the peer's presence and typing. A
    /// filtered listen resumes from its own saved point, and never moves
    /// the one of a plain `listen`
    #[arg(long, value_name = "USER|#GROUP")]
    pub with: Option<Target>,
    /// Exit after the first event (exit 0); presence and typing do not
    /// count. With --timeout, exit 1 if none came in time
    #[arg(long)]
    pub once: bool,
    /// Stop after this long, e.g. 30s, 5m or 1h (exit 0; with --once,
    /// exit 1 when no event came)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<u64>,
    /// Run CMD with `sh -c` for each event, with the event's JSON line on
    /// its stdin, and wait for it. If CMD fails, listen stops (exit 1) and
    /// the event counts as not seen: the next listen starts with it
    #[arg(long, value_name = "CMD")]
    pub exec: Option<String>,
    /// Also raise a desktop notification (freedesktop notification
    /// service, on the session D-Bus) for each new message, friend
    /// request and broadcast that should alert: not your own, nothing from
    /// a muted conversation unless it mentions or answers you, nothing
    /// during do-not-disturb (see `mute` and `dnd`). Events from before
    /// the start are only printed. Exits with an error at once when no
    /// notification service is reachable
    #[arg(long)]
    pub notify: bool,
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

/// Arguments of `passwd`.
#[derive(Debug, Args)]
pub struct PasswdArgs {
    /// Read the current password from the first line of stdin and the new
    /// one from the second, instead of prompting
    #[arg(long)]
    pub password_stdin: bool,
    /// Also log out every other device of the account (this one stays
    /// logged in)
    #[arg(long)]
    pub sign_out_others: bool,
}

/// Arguments shared by `send-file` and its fixed-kind aliases.
#[derive(Debug, Args)]
pub struct MediaArgs {
    /// Recipient: a username, or a group as '#ID' or '#NAME' (quote it:
    /// '#' starts a shell comment)
    #[arg(value_name = "USER|#GROUP")]
    pub to: Target,
    /// The file to send (`-`: read it from stdin)
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// Text shown with the file
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub caption: String,
    /// File name shown to the others [default: PATH's name; `stdin` when
    /// reading stdin]
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
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

/// Subcommands of `dnd`.
#[derive(Debug, Subcommand)]
pub enum DndAction {
    /// Show do-not-disturb and the muted conversations (the default)
    Status,
    /// Turn do-not-disturb on until `dnd off`
    On {
        /// Mentions and replies to you still alert
        #[arg(long)]
        allow_mentions: bool,
    },
    /// Turn do-not-disturb off
    Off,
    /// Turn do-not-disturb on every day between two times
    Schedule {
        /// The daily window, START-END in 24-hour time, e.g. 22:00-07:00
        /// (an end before the start runs past midnight)
        #[arg(value_name = "HH:MM-HH:MM", value_parser = parse_window)]
        window: (u16, u16),
        /// The time zone the times are in, an IANA name such as
        /// Europe/Paris (default: this computer's)
        #[arg(long, value_name = "ZONE")]
        tz: Option<String>,
        /// Mentions and replies to you still alert
        #[arg(long)]
        allow_mentions: bool,
    },
}

/// `HH:MM-HH:MM` as minutes after midnight.
pub fn parse_window(s: &str) -> Result<(u16, u16), String> {
    let bad = || format!("'{s}' is not a window like 22:00-07:00");
    let clock = |t: &str| -> Result<u16, String> {
        let (h, m) = t.trim().split_once(':').ok_or_else(bad)?;
        let digits = |d: &str, most: u16| {
            d.parse::<u16>()
                .ok()
                .filter(|&n| n <= most && (1..=2).contains(&d.len()))
                .ok_or_else(bad)
        };
        Ok(digits(h, 23)? * 60 + digits(m, 59)?)
    };
    let (start, end) = s.split_once('-').ok_or_else(bad)?;
    let (start, end) = (clock(start)?, clock(end)?);
    if start == end {
        return Err(format!(
            "'{s}': the window must end at another time than it starts"
        ));
    }
    Ok((start, end))
}

/// `on`/`off` of `group settings`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    /// Allowed
    On,
    /// Not allowed
    Off,
}

impl From<Switch> for bool {
    fn from(s: Switch) -> bool {
        s == Switch::On
    }
}

/// `group` actions.
#[derive(Debug, Subcommand)]
pub enum GroupAction {
    /// Create a group you own
    Create {
        /// Its name (at most 80 characters)
        name: String,
        /// What the group is about
        #[arg(long, value_name = "TEXT", default_value = "")]
        description: String,
        /// A first member besides you (repeat for more; each must accept
        /// messages from you)
        #[arg(long = "member", value_name = "USER")]
        members: Vec<String>,
    },
    /// List your groups (the default)
    List,
    /// Show a group: name, description, owner, size, your role, settings,
    /// pinned announcement
    Info {
        /// '#ID', ID or name
        group: GroupArg,
    },
    /// List a group's members: owner, admins, then members
    Members {
        /// '#ID', ID or name
        group: GroupArg,
    },
    /// Add people to a group (admins; members too if the settings allow)
    Add {
        /// '#ID', ID or name
        group: GroupArg,
        /// Usernames
        #[arg(required = true, value_name = "USER")]
        users: Vec<String>,
    },
    /// Remove a member (the owner removes anyone, admins remove members)
    Kick {
        /// '#ID', ID or name
        group: GroupArg,
        /// Username
        user: String,
    },
    /// Leave a group (an owner who leaves hands it to the oldest admin,
    /// else the oldest member)
    Leave {
        /// '#ID', ID or name
        group: GroupArg,
    },
    /// Make a member an admin (owner only)
    Promote {
        /// '#ID', ID or name
        group: GroupArg,
        /// Username
        user: String,
    },
    /// Make an admin a plain member again (owner only)
    Demote {
        /// '#ID', ID or name
        group: GroupArg,
        /// Username
        user: String,
    },
    /// Hand the group to another member (owner only); you become an admin
    Transfer {
        /// '#ID', ID or name
        group: GroupArg,
        /// The new owner
        user: String,
    },
    /// Rename a group
    Rename {
        /// '#ID', ID or name
        group: GroupArg,
        /// The new name
        name: String,
    },
    /// Change a group's description (empty clears it)
    Describe {
        /// '#ID', ID or name
        group: GroupArg,
        /// The new description
        #[arg(value_name = "TEXT")]
        text: String,
    },
    /// Pin an announcement in a group (admins); empty text unpins it
    Announce {
        /// '#ID', ID or name
        group: GroupArg,
        /// The announcement
        #[arg(value_name = "TEXT")]
        text: String,
    },
    /// Show or change what members who are not admins may do (admins)
    Settings {
        /// '#ID', ID or name
        group: GroupArg,
        /// Whether members may rename the group and change its
        /// description and avatar
        #[arg(long, value_enum, value_name = "on|off")]
        members_edit_info: Option<Switch>,
        /// Whether members may add people and create invite codes
        #[arg(long, value_enum, value_name = "on|off")]
        members_invite: Option<Switch>,
    },
    /// Create an invite code; it is shown only this once
    Invite {
        /// '#ID', ID or name
        group: GroupArg,
        /// Stop working after this long: e.g. 30m, 12h, 7d, 2w, 1d12h
        /// [default: never]
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        expires: Option<u64>,
        /// How many people may join with it [default: unlimited]
        #[arg(long, value_name = "N",
              value_parser = clap::value_parser!(u32).range(1..))]
        max_uses: Option<u32>,
    },
    /// List a group's live invite codes (their ids, not the codes)
    Invites {
        /// '#ID', ID or name
        group: GroupArg,
    },
    /// Revoke an invite code
    RevokeInvite {
        /// '#ID', ID or name
        group: GroupArg,
        /// Invite id, as shown by `group invites`
        #[arg(value_name = "INVITE_ID")]
        invite: InviteId,
    },
    /// Join a group with an invite code
    Join {
        /// The code someone gave you (it may start with `-`)
        #[arg(allow_hyphen_values = true)]
        code: String,
    },
    /// Dissolve a group (owner only): its history stays readable, nothing
    /// new can be posted
    Dissolve {
        /// '#ID', ID or name
        group: GroupArg,
    },
}

/// A duration like `90s`, `30m`, `12h`, `7d`, `2w` or `1d12h`, in seconds.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let bad = || format!("'{s}' is not a duration like 30m, 12h, 7d or 2w");
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit: u64 = match c.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return Err(bad()),
        };
        let n: u64 = number.parse().map_err(|_| bad())?;
        number.clear();
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
    }
    if !number.is_empty() {
        // A bare number is seconds, but only on its own ("90").
        if total > 0 {
            return Err(bad());
        }
        total = number.parse().map_err(|_| bad())?;
    }
    if total == 0 {
        return Err(format!("'{s}': the duration must be more than 0"));
    }
    Ok(total)
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
            Command::Send { to, text, .. } => {
                assert_eq!(to, Target::User("bob".into()));
                assert_eq!(text.join(" "), "hello there");
            }
            other => panic!("unexpected {other:?}"),
        }
        let cli =
            Cli::try_parse_from(["quichat", "send", "bob", "-F", "notes.txt"]).expect("parses");
        assert!(matches!(
            cli.command,
            Command::Send { text, message_file: Some(f), .. }
                if text.is_empty() && f == std::path::Path::new("notes.txt")
        ));
        // Text or a file, not both, and at least one.
        assert!(Cli::try_parse_from(["quichat", "send", "bob", "hi", "-F", "n.txt"]).is_err());
        assert!(Cli::try_parse_from(["quichat", "send", "bob"]).is_err());
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
                assert_eq!(a.media.to, Target::User("bob".into()));
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
                what: DownloadArg::Media(id),
                output,
                latest: false,
                ..
            } => {
                assert_eq!(id.to_string(), "0190a5b2-0000-7000-8000-000000000001");
                assert_eq!(output, Some(PathBuf::from("x.bin")));
            }
            other => panic!("unexpected {other:?}"),
        }
        let cli = Cli::try_parse_from(["quichat", "download", "bob", "--latest", "-o", "-"])
            .expect("parses");
        assert!(matches!(
            cli.command,
            Command::Download { what: DownloadArg::Conversation(Target::User(u)), latest: true, output: Some(o), .. }
                if u == "bob" && o == std::path::Path::new("-")
        ));
        let cli = Cli::try_parse_from(["quichat", "download", "#12#3"]).expect("parses");
        assert!(matches!(
            cli.command,
            Command::Download { what: DownloadArg::Message(m), .. } if m == msg(Target::Group(GroupArg::Id(12)), 3)
        ));
        assert!(Cli::try_parse_from(["quichat", "download", "bob#0"]).is_err());
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
                assert_eq!(a.to, Target::User("bob".into()));
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
    fn groups_are_addressed_with_a_hash() {
        let cli = Cli::try_parse_from(["quichat", "send", "#12", "hi"]).expect("parses");
        match cli.command {
            Command::Send { to, .. } => assert_eq!(to, Target::Group(GroupArg::Id(12))),
            other => panic!("unexpected {other:?}"),
        }
        let cli = Cli::try_parse_from(["quichat", "history", "#Family"]).expect("parses");
        match cli.command {
            Command::History { with, .. } => {
                assert_eq!(with, Target::Group(GroupArg::Name("Family".into())));
            }
            other => panic!("unexpected {other:?}"),
        }
        let cli = Cli::try_parse_from(["quichat", "whoread", "#3#7"]).expect("parses");
        match cli.command {
            Command::Whoread { message } => {
                assert_eq!(message, msg(Target::Group(GroupArg::Id(3)), 7));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(Cli::try_parse_from(["quichat", "send", "#", "hi"]).is_err());
        assert!(Cli::try_parse_from(["quichat", "read", "#0"]).is_err());
    }

    fn msg(conversation: Target, seq: u64) -> MessageArg {
        MessageArg { conversation, seq }
    }

    #[test]
    fn message_operations_parse() {
        let cli =
            Cli::try_parse_from(["quichat", "edit", "#3#7", "fixed", "text"]).expect("parses");
        match cli.command {
            Command::Edit { message, text } => {
                assert_eq!(message, msg(Target::Group(GroupArg::Id(3)), 7));
                assert_eq!(text.join(" "), "fixed text");
            }
            other => panic!("unexpected {other:?}"),
        }
        // `-` is a value (stdin), not an option.
        let cli = Cli::try_parse_from(["quichat", "edit", "bob#2", "-"]).expect("parses");
        assert!(matches!(cli.command, Command::Edit { text, .. } if text == ["-"]));
        assert!(Cli::try_parse_from(["quichat", "edit", "bob#2"]).is_err());
        // The old two-word form is a usage error that names the new one.
        let e = Cli::try_parse_from(["quichat", "edit", "bob", "2", "text"]).unwrap_err();
        assert!(e.to_string().contains("CONVERSATION#SEQ"), "{e}");
        let cli = Cli::try_parse_from(["quichat", "recall", "bob#4"]).expect("parses");
        assert!(matches!(
            cli.command,
            Command::Recall { message } if message == msg(Target::User("bob".into()), 4)
        ));
        let cli = Cli::try_parse_from(["quichat", "delete", "#fam#5"]).expect("parses");
        assert!(matches!(
            cli.command,
            Command::Delete { message }
                if message == msg(Target::Group(GroupArg::Name("fam".into())), 5)
        ));
        assert!(Cli::try_parse_from(["quichat", "delete", "bob"]).is_err());
        let cli = Cli::try_parse_from(["quichat", "whoread", "#fam#5"]).expect("parses");
        assert!(matches!(cli.command, Command::Whoread { message } if message.seq == 5));
    }

    #[test]
    fn replies_forwards_and_reactions_parse() {
        let cli = Cli::try_parse_from(["quichat", "reply", "bob#3", "see", "you"]).expect("parses");
        match cli.command {
            Command::Reply { message, text } => {
                assert_eq!(message, msg(Target::User("bob".into()), 3));
                assert_eq!(text.join(" "), "see you");
            }
            other => panic!("unexpected {other:?}"),
        }
        let cli = Cli::try_parse_from(["quichat", "reply", "#4#1", "-"]).expect("parses");
        assert!(matches!(cli.command, Command::Reply { text, .. } if text == ["-"]));
        assert!(Cli::try_parse_from(["quichat", "reply", "bob#3"]).is_err());

        let cli = Cli::try_parse_from(["quichat", "forward", "bob#3", "#fam"]).expect("parses");
        match cli.command {
            Command::Forward { message, to } => {
                assert_eq!(message, msg(Target::User("bob".into()), 3));
                assert_eq!(to, Target::Group(GroupArg::Name("fam".into())));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(Cli::try_parse_from(["quichat", "forward", "bob#3"]).is_err());
        assert!(Cli::try_parse_from(["quichat", "forward", "bob#3", "#0"]).is_err());

        let cli = Cli::try_parse_from(["quichat", "react", "#12#4", "👍"]).expect("parses");
        match cli.command {
            Command::React {
                message,
                emoji,
                remove,
            } => {
                assert_eq!(message, msg(Target::Group(GroupArg::Id(12)), 4));
                assert_eq!(emoji, "👍");
                assert!(!remove);
            }
            other => panic!("unexpected {other:?}"),
        }
        let cli =
            Cli::try_parse_from(["quichat", "react", "bob#4", "❤️", "--remove"]).expect("parses");
        assert!(matches!(cli.command, Command::React { remove: true, .. }));
        assert!(Cli::try_parse_from(["quichat", "react", "bob#4"]).is_err());

        let cli = Cli::try_parse_from(["quichat", "reactions", "bob#4"]).expect("parses");
        assert!(matches!(
            cli.command,
            Command::Reactions { message } if message == msg(Target::User("bob".into()), 4)
        ));
        assert!(Cli::try_parse_from(["quichat", "reactions", "bob#x"]).is_err());
    }

    #[test]
    fn group_commands_parse() {
        let cli = Cli::try_parse_from([
            "quichat",
            "group",
            "create",
            "fam",
            "--member",
            "bob",
            "--member",
            "carol",
            "--description",
            "the family",
        ])
        .expect("parses");
        match cli.command {
            Command::Group {
                action:
                    Some(GroupAction::Create {
                        name,
                        description,
                        members,
                    }),
            } => {
                assert_eq!(name, "fam");
                assert_eq!(description, "the family");
                assert_eq!(members, ["bob", "carol"]);
            }
            other => panic!("unexpected {other:?}"),
        }
        let cli = Cli::try_parse_from(["quichat", "group", "kick", "12", "bob"]).expect("parses");
        match cli.command {
            Command::Group {
                action: Some(GroupAction::Kick { group, user }),
            } => {
                assert_eq!(group, GroupArg::Id(12));
                assert_eq!(user, "bob");
            }
            other => panic!("unexpected {other:?}"),
        }
        let cli = Cli::try_parse_from([
            "quichat",
            "group",
            "invite",
            "#fam",
            "--expires",
            "7d",
            "--max-uses",
            "3",
        ])
        .expect("parses");
        match cli.command {
            Command::Group {
                action:
                    Some(GroupAction::Invite {
                        group,
                        expires,
                        max_uses,
                    }),
            } => {
                assert_eq!(group, GroupArg::Name("fam".into()));
                assert_eq!(expires, Some(7 * 86_400));
                assert_eq!(max_uses, Some(3));
            }
            other => panic!("unexpected {other:?}"),
        }
        let cli = Cli::try_parse_from([
            "quichat",
            "group",
            "settings",
            "#4",
            "--members-invite",
            "on",
        ])
        .expect("parses");
        match cli.command {
            Command::Group {
                action:
                    Some(GroupAction::Settings {
                        members_edit_info,
                        members_invite,
                        ..
                    }),
            } => {
                assert_eq!(members_edit_info, None);
                assert_eq!(members_invite, Some(Switch::On));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(Cli::try_parse_from(["quichat", "group", "add", "#4"]).is_err());
        assert!(
            Cli::try_parse_from(["quichat", "group", "invite", "#4", "--max-uses", "0"]).is_err()
        );
        assert!(Cli::try_parse_from([
            "quichat",
            "group",
            "settings",
            "#4",
            "--members-invite",
            "yes"
        ])
        .is_err());
        let cli = Cli::try_parse_from(["quichat", "group"]).expect("parses");
        assert!(matches!(cli.command, Command::Group { action: None }));
    }

    #[test]
    fn invite_codes_may_start_with_a_dash() {
        // Invite codes are URL-safe base64: one in 64 starts with `-`.
        let cli = Cli::try_parse_from(["quichat", "group", "join", "-w_tgZJn-szWjQNqR0gayw"])
            .expect("parses");
        assert!(matches!(
            cli.command,
            Command::Group {
                action: Some(GroupAction::Join { code })
            } if code == "-w_tgZJn-szWjQNqR0gayw"
        ));
    }

    #[test]
    fn dnd_windows() {
        assert_eq!(parse_window("22:00-07:00"), Ok((1320, 420)));
        assert_eq!(parse_window("9:30-17:05"), Ok((570, 1025)));
        assert_eq!(parse_window("00:00-23:59"), Ok((0, 1439)));
        for bad in [
            "",
            "22-07",
            "22:00",
            "24:00-07:00",
            "22:60-07:00",
            "7:00-7:00",
            "22:000-1:00",
        ] {
            assert!(parse_window(bad).is_err(), "{bad}");
        }
        let cli = Cli::try_parse_from(["quichat", "dnd", "schedule", "22:00-07:00", "--tz", "UTC"])
            .expect("parses");
        assert!(matches!(
            cli.command,
            Command::Dnd {
                action: Some(DndAction::Schedule {
                    window: (1320, 420),
                    ..
                })
            }
        ));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(90));
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("30m"), Ok(1800));
        assert_eq!(parse_duration("1h"), Ok(3600));
        assert_eq!(parse_duration("7d"), Ok(604_800));
        assert_eq!(parse_duration("2w"), Ok(1_209_600));
        assert_eq!(parse_duration("1d12h"), Ok(129_600));
        assert_eq!(parse_duration("1H"), Ok(3600));
        for bad in [
            "",
            "0",
            "0h",
            "h",
            "1x",
            "1h30",
            "-1h",
            "99999999999999999999w",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ca_and_pin_conflict() {
        assert!(Cli::try_parse_from(["quichat", "--ca", "x", "--pin", "ab", "whoami"]).is_err());
    }
}
