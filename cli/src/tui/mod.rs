//! `quichat chat`: the full-screen terminal client (ratatui + crossterm).
//!
//! The parts are kept apart:
//! - [`state`]: what is shown — conversations, history, receipts, typing,
//!   the status bar — and how keys and events change it; pure (no
//!   terminal, no network), so it is unit-tested directly. Its input line
//!   and `/commands` are in [`input`].
//! - [`view`]: draws a frame from the state, nothing else.
//! - [`app`]: the event loop: terminal keys, the event feed
//!   ([`quichat_client::Follower`], as `listen` uses it) and background
//!   requests, carrying out the state's [`state::Action`]s.
//! - [`terminal`]: raw mode and the alternate screen, restored by a guard
//!   and by a panic hook.

mod app;
mod input;
mod state;
mod terminal;
mod view;

pub use app::run;
pub use terminal::is_active;

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::args::{Cli, Command};
    use crate::target::{GroupArg, Target};

    #[test]
    fn chat_takes_an_optional_conversation() {
        let peer = |args: &[&str]| match Cli::try_parse_from(args).map(|c| c.command) {
            Ok(Command::Chat { peer }) => peer,
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(peer(&["quichat", "chat"]), None);
        assert_eq!(
            peer(&["quichat", "chat", "bob"]),
            Some(Target::User("bob".into()))
        );
        assert_eq!(
            peer(&["quichat", "chat", "#family"]),
            Some(Target::Group(GroupArg::Name("family".into())))
        );
        assert!(Cli::try_parse_from(["quichat", "chat", "#"]).is_err());
    }
}
