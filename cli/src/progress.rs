//! Progress bars for uploads and downloads: bytes, rate and ETA, drawn on
//! stderr, and nothing at all under `--json` or when stderr is not a
//! terminal.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often the spinner moves while no bytes flow (hashing, waiting).
const TICK: Duration = Duration::from_millis(120);

/// One transfer's progress bar. It starts as a spinner (hashing, asking
/// the server) and turns into a byte bar at the first progress report.
/// Dropping it clears it from the screen.
#[derive(Debug)]
pub struct Transfer {
    bar: ProgressBar,
}

impl Transfer {
    /// A bar showing `message`; hidden when `json` is set or stderr is not
    /// a terminal.
    pub fn new(json: bool, message: String) -> Self {
        let target = if json || !std::io::stderr().is_terminal() {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        let bar = ProgressBar::with_draw_target(None, target);
        if !bar.is_hidden() {
            bar.set_style(spinner_style());
            bar.set_message(message);
            bar.enable_steady_tick(TICK);
        }
        Transfer { bar }
    }

    /// The progress callback for the client library: the first call turns
    /// the spinner into a byte bar with message `active`; once all bytes
    /// are through, the message becomes `finishing` (the hash check).
    pub fn callback(&self, active: String, finishing: String) -> impl FnMut(u64, u64) + Send {
        let bar = self.bar.clone();
        let mut started = false;
        let mut finished = false;
        move |done, total| {
            if bar.is_hidden() {
                return;
            }
            if !started {
                started = true;
                // A resumed transfer starts part-way: do not count the
                // bytes that were already there in the rate. (`set_length`
                // makes the rate estimator record the position, which
                // `reset_eta` keeps as its starting point; the byte style
                // comes after, so that no frame shows the bogus rate.)
                bar.set_position(done);
                bar.set_length(total);
                bar.reset_eta();
                bar.set_style(bytes_style());
                bar.set_message(active.clone());
            } else {
                bar.set_length(total);
                bar.set_position(done);
            }
            if done >= total && !finished {
                finished = true;
                bar.set_message(finishing.clone());
            }
        }
    }

    /// Removes the bar from the screen.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Drop for Transfer {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn bytes_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{msg} [{wide_bar}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_valid() {
        assert!(ProgressStyle::with_template("{spinner} {msg}").is_ok());
        assert!(ProgressStyle::with_template(
            "{msg} [{wide_bar}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}"
        )
        .is_ok());
    }

    #[test]
    fn hidden_bars_accept_progress() {
        let t = Transfer::new(true, "x".into());
        let mut cb = t.callback("a".into(), "b".into());
        cb(0, 10);
        cb(10, 10);
        t.finish();
    }
}
