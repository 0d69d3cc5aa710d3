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

/// Whether a local profile's saved session works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileState {
    /// The server accepted the token.
    Valid,
    /// The server refused the token (logged out or revoked elsewhere).
    Invalid,
    /// No token is saved.
    LoggedOut,
    /// The server could not be asked (`--offline`, or it did not answer).
    Unknown,
}

impl ProfileState {
    fn human(self) -> &'static str {
        match self {
            ProfileState::Valid => "logged in",
            ProfileState::Invalid => "session no longer valid",
            ProfileState::LoggedOut => "logged out",
            ProfileState::Unknown => "not checked",
        }
    }
}

/// `{"type":"local_profile"}`: one profile of `profiles`.
#[derive(Debug, Serialize)]
pub struct LocalProfileLine {
    /// The profile's name.
    pub name: String,
    /// Whether it is the one this command ran with (`--profile`).
    pub current: bool,
    /// Its server.
    pub server: Option<String>,
    /// Its (last) account.
    pub username: Option<String>,
    /// Its device.
    pub device_id: Option<DeviceId>,
    /// Whether the saved session works.
    pub state: ProfileState,
    /// Why the state is unknown or invalid, when the check failed.
    pub reason: Option<String>,
}

impl LocalProfileLine {
    /// Aligned columns: a `*` on the current profile, name, user, server,
    /// state (and why).
    pub fn human(lines: &[LocalProfileLine]) -> Vec<String> {
        let cells: Vec<[String; 3]> = lines
            .iter()
            .map(|l| {
                [
                    l.name.clone(),
                    l.username.clone().unwrap_or_else(|| "-".into()),
                    l.server.clone().unwrap_or_else(|| "-".into()),
                ]
            })
            .collect();
        let width = |i: usize| {
            cells
                .iter()
                .map(|c| unicode_width::UnicodeWidthStr::width(c[i].as_str()))
                .max()
                .unwrap_or(0)
        };
        let widths = [width(0), width(1), width(2)];
        lines
            .iter()
            .zip(&cells)
            .map(|(l, c)| {
                let pad = |i: usize| {
                    let w = unicode_width::UnicodeWidthStr::width(c[i].as_str());
                    format!("{}{}", c[i], " ".repeat(widths[i] - w))
                };
                let mut row = format!(
                    "{} {}  {}  {}  {}",
                    if l.current { "*" } else { " " },
                    pad(0),
                    pad(1),
                    pad(2),
                    l.state.human()
                );
                if let Some(reason) = &l.reason {
                    row.push_str(&format!(" ({reason})"));
                }
                row.trim_end().to_string()
            })
            .collect()
    }
}

/// `{"type":"password_changed"}`: `passwd` succeeded.
#[derive(Debug, Serialize)]
pub struct PasswordLine {
    /// How many other devices were logged out.
    pub signed_out: u32,
}
