//! Turning options and the saved profile into a connection: which server,
//! which trust anchor, and an authenticated [`Client`].

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use quichat_client::{Client, ClientConfig, ClientError, Trust};
use quichat_proto::types::SessionInfo;
use quichat_proto::ErrorCode;

use crate::args::GlobalOpts;
use crate::error::CliError;
use crate::output::Printer;
use crate::profile::{Profile, ProfileFile};

/// Server used when neither the options nor the profile name one.
pub const DEFAULT_SERVER: &str = "127.0.0.1:4433";

/// The dev CA a server writes when started from the current directory.
pub const DEV_CA: &str = "quichat-data/certs/ca.pem";

/// How the server certificate is checked, in a form the profile stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustChoice {
    /// A CA PEM file (absolute path).
    Ca(PathBuf),
    /// A pinned SHA-256 fingerprint.
    Pin(String),
}

impl TrustChoice {
    /// The client library's form.
    pub fn to_trust(&self) -> Trust {
        match self {
            TrustChoice::Ca(path) => Trust::CaFile(path.clone()),
            TrustChoice::Pin(pin) => Trust::Fingerprint(pin.clone()),
        }
    }

    /// Stores this choice in a profile (replacing the other kind).
    pub fn save_into(&self, profile: &mut Profile) {
        match self {
            TrustChoice::Ca(path) => {
                profile.ca = Some(path.clone());
                profile.pin = None;
            }
            TrustChoice::Pin(pin) => {
                profile.pin = Some(pin.clone());
                profile.ca = None;
            }
        }
    }
}

/// Everything a command needs: options, the profile and the printer.
#[derive(Debug)]
pub struct Context {
    /// Global options.
    pub opts: GlobalOpts,
    /// Where the profile lives.
    pub file: ProfileFile,
    /// The profile as loaded at start.
    pub profile: Profile,
    /// Output.
    pub printer: Printer,
}

fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("cannot resolve {}", path.display()))
}

impl Context {
    /// Loads the profile named by the options.
    pub fn load(opts: GlobalOpts) -> Result<Context> {
        let file = ProfileFile::locate(&opts.profile)?;
        let profile = file.load()?;
        Ok(Context {
            printer: Printer::new(opts.json),
            opts,
            file,
            profile,
        })
    }

    /// A context for `file`, already loaded as `profile`.
    pub fn with_profile(opts: GlobalOpts, file: ProfileFile, profile: Profile) -> Context {
        Context {
            printer: Printer::new(opts.json),
            opts,
            file,
            profile,
        }
    }

    /// The server: option or env, else the profile's, else the default.
    pub fn server(&self) -> String {
        self.opts
            .server
            .clone()
            .or_else(|| self.profile.server.clone())
            .unwrap_or_else(|| DEFAULT_SERVER.to_string())
    }

    /// The trust anchor: `--ca`/`--pin` (or env), else the profile's, else
    /// `./quichat-data/certs/ca.pem` if it exists. Never "trust anything".
    pub fn trust(&self) -> Result<TrustChoice> {
        if let Some(ca) = &self.opts.ca {
            return Ok(TrustChoice::Ca(absolute(ca)?));
        }
        if let Some(pin) = &self.opts.pin {
            return Ok(TrustChoice::Pin(pin.trim().to_string()));
        }
        if let Some(ca) = &self.profile.ca {
            return Ok(TrustChoice::Ca(ca.clone()));
        }
        if let Some(pin) = &self.profile.pin {
            return Ok(TrustChoice::Pin(pin.clone()));
        }
        let dev = Path::new(DEV_CA);
        if dev.is_file() {
            tracing::info!("trusting the dev CA at {}", dev.display());
            return Ok(TrustChoice::Ca(absolute(dev)?));
        }
        Err(CliError::new(
            "no_trust_anchor",
            "no trust anchor: pass --ca PATH or --pin FINGERPRINT",
        )
        .into())
    }

    /// Connects (no authentication yet).
    pub async fn connect(&self) -> Result<(Client, String, TrustChoice)> {
        let server = self.server();
        let trust = self.trust()?;
        tracing::debug!(%server, ?trust, "connecting");
        let client = Client::connect(&self.client_config(&server, &trust)).await?;
        Ok((client, server, trust))
    }

    /// The client settings for `server`: its trust anchor and the
    /// `--connect-timeout`.
    pub fn client_config(&self, server: &str, trust: &TrustChoice) -> ClientConfig {
        let mut config = ClientConfig::new(server.to_string(), trust.to_trust());
        config.connect_timeout = std::time::Duration::from_secs_f64(self.opts.connect_timeout);
        config
    }

    /// The saved device token, or a "not logged in" error.
    pub fn token(&self) -> Result<&str, CliError> {
        self.profile.token.as_deref().ok_or_else(|| {
            CliError::new(
                "not_logged_in",
                format!(
                    "not logged in (profile '{}'); run `{}`",
                    self.file.name(),
                    self.command("login USER")
                ),
            )
        })
    }

    /// A command line to suggest, naming this profile unless it is the
    /// default one: `quichat --profile alice login USER`.
    pub fn command(&self, rest: &str) -> String {
        if self.file.name() == "default" {
            format!("quichat {rest}")
        } else {
            format!("quichat --profile {} {rest}", self.file.name())
        }
    }

    /// Connects and authenticates with the saved token.
    pub async fn session(&self) -> Result<(Client, SessionInfo)> {
        let token = self.token()?.to_string();
        let (client, _, _) = self.connect().await?;
        let session = client
            .authenticate(&token)
            .await
            .map_err(|e| self.explain_auth_error(e))?;
        Ok((client, session))
    }

    /// Adds a hint to a rejected token.
    pub fn explain_auth_error(&self, e: ClientError) -> anyhow::Error {
        if e.code() == Some(ErrorCode::InvalidToken) {
            // One message, not the server's text glued after ours: the code
            // (`invalid_token`) still reaches --json output.
            let who = self.profile.username.as_deref().unwrap_or("USER");
            CliError::new(
                "invalid_token",
                format!(
                    "the saved session of profile '{}' is no longer valid (logged out or revoked); \
                     run `{}`",
                    self.file.name(),
                    self.command(&format!("login {who}"))
                ),
            )
            .into()
        } else {
            e.into()
        }
    }
}
