//! Desktop notifications for `listen --notify`, through the freedesktop
//! notification service on the session D-Bus (notify-rust). Which events
//! alert is the server's decision ([`PushFlags`]): mute, do-not-disturb
//! and mentions are applied before an event arrives here.

use std::time::Duration;

use quichat_proto::event::{Event, EventBody};
use quichat_proto::notify::PushFlags;
use quichat_proto::types::{MessageBody, Recipient};

use crate::error::CliError;

/// Longest notification body, in characters.
const BODY_CHARS: usize = 200;

/// How long the service may take to answer.
const SERVICE_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection to the notification service, checked at start.
#[derive(Debug)]
pub struct Notifier {
    /// The service's name, for the start-up note.
    pub server: String,
}

impl Notifier {
    /// Asks the session bus for the notification service; an error a
    /// person can act on when there is none.
    pub async fn connect() -> Result<Notifier, CliError> {
        let info = tokio::time::timeout(
            SERVICE_TIMEOUT,
            tokio::task::spawn_blocking(notify_rust::get_server_information),
        )
        .await;
        match info {
            Ok(Ok(Ok(info))) => Ok(Notifier {
                server: format!("{} {}", info.name, info.version),
            }),
            Ok(Ok(Err(e))) => Err(unavailable(&e.to_string())),
            Ok(Err(e)) => Err(unavailable(&e.to_string())),
            Err(_) => Err(unavailable("the service did not answer")),
        }
    }

    /// Shows one notification; a failure is reported on stderr and does
    /// not stop `listen`.
    pub async fn show(&self, summary: String, body: String) {
        let shown = tokio::time::timeout(
            SERVICE_TIMEOUT,
            tokio::task::spawn_blocking(move || {
                notify_rust::Notification::new()
                    .appname("quichat")
                    .summary(&summary)
                    .body(&body)
                    .show()
                    .map(|_| ())
            }),
        )
        .await;
        let failure = match shown {
            Ok(Ok(Ok(()))) => return,
            Ok(Ok(Err(e))) => e.to_string(),
            Ok(Err(e)) => e.to_string(),
            Err(_) => "the service did not answer".into(),
        };
        eprintln!("quichat: desktop notification failed: {failure}");
    }
}

fn unavailable(why: &str) -> CliError {
    CliError::new(
        "notify_unavailable",
        format!(
            "no desktop notification service is reachable ({why}); --notify needs a \
             freedesktop notification daemon on the session D-Bus \
             (DBUS_SESSION_BUS_ADDRESS), as desktop sessions have"
        ),
    )
}

/// The summary and body of a notification for `event`, or `None` when it
/// should not alert (the server's [`PushFlags::SILENT`], or a kind with
/// nothing to show).
pub fn alert(event: &Event, flags: PushFlags, me: &str) -> Option<(String, String)> {
    if flags.silent() {
        return None;
    }
    let (summary, body) = match &event.body {
        EventBody::Message(m) => {
            if m.sender == me {
                return None;
            }
            let place = match &m.to {
                Recipient::Group(id) => format!(" in #{id}"),
                Recipient::User(_) => String::new(),
            };
            let summary = if flags.mention() {
                format!("{} mentioned you{place}", m.sender)
            } else if flags.reply() {
                format!("{} replied to you{place}", m.sender)
            } else {
                format!("{}{place}", m.sender)
            };
            (summary, message_text(&m.body))
        }
        EventBody::FriendRequest(r) => (format!("friend request from {}", r.from), r.note.clone()),
        EventBody::Broadcast(b) => ("server broadcast".to_string(), b.text.clone()),
        _ => return None,
    };
    Some((clean(&summary), clean(&body)))
}

/// What a message shows in a notification.
fn message_text(body: &MessageBody) -> String {
    match body {
        MessageBody::Text(text) => text.clone(),
        MessageBody::Reply(r) => r.text.clone(),
        other => format!("sent {}", other.kind()),
    }
}

/// One line without control characters, at most [`BODY_CHARS`].
fn clean(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(BODY_CHARS)
        .collect();
    if s.chars().count() > BODY_CHARS {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use quichat_proto::types::Message;

    fn message(sender: &str, to: Recipient, text: &str) -> Event {
        Event {
            seq: 4,
            body: EventBody::Message(Message {
                id: 1,
                conversation_id: 3,
                seq: 2,
                sender: sender.into(),
                client_id: uuid::Uuid::nil(),
                to,
                sent_at_ms: 0,
                body: MessageBody::Text(text.into()),
                transcript: None,
            }),
        }
    }

    #[test]
    fn only_what_the_server_left_loud_alerts() {
        let hi = message("alice", Recipient::User("bob".into()), "hi\nthere");
        assert_eq!(
            alert(&hi, PushFlags::default(), "bob"),
            Some(("alice".into(), "hi there".into()))
        );
        assert_eq!(alert(&hi, PushFlags(PushFlags::SILENT), "bob"), None);
        assert_eq!(
            alert(&hi, PushFlags::default(), "alice"),
            None,
            "own message"
        );
        let group = message("alice", Recipient::Group(12), "@bob look");
        assert_eq!(
            alert(&group, PushFlags(PushFlags::MENTION), "bob").map(|a| a.0),
            Some("alice mentioned you in #12".into())
        );
        let long = message("alice", Recipient::Group(12), &"x".repeat(500));
        let (_, body) = alert(&long, PushFlags::default(), "bob").unwrap();
        assert_eq!(body.chars().count(), BODY_CHARS + 1);
    }
}
