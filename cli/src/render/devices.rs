//! Lines about the account's devices.

use quichat_proto::types::{DeviceId, DeviceInfo};
use serde::Serialize;

use crate::output::{local_time, pad, preview, rfc3339};

/// Width of the name column: longer names are shortened with `…`.
const NAME_COLUMNS: usize = 24;

/// `{"type":"device"}`: one device of the account.
#[derive(Debug, Serialize)]
pub struct DeviceLine {
    id: DeviceId,
    name: String,
    created_at: String,
    last_seen: String,
    current: bool,
}

impl DeviceLine {
    /// From the server's device info.
    pub fn new(d: &DeviceInfo) -> Self {
        DeviceLine {
            id: d.id,
            name: d.name.clone(),
            created_at: rfc3339(d.created_at_ms),
            last_seen: rfc3339(d.last_seen_ms),
            current: d.current,
        }
    }

    /// `   3  laptop                    created ...  last seen ...  (this
    /// device)`, in aligned columns.
    pub fn human(d: &DeviceInfo) -> String {
        format!(
            "{:>4}  {}  created {}  last seen {}{}",
            d.id,
            pad(&preview(&d.name, NAME_COLUMNS - 1), NAME_COLUMNS),
            local_time(d.created_at_ms),
            local_time(d.last_seen_ms),
            if d.current { "  (this device)" } else { "" }
        )
    }
}

/// `{"type":"revoked"}`: a device was revoked.
#[derive(Debug, Serialize)]
pub struct RevokedLine {
    device_id: DeviceId,
}

impl RevokedLine {
    /// For the revoked device.
    pub fn new(device_id: DeviceId) -> Self {
        RevokedLine { device_id }
    }
}
