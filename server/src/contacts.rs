//! Contacts: friend requests, friendships, categories and blocks, and the
//! rules that follow from them (who may message or see whom).
//!
//! Every change commits with its events: both sides of a friend request
//! (all their devices) see each state; the caller's devices see category
//! and block changes. A block is never revealed to the blocked user: what
//! they try gets the neutral `cannot_deliver`, their view of the blocker's
//! presence is "offline, last seen hidden", and the blocker's profile
//! changes no longer reach them.

use quichat_proto::event::{Event, EventBody};
use quichat_proto::social::{
    Category, CategoryId, ContactsChange, Friend, FriendRequest, FriendRequestId, RequestState,
    MAX_CATEGORY_CHARS, MAX_NOTE_CHARS,
};
use quichat_proto::types::UserId;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::accounts::{Accounts, Session};
use crate::config::{ContactsConfig, MessagePolicy};
use crate::error::{ServiceError, StoreError};
use crate::events::{append, append_all, Fanout, NewEvent};
use crate::profiles::{clean_text, profile_from_row, PROFILE_COLUMNS, PROFILE_JOINS};
use crate::store::{get_u64, now_ms, Store};

/// The caller's friends except those the caller blocked: who hears about
/// the caller's profile and presence.
/// Works inside a transaction or on the pool.
pub async fn friends_not_blocked<'e, E>(
    executor: E,
    user: UserId,
) -> Result<Vec<UserId>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let rows = sqlx::query(
        "SELECT f.friend_id AS id FROM friendships f WHERE f.user_id = $1 \
         AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.user_id = $1 AND b.blocked_id = f.friend_id)",
    )
    .bind(user)
    .fetch_all(executor)
    .await?;
    rows.iter().map(|r| r.try_get("id")).collect()
}

const REQUEST_COLUMNS: &str = "r.id AS r_id, fu.username AS r_from, tu.username AS r_to, \
     r.note AS r_note, r.state AS r_state, r.created_at AS r_created_at, \
     r.updated_at AS r_updated_at, r.from_id AS r_from_id, r.to_id AS r_to_id";
const REQUEST_JOINS: &str = "JOIN users fu ON fu.id = r.from_id JOIN users tu ON tu.id = r.to_id";

fn request_from_row(row: &AnyRow) -> Result<FriendRequest, ServiceError> {
    let state: String = row.try_get("r_state")?;
    Ok(FriendRequest {
        id: row.try_get("r_id")?,
        from: row.try_get("r_from")?,
        to: row.try_get("r_to")?,
        note: row.try_get("r_note")?,
        state: match state.as_str() {
            "pending" => RequestState::Pending,
            "accepted" => RequestState::Accepted,
            "declined" => RequestState::Declined,
            "cancelled" => RequestState::Cancelled,
            other => {
                return Err(ServiceError::Internal(format!(
                    "unknown friend request state {other}"
                )))
            }
        },
        created_at_ms: row.try_get("r_created_at")?,
        updated_at_ms: row.try_get("r_updated_at")?,
    })
}

fn clean_name(
    what: &str,
    text: &str,
    max_chars: usize,
    allow_empty: bool,
) -> Result<String, ServiceError> {
    let text = clean_text(what, text, max_chars)?;
    if !allow_empty && text.is_empty() {
        return Err(ServiceError::InvalidArgument(format!(
            "the {what} is empty"
        )));
    }
    Ok(text)
}

fn cannot_deliver() -> ServiceError {
    ServiceError::CannotDeliver
}

/// The contacts service.
#[derive(Debug, Clone)]
pub struct Contacts {
    store: Store,
    accounts: Accounts,
    config: ContactsConfig,
}

impl Contacts {
    /// Wraps the store.
    pub fn new(store: Store, accounts: Accounts, config: ContactsConfig) -> Self {
        Contacts {
            store,
            accounts,
            config,
        }
    }

    async fn exists(&self, sql: &str, a: i64, b: i64) -> Result<bool, ServiceError> {
        Ok(sqlx::query(sql)
            .bind(a)
            .bind(b)
            .fetch_optional(self.store.pool())
            .await?
            .is_some())
    }

    /// Whether `user` blocked `whom`.
    pub async fn blocked(&self, user: UserId, whom: UserId) -> Result<bool, ServiceError> {
        self.exists(
            "SELECT 1 AS one FROM blocks WHERE user_id = $1 AND blocked_id = $2",
            user,
            whom,
        )
        .await
    }

    /// Whether `a` and `b` are friends.
    pub async fn friends(&self, a: UserId, b: UserId) -> Result<bool, ServiceError> {
        self.exists(
            "SELECT 1 AS one FROM friendships WHERE user_id = $1 AND friend_id = $2",
            a,
            b,
        )
        .await
    }

    /// May `from` message (or send typing notices to) `to`? A block gives
    /// the neutral `cannot_deliver`; the `friends` policy says why.
    pub async fn check_delivery(&self, from: UserId, to: UserId) -> Result<(), ServiceError> {
        if self.blocked(to, from).await? {
            return Err(cannot_deliver());
        }
        if self.config.who_can_message == MessagePolicy::Friends && !self.friends(from, to).await? {
            return Err(ServiceError::Forbidden(
                "this server delivers messages between friends only; send a friend request first"
                    .into(),
            ));
        }
        Ok(())
    }

    async fn count(&self, sql: &str, user: UserId) -> Result<u64, ServiceError> {
        let row = sqlx::query(sql)
            .bind(user)
            .fetch_one(self.store.pool())
            .await?;
        Ok(get_u64(&row, "n")?)
    }

    async fn request_in(
        tx: &mut Transaction<'static, Any>,
        id: FriendRequestId,
    ) -> Result<Option<(FriendRequest, UserId, UserId)>, ServiceError> {
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM friend_requests r {REQUEST_JOINS} WHERE r.id = $1"
        );
        let row = sqlx::query(&sql).bind(id).fetch_optional(&mut **tx).await?;
        row.map(|r| {
            Ok((
                request_from_row(&r)?,
                r.try_get("r_from_id")?,
                r.try_get("r_to_id")?,
            ))
        })
        .transpose()
    }

    /// Sends a friend request (or accepts the reverse one).
    pub async fn send_request(
        &self,
        session: &Session,
        to: &str,
        note: &str,
    ) -> Result<(FriendRequest, Fanout), ServiceError> {
        let note = clean_name("note", note, MAX_NOTE_CHARS, true)?;
        let to_id = self.accounts.user_id(to).await?;
        let me = session.user_id;
        if to_id == me {
            return Err(ServiceError::InvalidArgument(
                "you cannot send a friend request to yourself".into(),
            ));
        }
        if self.blocked(to_id, me).await? {
            return Err(cannot_deliver());
        }
        if self.friends(me, to_id).await? {
            return Err(ServiceError::InvalidArgument(format!(
                "you and {} are friends already",
                to.trim().to_lowercase()
            )));
        }
        // The other side asked first: this is a yes.
        let reverse = sqlx::query(
            "SELECT id FROM friend_requests WHERE from_id = $1 AND to_id = $2 AND state = 'pending'",
        )
        .bind(to_id)
        .bind(me)
        .fetch_optional(self.store.pool())
        .await?;
        if let Some(row) = reverse {
            return self
                .answer(session, row.try_get("id")?, Answer::Accept)
                .await;
        }
        let existing = sqlx::query(&format!(
            "SELECT {REQUEST_COLUMNS} FROM friend_requests r {REQUEST_JOINS} \
             WHERE r.from_id = $1 AND r.to_id = $2 AND r.state = 'pending'"
        ))
        .bind(me)
        .bind(to_id)
        .fetch_optional(self.store.pool())
        .await?;
        if let Some(row) = existing {
            return Ok((request_from_row(&row)?, Fanout::new()));
        }
        let pending = self
            .count(
                "SELECT COUNT(*) AS n FROM friend_requests WHERE from_id = $1 AND state = 'pending'",
                me,
            )
            .await?;
        if pending >= u64::from(self.config.max_pending_requests) {
            return Err(ServiceError::Forbidden(format!(
                "you have {pending} friend requests waiting for an answer (the limit); cancel some first"
            )));
        }
        let now = now_ms();
        let mut w = self.store.begin_write().await?;
        let row = sqlx::query(
            "INSERT INTO friend_requests (from_id, to_id, note, state, created_at, updated_at) \
             VALUES ($1, $2, $3, 'pending', $4, $4) RETURNING id",
        )
        .bind(me)
        .bind(to_id)
        .bind(&note)
        .bind(now)
        .fetch_one(&mut *w.tx)
        .await
        .map_err(StoreError::Db)?;
        let id: FriendRequestId = row.try_get("id")?;
        let (request, _, _) = Self::request_in(&mut w.tx, id)
            .await?
            .ok_or_else(|| ServiceError::Internal("friend request vanished".into()))?;
        let fanout = append_all(
            &mut w.tx,
            self.store.backend(),
            &[me, to_id],
            EventBody::FriendRequest(request.clone()),
            now,
        )
        .await
        .map_err(StoreError::Db)?;
        w.commit().await?;
        Ok((request, fanout))
    }

    /// Accepts, declines or cancels a pending request. Only the addressee
    /// answers; only the sender cancels. Anyone else gets `not_found`.
    pub async fn answer(
        &self,
        session: &Session,
        id: FriendRequestId,
        answer: Answer,
    ) -> Result<(FriendRequest, Fanout), ServiceError> {
        let me = session.user_id;
        let now = now_ms();
        let mut w = self.store.begin_write().await?;
        let not_found =
            || ServiceError::NotFound(format!("no pending friend request {id} for you"));
        let (request, from_id, to_id) = Self::request_in(&mut w.tx, id)
            .await?
            .ok_or_else(not_found)?;
        let mine = match answer {
            Answer::Cancel => from_id == me,
            Answer::Accept | Answer::Decline => to_id == me,
        };
        if !mine || request.state != RequestState::Pending {
            return Err(not_found());
        }
        let state = match answer {
            Answer::Accept => RequestState::Accepted,
            Answer::Decline => RequestState::Declined,
            Answer::Cancel => RequestState::Cancelled,
        };
        if state == RequestState::Accepted {
            let friends = sqlx::query("SELECT COUNT(*) AS n FROM friendships WHERE user_id = $1")
                .bind(me)
                .fetch_one(&mut *w.tx)
                .await?;
            if get_u64(&friends, "n")? >= u64::from(self.config.max_friends) {
                return Err(ServiceError::Forbidden(format!(
                    "you have {} friends, the most this server allows",
                    self.config.max_friends
                )));
            }
            for (a, b) in [(from_id, to_id), (to_id, from_id)] {
                sqlx::query(
                    "INSERT INTO friendships (user_id, friend_id, category_id, created_at) \
                     VALUES ($1, $2, NULL, $3) ON CONFLICT (user_id, friend_id) DO NOTHING",
                )
                .bind(a)
                .bind(b)
                .bind(now)
                .execute(&mut *w.tx)
                .await?;
            }
        }
        sqlx::query("UPDATE friend_requests SET state = $1, updated_at = $2 WHERE id = $3")
            .bind(state.as_str())
            .bind(now)
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        let request = FriendRequest {
            state,
            updated_at_ms: now,
            ..request
        };
        let fanout = append_all(
            &mut w.tx,
            self.store.backend(),
            &[from_id, to_id],
            EventBody::FriendRequest(request.clone()),
            now,
        )
        .await
        .map_err(StoreError::Db)?;
        w.commit().await?;
        Ok((request, fanout))
    }

    /// Ends a friendship, for both sides.
    pub async fn remove_friend(
        &self,
        session: &Session,
        username: &str,
    ) -> Result<Fanout, ServiceError> {
        let other = self.accounts.user_id(username).await?;
        let me = session.user_id;
        let now = now_ms();
        let mut w = self.store.begin_write().await?;
        let done = sqlx::query(
            "DELETE FROM friendships WHERE (user_id = $1 AND friend_id = $2) OR (user_id = $2 AND friend_id = $1)",
        )
        .bind(me)
        .bind(other)
        .execute(&mut *w.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(ServiceError::NotFound(format!(
                "{} is not your friend",
                username.trim().to_lowercase()
            )));
        }
        let other_name = username.trim().to_lowercase();
        let mut fanout = append_all(
            &mut w.tx,
            self.store.backend(),
            &[me],
            EventBody::Contacts(ContactsChange::FriendRemoved {
                username: other_name,
            }),
            now,
        )
        .await
        .map_err(StoreError::Db)?;
        fanout.extend(
            append_all(
                &mut w.tx,
                self.store.backend(),
                &[other],
                EventBody::Contacts(ContactsChange::FriendRemoved {
                    username: session.username.clone(),
                }),
                now,
            )
            .await
            .map_err(StoreError::Db)?,
        );
        w.commit().await?;
        Ok(fanout)
    }

    /// The caller's friends, by username.
    pub async fn list_friends(&self, session: &Session) -> Result<Vec<Friend>, ServiceError> {
        let sql = format!(
            "SELECT {PROFILE_COLUMNS}, f.category_id AS f_category, f.created_at AS f_since \
             FROM friendships f JOIN users u ON u.id = f.friend_id {PROFILE_JOINS} \
             WHERE f.user_id = $1 ORDER BY u.username"
        );
        let rows = sqlx::query(&sql)
            .bind(session.user_id)
            .fetch_all(self.store.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Friend {
                    profile: profile_from_row(r)?,
                    category: r.try_get("f_category")?,
                    since_ms: r.try_get("f_since")?,
                })
            })
            .collect()
    }

    /// Pending requests to and from the caller, oldest first.
    pub async fn pending(
        &self,
        session: &Session,
    ) -> Result<(Vec<FriendRequest>, Vec<FriendRequest>), ServiceError> {
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM friend_requests r {REQUEST_JOINS} \
             WHERE (r.to_id = $1 OR r.from_id = $1) AND r.state = 'pending' ORDER BY r.id"
        );
        let rows = sqlx::query(&sql)
            .bind(session.user_id)
            .fetch_all(self.store.pool())
            .await?;
        let mut incoming = Vec::new();
        let mut outgoing = Vec::new();
        for row in &rows {
            let to: UserId = row.try_get("r_to_id")?;
            let request = request_from_row(row)?;
            if to == session.user_id {
                incoming.push(request);
            } else {
                outgoing.push(request);
            }
        }
        Ok((incoming, outgoing))
    }

    /// Records a change to the caller's own contacts for their devices.
    async fn own_change(
        tx: &mut Transaction<'static, Any>,
        session: &Session,
        change: ContactsChange,
        now: i64,
    ) -> Result<Fanout, ServiceError> {
        let body = EventBody::Contacts(change);
        let event = NewEvent::Body(Box::new(body.clone()));
        let seq = append(tx, session.user_id, &event, now)
            .await
            .map_err(StoreError::Db)?;
        Ok(Fanout::one(session.user_id, Event { seq, body }))
    }

    /// Creates a category.
    pub async fn create_category(
        &self,
        session: &Session,
        name: &str,
    ) -> Result<(Category, Fanout), ServiceError> {
        let name = clean_name("category name", name, MAX_CATEGORY_CHARS, false)?;
        let n = self
            .count(
                "SELECT COUNT(*) AS n FROM friend_categories WHERE user_id = $1",
                session.user_id,
            )
            .await?;
        if n >= u64::from(self.config.max_categories) {
            return Err(ServiceError::Forbidden(format!(
                "you have {n} categories, the most this server allows"
            )));
        }
        let now = now_ms();
        let mut w = self.store.begin_write().await?;
        let row = sqlx::query(
            "INSERT INTO friend_categories (user_id, name, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(session.user_id)
        .bind(&name)
        .bind(now)
        .fetch_one(&mut *w.tx)
        .await
        .map_err(|e| name_taken(e, &name))?;
        let category = Category {
            id: row.try_get("id")?,
            name,
        };
        let fanout = Self::own_change(
            &mut w.tx,
            session,
            ContactsChange::CategorySaved(category.clone()),
            now,
        )
        .await?;
        w.commit().await?;
        Ok((category, fanout))
    }

    /// Renames one of the caller's categories.
    pub async fn rename_category(
        &self,
        session: &Session,
        id: CategoryId,
        name: &str,
    ) -> Result<(Category, Fanout), ServiceError> {
        let name = clean_name("category name", name, MAX_CATEGORY_CHARS, false)?;
        let now = now_ms();
        let mut w = self.store.begin_write().await?;
        let done =
            sqlx::query("UPDATE friend_categories SET name = $1 WHERE id = $2 AND user_id = $3")
                .bind(&name)
                .bind(id)
                .bind(session.user_id)
                .execute(&mut *w.tx)
                .await
                .map_err(|e| name_taken(e, &name))?;
        if done.rows_affected() == 0 {
            return Err(no_category(id));
        }
        let category = Category { id, name };
        let fanout = Self::own_change(
            &mut w.tx,
            session,
            ContactsChange::CategorySaved(category.clone()),
            now,
        )
        .await?;
        w.commit().await?;
        Ok((category, fanout))
    }

    /// Deletes one of the caller's categories; its friends keep none.
    pub async fn delete_category(
        &self,
        session: &Session,
        id: CategoryId,
    ) -> Result<Fanout, ServiceError> {
        let now = now_ms();
        let mut w = self.store.begin_write().await?;
        sqlx::query(
            "UPDATE friendships SET category_id = NULL WHERE user_id = $1 AND category_id = $2",
        )
        .bind(session.user_id)
        .bind(id)
        .execute(&mut *w.tx)
        .await?;
        let done = sqlx::query("DELETE FROM friend_categories WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(session.user_id)
            .execute(&mut *w.tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(no_category(id));
        }
        let fanout = Self::own_change(
            &mut w.tx,
            session,
            ContactsChange::CategoryDeleted { id },
            now,
        )
        .await?;
        w.commit().await?;
        Ok(fanout)
    }

    /// Puts a friend into one of the caller's categories, or none.
    pub async fn move_friend(
        &self,
        session: &Session,
        username: &str,
        category: Option<CategoryId>,
    ) -> Result<Fanout, ServiceError> {
        let friend = self.accounts.user_id(username).await?;
        let now = now_ms();
        let mut w = self.store.begin_write().await?;
        if let Some(id) = category {
            let mine = sqlx::query(
                "SELECT 1 AS one FROM friend_categories WHERE id = $1 AND user_id = $2",
            )
            .bind(id)
            .bind(session.user_id)
            .fetch_optional(&mut *w.tx)
            .await?;
            if mine.is_none() {
                return Err(no_category(id));
            }
        }
        let done = sqlx::query(
            "UPDATE friendships SET category_id = $1 WHERE user_id = $2 AND friend_id = $3",
        )
        .bind(category)
        .bind(session.user_id)
        .bind(friend)
        .execute(&mut *w.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(ServiceError::NotFound(format!(
                "{} is not your friend",
                username.trim().to_lowercase()
            )));
        }
        let change = ContactsChange::FriendMoved {
            username: username.trim().to_lowercase(),
            category,
        };
        let fanout = Self::own_change(&mut w.tx, session, change, now).await?;
        w.commit().await?;
        Ok(fanout)
    }

    /// The caller's categories, by name.
    pub async fn categories(&self, session: &Session) -> Result<Vec<Category>, ServiceError> {
        let rows =
            sqlx::query("SELECT id, name FROM friend_categories WHERE user_id = $1 ORDER BY name")
                .bind(session.user_id)
                .fetch_all(self.store.pool())
                .await?;
        rows.iter()
            .map(|r| {
                Ok(Category {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                })
            })
            .collect()
    }

    /// Blocks or unblocks a user. Blocking also withdraws pending requests
    /// between the two (silently for the blocked side, who sees nothing).
    pub async fn set_blocked(
        &self,
        session: &Session,
        username: &str,
        block: bool,
    ) -> Result<Fanout, ServiceError> {
        let other = self.accounts.user_id(username).await?;
        let me = session.user_id;
        if other == me {
            return Err(ServiceError::InvalidArgument(
                "you cannot block yourself".into(),
            ));
        }
        if block {
            let n = self
                .count("SELECT COUNT(*) AS n FROM blocks WHERE user_id = $1", me)
                .await?;
            if n >= u64::from(self.config.max_blocked) {
                return Err(ServiceError::Forbidden(format!(
                    "you have blocked {n} users, the most this server allows"
                )));
            }
        }
        let now = now_ms();
        let name = username.trim().to_lowercase();
        let mut w = self.store.begin_write().await?;
        let changed = if block {
            sqlx::query(
                "INSERT INTO blocks (user_id, blocked_id, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (user_id, blocked_id) DO NOTHING",
            )
            .bind(me)
            .bind(other)
            .bind(now)
            .execute(&mut *w.tx)
            .await?
            .rows_affected()
        } else {
            sqlx::query("DELETE FROM blocks WHERE user_id = $1 AND blocked_id = $2")
                .bind(me)
                .bind(other)
                .execute(&mut *w.tx)
                .await?
                .rows_affected()
        };
        if changed == 0 {
            // Already so: nothing to record.
            return Ok(Fanout::new());
        }
        if block {
            // Pending requests either way are withdrawn; the blocked user
            // is not told (their request just never gets an answer).
            sqlx::query(
                "UPDATE friend_requests SET state = 'cancelled', updated_at = $3 \
                 WHERE state = 'pending' AND ((from_id = $1 AND to_id = $2) OR (from_id = $2 AND to_id = $1))",
            )
            .bind(me)
            .bind(other)
            .bind(now)
            .execute(&mut *w.tx)
            .await?;
        }
        let change = if block {
            ContactsChange::Blocked { username: name }
        } else {
            ContactsChange::Unblocked { username: name }
        };
        let fanout = Self::own_change(&mut w.tx, session, change, now).await?;
        w.commit().await?;
        Ok(fanout)
    }

    /// Usernames the caller blocked.
    pub async fn blocked_list(&self, session: &Session) -> Result<Vec<String>, ServiceError> {
        let rows = sqlx::query(
            "SELECT u.username AS username FROM blocks b JOIN users u ON u.id = b.blocked_id \
             WHERE b.user_id = $1 ORDER BY u.username",
        )
        .bind(session.user_id)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter()
            .map(|r| r.try_get("username").map_err(Into::into))
            .collect()
    }
}

/// What to do with a pending friend request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The addressee says yes.
    Accept,
    /// The addressee says no.
    Decline,
    /// The sender withdraws it.
    Cancel,
}

fn no_category(id: CategoryId) -> ServiceError {
    ServiceError::NotFound(format!("you have no category {id}"))
}

fn name_taken(e: sqlx::Error, name: &str) -> ServiceError {
    let e = StoreError::Db(e);
    if e.is_unique_violation() {
        ServiceError::InvalidArgument(format!("you already have a category named '{name}'"))
    } else {
        e.into()
    }
}
