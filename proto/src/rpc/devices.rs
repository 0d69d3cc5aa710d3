//! The devices domain: list and revoke the caller's devices.

use serde::{Deserialize, Serialize};

use crate::types::{DeviceId, DeviceInfo};

/// Device requests.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum Request {
    /// Answered by [`Response::List`].
    List,
    /// Revoke one of the caller's devices (this one included); every
    /// connection of that device closes. Answered by [`Response::Revoked`].
    Revoke {
        /// Device to revoke; must belong to the caller.
        device_id: DeviceId,
    },
}

/// Device responses.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum Response {
    /// The caller's active devices, newest first.
    List(Vec<DeviceInfo>),
    /// The device is revoked.
    Revoked,
}
