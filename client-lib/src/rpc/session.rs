//! Hello, accounts, authentication, logout and ping.

use quichat_proto::rpc::session::{Request, Response};
use quichat_proto::types::SessionInfo;
use quichat_proto::PROTOCOL_VERSION;

use super::reply;
use crate::{Client, ClientError};

impl Client {
    /// The first request on every connection.
    pub(crate) async fn hello(&self) -> Result<(), ClientError> {
        let request = Request::Hello {
            version: PROTOCOL_VERSION,
            client: self.config().client_name.clone(),
        };
        reply!(self.call(request).await?, Response::Welcome { .. } => ())
    }

    /// Creates an account and logs this connection in. Returns the session
    /// and the new device token (store it; it is shown once).
    pub async fn register(
        &self,
        username: &str,
        password: &str,
        device_name: &str,
    ) -> Result<(SessionInfo, String), ClientError> {
        let request = Request::Register {
            username: username.into(),
            password: password.into(),
            device_name: device_name.into(),
        };
        self.take_login(self.call(request).await?)
    }

    /// Logs in with a password, creating a new device.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        device_name: &str,
    ) -> Result<(SessionInfo, String), ClientError> {
        let request = Request::Login {
            username: username.into(),
            password: password.into(),
            device_name: device_name.into(),
        };
        self.take_login(self.call(request).await?)
    }

    fn take_login(&self, response: Response) -> Result<(SessionInfo, String), ClientError> {
        let (session, token) = reply!(
            response,
            Response::Authenticated { session, token: Some(token) } => (session, token)
        )?;
        self.set_session(&session);
        Ok((session, token))
    }

    /// Authenticates with a device token.
    pub async fn authenticate(&self, token: &str) -> Result<SessionInfo, ClientError> {
        let request = Request::Authenticate {
            token: token.into(),
        };
        let session =
            reply!(self.call(request).await?, Response::Authenticated { session, .. } => session)?;
        self.set_session(&session);
        Ok(session)
    }

    /// Revokes this device's token; the server then closes every
    /// connection of this device, this one last.
    pub async fn logout(&self) -> Result<(), ClientError> {
        reply!(self.call(Request::Logout).await?, Response::LoggedOut => ())
    }

    /// Changes the account's password; with `sign_out_others`, every
    /// other device is revoked and disconnected. Returns how many were.
    pub async fn change_password(
        &self,
        current: &str,
        new: &str,
        sign_out_others: bool,
    ) -> Result<u32, ClientError> {
        reply!(
            self.call(Request::ChangePassword {
                current: current.to_string(),
                new: new.to_string(),
                sign_out_others,
            })
            .await?,
            Response::PasswordChanged { signed_out } => signed_out
        )
    }

    /// Round trip to the server.
    pub async fn ping(&self) -> Result<(), ClientError> {
        reply!(self.call(Request::Ping).await?, Response::Pong => ())
    }
}
