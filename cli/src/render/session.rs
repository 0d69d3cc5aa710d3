//! Lines about the profile's session: who is logged in, logout.

use quichat_proto::types::{DeviceId, SessionInfo, UserId};
use serde::Serialize;

/// `{"type":"session"}`: who a profile is logged in as.
#[derive(Debug, Serialize)]
pub struct SessionLine {
    username: String,
    user_id: UserId,
    device_id: DeviceId,
    server: String,
}

impl SessionLine {
    /// From the server's session info.
    pub fn new(session: &SessionInfo, server: &str) -> Self {
        SessionLine {
            username: session.username.clone(),
            user_id: session.user_id,
            device_id: session.device_id,
            server: server.to_string(),
        }
    }
}

/// `{"type":"logout"}`: the profile's device token was revoked.
#[derive(Debug, Serialize)]
pub struct LogoutLine {
    username: Option<String>,
    device_id: Option<DeviceId>,
}

impl LogoutLine {
    /// For the device that was logged out.
    pub fn new(username: Option<String>, device_id: Option<DeviceId>) -> Self {
        LogoutLine {
            username,
            device_id,
        }
    }
}
