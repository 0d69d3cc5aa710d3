//! Who a command talks to: a user (`bob`) or a group (`#12`, `#family`).
//!
//! The syntax is parsed here, while clap reads the arguments (a bad one is
//! a usage error), and group names are resolved against the caller's
//! groups once connected, so every command that takes a conversation
//! accepts the same forms and fails the same way.

use std::fmt;
use std::str::FromStr;

use anyhow::Result;
use quichat_client::Client;
use quichat_proto::group::GroupInfo;
use quichat_proto::types::{ConversationId, Recipient};

use crate::error::CliError;
use crate::output::preview;

/// A group as the command line names it: by id or by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupArg {
    /// `#12` (or `12` where only a group can be meant).
    Id(ConversationId),
    /// `#family` (or `family` where only a group can be meant): the
    /// caller's group with that name, case-insensitive.
    Name(String),
}

impl GroupArg {
    /// Parses what follows the `#` (or a whole `GROUP` argument): digits
    /// are an id, anything else a name.
    fn parse(s: &str, whole: &str) -> Result<GroupArg, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err(format!(
                "'{whole}' names no group: use #ID (e.g. '#12') or #NAME"
            ));
        }
        if s.bytes().all(|b| b.is_ascii_digit()) {
            return match s.parse::<ConversationId>() {
                Ok(id) if id > 0 => Ok(GroupArg::Id(id)),
                _ => Err(format!("'{whole}' is not a valid group id")),
            };
        }
        Ok(GroupArg::Name(s.to_string()))
    }

    /// The group's id: as given, or the caller's one group with this name.
    pub async fn resolve(&self, client: &Client) -> Result<ConversationId> {
        match self {
            GroupArg::Id(id) => Ok(*id),
            GroupArg::Name(name) => Ok(pick_by_name(name, &client.groups().await?)?),
        }
    }
}

impl FromStr for GroupArg {
    type Err = String;

    /// `GROUP` arguments of `group ...`: `#12`, `12`, `#family` or
    /// `family`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        GroupArg::parse(s.strip_prefix('#').unwrap_or(s), s)
    }
}

impl fmt::Display for GroupArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupArg::Id(id) => write!(f, "#{id}"),
            GroupArg::Name(name) => write!(f, "#{name}"),
        }
    }
}

/// A recipient or conversation on the command line: `bob`, `#12` or
/// `#family`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A username: the direct conversation with them.
    User(String),
    /// A group.
    Group(GroupArg),
}

impl FromStr for Target {
    type Err = String;

    /// `#...` is a group; anything else a username (usernames never start
    /// with `#`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.strip_prefix('#') {
            Some(rest) => Ok(Target::Group(GroupArg::parse(rest, s)?)),
            None if s.trim().is_empty() => Err("the recipient is empty".to_string()),
            None => Ok(Target::User(s.to_string())),
        }
    }
}

/// A message on the command line: its conversation and its sequence
/// number, written `CONV#SEQ`: `bob#7`, `'#12#3'` (message 3 of group 12),
/// `'#family#3'`. The last `#` splits, so a group name may itself contain
/// one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageArg {
    /// The conversation.
    pub conversation: Target,
    /// The message's sequence number (the `#N` of `history`).
    pub seq: u64,
}

impl FromStr for MessageArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hint = || {
            format!(
                "'{s}' names no message: write CONVERSATION#SEQ, e.g. bob#7 or '#12#3' \
                 (SEQ is the #N that `history` shows)"
            )
        };
        let (conversation, seq) = s.rsplit_once('#').ok_or_else(hint)?;
        if conversation.is_empty() || seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return Err(hint());
        }
        let seq = match seq.parse::<u64>() {
            Ok(seq) if seq > 0 => seq,
            _ => return Err(format!("'{s}': {seq} is not a message number")),
        };
        Ok(MessageArg {
            conversation: conversation.parse()?,
            seq,
        })
    }
}

impl fmt::Display for MessageArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.conversation {
            Target::User(name) => write!(f, "{name}#{}", self.seq),
            Target::Group(g) => write!(f, "{g}#{}", self.seq),
        }
    }
}

/// What `download` fetches: a media id, the file of a message
/// (`bob#7`), or a conversation (`bob`, `'#12'`) whose newest file
/// `--latest` picks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownloadArg {
    /// A media id (a UUID, as `history` shows it).
    Media(quichat_proto::media::MediaId),
    /// A message with a file.
    Message(MessageArg),
    /// A conversation (with `--latest`).
    Conversation(Target),
}

impl FromStr for DownloadArg {
    type Err = String;

    /// A UUID is a media id; `CONV#SEQ` a message; anything else a
    /// conversation.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(id) = uuid::Uuid::parse_str(s) {
            return Ok(DownloadArg::Media(id));
        }
        if let Some((conversation, seq)) = s.rsplit_once('#') {
            if !conversation.is_empty()
                && !seq.is_empty()
                && seq.bytes().all(|b| b.is_ascii_digit())
            {
                return Ok(DownloadArg::Message(s.parse()?));
            }
        }
        Ok(DownloadArg::Conversation(s.parse()?))
    }
}

impl Target {
    /// The recipient, with a group name looked up among the caller's
    /// groups.
    pub async fn resolve(&self, client: &Client) -> Result<Recipient> {
        match self {
            Target::User(name) => Ok(Recipient::User(name.clone())),
            Target::Group(g) => Ok(Recipient::Group(g.resolve(client).await?)),
        }
    }
}

/// The conversation's id and latest message seq (`None`s when there is
/// no conversation, or no message, yet).
pub async fn latest(
    client: &Client,
    to: &Recipient,
) -> Result<(Option<ConversationId>, Option<u64>)> {
    let page = client.history(to.conversation(), None, 1).await?;
    let id = page.conversation_id.or(match to {
        Recipient::Group(id) => Some(*id),
        Recipient::User(_) => None,
    });
    Ok((id, page.messages.first().map(|m| m.seq)))
}

/// The id of the conversation `to` names, for commands that pick one of
/// its messages by seq (`whoread`, `edit`, `recall`, `delete`, `forward`,
/// `react`, `reactions`): a group's own id, or the direct conversation
/// with the user, which must exist (`not_found` otherwise).
pub async fn conversation_id(client: &Client, to: &Recipient) -> Result<ConversationId> {
    match to {
        Recipient::Group(id) => Ok(*id),
        Recipient::User(name) => Ok(latest(client, to).await?.0.ok_or_else(|| {
            CliError::new("not_found", format!("no conversation with {name} yet"))
        })?),
    }
}

/// How a resolved recipient is shown and written back on a command line:
/// `bob` or `#12`.
pub fn label(to: &Recipient) -> String {
    match to {
        Recipient::User(name) => name.clone(),
        Recipient::Group(id) => format!("#{id}"),
    }
}

/// `label`, quoted for a shell when it starts with `#` (which would
/// otherwise start a comment): `bob` or `'#12'`.
pub fn shell_word(to: &Recipient) -> String {
    match to {
        Recipient::User(name) => name.clone(),
        Recipient::Group(id) => format!("'#{id}'"),
    }
}

/// The one group of `groups` called `name` (case-insensitive). When
/// several are, a single live one wins over dissolved ones; otherwise the
/// error lists the candidates' ids.
pub fn pick_by_name(name: &str, groups: &[GroupInfo]) -> Result<ConversationId, CliError> {
    let wanted = name.to_lowercase();
    let matches: Vec<&GroupInfo> = groups
        .iter()
        .filter(|g| g.name.to_lowercase() == wanted)
        .collect();
    let live: Vec<&GroupInfo> = matches.iter().copied().filter(|g| !g.dissolved).collect();
    match (matches.as_slice(), live.as_slice()) {
        ([only], _) | (_, [only]) => Ok(only.id),
        ([], _) => {
            let yours = if groups.is_empty() {
                "you are in no groups".to_string()
            } else {
                let mut names: Vec<String> = groups.iter().take(10).map(short).collect();
                if groups.len() > 10 {
                    names.push(format!("and {} more", groups.len() - 10));
                }
                format!("your groups: {}", names.join(", "))
            };
            Err(CliError::new(
                "unknown_group",
                format!(
                    "you are in no group named \"{}\" ({yours})",
                    preview(name, 80)
                ),
            ))
        }
        (several, _) => Err(CliError::new(
            "ambiguous_group",
            format!(
                "{} of your groups are named \"{}\": {}; say which with its #ID",
                several.len(),
                preview(name, 80),
                several
                    .iter()
                    .map(|g| short(g))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// `#12 family` (plus ` (dissolved)`), for error messages.
fn short(g: &GroupInfo) -> String {
    let mut s = format!("#{} {}", g.id, preview(&g.name, 40));
    if g.dissolved {
        s.push_str(" (dissolved)");
    }
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use quichat_proto::group::{GroupRole, GroupSettings};

    fn group(id: ConversationId, name: &str, dissolved: bool) -> GroupInfo {
        GroupInfo {
            id,
            name: name.into(),
            description: String::new(),
            avatar: None,
            owner: "alice".into(),
            member_count: 2,
            my_role: GroupRole::Member,
            settings: GroupSettings::default(),
            announcement: None,
            created_at_ms: 0,
            dissolved,
        }
    }

    #[test]
    fn targets_parse() {
        assert_eq!("bob".parse(), Ok(Target::User("bob".into())));
        assert_eq!("#12".parse(), Ok(Target::Group(GroupArg::Id(12))));
        assert_eq!(
            "#Family".parse(),
            Ok(Target::Group(GroupArg::Name("Family".into())))
        );
        assert!("#".parse::<Target>().is_err());
        assert!("#0".parse::<Target>().is_err());
        assert!("#99999999999999999999".parse::<Target>().is_err());
        assert!("".parse::<Target>().is_err());
        // Where only a group can be meant, the '#' is optional.
        assert_eq!("12".parse(), Ok(GroupArg::Id(12)));
        assert_eq!("#12".parse(), Ok(GroupArg::Id(12)));
        assert_eq!("fam".parse(), Ok(GroupArg::Name("fam".into())));
        assert_eq!("#fam".parse(), Ok(GroupArg::Name("fam".into())));
        assert!("#".parse::<GroupArg>().is_err());
    }

    #[test]
    fn messages_parse() {
        let m = |conversation: Target, seq| Ok(MessageArg { conversation, seq });
        assert_eq!("bob#7".parse(), m(Target::User("bob".into()), 7));
        assert_eq!("#12#3".parse(), m(Target::Group(GroupArg::Id(12)), 3));
        assert_eq!(
            "#fam#3".parse(),
            m(Target::Group(GroupArg::Name("fam".into())), 3)
        );
        // The last '#' splits: a group named "a#1".
        assert_eq!(
            "#a#1#2".parse(),
            m(Target::Group(GroupArg::Name("a#1".into())), 2)
        );
        for bad in [
            "bob", "bob#", "#12", "#fam", "bob#x", "bob#0", "#7", "#", "bob#-1",
        ] {
            let e = bad.parse::<MessageArg>().unwrap_err();
            assert!(e.contains(bad), "{bad}: {e}");
        }
        assert_eq!("#12#3".parse::<MessageArg>().unwrap().to_string(), "#12#3");
        assert_eq!("bob#7".parse::<MessageArg>().unwrap().to_string(), "bob#7");
    }

    #[test]
    fn downloads_parse() {
        let id = "0190f5a2-7b1c-7cc3-9a51-1f2e3d4c5b6a";
        assert_eq!(
            id.parse(),
            Ok(DownloadArg::Media(uuid::Uuid::parse_str(id).unwrap()))
        );
        assert_eq!(
            "bob#7".parse(),
            Ok(DownloadArg::Message(MessageArg {
                conversation: Target::User("bob".into()),
                seq: 7
            }))
        );
        assert_eq!(
            "#12".parse(),
            Ok(DownloadArg::Conversation(Target::Group(GroupArg::Id(12))))
        );
        assert_eq!(
            "bob".parse(),
            Ok(DownloadArg::Conversation(Target::User("bob".into())))
        );
        assert!("bob#0".parse::<DownloadArg>().is_err());
        assert!("".parse::<DownloadArg>().is_err());
    }

    #[test]
    fn labels() {
        assert_eq!(label(&Recipient::User("bob".into())), "bob");
        assert_eq!(label(&Recipient::Group(12)), "#12");
        assert_eq!(shell_word(&Recipient::Group(12)), "'#12'");
        assert_eq!(shell_word(&Recipient::User("bob".into())), "bob");
    }

    #[test]
    fn names_resolve_case_insensitively() {
        let groups = [
            group(3, "Family", false),
            group(4, "work", false),
            group(5, "work", false),
            group(6, "old", true),
            group(7, "old", false),
            group(8, "gone", true),
            group(9, "gone", true),
        ];
        assert_eq!(pick_by_name("family", &groups), Ok(3));
        assert_eq!(pick_by_name("FAMILY", &groups), Ok(3));
        // A single live group beats dissolved namesakes.
        assert_eq!(pick_by_name("old", &groups), Ok(7));
        let e = pick_by_name("work", &groups).unwrap_err();
        assert_eq!(e.code, "ambiguous_group");
        assert!(e.message.contains("#4 work, #5 work"), "{}", e.message);
        let e = pick_by_name("gone", &groups).unwrap_err();
        assert_eq!(e.code, "ambiguous_group");
        assert!(e.message.contains("#8 gone (dissolved)"), "{}", e.message);
        let e = pick_by_name("nope", &groups).unwrap_err();
        assert_eq!(e.code, "unknown_group");
        assert!(
            e.message.contains("your groups: #3 Family"),
            "{}",
            e.message
        );
        let e = pick_by_name("nope", &[]).unwrap_err();
        assert!(e.message.contains("you are in no groups"), "{}", e.message);
    }
}
