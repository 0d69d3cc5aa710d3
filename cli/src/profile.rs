//! Per-profile state on disk: server, trust anchor, session and sync
//! cursor, in `<config dir>/profiles/<NAME>.toml`.
//!
//! The config dir is `$QUICHAT_HOME` if set, else the platform config dir
//! (`~/.config/quichat` on Linux). The file holds a device token, so it is
//! written with mode 0600, atomically (temporary file, fsync, rename).

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use quichat_proto::types::{DeviceId, UserId};
use serde::{Deserialize, Serialize};

use crate::error::CliError;

/// Environment variable that overrides the config dir.
pub const HOME_ENV: &str = "QUICHAT_HOME";

/// Header written above the TOML body.
const HEADER: &str = "# quichat CLI profile. It holds a device token: keep it private.\n";

/// What a profile remembers. Every field is optional so that an empty or
/// older file still loads.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Profile {
    /// `host:port` of the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Absolute path of a CA PEM file to trust.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca: Option<PathBuf>,
    /// Pinned SHA-256 certificate fingerprint (hex).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
    /// Username of the logged-in (or last logged-in) account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Its user id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    /// This profile's device id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<DeviceId>,
    /// The device token (secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Seq of the last event printed by `listen`.
    pub cursor: u64,
    /// The resume points of `listen --with CONV`, one per conversation
    /// (`bob`, `#12`), kept apart from [`Profile::cursor`] so that a
    /// filtered listen never skips events for the full one.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub cursors: std::collections::BTreeMap<String, u64>,
}

impl fmt::Debug for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Profile")
            .field("server", &self.server)
            .field("ca", &self.ca)
            .field("pin", &self.pin)
            .field("username", &self.username)
            .field("user_id", &self.user_id)
            .field("device_id", &self.device_id)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("cursor", &self.cursor)
            .field("cursors", &self.cursors)
            .finish()
    }
}

/// Where one named profile lives.
#[derive(Debug, Clone)]
pub struct ProfileFile {
    name: String,
    path: PathBuf,
}

/// Checks a profile name: 1-64 ASCII letters, digits, `-` or `_`.
pub fn validate_name(name: &str) -> Result<(), CliError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(CliError::new(
            "invalid_profile",
            format!("invalid profile name '{name}': use 1-64 letters, digits, '-' or '_'"),
        ))
    }
}

/// The config dir: `$QUICHAT_HOME`, else the platform's config dir.
pub fn config_dir() -> Result<PathBuf> {
    if let Some(home) = std::env::var_os(HOME_ENV).filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(home));
    }
    directories::ProjectDirs::from("", "", "quichat")
        .map(|d| d.config_dir().to_path_buf())
        .ok_or_else(|| {
            CliError::new(
                "config",
                format!("cannot determine a config directory; set {HOME_ENV}"),
            )
            .into()
        })
}

impl ProfileFile {
    /// The profile `name` in the config dir.
    pub fn locate(name: &str) -> Result<ProfileFile> {
        Ok(ProfileFile::in_dir(&config_dir()?, name)?)
    }

    /// The profile `name` under an explicit config dir.
    pub fn in_dir(dir: &Path, name: &str) -> Result<ProfileFile, CliError> {
        validate_name(name)?;
        Ok(ProfileFile {
            name: name.to_string(),
            path: dir.join("profiles").join(format!("{name}.toml")),
        })
    }

    /// Every profile in the config dir, by name. Files whose names are not
    /// valid profile names (editor backups, temporary files) are skipped.
    pub fn all() -> Result<Vec<ProfileFile>> {
        let dir = config_dir()?;
        let entries = match fs::read_dir(dir.join("profiles")) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot list {}", dir.display()));
            }
        };
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
            let file_name = entry.file_name();
            let Some(name) = file_name.to_str().and_then(|n| n.strip_suffix(".toml")) else {
                continue;
            };
            if let Ok(file) = ProfileFile::in_dir(&dir, name) {
                files.push(file);
            }
        }
        files.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(files)
    }

    /// The profile's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Reads the profile; a missing file is an empty profile.
    pub fn load(&self) -> Result<Profile> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Profile::default()),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read {}", self.path.display()))
            }
        };
        toml::from_str(&text)
            .with_context(|| format!("{} is not a valid profile", self.path.display()))
    }

    /// Replaces the file with `profile` (mode 0600, atomic).
    pub fn save(&self, profile: &Profile) -> Result<()> {
        let body = toml::to_string(profile).context("cannot encode the profile")?;
        write_private_atomic(&self.path, format!("{HEADER}{body}").as_bytes())
            .with_context(|| format!("cannot write {}", self.path.display()))
    }

    /// Re-reads the profile, applies `change` and writes it back, so that
    /// a long-running command does not overwrite what another one saved
    /// meanwhile.
    pub fn update(&self, change: impl FnOnce(&mut Profile)) -> Result<Profile> {
        let mut profile = self.load()?;
        change(&mut profile);
        self.save(&profile)?;
        Ok(profile)
    }
}

/// Writes `bytes` to a temporary file next to `path`, fsyncs it and
/// renames it over `path`. The directory is created (mode 0700) if needed.
fn write_private_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("profile path has no parent directory"))?;
    create_private_dir(dir)?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    // A leftover from a crashed run could have other permissions.
    let _ = fs::remove_file(&tmp);
    let result = (|| {
        let mut file = private_options().open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    // Make the rename durable; not every platform can open a directory.
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(unix)]
fn private_options() -> fs::OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    let mut o = fs::OpenOptions::new();
    o.write(true).create_new(true).mode(0o600);
    o
}

#[cfg(not(unix))]
fn private_options() -> fs::OpenOptions {
    let mut o = fs::OpenOptions::new();
    o.write(true).create_new(true);
    o
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_are_validated() {
        assert!(validate_name("default").is_ok());
        assert!(validate_name("work-2_b").is_ok());
        assert!(validate_name("").is_err());
        assert!(validate_name("../x").is_err());
        assert!(validate_name("a b").is_err());
        assert!(validate_name(&"x".repeat(65)).is_err());
    }

    #[test]
    fn round_trip_is_private_and_atomic() {
        let dir = tempfile::tempdir().unwrap();
        let file = ProfileFile::in_dir(dir.path(), "p").unwrap();
        assert_eq!(file.load().unwrap(), Profile::default());
        let p = Profile {
            server: Some("127.0.0.1:4433".into()),
            ca: Some("/tmp/ca.pem".into()),
            username: Some("alice".into()),
            user_id: Some(1),
            device_id: Some(3),
            token: Some("secret".into()),
            cursor: 7,
            ..Profile::default()
        };
        file.save(&p).unwrap();
        assert_eq!(file.load().unwrap(), p);
        let updated = file.update(|p| p.cursor = 9).unwrap();
        assert_eq!(updated.cursor, 9);
        assert_eq!(file.load().unwrap().cursor, 9);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&file.path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let leftovers: Vec<_> = fs::read_dir(dir.path().join("profiles"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
        assert!(!format!("{p:?}").contains("secret"));
    }
}
