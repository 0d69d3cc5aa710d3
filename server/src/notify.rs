//! Notification settings (mute, do-not-disturb) and the flags they give
//! each event a user receives.
//!
//! The settings live in `conversation_members.muted_until` and the
//! `users.dnd_*` columns. Every authenticated connection holds its user's
//! settings in the hub ([`crate::hub::Hub::set_notify`]), loaded at
//! authentication and replaced after every change, so computing the flags
//! of a push reads no database. `users.notify_version`, bumped by each
//! change in its transaction, keeps a slow reader from putting older
//! settings over newer ones.
//!
//! What alerts ([`Settings::flags`]):
//! - only messages from someone else, friend requests to the user and
//!   server broadcasts; every other event (receipts, edits, reactions,
//!   the user's own messages from another device, ...) is silent;
//! - in a muted conversation, only messages that mention the user or
//!   reply to one of their messages;
//! - during do-not-disturb, nothing, unless `allow_mentions` is set:
//!   then mentions and replies still do.

use std::collections::HashMap;

use jiff::tz::TimeZone;
use jiff::Timestamp;
use quichat_proto::event::EventBody;
use quichat_proto::notify::{Dnd, DndMode, Mute, NotifySettings, PushFlags};
use quichat_proto::social::RequestState;
use quichat_proto::types::{ConversationId, MessageBody, UserId};
use sqlx::Row;

use crate::error::ServiceError;
use crate::store::{now_ms, Store};

/// `muted_until` of a mute "until unmuted".
const FOREVER: i64 = i64::MAX;

/// Minutes in a day: schedule bounds are below it.
const DAY_MINUTES: u16 = 24 * 60;

/// One user's settings, ready for [`Settings::flags`].
#[derive(Debug, Clone)]
pub struct Settings {
    /// The user's name (to recognise their own messages and replies to them).
    pub username: String,
    /// `users.notify_version` when read.
    pub version: i64,
    /// Do-not-disturb as stored.
    pub dnd: Dnd,
    /// Its time zone, resolved.
    zone: TimeZone,
    /// Muted conversations and until when (Unix ms).
    mutes: HashMap<ConversationId, i64>,
}

impl Settings {
    /// Settings of a user who never changed any.
    pub fn defaults(username: &str) -> Self {
        Settings {
            username: username.to_string(),
            version: 0,
            dnd: Dnd::default(),
            zone: TimeZone::UTC,
            mutes: HashMap::new(),
        }
    }

    /// Whether do-not-disturb is on at `now_ms`.
    pub fn dnd_active(&self, now_ms: i64) -> bool {
        match self.dnd.mode {
            DndMode::Off => false,
            DndMode::On => true,
            DndMode::Scheduled { start_min, end_min } => {
                let Ok(at) = Timestamp::from_millisecond(now_ms) else {
                    return false;
                };
                let local = at.to_zoned(self.zone.clone());
                let minute =
                    u16::try_from(i32::from(local.hour()) * 60 + i32::from(local.minute()))
                        .unwrap_or(0);
                in_window(minute, start_min, end_min)
            }
        }
    }

    /// Whether `conversation` is muted at `now_ms`.
    pub fn muted(&self, conversation: ConversationId, now_ms: i64) -> bool {
        self.mutes
            .get(&conversation)
            .is_some_and(|&until| until > now_ms)
    }

    /// The flags of `event` for this user at `now_ms`. `mentioned` says
    /// whether the event is a message that mentions them (the mention
    /// itself is a separate event, [`mentioned_in`]).
    pub fn flags(&self, body: &EventBody, mentioned: bool, now_ms: i64) -> PushFlags {
        let mut flags = PushFlags::default();
        let (alerts, conversation) = match body {
            EventBody::Message(m) => {
                if mentioned {
                    flags = flags.with(PushFlags::MENTION);
                }
                if let MessageBody::Reply(r) = &m.body {
                    if r.quote.sender == self.username && m.sender != self.username {
                        flags = flags.with(PushFlags::REPLY);
                    }
                }
                (m.sender != self.username, Some(m.conversation_id))
            }
            EventBody::FriendRequest(r) => (
                r.to == self.username && r.state == RequestState::Pending,
                None,
            ),
            EventBody::Broadcast(b) => (b.from.as_deref() != Some(self.username.as_str()), None),
            _ => (false, None),
        };
        let breaks_through = flags.mention() || flags.reply();
        let silenced = !alerts
            || (conversation.is_some_and(|c| self.muted(c, now_ms)) && !breaks_through)
            || (self.dnd_active(now_ms) && !(self.dnd.allow_mentions && breaks_through));
        if silenced {
            flags = flags.with(PushFlags::SILENT);
        }
        flags
    }

    /// The settings as the wire carries them (mutes in force at `now_ms`).
    pub fn to_wire(&self, now_ms: i64) -> NotifySettings {
        let mut mutes: Vec<Mute> = self
            .mutes
            .iter()
            .filter(|(_, &until)| until > now_ms)
            .map(|(&conversation_id, &until)| Mute {
                conversation_id,
                until_ms: (until != FOREVER).then_some(until),
            })
            .collect();
        mutes.sort_by_key(|m| m.conversation_id);
        NotifySettings {
            dnd: self.dnd.clone(),
            mutes,
        }
    }
}

/// `minute` falls in the daily window `[start, end)`, which wraps past
/// midnight when `end < start`.
fn in_window(minute: u16, start: u16, end: u16) -> bool {
    if start <= end {
        (start..end).contains(&minute)
    } else {
        minute >= start || minute < end
    }
}

/// The (user, conversation, seq) of every mention in a batch of events:
/// a message event for one of them mentions its recipient.
pub fn mentioned_in<'a>(
    events: impl IntoIterator<Item = (UserId, &'a EventBody)>,
) -> std::collections::HashSet<(UserId, ConversationId, u64)> {
    events
        .into_iter()
        .filter_map(|(user, body)| match body {
            EventBody::Mention(m) => Some((user, m.conversation_id, m.seq)),
            _ => None,
        })
        .collect()
}

/// Whether `event` is a message named in `mentions` for `user`.
pub fn is_mentioned(
    mentions: &std::collections::HashSet<(UserId, ConversationId, u64)>,
    user: UserId,
    body: &EventBody,
) -> bool {
    match body {
        EventBody::Message(m) => mentions.contains(&(user, m.conversation_id, m.seq)),
        _ => false,
    }
}

/// Checks a do-not-disturb setting and resolves its time zone.
fn check_dnd(dnd: &Dnd) -> Result<TimeZone, ServiceError> {
    if let DndMode::Scheduled { start_min, end_min } = dnd.mode {
        if start_min >= DAY_MINUTES || end_min >= DAY_MINUTES {
            return Err(ServiceError::InvalidArgument(
                "a do-not-disturb schedule runs between 00:00 and 23:59".into(),
            ));
        }
        if start_min == end_min {
            return Err(ServiceError::InvalidArgument(
                "a do-not-disturb schedule must start and end at different times".into(),
            ));
        }
    }
    zone(&dnd.time_zone).ok_or_else(|| {
        let shown: String = dnd.time_zone.chars().take(40).collect();
        ServiceError::InvalidArgument(format!(
            "unknown time zone {shown:?}: use an IANA name such as Europe/Paris or UTC"
        ))
    })
}

/// The IANA time zone `name`, from the bundled database.
fn zone(name: &str) -> Option<TimeZone> {
    if name.is_empty() || name.len() > 64 {
        return None;
    }
    jiff::tz::db().get(name).ok()
}

fn mode_columns(mode: &DndMode) -> (i64, i64, i64) {
    match *mode {
        DndMode::Off => (0, 0, 0),
        DndMode::On => (1, 0, 0),
        DndMode::Scheduled { start_min, end_min } => (2, i64::from(start_min), i64::from(end_min)),
    }
}

fn mode_of(mode: i64, start: i64, end: i64) -> DndMode {
    match mode {
        1 => DndMode::On,
        2 => DndMode::Scheduled {
            start_min: u16::try_from(start).unwrap_or(0),
            end_min: u16::try_from(end).unwrap_or(0),
        },
        _ => DndMode::Off,
    }
}

/// Reads and changes notification settings.
#[derive(Debug, Clone)]
pub struct Notify {
    store: Store,
}

impl Notify {
    /// Over `store`.
    pub fn new(store: Store) -> Self {
        Notify { store }
    }

    /// The settings of `user` as stored now.
    pub async fn load(&self, user: UserId) -> Result<Settings, ServiceError> {
        let pool = self.store.pool();
        let row = sqlx::query(
            "SELECT username, notify_version, dnd_mode, dnd_start_min, dnd_end_min, \
             dnd_time_zone, dnd_allow_mentions FROM users WHERE id = $1",
        )
        .bind(user)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| ServiceError::NotFound("no such user".into()))?;
        let username: String = row.try_get("username")?;
        let time_zone: String = row.try_get("dnd_time_zone")?;
        let dnd = Dnd {
            mode: mode_of(
                row.try_get("dnd_mode")?,
                row.try_get("dnd_start_min")?,
                row.try_get("dnd_end_min")?,
            ),
            allow_mentions: row.try_get::<i64, _>("dnd_allow_mentions")? != 0,
            time_zone,
        };
        let now = now_ms();
        let mutes = sqlx::query(
            "SELECT conversation_id, muted_until FROM conversation_members \
             WHERE user_id = $1 AND muted_until > $2",
        )
        .bind(user)
        .bind(now)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("conversation_id")?, r.try_get("muted_until")?)))
        .collect::<Result<HashMap<_, _>, sqlx::Error>>()?;
        Ok(Settings {
            username,
            version: row.try_get("notify_version")?,
            zone: zone(&dnd.time_zone).unwrap_or(TimeZone::UTC),
            dnd,
            mutes,
        })
    }

    /// Mutes `conversation` for `user` until `until_ms` (`None`: until
    /// unmuted); `not_found` unless they are in it.
    pub async fn mute(
        &self,
        user: UserId,
        conversation: ConversationId,
        until_ms: Option<i64>,
    ) -> Result<Settings, ServiceError> {
        if until_ms.is_some_and(|t| t <= now_ms()) {
            return Err(ServiceError::InvalidArgument(
                "a mute must end in the future".into(),
            ));
        }
        self.set_mute(user, conversation, Some(until_ms.unwrap_or(FOREVER)))
            .await
    }

    /// Unmutes `conversation` for `user`.
    pub async fn unmute(
        &self,
        user: UserId,
        conversation: ConversationId,
    ) -> Result<Settings, ServiceError> {
        self.set_mute(user, conversation, None).await
    }

    async fn set_mute(
        &self,
        user: UserId,
        conversation: ConversationId,
        until: Option<i64>,
    ) -> Result<Settings, ServiceError> {
        let mut w = self.store.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE conversation_members SET muted_until = $1 \
             WHERE conversation_id = $2 AND user_id = $3",
        )
        .bind(until)
        .bind(conversation)
        .bind(user)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(ServiceError::NotFound(format!(
                "you are not in conversation {conversation}"
            )));
        }
        bump_version(&mut w, user).await?;
        w.commit().await?;
        self.load(user).await
    }

    /// Replaces `user`'s do-not-disturb setting.
    pub async fn set_dnd(&self, user: UserId, dnd: &Dnd) -> Result<Settings, ServiceError> {
        check_dnd(dnd)?;
        let (mode, start, end) = mode_columns(&dnd.mode);
        let mut w = self.store.begin_write().await?;
        sqlx::query(
            "UPDATE users SET dnd_mode = $1, dnd_start_min = $2, dnd_end_min = $3, \
             dnd_time_zone = $4, dnd_allow_mentions = $5 WHERE id = $6",
        )
        .bind(mode)
        .bind(start)
        .bind(end)
        .bind(&dnd.time_zone)
        .bind(i64::from(dnd.allow_mentions))
        .bind(user)
        .execute(&mut *w.tx)
        .await?;
        bump_version(&mut w, user).await?;
        w.commit().await?;
        self.load(user).await
    }
}

async fn bump_version(w: &mut crate::store::WriteTx, user: UserId) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET notify_version = notify_version + 1 WHERE id = $1")
        .bind(user)
        .execute(&mut *w.tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use quichat_proto::types::{Message, Quote, Reply};

    fn settings(dnd: DndMode, zone_name: &str) -> Settings {
        let mut s = Settings::defaults("bob");
        s.dnd = Dnd {
            mode: dnd,
            time_zone: zone_name.into(),
            allow_mentions: false,
        };
        s.zone = zone(zone_name).unwrap();
        s
    }

    fn message(sender: &str, body: MessageBody) -> EventBody {
        EventBody::Message(Message {
            id: 1,
            conversation_id: 7,
            seq: 3,
            sender: sender.into(),
            client_id: uuid::Uuid::nil(),
            to: quichat_proto::types::Recipient::User("bob".into()),
            sent_at_ms: 0,
            body,
            transcript: None,
        })
    }

    fn reply_to(author: &str) -> MessageBody {
        MessageBody::Reply(Box::new(Reply {
            to_seq: 1,
            text: "yes".into(),
            quote: Quote {
                sender: author.into(),
                kind: "text".into(),
                snippet: "?".into(),
                recalled: false,
            },
            edited_at_ms: None,
        }))
    }

    /// Unix ms of `hh:mm` UTC on 2026-12-01.
    fn utc(hh: i64, mm: i64) -> i64 {
        1_796_083_200_000 + (hh * 60 + mm) * 60_000
    }

    #[test]
    fn schedules_wrap_past_midnight_in_the_users_zone() {
        let night = DndMode::Scheduled {
            start_min: 22 * 60,
            end_min: 7 * 60,
        };
        let s = settings(night.clone(), "UTC");
        assert!(s.dnd_active(utc(23, 0)));
        assert!(s.dnd_active(utc(3, 0)));
        assert!(!s.dnd_active(utc(7, 0)), "the end is not included");
        assert!(!s.dnd_active(utc(12, 0)));
        // 21:30 UTC is 22:30 in Paris (UTC+1 in December).
        let paris = settings(night, "Europe/Paris");
        assert!(paris.dnd_active(utc(21, 30)));
        assert!(!paris.dnd_active(utc(6, 30)), "07:30 in Paris");
        let day = settings(
            DndMode::Scheduled {
                start_min: 9 * 60,
                end_min: 17 * 60,
            },
            "UTC",
        );
        assert!(day.dnd_active(utc(9, 0)) && !day.dnd_active(utc(17, 0)));
    }

    #[test]
    fn mute_silences_all_but_mentions_and_replies() {
        let mut s = settings(DndMode::Off, "UTC");
        let text = message("alice", MessageBody::Text("hi".into()));
        assert_eq!(s.flags(&text, false, utc(12, 0)), PushFlags(0));
        assert!(s
            .flags(&message("bob", MessageBody::Text("me".into())), false, 0)
            .silent());
        s.mutes.insert(7, FOREVER);
        assert!(s.flags(&text, false, utc(12, 0)).silent());
        let mention = s.flags(&text, true, utc(12, 0));
        assert_eq!(mention, PushFlags(PushFlags::MENTION));
        let reply = s.flags(&message("alice", reply_to("bob")), false, 0);
        assert_eq!(reply, PushFlags(PushFlags::REPLY));
        assert!(s
            .flags(&message("alice", reply_to("carol")), false, 0)
            .silent());
        // An expired mute is no mute.
        s.mutes.insert(7, utc(11, 0));
        assert!(!s.flags(&text, false, utc(12, 0)).silent());
    }

    #[test]
    fn dnd_silences_mentions_too_unless_allowed() {
        let mut s = settings(DndMode::On, "UTC");
        let text = message("alice", MessageBody::Text("hi".into()));
        assert!(s.flags(&text, false, 0).silent());
        let mention = s.flags(&text, true, 0);
        assert!(mention.silent() && mention.mention());
        s.dnd.allow_mentions = true;
        assert!(!s.flags(&text, true, 0).silent());
        assert!(s.flags(&text, false, 0).silent());
    }

    #[test]
    fn bad_schedules_and_zones_are_refused() {
        let dnd = |mode, tz: &str| Dnd {
            mode,
            time_zone: tz.into(),
            allow_mentions: false,
        };
        let same = DndMode::Scheduled {
            start_min: 60,
            end_min: 60,
        };
        let late = DndMode::Scheduled {
            start_min: 60,
            end_min: 1440,
        };
        for bad in [
            dnd(same, "UTC"),
            dnd(late, "UTC"),
            dnd(DndMode::On, "Mars/Olympus"),
            dnd(DndMode::On, ""),
        ] {
            assert!(
                matches!(check_dnd(&bad), Err(ServiceError::InvalidArgument(_))),
                "{bad:?}"
            );
        }
        assert!(check_dnd(&dnd(DndMode::Off, "America/New_York")).is_ok());
    }
}
