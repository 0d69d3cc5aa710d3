//! Taking the terminal over for `quichat chat`, and always giving it back:
//! raw mode, the alternate screen and bracketed paste are undone by the
//! [`Tui`] guard's `Drop` (normal exit, errors, Ctrl-C) and by a panic
//! hook (a panic anywhere, before its message is printed). While the
//! screen is ours, log lines are not written to stderr ([`is_active`]).

use std::io::{self, Stdout};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

use anyhow::{Context as _, Result};
use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

/// The terminal the chat screen draws on.
pub type Screen = Terminal<CrosstermBackend<Stdout>>;

/// Whether the terminal is in the chat screen's modes now.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// The panic hook is installed once per process.
static HOOK: Once = Once::new();

/// Whether the chat screen owns the terminal: logging stays quiet then.
pub fn is_active() -> bool {
    ACTIVE.load(Ordering::SeqCst)
}

/// Owns the terminal while the chat screen runs; dropping it restores the
/// terminal.
pub struct Tui {
    screen: Screen,
}

impl std::fmt::Debug for Tui {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tui").finish_non_exhaustive()
    }
}

impl Tui {
    /// Enters raw mode and the alternate screen (and installs the panic
    /// hook). On failure the terminal is restored before returning.
    pub fn enter() -> Result<Tui> {
        install_panic_hook();
        enable_raw_mode().context("cannot put the terminal in raw mode")?;
        ACTIVE.store(true, Ordering::SeqCst);
        match setup() {
            Ok(screen) => Ok(Tui { screen }),
            Err(e) => {
                restore();
                Err(anyhow::Error::new(e).context("cannot set up the terminal"))
            }
        }
    }

    /// The terminal, to draw on.
    pub fn screen(&mut self) -> &mut Screen {
        &mut self.screen
    }
}

/// The alternate screen, bracketed paste and a cleared ratatui terminal.
fn setup() -> io::Result<Screen> {
    execute!(io::stdout(), EnterAlternateScreen, EnableBracketedPaste)?;
    let mut screen = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    screen.clear()?;
    Ok(screen)
}

impl Drop for Tui {
    fn drop(&mut self) {
        restore();
    }
}

/// Gives the terminal back: leaves the alternate screen, shows the cursor,
/// turns raw mode and bracketed paste off. Does nothing when it is not
/// ours (so running it twice, from the panic hook and then from the
/// guard's `Drop`, is harmless).
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = execute!(
            io::stdout(),
            DisableBracketedPaste,
            LeaveAlternateScreen,
            crossterm::cursor::Show
        );
        let _ = disable_raw_mode();
    }
}

/// Restores the terminal before the panic message is printed, so that the
/// message is readable and the shell usable afterwards.
fn install_panic_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}
