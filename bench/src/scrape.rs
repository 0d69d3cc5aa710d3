//! Reads the server's Prometheus text exposition (`/metrics`) over plain
//! HTTP/1.1 (the operator endpoint is loopback-only, so a hand-written GET
//! is enough).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One scrape: sample name (with its `{labels}`, as written) → value.
#[derive(Debug, Clone, Default)]
pub struct Scrape {
    samples: HashMap<String, f64>,
}

impl Scrape {
    /// The value of a sample, e.g. `quichat_connections_open` or
    /// `quichat_streams_opened_total{kind="chat"}`.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.samples.get(name).copied()
    }

    /// Parses the text exposition format (comments and blank lines
    /// skipped; timestamps, if any, ignored).
    pub fn parse(text: &str) -> Self {
        let mut samples = HashMap::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            // The name may hold spaces inside quoted label values: split
            // after the closing brace when there are labels.
            let (name, rest) = match line.find('{') {
                Some(_) => match line.rfind('}') {
                    Some(end) => (&line[..=end], &line[end + 1..]),
                    None => continue,
                },
                None => match line.split_once(' ') {
                    Some((n, r)) => (n, r),
                    None => continue,
                },
            };
            if let Some(value) = rest.split_whitespace().next().and_then(|v| v.parse().ok()) {
                samples.insert(name.to_string(), value);
            }
        }
        Scrape { samples }
    }

    /// Mean of a histogram or summary (`<name>_sum / <name>_count`), when
    /// it exists and counted anything.
    pub fn mean(&self, name: &str) -> Option<f64> {
        let sum = self.get(&format!("{name}_sum"))?;
        let count = self.get(&format!("{name}_count"))?;
        (count > 0.0).then(|| sum / count)
    }
}

/// GETs `/metrics` from `addr`.
pub async fn scrape(addr: SocketAddr) -> Result<Scrape> {
    let body = tokio::time::timeout(Duration::from_secs(10), get(addr, "/metrics"))
        .await
        .with_context(|| format!("http://{addr}/metrics did not answer within 10 s"))??;
    Ok(Scrape::parse(&body))
}

async fn get(addr: SocketAddr, path: &str) -> Result<String> {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to the metrics endpoint {addr}"))?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        bail!("malformed HTTP answer from {addr}{path}");
    };
    let status = head.lines().next().unwrap_or_default();
    if !status.contains(" 200") {
        bail!("{addr}{path} answered {status}");
    }
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return Ok(dechunk(body));
    }
    Ok(body.to_string())
}

/// Joins the chunks of a chunked HTTP/1.1 body.
fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size_line, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_parses() {
        let text = "# HELP quichat_connections_open x\n\
                    quichat_connections_open 3\n\
                    quichat_streams_opened_total{kind=\"chat\"} 7\n\
                    quichat_commit_batch_size_sum 30.0\n\
                    quichat_commit_batch_size_count 10\n";
        let s = Scrape::parse(text);
        assert_eq!(s.get("quichat_connections_open"), Some(3.0));
        assert_eq!(
            s.get("quichat_streams_opened_total{kind=\"chat\"}"),
            Some(7.0)
        );
        assert_eq!(s.mean("quichat_commit_batch_size"), Some(3.0));
        assert_eq!(s.mean("quichat_missing"), None);
    }

    #[test]
    fn chunked_bodies_join() {
        assert_eq!(
            dechunk("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
            "hello world"
        );
    }
}
