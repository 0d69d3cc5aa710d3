//! Memory and CPU of a process, from `/proc/<pid>/status` and
//! `/proc/<pid>/stat`.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// A `kB` field of `/proc/<pid>/status` (`VmRSS`, `VmHWM`), in bytes.
fn status_kb(pid: u32, field: &str) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    parse_status_kb(&text, field).with_context(|| format!("no {field} in {path}"))
}

fn parse_status_kb(text: &str, field: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        let kb: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kb * 1024)
    })
}

/// Resident set size now, in bytes.
pub fn rss(pid: u32) -> Result<u64> {
    status_kb(pid, "VmRSS")
}

/// Peak resident set size over the process's life, in bytes.
pub fn peak_rss(pid: u32) -> Result<u64> {
    status_kb(pid, "VmHWM")
}

/// CPU time used so far (user + system).
pub fn cpu_time(pid: u32) -> Result<Duration> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let ticks = parse_stat_ticks(&text).with_context(|| format!("unexpected format of {path}"))?;
    Ok(Duration::from_secs_f64(ticks as f64 / clock_ticks() as f64))
}

/// utime + stime from a `/proc/<pid>/stat` line. The command name (field
/// 2) is in parentheses and may hold spaces, so fields are counted after
/// the last `)`: utime and stime are fields 14 and 15.
fn parse_stat_ticks(text: &str) -> Option<u64> {
    let after = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3 (state).
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// `sysconf(_SC_CLK_TCK)`, asked of `getconf` once (no unsafe code here);
/// 100, the value on every common Linux, if that fails.
fn clock_ticks() -> u64 {
    static TICKS: OnceLock<u64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|t| *t > 0)
            .unwrap_or(100)
    })
}

/// Measures a process's CPU use between `start` and `stop`.
#[derive(Debug, Clone, Copy)]
pub struct CpuMeter {
    pid: u32,
    cpu: Duration,
    at: Instant,
}

impl CpuMeter {
    /// Starts measuring `pid`.
    pub fn start(pid: u32) -> Result<Self> {
        Ok(CpuMeter {
            pid,
            cpu: cpu_time(pid)?,
            at: Instant::now(),
        })
    }

    /// CPU used since `start` as a percentage of one core over the wall
    /// time (200 % = both cores of a 2-core machine busy).
    pub fn percent(&self) -> Result<f64> {
        let cpu = cpu_time(self.pid)?.saturating_sub(self.cpu);
        let wall = self.at.elapsed().as_secs_f64();
        if wall <= 0.0 {
            bail!("no time passed");
        }
        Ok(100.0 * cpu.as_secs_f64() / wall)
    }
}

/// Samples a process's RSS every `every` in the background and keeps the
/// largest value; `stop` returns it.
#[derive(Debug)]
pub struct PeakSampler {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<u64>,
}

impl PeakSampler {
    /// Starts sampling `pid`.
    pub fn start(pid: u32, every: Duration) -> Self {
        let (stop, mut stopped) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let mut peak = rss(pid).unwrap_or(0);
            let mut tick = tokio::time::interval(every);
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = tick.tick() => {
                        if let Ok(now) = rss(pid) {
                            peak = peak.max(now);
                        }
                    }
                }
            }
            peak.max(rss(pid).unwrap_or(0))
        });
        PeakSampler { stop, task }
    }

    /// Stops sampling; the largest RSS seen, in bytes.
    pub async fn stop(self) -> Result<u64> {
        let _ = self.stop.send(());
        self.task.await.context("RSS sampler task")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_stat_parse() {
        let status = "Name:\tquichat-server\nVmHWM:\t  20480 kB\nVmRSS:\t   10240 kB\n";
        assert_eq!(parse_status_kb(status, "VmRSS"), Some(10240 * 1024));
        assert_eq!(parse_status_kb(status, "VmHWM"), Some(20480 * 1024));
        assert_eq!(parse_status_kb(status, "VmSwap"), None);
        let stat = "1234 (tokio (rt) x) S 1 1234 1234 0 -1 4194560 100 0 0 0 70 30 0 0 20 0 4";
        assert_eq!(parse_stat_ticks(stat), Some(100));
    }

    #[test]
    fn this_process_has_memory_and_cpu() {
        let me = std::process::id();
        assert!(rss(me).expect("own RSS") > 0);
        assert!(peak_rss(me).expect("own peak") >= rss(me).expect("own RSS") / 2);
        cpu_time(me).expect("own CPU time");
    }
}
