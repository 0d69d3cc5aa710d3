//! Connection IDs that name the node that owns the connection, so that a
//! UDP load balancer in front of several nodes can send every packet of a
//! connection (a migrated one too, arriving from a new address) back to
//! its node, in the spirit of the IETF QUIC-LB draft
//! (draft-ietf-quic-load-balancers, "single-pass encryption").
//!
//! A connection ID is [`CID_LEN`] (17) bytes:
//! - the first octet: the config rotation bits (3 high bits, 0 here) and
//!   the length of the rest (5 low bits: 16), so a balancer can tell the
//!   format from the first byte;
//! - then one AES-128 block, encrypted under the cluster's CID key: the
//!   node id (2 bytes, big-endian) followed by 14 random bytes.
//!
//! Without the key, connection IDs look random and do not link to each
//! other or to a node (RFC 9000, 5.1); with it, a balancer (or
//! `quichat-server decode-cid`) decrypts one block to find the node. Every
//! node and the balancer share the key; a node refuses (drops, without a
//! stateless reset) short-header packets whose CID names another node.

use std::time::Duration;

use aes::cipher::generic_array::GenericArray;
use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use aes::Aes128;
use quinn_proto::{ConnectionId, ConnectionIdGenerator, InvalidCid};
use rand::RngCore;

/// Length of every connection ID this server issues.
pub const CID_LEN: usize = 17;

/// The first octet: config rotation 0, then the length that follows.
const FIRST_OCTET: u8 = (CID_LEN - 1) as u8;

/// A cluster's CID key (AES-128).
pub type CidKey = [u8; 16];

/// Issues connection IDs that name `node`.
#[derive(Clone)]
pub struct NodeCids {
    node: u16,
    cipher: Aes128,
}

impl std::fmt::Debug for NodeCids {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("NodeCids")
            .field("node", &self.node)
            .finish()
    }
}

impl NodeCids {
    /// A generator for `node` under `key`.
    pub fn new(node: u16, key: &CidKey) -> Self {
        NodeCids {
            node,
            cipher: Aes128::new(GenericArray::from_slice(key)),
        }
    }

    /// The CID for `node` with these 14 random bytes.
    fn encode(&self, node: u16, nonce: &[u8; 14]) -> [u8; CID_LEN] {
        let mut block = [0u8; 16];
        block[..2].copy_from_slice(&node.to_be_bytes());
        block[2..].copy_from_slice(nonce);
        let mut block = GenericArray::from(block);
        self.cipher.encrypt_block(&mut block);
        let mut cid = [0u8; CID_LEN];
        cid[0] = FIRST_OCTET;
        cid[1..].copy_from_slice(&block);
        cid
    }
}

/// The node a connection ID names, under `key`; `None` when it is not
/// one of this format.
pub fn decode(key: &CidKey, cid: &[u8]) -> Option<u16> {
    if cid.len() != CID_LEN || cid[0] & 0x1f != FIRST_OCTET {
        return None;
    }
    let cipher = Aes128::new(GenericArray::from_slice(key));
    let mut block = GenericArray::clone_from_slice(&cid[1..]);
    cipher.decrypt_block(&mut block);
    Some(u16::from_be_bytes([block[0], block[1]]))
}

impl ConnectionIdGenerator for NodeCids {
    fn generate_cid(&mut self) -> ConnectionId {
        let mut nonce = [0u8; 14];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        ConnectionId::new(&self.encode(self.node, &nonce))
    }

    fn validate(&self, cid: &ConnectionId) -> Result<(), InvalidCid> {
        if cid.len() != CID_LEN || cid[0] & 0x1f != FIRST_OCTET {
            return Err(InvalidCid);
        }
        let mut block = GenericArray::clone_from_slice(&cid[1..]);
        self.cipher.decrypt_block(&mut block);
        if u16::from_be_bytes([block[0], block[1]]) == self.node {
            Ok(())
        } else {
            Err(InvalidCid)
        }
    }

    fn cid_len(&self) -> usize {
        CID_LEN
    }

    fn cid_lifetime(&self) -> Option<Duration> {
        None
    }
}

/// Parses a CID key given as 32 hexadecimal digits.
pub fn parse_key(hex_key: &str) -> Result<CidKey, String> {
    let bytes =
        hex::decode(hex_key.trim()).map_err(|e| format!("the CID key is not hexadecimal: {e}"))?;
    bytes.try_into().map_err(|b: Vec<u8>| {
        format!(
            "the CID key must be 16 bytes (32 hex digits), not {}",
            b.len()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: CidKey = *b"0123456789abcdef";

    #[test]
    fn cids_decode_to_their_node_and_only_with_the_key() {
        for node in [0u16, 1, 7, 300, u16::MAX] {
            let mut generator = NodeCids::new(node, &KEY);
            let mut seen = std::collections::HashSet::new();
            for _ in 0..200 {
                let cid = generator.generate_cid();
                assert_eq!(cid.len(), CID_LEN);
                assert_eq!(cid[0], 16, "config rotation 0, length 16");
                assert_eq!(decode(&KEY, &cid), Some(node));
                assert!(generator.validate(&cid).is_ok());
                assert!(seen.insert(cid[..].to_vec()), "a CID repeated");
            }
        }
        // Under another key the same CID names some other node (or the
        // same by chance: 1 in 65,536); the node id is not in clear.
        let mut generator = NodeCids::new(7, &KEY);
        let other = *b"fedcba9876543210";
        let mismatched = (0..50)
            .filter(|_| decode(&other, &generator.generate_cid()) != Some(7))
            .count();
        assert!(mismatched >= 49, "{mismatched}");
        let plain = (0..50)
            .filter(|_| generator.generate_cid()[1..3] == 7u16.to_be_bytes())
            .count();
        assert!(plain <= 1, "the node id shows in clear");
    }

    #[test]
    fn another_nodes_cids_are_refused() {
        let mine = NodeCids::new(1, &KEY);
        let mut theirs = NodeCids::new(2, &KEY);
        for _ in 0..100 {
            assert!(mine.validate(&theirs.generate_cid()).is_err());
        }
        assert!(mine.validate(&ConnectionId::new(&[16u8; 8])).is_err());
        assert!(mine.validate(&ConnectionId::new(&[0u8; CID_LEN])).is_err());
        assert_eq!(decode(&KEY, &[16u8; 5]), None);
    }

    #[test]
    fn keys_parse_from_hex() {
        assert_eq!(parse_key("30313233343536373839616263646566"), Ok(KEY));
        assert!(parse_key("0011").unwrap_err().contains("16 bytes"));
        assert!(parse_key("zz").unwrap_err().contains("hexadecimal"));
    }
}
