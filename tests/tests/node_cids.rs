//! Connection IDs name their node (scale-out, QUIC-LB style): every
//! packet a real client sends to a node with `cluster.node_id = 7`, seen
//! on the wire through a UDP relay, carries a destination connection ID
//! that decodes to node 7 under the cluster's key, and not under another
//! key; after a NAT rebinding (what a balancer sees as a new address) the
//! packets still name node 7, so a balancer can route them back. A server
//! started with a malformed key refuses to start, readably.

#![allow(clippy::unwrap_used)]

use anyhow::{ensure, Context, Result};
use quichat_client::{Client, ClientConfig, Trust};
use quichat_server::cid::{self, CID_LEN};
use quichat_tests::relay::{Impairment, Relay};
use quichat_tests::{password_of, Backend, TestServer};

const KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f";
const NODE: u16 = 7;

/// The destination connection ID of a datagram's first packet, when the
/// server chose it: short-header packets (after the handshake), and
/// long-header ones other than the client's first Initials (whose DCID
/// the client made up).
fn server_chosen_dcid(datagram: &[u8]) -> Option<&[u8]> {
    let first = *datagram.first()?;
    if first & 0x80 == 0 {
        return datagram.get(1..1 + CID_LEN);
    }
    let len = *datagram.get(5)? as usize;
    let dcid = datagram.get(6..6 + len)?;
    (len == CID_LEN).then_some(dcid)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_packet_names_its_node() -> Result<()> {
    let server = TestServer::start_with(Backend::Sqlite, |c| {
        c.cluster.node_id = NODE;
        c.cluster.cid_key = Some(KEY_HEX.into());
    })
    .await?;
    let key = cid::parse_key(KEY_HEX).unwrap();
    let relay = Relay::start(server.addr, Impairment::none()).await?;
    let config = ClientConfig::new(
        relay.addr().to_string(),
        Trust::CaPem(server.ca_pem.clone()),
    );
    let alice = Client::connect(&config).await?;
    alice
        .register("alice", &password_of("alice"), "phone")
        .await?;
    server.register("bob").await?;
    for i in 0..5 {
        alice.send_text("bob", &format!("before {i}")).await?;
    }
    relay.rebind_upstream().await?;
    for i in 0..5 {
        alice
            .send_text("bob", &format!("after {i}"))
            .await
            .context("a send after the rebinding")?;
    }

    let datagrams = relay.client_datagrams();
    let dcids: Vec<&[u8]> = datagrams
        .iter()
        .filter_map(|d| server_chosen_dcid(d))
        .collect();
    let short = datagrams.iter().filter(|d| d[0] & 0x80 == 0).count();
    ensure!(short >= 10, "only {short} short-header packets seen");
    ensure!(dcids.len() >= short);
    for dcid in &dcids {
        ensure!(
            cid::decode(&key, dcid) == Some(NODE),
            "a packet's connection ID {} does not name node {NODE}",
            hex::encode(dcid)
        );
    }
    // Not in clear: under another key they name other nodes.
    let other = cid::parse_key("ffeeddccbbaa99887766554433221100").unwrap();
    let elsewhere = dcids
        .iter()
        .filter(|d| cid::decode(&other, d) != Some(NODE))
        .count();
    ensure!(
        elsewhere + 1 >= dcids.len(),
        "{elsewhere} of {}",
        dcids.len()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_cid_key_is_refused_at_start() -> Result<()> {
    let refused = TestServer::start_with(Backend::Sqlite, |c| {
        c.cluster.cid_key = Some("abc".into());
    })
    .await;
    let message = format!("{:#}", refused.err().context("the server started")?);
    ensure!(message.contains("cid_key"), "{message}");
    ensure!(
        message.contains("hexadecimal") || message.contains("16 bytes"),
        "{message}"
    );
    Ok(())
}
