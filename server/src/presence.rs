//! Presence and typing: who is online, shown to friends; typing notices.
//! Neither is stored in the event log.
//!
//! A user is online while any of their devices is connected (the hub
//! knows). The hub reports each first-connect and last-disconnect to
//! [`run`], which records `last_seen_at` and pushes the new state to the
//! user's online friends (except those the user blocked) within
//! milliseconds. A device that vanishes without closing goes offline when
//! its connection times out (the idle timeout). A user who hides their
//! presence is shown as "offline, last seen hidden", as is anyone to a
//! user they blocked.

use std::sync::Arc;

use quichat_proto::control::ServerControl;
use quichat_proto::social::{Presence, PresenceState, TypingNotice};
use quichat_proto::types::UserId;
use sqlx::Row;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::accounts::{Accounts, Session};
use crate::contacts::Contacts;
use crate::conversations::Conversations;
use crate::error::ServiceError;
use crate::hub::{Hub, PresenceChange, Push};
use crate::rate_limit::Keyed;
use crate::store::{now_ms, Store};

/// How long a typing indicator lasts without a refresh.
pub const TYPING_EXPIRES_MS: u32 = 6_000;

/// The presence service.
#[derive(Debug, Clone)]
pub struct PresenceService {
    store: Store,
    hub: Arc<Hub>,
    accounts: Accounts,
    contacts: Contacts,
    conversations: Conversations,
}

impl PresenceService {
    /// Wires the service.
    pub fn new(
        store: Store,
        hub: Arc<Hub>,
        accounts: Accounts,
        contacts: Contacts,
        conversations: Conversations,
    ) -> Self {
        PresenceService {
            store,
            hub,
            accounts,
            contacts,
            conversations,
        }
    }

    /// The state `user` shows to others, given their settings.
    fn shown(&self, user: UserId, hidden: bool, last_seen: Option<i64>) -> PresenceState {
        if hidden {
            PresenceState::Offline { last_seen_ms: None }
        } else if self.hub.is_online(user) {
            PresenceState::Online
        } else {
            PresenceState::Offline {
                last_seen_ms: last_seen,
            }
        }
    }

    /// The presence of each of the caller's friends, by username.
    pub async fn friends(&self, session: &Session) -> Result<Vec<Presence>, ServiceError> {
        let rows = sqlx::query(
            "SELECT u.id AS id, u.username AS username, u.hide_presence AS hidden, \
             u.last_seen_at AS last_seen, \
             EXISTS (SELECT 1 FROM blocks b WHERE b.user_id = u.id AND b.blocked_id = $1) AS blocks_me \
             FROM friendships f JOIN users u ON u.id = f.friend_id \
             WHERE f.user_id = $1 ORDER BY u.username",
        )
        .bind(session.user_id)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let id: UserId = r.try_get("id")?;
                let hidden: i64 = r.try_get("hidden")?;
                let blocks_me: bool = truthy(r, "blocks_me")?;
                Ok(Presence {
                    username: r.try_get("username")?,
                    state: self.shown(id, hidden != 0 || blocks_me, r.try_get("last_seen")?),
                })
            })
            .collect()
    }

    /// Hides or shows the caller's presence, and tells their friends.
    pub async fn set_hidden(&self, session: &Session, hidden: bool) -> Result<(), ServiceError> {
        let mut w = self.store.begin_write().await?;
        sqlx::query("UPDATE users SET hide_presence = $1 WHERE id = $2")
            .bind(i64::from(hidden))
            .bind(session.user_id)
            .execute(&mut *w.tx)
            .await?;
        w.commit().await?;
        self.announce(session.user_id).await
    }

    /// Pushes `user`'s current state to their online friends.
    async fn announce(&self, user: UserId) -> Result<(), ServiceError> {
        let row =
            sqlx::query("SELECT username, hide_presence, last_seen_at FROM users WHERE id = $1")
                .bind(user)
                .fetch_one(self.store.pool())
                .await?;
        let hidden: i64 = row.try_get("hide_presence")?;
        let presence = Presence {
            username: row.try_get("username")?,
            state: self.shown(user, hidden != 0, row.try_get("last_seen_at")?),
        };
        // Every friend: those online on other nodes of a cluster get it
        // through the bus (the hub skips the ones online nowhere here).
        for friend in crate::contacts::friends_not_blocked(self.store.pool(), user).await? {
            self.hub.push_ephemeral(
                friend,
                Push::Ephemeral(Box::new(ServerControl::Presence(presence.clone()))),
            );
        }
        Ok(())
    }

    /// Records a transition and announces it.
    async fn changed(&self, (user, online): PresenceChange) -> Result<(), ServiceError> {
        if !online {
            let mut w = self.store.begin_write().await?;
            sqlx::query("UPDATE users SET last_seen_at = $1 WHERE id = $2")
                .bind(now_ms())
                .bind(user)
                .execute(&mut *w.tx)
                .await?;
            w.commit().await?;
        }
        self.announce(user).await
    }

    /// Tells `to` that the caller is typing (never stored).
    pub async fn typing(
        &self,
        session: &Session,
        to: &str,
        limit: &Keyed<i64>,
    ) -> Result<(), ServiceError> {
        limit.check(&session.user_id)?;
        let to_id = self.accounts.user_id(to).await?;
        if to_id == session.user_id {
            return Err(ServiceError::InvalidArgument(
                "you cannot send typing notices to yourself".into(),
            ));
        }
        self.contacts.check_delivery(session.user_id, to_id).await?;
        let conversation_id = self.conversations.direct(session.user_id, to_id).await?;
        self.hub.push_ephemeral(
            to_id,
            Push::Ephemeral(Box::new(ServerControl::Typing(TypingNotice {
                from: session.username.clone(),
                conversation_id,
                expires_in_ms: TYPING_EXPIRES_MS,
            }))),
        );
        Ok(())
    }
}

/// Reads a boolean SQL expression (`EXISTS`), which SQLite returns as an
/// integer and PostgreSQL as a boolean.
fn truthy(row: &sqlx::any::AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    match row.try_get::<bool, _>(column) {
        Ok(b) => Ok(b),
        Err(_) => Ok(row.try_get::<i64, _>(column)? != 0),
    }
}

/// Processes presence transitions until the server stops.
pub async fn run(
    service: PresenceService,
    mut changes: mpsc::UnboundedReceiver<PresenceChange>,
    cancel: CancellationToken,
) {
    loop {
        let change = tokio::select! {
            c = changes.recv() => c,
            _ = cancel.cancelled() => None,
        };
        let Some(change) = change else { break };
        if let Err(e) = service.changed(change).await {
            tracing::warn!("presence update for user {} failed: {e}", change.0);
        }
    }
}
