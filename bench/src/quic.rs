//! QUIC settings shared by the baselines: the server's transport
//! parameters (read from the server under test, so the bare-quinn
//! baselines use the same windows), the client's (as `quichat-client`'s
//! `Connector` sets them), and a self-signed certificate.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use quinn::{IdleTimeout, VarInt};
use serde::{Deserialize, Serialize};

/// ALPN of the bare-quinn baseline server.
pub const RAW_ALPN: &[u8] = b"quichat-bench-raw";

/// The server's `[transport]` section (the fields the baselines copy).
/// Defaults are `quichat.example.toml`'s.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct TransportParams {
    /// Idle timeout, seconds.
    pub idle_timeout_secs: u64,
    /// Server keep-alive, seconds (0: none).
    pub keep_alive_secs: u64,
    /// Per-stream receive window, bytes.
    pub stream_receive_window: u32,
    /// Connection receive window, bytes.
    pub receive_window: u32,
    /// Send window, bytes.
    pub send_window: u64,
    /// Bidirectional streams a client may have open.
    pub max_concurrent_bidi_streams: u32,
}

impl Default for TransportParams {
    fn default() -> Self {
        TransportParams {
            idle_timeout_secs: 60,
            keep_alive_secs: 0,
            stream_receive_window: 1024 * 1024,
            receive_window: 4 * 1024 * 1024,
            send_window: 4 * 1024 * 1024,
            max_concurrent_bidi_streams: 16,
        }
    }
}

impl TransportParams {
    /// The `[transport]` table of a `quichat-server print-config` output.
    pub fn from_config_toml(text: &str) -> Result<Self> {
        #[derive(Deserialize)]
        struct Printed {
            #[serde(default)]
            transport: TransportParams,
        }
        let printed: Printed = toml::from_str(text).context("parsing print-config output")?;
        Ok(printed.transport)
    }

    /// The quinn transport config the server builds from these values
    /// (`server/src/transport.rs`), without the pre-authentication stream
    /// limit (the baselines have no authentication step).
    pub fn server_transport(&self) -> Result<quinn::TransportConfig> {
        let mut tc = quinn::TransportConfig::default();
        tc.max_idle_timeout(Some(
            IdleTimeout::try_from(Duration::from_secs(self.idle_timeout_secs))
                .context("idle timeout")?,
        ));
        if self.keep_alive_secs > 0 {
            tc.keep_alive_interval(Some(Duration::from_secs(self.keep_alive_secs)));
        }
        tc.stream_receive_window(VarInt::from_u32(self.stream_receive_window));
        tc.receive_window(VarInt::from_u32(self.receive_window));
        tc.send_window(self.send_window);
        tc.max_concurrent_bidi_streams(VarInt::from_u32(self.max_concurrent_bidi_streams.max(1)));
        tc.max_concurrent_uni_streams(VarInt::from_u32(0));
        Ok(tc)
    }
}

/// The client transport `quichat-client` uses (`ClientConfig::new`
/// defaults: keep-alive 15 s, idle timeout 60 s, quinn's windows).
pub fn client_transport() -> Result<quinn::TransportConfig> {
    let defaults =
        quichat_client::ClientConfig::new("127.0.0.1:1", quichat_client::Trust::CaPem(Vec::new()));
    let mut tc = quinn::TransportConfig::default();
    tc.keep_alive_interval(Some(defaults.keep_alive));
    tc.max_idle_timeout(Some(
        IdleTimeout::try_from(defaults.idle_timeout).context("client idle timeout")?,
    ));
    Ok(tc)
}

/// A self-signed certificate for `localhost` and 127.0.0.1, as PEM.
#[derive(Debug, Clone)]
pub struct SelfSigned {
    /// Certificate PEM.
    pub cert_pem: String,
    /// PKCS#8 private key PEM.
    pub key_pem: String,
}

impl SelfSigned {
    /// Generates a fresh one.
    pub fn generate() -> Result<Self> {
        let certified =
            rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
                .context("generating a self-signed certificate")?;
        Ok(SelfSigned {
            cert_pem: certified.cert.pem(),
            key_pem: certified.key_pair.serialize_pem(),
        })
    }

    /// Writes `cert.pem` and `key.pem` into `dir`; returns their paths.
    pub fn write(&self, dir: &Path) -> Result<(std::path::PathBuf, std::path::PathBuf)> {
        let cert = dir.join("raw-cert.pem");
        let key = dir.join("raw-key.pem");
        std::fs::write(&cert, &self.cert_pem).with_context(|| format!("writing {cert:?}"))?;
        std::fs::write(&key, &self.key_pem).with_context(|| format!("writing {key:?}"))?;
        Ok((cert, key))
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The bare-quinn server config: TLS 1.3 with the PEM cert and key, the
/// server's transport parameters.
pub fn raw_server_config(
    cert_pem: &str,
    key_pem: &str,
    params: &TransportParams,
) -> Result<quinn::ServerConfig> {
    let chain = rustls_pemfile::certs(&mut cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .context("reading the certificate PEM")?;
    let key = rustls_pemfile::private_key(&mut key_pem.as_bytes())
        .context("reading the key PEM")?
        .context("the key PEM holds no key")?;
    let mut tls = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .context("TLS 1.3")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("server certificate")?;
    tls.alpn_protocols = vec![RAW_ALPN.to_vec()];
    let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(tls)
        .context("QUIC server crypto config")?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    config.transport_config(Arc::new(params.server_transport()?));
    Ok(config)
}

/// A client endpoint on an ephemeral port that trusts `cert_pem`, with
/// `quichat-client`'s transport settings.
pub fn raw_client_endpoint(cert_pem: &str) -> Result<quinn::Endpoint> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut cert_pem.as_bytes()) {
        roots
            .add(cert.context("reading the certificate PEM")?)
            .context("trusting the baseline certificate")?;
    }
    let mut tls = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .context("TLS 1.3")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = vec![RAW_ALPN.to_vec()];
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls)
        .context("QUIC client crypto config")?;
    let mut qc = quinn::ClientConfig::new(Arc::new(crypto));
    qc.transport_config(Arc::new(client_transport()?));
    let bind: SocketAddr = (std::net::Ipv4Addr::UNSPECIFIED, 0).into();
    let mut endpoint = quinn::Endpoint::client(bind).context("opening a UDP socket")?;
    endpoint.set_default_client_config(qc);
    Ok(endpoint)
}
