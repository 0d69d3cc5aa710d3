//! Connection caps per client address.
//!
//! Every open connection holds a [`Seat`] for its address; the seat is
//! given back when the connection's task ends. IPv4 addresses count one
//! by one; IPv6 addresses count per /64, the block one end site (or one
//! host with privacy addresses) typically holds, so a single machine
//! cannot escape the cap by rotating through its interface identifiers.
//! The per-user cap lives in [`crate::hub::Hub::register`], where
//! authenticated connections are known.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// The key an address is counted under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddressKey(IpAddr);

impl AddressKey {
    /// IPv4 as is (and IPv4-mapped IPv6 as IPv4); IPv6 masked to its /64.
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => AddressKey(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => AddressKey(IpAddr::V4(v4)),
                None => {
                    let bits = u128::from(v6) & !((1u128 << 64) - 1);
                    AddressKey(IpAddr::V6(bits.into()))
                }
            },
        }
    }
}

/// Open connections per address, with a cap.
#[derive(Debug)]
pub struct Admission {
    max_per_address: u32,
    open: Arc<Mutex<HashMap<AddressKey, u32>>>,
}

/// One connection's place under its address's cap; released on drop.
#[derive(Debug)]
pub struct Seat {
    key: AddressKey,
    open: Arc<Mutex<HashMap<AddressKey, u32>>>,
}

impl Admission {
    /// At most `max_per_address` connections per address (0: no cap).
    pub fn new(max_per_address: u32) -> Self {
        Admission {
            max_per_address,
            open: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// A seat for a new connection from `ip`, or `None` when its address
    /// already holds the most allowed.
    pub fn admit(&self, ip: IpAddr) -> Option<Seat> {
        let key = AddressKey::of(ip);
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(key).or_insert(0);
        if self.max_per_address > 0 && *count >= self.max_per_address {
            return None;
        }
        *count += 1;
        Some(Seat {
            key,
            open: self.open.clone(),
        })
    }

    /// The cap.
    pub fn max_per_address(&self) -> u32 {
        self.max_per_address
    }

    /// Open connections counted for `ip`'s address.
    pub fn open_from(&self, ip: IpAddr) -> u32 {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.get(&AddressKey::of(ip)).copied().unwrap_or(0)
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_per_address_and_releases_on_drop() {
        let admission = Admission::new(2);
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let a = admission.admit(ip).unwrap();
        let _b = admission.admit(ip).unwrap();
        assert!(admission.admit(ip).is_none());
        assert!(admission.admit("192.0.2.8".parse().unwrap()).is_some());
        drop(a);
        assert!(admission.admit(ip).is_some());
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_v4_as_v4() {
        let x: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let y: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let z: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(AddressKey::of(x), AddressKey::of(y));
        assert_ne!(AddressKey::of(x), AddressKey::of(z));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(
            AddressKey::of(mapped),
            AddressKey::of("192.0.2.7".parse().unwrap())
        );
    }
}
