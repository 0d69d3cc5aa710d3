//! Groups: lifecycle, members, roles, invites, announcements.

use quichat_proto::group::{GroupInfo, GroupMember, GroupRole, GroupSettings, Invite, InviteId};
use quichat_proto::media::MediaId;
use quichat_proto::rpc::groups::{Request, Response};
use quichat_proto::types::ConversationId;

use super::reply;
use crate::{Client, ClientError};

impl Client {
    async fn group_info_reply(&self, request: Request) -> Result<GroupInfo, ClientError> {
        reply!(self.call(request).await?, Response::Group(g) => g)
    }

    async fn group_done(&self, request: Request) -> Result<(), ClientError> {
        reply!(self.call(request).await?, Response::Done => ())
    }

    /// Creates a group you own, with these first members.
    pub async fn create_group(
        &self,
        name: &str,
        description: &str,
        members: &[String],
    ) -> Result<GroupInfo, ClientError> {
        self.group_info_reply(Request::Create {
            name: name.into(),
            description: description.into(),
            members: members.to_vec(),
        })
        .await
    }

    /// A group you are in.
    pub async fn group_info(&self, group: ConversationId) -> Result<GroupInfo, ClientError> {
        self.group_info_reply(Request::Info { group }).await
    }

    /// Your groups, by name.
    pub async fn groups(&self) -> Result<Vec<GroupInfo>, ClientError> {
        reply!(self.call(Request::List).await?, Response::Groups(g) => g)
    }

    /// A group's members: owner, admins, then members.
    pub async fn group_members(
        &self,
        group: ConversationId,
    ) -> Result<Vec<GroupMember>, ClientError> {
        reply!(self.call(Request::Members { group }).await?, Response::Members(m) => m)
    }

    /// Adds people to a group.
    pub async fn add_to_group(
        &self,
        group: ConversationId,
        usernames: &[String],
    ) -> Result<GroupInfo, ClientError> {
        self.group_info_reply(Request::Add {
            group,
            usernames: usernames.to_vec(),
        })
        .await
    }

    /// Removes a member.
    pub async fn remove_from_group(
        &self,
        group: ConversationId,
        username: &str,
    ) -> Result<(), ClientError> {
        self.group_done(Request::Remove {
            group,
            username: username.into(),
        })
        .await
    }

    /// Leaves a group.
    pub async fn leave_group(&self, group: ConversationId) -> Result<(), ClientError> {
        self.group_done(Request::Leave { group }).await
    }

    /// Makes a member an admin or an admin a member (owner only).
    pub async fn set_group_role(
        &self,
        group: ConversationId,
        username: &str,
        role: GroupRole,
    ) -> Result<(), ClientError> {
        self.group_done(Request::SetRole {
            group,
            username: username.into(),
            role,
        })
        .await
    }

    /// Hands the group to another member (owner only).
    pub async fn transfer_group(&self, group: ConversationId, to: &str) -> Result<(), ClientError> {
        self.group_done(Request::TransferOwnership {
            group,
            to: to.into(),
        })
        .await
    }

    /// Renames a group.
    pub async fn rename_group(
        &self,
        group: ConversationId,
        name: &str,
    ) -> Result<GroupInfo, ClientError> {
        self.group_info_reply(Request::Rename {
            group,
            name: name.into(),
        })
        .await
    }

    /// Changes a group's description.
    pub async fn describe_group(
        &self,
        group: ConversationId,
        description: &str,
    ) -> Result<GroupInfo, ClientError> {
        self.group_info_reply(Request::SetDescription {
            group,
            description: description.into(),
        })
        .await
    }

    /// Sets or clears a group's avatar (an uploaded image).
    pub async fn set_group_avatar(
        &self,
        group: ConversationId,
        avatar: Option<MediaId>,
    ) -> Result<GroupInfo, ClientError> {
        self.group_info_reply(Request::SetAvatar { group, avatar })
            .await
    }

    /// Changes what members may do (admins only).
    pub async fn set_group_settings(
        &self,
        group: ConversationId,
        settings: GroupSettings,
    ) -> Result<GroupInfo, ClientError> {
        self.group_info_reply(Request::SetSettings { group, settings })
            .await
    }

    /// Pins an announcement (admins only); empty text unpins.
    pub async fn announce(
        &self,
        group: ConversationId,
        text: &str,
    ) -> Result<GroupInfo, ClientError> {
        self.group_info_reply(Request::Announce {
            group,
            text: text.into(),
        })
        .await
    }

    /// Dissolves a group (owner only).
    pub async fn dissolve_group(&self, group: ConversationId) -> Result<(), ClientError> {
        self.group_done(Request::Dissolve { group }).await
    }

    /// Creates an invite code (shown only in this answer).
    pub async fn create_invite(
        &self,
        group: ConversationId,
        expires_in_secs: Option<u64>,
        max_uses: Option<u32>,
    ) -> Result<Invite, ClientError> {
        reply!(
            self.call(Request::CreateInvite {
                group,
                expires_in_secs,
                max_uses,
            })
            .await?,
            Response::Invite(i) => i
        )
    }

    /// Revokes an invite code.
    pub async fn revoke_invite(
        &self,
        group: ConversationId,
        invite: InviteId,
    ) -> Result<(), ClientError> {
        self.group_done(Request::RevokeInvite { group, invite })
            .await
    }

    /// A group's live invite codes (without the codes themselves).
    pub async fn invites(&self, group: ConversationId) -> Result<Vec<Invite>, ClientError> {
        reply!(self.call(Request::Invites { group }).await?, Response::Invites(i) => i)
    }

    /// Joins a group with an invite code.
    pub async fn join_group(&self, code: &str) -> Result<GroupInfo, ClientError> {
        self.group_info_reply(Request::Join { code: code.into() })
            .await
    }
}
