//! TLS and QUIC settings for the endpoint.

use std::sync::Arc;
use std::time::Duration;

use quinn::{IdleTimeout, VarInt};

use crate::certs::ServerIdentity;
use crate::config::TransportConfig;
use crate::error::StartError;

/// Builds the quinn server config: TLS 1.3 only, ALPN `quichat/1`.
pub fn server_config(
    identity: &ServerIdentity,
    transport: &TransportConfig,
) -> Result<quinn::ServerConfig, StartError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| StartError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(identity.chain.clone(), identity.key.clone_key())
        .map_err(|e| StartError::Tls(e.to_string()))?;
    tls.alpn_protocols = vec![quichat_proto::ALPN.to_vec()];
    // Accept 0-RTT from resumed sessions (QUIC requires u32::MAX or 0).
    // Clients put only replay-safe requests in it (client-lib `connector`).
    tls.max_early_data_size = u32::MAX;
    let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(tls)
        .map_err(|e| StartError::Tls(e.to_string()))?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    config.transport_config(Arc::new(transport_config(transport)?));
    // Clients on phones change address; QUIC path validation makes it safe.
    config.migration(true);
    Ok(config)
}

/// The QUIC transport parameters (see ARCHITECTURE.md for the reasoning).
pub fn transport_config(t: &TransportConfig) -> Result<quinn::TransportConfig, StartError> {
    let mut tc = quinn::TransportConfig::default();
    let idle = IdleTimeout::try_from(t.idle_timeout())
        .map_err(|e| StartError::Tls(format!("idle timeout: {e}")))?;
    tc.max_idle_timeout(Some(idle));
    if t.keep_alive_secs > 0 {
        tc.keep_alive_interval(Some(Duration::from_secs(t.keep_alive_secs)));
    }
    tc.stream_receive_window(VarInt::from_u32(t.stream_receive_window));
    tc.receive_window(VarInt::from_u32(t.receive_window));
    tc.send_window(t.send_window);
    // Before authentication a client gets only a couple of streams; the
    // connection's limit is raised when it authenticates
    // (`rpc::session::establish`).
    tc.max_concurrent_bidi_streams(VarInt::from_u32(
        t.streams_before_auth
            .clamp(1, t.max_concurrent_bidi_streams.max(1)),
    ));
    tc.max_concurrent_uni_streams(VarInt::from_u32(0));
    Ok(tc)
}

/// Name of the file holding the stateless-reset key, in the data dir.
const RESET_KEY_FILE: &str = "quic-reset-key";

/// The endpoint's key material, kept in `data_dir` (0600): created on
/// first start, read afterwards.
fn endpoint_key(data_dir: &std::path::Path) -> Result<Vec<u8>, StartError> {
    use rand::RngCore;
    let err = |what: &str, e: &dyn std::fmt::Display| StartError::Certs(format!("{what}: {e}"));
    let path = data_dir.join(RESET_KEY_FILE);
    match std::fs::read(&path) {
        Ok(bytes) if bytes.len() == 64 => Ok(bytes),
        Ok(_) => Err(err(&format!("{}", path.display()), &"not a 64-byte key")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            crate::private_fs::create_dir(data_dir)
                .map_err(|e| err(&format!("create {}", data_dir.display()), &e))?;
            let mut bytes = vec![0u8; 64];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            crate::private_fs::create_file(&path)
                .map_err(|e| err(&format!("create {}", path.display()), &e))?;
            std::fs::write(&path, &bytes)
                .map_err(|e| err(&format!("write {}", path.display()), &e))?;
            Ok(bytes)
        }
        Err(e) => Err(err(&format!("read {}", path.display()), &e)),
    }
}

/// The key connection IDs are encrypted under: the cluster's shared key
/// when one is configured, else bytes 32..48 of the data dir's endpoint
/// key.
pub fn cid_key(
    data_dir: &std::path::Path,
    cluster: &crate::config::ClusterConfig,
) -> Result<crate::cid::CidKey, StartError> {
    match &cluster.cid_key {
        Some(hex_key) => crate::cid::parse_key(hex_key)
            .map_err(|e| StartError::Tls(format!("cluster.cid_key: {e}"))),
        None => {
            let mut k = [0u8; 16];
            k.copy_from_slice(&endpoint_key(data_dir)?[32..48]);
            Ok(k)
        }
    }
}

/// The endpoint config, with the stateless-reset and connection-id keys
/// kept in `data_dir` (0600) across restarts. QUIC lets a server that lost a connection's
/// state (a crash, a restart) tell the peer at once with a stateless
/// reset, but only if it derives the reset token from the same key as
/// before (RFC 9000, 10.3); with a fresh random key each start, clients
/// of a crashed server would wait for their idle timeout instead.
/// Connection IDs name this node (`cid.rs`), and packets whose CID names
/// another node are refused (dropped, without a reset), so their key must
/// survive a restart too.
pub fn endpoint_config(
    data_dir: &std::path::Path,
    cluster: &crate::config::ClusterConfig,
) -> Result<quinn::EndpointConfig, StartError> {
    let key = endpoint_key(data_dir)?;
    let config_key = cid_key(data_dir, cluster)?;
    let mut config = quinn::EndpointConfig::new(Arc::new(ring::hmac::Key::new(
        ring::hmac::HMAC_SHA256,
        &key[..32],
    )));
    let generator = crate::cid::NodeCids::new(cluster.node_id, &config_key);
    config.cid_generator(move || Box::new(generator.clone()));
    Ok(config)
}
