//! The session domain: hello, accounts, authentication, logout, ping.

use serde::{Deserialize, Serialize};

use crate::types::SessionInfo;

/// Session requests. The answering [`Response`] variant is noted on each.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum Request {
    /// Must be first on a connection. Answered by [`Response::Welcome`].
    Hello {
        /// [`crate::PROTOCOL_VERSION`] of the client.
        version: u16,
        /// Free-form client name, for logs.
        client: String,
    },
    /// Create an account and a first device. Answered by
    /// [`Response::Authenticated`] with a token.
    Register {
        /// 3–32 chars of `a-z`, `0-9`, `_`, `.`, `-`; starts with a letter.
        username: String,
        /// At least 8 characters.
        password: String,
        /// Label for the new device.
        device_name: String,
    },
    /// Log in and create a device. Answered by [`Response::Authenticated`]
    /// with a token.
    Login {
        /// Username.
        username: String,
        /// Password.
        password: String,
        /// Label for the new device.
        device_name: String,
    },
    /// Authenticate with a device token. Answered by
    /// [`Response::Authenticated`] without a token.
    Authenticate {
        /// The token returned at login.
        token: String,
    },
    /// Revoke this device's token; every connection of the device closes.
    /// Answered by [`Response::LoggedOut`].
    Logout,
    /// Answered by [`Response::Pong`].
    Ping,
    /// Change the account's password. Answered by
    /// [`Response::PasswordChanged`]; a wrong `current` password gets
    /// `wrong_password` (rate-limited like logins).
    ChangePassword {
        /// The password now.
        current: String,
        /// The new one (the same rules as at registration).
        new: String,
        /// Also revoke every other device of the account (their
        /// connections close at once); this one stays logged in.
        sign_out_others: bool,
    },
}

impl Request {
    /// Whether this request may (or must) come before authentication.
    pub fn is_pre_auth(&self) -> bool {
        matches!(
            self,
            Request::Hello { .. }
                | Request::Register { .. }
                | Request::Login { .. }
                | Request::Authenticate { .. }
                | Request::Ping
        )
    }
}

/// Session responses.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum Response {
    /// Hello accepted.
    Welcome {
        /// Server protocol version.
        version: u16,
        /// Server software version.
        server: String,
    },
    /// The connection is now authenticated.
    Authenticated {
        /// Who and which device.
        session: SessionInfo,
        /// A new device token (register and login only). Store it safely.
        token: Option<String>,
    },
    /// The device is revoked; the server closes the connection next.
    LoggedOut,
    /// Reply to ping.
    Pong,
    /// The password was changed.
    PasswordChanged {
        /// How many other devices were revoked.
        signed_out: u32,
    },
}
