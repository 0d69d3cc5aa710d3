//! Notification settings: mute, unmute, do-not-disturb.

use quichat_proto::notify::{Dnd, NotifySettings};
use quichat_proto::rpc::notify::{Request, Response};
use quichat_proto::types::ConversationId;

use super::reply;
use crate::{Client, ClientError};

impl Client {
    /// The caller's notification settings.
    pub async fn notify_settings(&self) -> Result<NotifySettings, ClientError> {
        reply!(self.call(Request::Get).await?, Response::Settings(s) => s)
    }

    /// Mutes a conversation until `until_ms` (Unix ms), or until unmuted
    /// (`None`). Returns the settings after the change.
    pub async fn mute(
        &self,
        conversation_id: ConversationId,
        until_ms: Option<i64>,
    ) -> Result<NotifySettings, ClientError> {
        reply!(
            self.call(Request::Mute { conversation_id, until_ms }).await?,
            Response::Settings(s) => s
        )
    }

    /// Unmutes a conversation.
    pub async fn unmute(
        &self,
        conversation_id: ConversationId,
    ) -> Result<NotifySettings, ClientError> {
        reply!(
            self.call(Request::Unmute { conversation_id }).await?,
            Response::Settings(s) => s
        )
    }

    /// Replaces the do-not-disturb setting.
    pub async fn set_dnd(&self, dnd: Dnd) -> Result<NotifySettings, ClientError> {
        reply!(self.call(Request::SetDnd(dnd)).await?, Response::Settings(s) => s)
    }
}
