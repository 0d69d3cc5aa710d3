//! The contacts domain: friend requests, friends, categories, blocking.

use serde::{Deserialize, Serialize};

use crate::social::{Category, CategoryId, Friend, FriendRequest, FriendRequestId};

/// Contact requests.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum Request {
    /// Ask `to` to become friends, with an optional note. If `to` had
    /// already asked the caller, this accepts that request instead.
    /// Sending it again while pending returns the pending request.
    /// Answered by [`Response::Request`].
    SendRequest {
        /// The addressee.
        to: String,
        /// A note (may be empty).
        note: String,
    },
    /// Accept a pending request addressed to the caller. Answered by
    /// [`Response::Request`].
    Accept {
        /// Which request.
        request_id: FriendRequestId,
    },
    /// Decline a pending request addressed to the caller. Answered by
    /// [`Response::Request`].
    Decline {
        /// Which request.
        request_id: FriendRequestId,
    },
    /// Withdraw a pending request the caller sent. Answered by
    /// [`Response::Request`].
    Cancel {
        /// Which request.
        request_id: FriendRequestId,
    },
    /// End a friendship (both sides). Answered by [`Response::Done`].
    RemoveFriend {
        /// The friend.
        username: String,
    },
    /// Answered by [`Response::Friends`].
    Friends,
    /// Pending requests, to and from the caller. Answered by
    /// [`Response::Requests`].
    Requests,
    /// Answered by [`Response::Category`].
    CreateCategory {
        /// Name, unique among the caller's categories.
        name: String,
    },
    /// Answered by [`Response::Category`].
    RenameCategory {
        /// Which.
        id: CategoryId,
        /// New name.
        name: String,
    },
    /// Its friends keep no category. Answered by [`Response::Done`].
    DeleteCategory {
        /// Which.
        id: CategoryId,
    },
    /// Put a friend in a category (or in none). Answered by
    /// [`Response::Done`].
    MoveFriend {
        /// The friend.
        username: String,
        /// The category, or `None`.
        category: Option<CategoryId>,
    },
    /// Answered by [`Response::Categories`].
    Categories,
    /// Block a user: they can no longer message the caller, send friend
    /// requests, or see the caller's presence and profile changes. They
    /// are not told. Answered by [`Response::Done`].
    Block {
        /// Who.
        username: String,
    },
    /// Answered by [`Response::Done`].
    Unblock {
        /// Who.
        username: String,
    },
    /// Answered by [`Response::Blocked`].
    Blocked,
}

/// Contact responses.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum Response {
    /// The request as it stands now.
    Request(FriendRequest),
    /// Done.
    Done,
    /// The caller's friends, by username.
    Friends(Vec<Friend>),
    /// Pending requests.
    Requests {
        /// Addressed to the caller.
        incoming: Vec<FriendRequest>,
        /// Sent by the caller.
        outgoing: Vec<FriendRequest>,
    },
    /// A created or renamed category.
    Category(Category),
    /// The caller's categories, by name.
    Categories(Vec<Category>),
    /// Usernames the caller blocked.
    Blocked(Vec<String>),
}
