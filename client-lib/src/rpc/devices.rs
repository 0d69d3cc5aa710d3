//! The caller's devices.

use quichat_proto::rpc::devices::{Request, Response};
use quichat_proto::types::{DeviceId, DeviceInfo};

use super::reply;
use crate::{Client, ClientError};

impl Client {
    /// This user's active devices.
    pub async fn devices(&self) -> Result<Vec<DeviceInfo>, ClientError> {
        reply!(self.call(Request::List).await?, Response::List(devices) => devices)
    }

    /// Revokes one of this user's devices (this one included); its
    /// connections close at once.
    pub async fn revoke_device(&self, device_id: DeviceId) -> Result<(), ClientError> {
        let request = Request::Revoke { device_id };
        reply!(self.call(request).await?, Response::Revoked => ())
    }
}
