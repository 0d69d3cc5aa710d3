//! Connection set-up, shared across reconnects.
//!
//! A [`Connector`] owns one UDP endpoint and one TLS client config, so the
//! TLS session tickets a server issues are kept between connections: a
//! reconnect resumes the TLS session instead of a full handshake, and
//! sends its hello and token authentication as 0-RTT data.
//!
//! 0-RTT data can be replayed by an attacker who captured it, so only
//! requests that are harmless to repeat ride in it: the stream header,
//! `Hello` and `Authenticate` (a replay re-authenticates a connection the
//! attacker cannot read from). Sends, receipts and uploads always wait for
//! the full handshake: the chat and media streams are opened only after
//! `authenticate` returned, which needs the server's 1-RTT reply.
//!
//! **Failover.** The connector knows every address of the cluster: each
//! address `server` resolves to (a DNS name with several records), then
//! those of `fallbacks`. It connects to one at a time; when an attempt
//! fails (no answer, refused, timed out), the next attempt goes to the
//! next address, so a [`crate::Session`] whose node is gone reconnects to
//! another node within a few attempts and resumes its feed from its
//! cursor, with unacknowledged sends resent under their original ids.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use quichat_proto::types::SessionInfo;

use crate::client::{resolve_all, Client, ClientConfig};
use crate::error::describe_connection_error;
use crate::trust::tls_config;
use crate::ClientError;

/// Builds connections to a server, or to the nodes of a cluster in turn.
#[derive(Debug, Clone)]
pub struct Connector {
    config: ClientConfig,
    endpoint: quinn::Endpoint,
    /// Every address to try, with the name its certificate must carry.
    targets: Arc<Vec<(SocketAddr, String)>>,
    /// Which target the next attempt uses.
    next: Arc<AtomicUsize>,
}

impl Connector {
    /// Resolves the server and prepares the endpoint and TLS settings.
    pub async fn new(config: &ClientConfig) -> Result<Connector, ClientError> {
        let mut targets = Vec::new();
        for server in std::iter::once(&config.server).chain(&config.fallbacks) {
            let (addrs, host) = resolve_all(server).await?;
            for addr in addrs {
                if !targets.iter().any(|(a, _)| *a == addr) {
                    targets.push((addr, host.clone()));
                }
            }
        }
        let addr = targets[0].0;
        let mut tls = tls_config(&config.trust)?;
        tls.enable_early_data = true;
        let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls)
            .map_err(|e| ClientError::Config(e.to_string()))?;
        let mut qc = quinn::ClientConfig::new(Arc::new(crypto));
        let mut transport = quinn::TransportConfig::default();
        transport.keep_alive_interval(Some(config.keep_alive));
        transport.max_idle_timeout(Some(
            quinn::IdleTimeout::try_from(config.idle_timeout)
                .map_err(|e| ClientError::Config(format!("idle timeout: {e}")))?,
        ));
        qc.transport_config(Arc::new(transport));
        let bind = match config.local_addr {
            Some(local) => local,
            None if addr.is_ipv6() => SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 0)),
            None => SocketAddr::from((std::net::Ipv4Addr::UNSPECIFIED, 0)),
        };
        let mut endpoint = quinn::Endpoint::client(bind)
            .map_err(|e| ClientError::Config(format!("cannot open a UDP socket: {e}")))?;
        endpoint.set_default_client_config(qc);
        Ok(Connector {
            config: config.clone(),
            endpoint,
            targets: Arc::new(targets),
            next: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// The addresses this connector tries, in order.
    pub fn targets(&self) -> Vec<SocketAddr> {
        self.targets.iter().map(|(a, _)| *a).collect()
    }

    fn target(&self) -> &(SocketAddr, String) {
        &self.targets[self.next.load(Ordering::Relaxed) % self.targets.len()]
    }

    /// After a failed attempt: the next one goes to the next address.
    fn fail_over(&self) {
        if self.targets.len() > 1 {
            let was = self.next.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(
                from = %self.targets[was % self.targets.len()].0,
                to = %self.target().0,
                "trying the next server address"
            );
        }
    }

    /// The client settings.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    fn connect_err(&self, reason: String) -> ClientError {
        ClientError::Connect {
            server: self.config.server.clone(),
            reason,
        }
    }

    fn start(&self) -> Result<quinn::Connecting, ClientError> {
        let (addr, host) = self.target();
        self.endpoint
            .connect(*addr, host)
            .map_err(|e| self.connect_err(e.to_string()))
    }

    /// A new connection with a full handshake, hello done, within the
    /// configured `connect_timeout` per address (an unreachable server
    /// fails fast instead of after the idle timeout); with several
    /// addresses, each is tried once, in turn.
    pub async fn connect(&self) -> Result<Client, ClientError> {
        self.each_target(|| self.connect_once()).await
    }

    /// Runs `attempt` against the current address and, while it fails
    /// to connect (refused, no answer within `connect_timeout`), against
    /// the next ones: each address once at most; a failed attempt moves
    /// the next call on to the next address too.
    async fn each_target<T, F, Fut>(&self, attempt: F) -> Result<T, ClientError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, ClientError>>,
    {
        let mut tries = self.targets.len();
        loop {
            let result = attempt().await;
            if !matches!(
                result,
                Err(ClientError::Connect { .. } | ClientError::Timeout(_))
            ) {
                return result;
            }
            self.fail_over();
            tries -= 1;
            if tries == 0 {
                return result;
            }
        }
    }

    async fn connect_once(&self) -> Result<Client, ClientError> {
        let limit = self.config.connect_timeout;
        let attempt = async {
            let conn = self
                .start()?
                .await
                .map_err(|e| self.connect_err(describe_connection_error(&e)))?;
            Client::from_connection(&self.config, self.endpoint.clone(), conn).await
        };
        tokio::time::timeout(limit, attempt)
            .await
            .map_err(|_| {
                self.connect_err(format!(
                    "no answer within {}; is quichat-server running there?",
                    describe_secs(limit)
                ))
            })
            .and_then(|r| r)
    }

    /// A new authenticated connection. With a TLS session ticket from an
    /// earlier connection it uses 0-RTT for the hello and authentication
    /// (see the module docs); if the server rejects the early data, it
    /// repeats them after the handshake.
    pub async fn connect_authenticated(
        &self,
        token: &str,
    ) -> Result<(Client, SessionInfo), ClientError> {
        self.each_target(|| self.connect_authenticated_once(token))
            .await
    }

    async fn connect_authenticated_once(
        &self,
        token: &str,
    ) -> Result<(Client, SessionInfo), ClientError> {
        let limit = self.config.connect_timeout;
        tokio::time::timeout(limit, self.connect_authenticated_now(token))
            .await
            .map_err(|_| ClientError::Timeout(limit.as_secs()))
            .and_then(|r| r)
    }

    async fn connect_authenticated_now(
        &self,
        token: &str,
    ) -> Result<(Client, SessionInfo), ClientError> {
        let endpoint = self.endpoint.clone();
        match self.start()?.into_0rtt() {
            Ok((conn, accepted)) => {
                let early = Client::from_connection_authenticated(
                    &self.config,
                    endpoint.clone(),
                    conn.clone(),
                    token,
                );
                tokio::pin!(early);
                tokio::pin!(accepted);
                let accepted_now = tokio::select! {
                    biased;
                    a = &mut accepted => a,
                    r = &mut early => {
                        // Answers arrived, so the early data was accepted.
                        let (client, session) = r?;
                        client.mark_0rtt();
                        return Ok((client, session));
                    }
                };
                if accepted_now {
                    let (client, session) = early.await?;
                    client.mark_0rtt();
                    return Ok((client, session));
                }
                // Rejected (the server restarted and cannot resume the TLS
                // session). Start over on a fresh connection rather than
                // reopening streams on this one: the server may still be
                // waiting for the early stream's header (its data is
                // dropped), and a second control stream on the same
                // connection is refused. The handshake just made gave us a
                // ticket the server knows, so this is rare and cheap.
                conn.close(
                    quichat_proto::error::close::NORMAL.into(),
                    b"0-RTT rejected; reconnecting",
                );
                let conn = self
                    .start()?
                    .await
                    .map_err(|e| self.connect_err(describe_connection_error(&e)))?;
                Client::from_connection_authenticated(&self.config, endpoint, conn, token).await
            }
            Err(connecting) => {
                let conn = connecting
                    .await
                    .map_err(|e| self.connect_err(describe_connection_error(&e)))?;
                Client::from_connection_authenticated(&self.config, endpoint, conn, token).await
            }
        }
    }
}

/// `10 s`, or `1.5 s` for fractions.
fn describe_secs(d: std::time::Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}
