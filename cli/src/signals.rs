//! The signals that stop a long-running command cleanly (`listen` saves
//! its cursor first; the chat screen restores the terminal): SIGINT,
//! SIGTERM and SIGHUP on Unix, Ctrl-C elsewhere. In the chat screen's raw
//! mode Ctrl-C arrives as a key instead; these then come from `kill` or a
//! closed terminal.

use anyhow::Result;

/// Installed signal handlers.
pub struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hangup: tokio::signal::unix::Signal,
}

impl Signals {
    /// Installs the handlers (before connecting, so that no signal is
    /// lost once events may be printed).
    #[cfg(unix)]
    pub fn install() -> Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }

    /// Installs the handler.
    #[cfg(not(unix))]
    pub fn install() -> Result<Signals> {
        Ok(Signals {})
    }

    /// Waits for any of them; returns its name.
    #[cfg(unix)]
    pub async fn wait(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
            _ = self.hangup.recv() => "SIGHUP",
        }
    }

    /// Waits for Ctrl-C.
    #[cfg(not(unix))]
    pub async fn wait(&mut self) -> &'static str {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}
