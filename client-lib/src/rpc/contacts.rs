//! Friend requests, friends, categories and blocks.

use quichat_proto::rpc::contacts::{Request, Response};
use quichat_proto::social::{Category, CategoryId, Friend, FriendRequest, FriendRequestId};

use super::reply;
use crate::{Client, ClientError};

impl Client {
    async fn contacts_done(&self, request: Request) -> Result<(), ClientError> {
        reply!(self.call(request).await?, Response::Done => ())
    }

    async fn contacts_request(&self, request: Request) -> Result<FriendRequest, ClientError> {
        reply!(self.call(request).await?, Response::Request(r) => r)
    }

    /// Asks `to` to be friends (accepts their request if they asked first).
    pub async fn send_friend_request(
        &self,
        to: &str,
        note: &str,
    ) -> Result<FriendRequest, ClientError> {
        self.contacts_request(Request::SendRequest {
            to: to.into(),
            note: note.into(),
        })
        .await
    }

    /// Accepts a request addressed to you.
    pub async fn accept_friend(
        &self,
        request_id: FriendRequestId,
    ) -> Result<FriendRequest, ClientError> {
        self.contacts_request(Request::Accept { request_id }).await
    }

    /// Declines a request addressed to you.
    pub async fn decline_friend(
        &self,
        request_id: FriendRequestId,
    ) -> Result<FriendRequest, ClientError> {
        self.contacts_request(Request::Decline { request_id }).await
    }

    /// Withdraws a request you sent.
    pub async fn cancel_friend_request(
        &self,
        request_id: FriendRequestId,
    ) -> Result<FriendRequest, ClientError> {
        self.contacts_request(Request::Cancel { request_id }).await
    }

    /// Ends a friendship.
    pub async fn remove_friend(&self, username: &str) -> Result<(), ClientError> {
        self.contacts_done(Request::RemoveFriend {
            username: username.into(),
        })
        .await
    }

    /// Your friends, by username.
    pub async fn friends(&self) -> Result<Vec<Friend>, ClientError> {
        reply!(self.call(Request::Friends).await?, Response::Friends(f) => f)
    }

    /// Pending requests: (addressed to you, sent by you).
    pub async fn friend_requests(
        &self,
    ) -> Result<(Vec<FriendRequest>, Vec<FriendRequest>), ClientError> {
        reply!(
            self.call(Request::Requests).await?,
            Response::Requests { incoming, outgoing } => (incoming, outgoing)
        )
    }

    /// Creates a friend category.
    pub async fn create_category(&self, name: &str) -> Result<Category, ClientError> {
        let request = Request::CreateCategory { name: name.into() };
        reply!(self.call(request).await?, Response::Category(c) => c)
    }

    /// Renames one of your categories.
    pub async fn rename_category(
        &self,
        id: CategoryId,
        name: &str,
    ) -> Result<Category, ClientError> {
        let request = Request::RenameCategory {
            id,
            name: name.into(),
        };
        reply!(self.call(request).await?, Response::Category(c) => c)
    }

    /// Deletes one of your categories (its friends keep no category).
    pub async fn delete_category(&self, id: CategoryId) -> Result<(), ClientError> {
        self.contacts_done(Request::DeleteCategory { id }).await
    }

    /// Puts a friend into a category, or none.
    pub async fn move_friend(
        &self,
        username: &str,
        category: Option<CategoryId>,
    ) -> Result<(), ClientError> {
        self.contacts_done(Request::MoveFriend {
            username: username.into(),
            category,
        })
        .await
    }

    /// Your categories, by name.
    pub async fn categories(&self) -> Result<Vec<Category>, ClientError> {
        reply!(self.call(Request::Categories).await?, Response::Categories(c) => c)
    }

    /// Blocks a user (they are not told).
    pub async fn block(&self, username: &str) -> Result<(), ClientError> {
        self.contacts_done(Request::Block {
            username: username.into(),
        })
        .await
    }

    /// Unblocks a user.
    pub async fn unblock(&self, username: &str) -> Result<(), ClientError> {
        self.contacts_done(Request::Unblock {
            username: username.into(),
        })
        .await
    }

    /// The usernames you blocked.
    pub async fn blocked(&self) -> Result<Vec<String>, ClientError> {
        reply!(self.call(Request::Blocked).await?, Response::Blocked(b) => b)
    }
}
