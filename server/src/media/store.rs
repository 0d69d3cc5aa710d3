//! The object store behind media: a local directory or S3, through the
//! `object_store` crate, with one code path for both.
//!
//! Keys are content-addressed: `objects/<sha256 hex>` for originals and
//! `thumbs/<sha256 hex>.jpg` for thumbnails, so identical content is
//! stored once.

pub use crate::error::MediaError;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::{GetOptions, GetRange, MultipartUpload, ObjectStore, PutPayload};

use crate::config::MediaConfig;

/// S3's minimum multipart part size (except the last part).
pub const S3_MIN_PART: u64 = 5 * 1024 * 1024;

/// Handle to the configured object store.
#[derive(Debug, Clone)]
pub struct MediaStore {
    inner: Arc<dyn ObjectStore>,
    part_size: usize,
    description: String,
    local: bool,
}

impl MediaStore {
    /// Builds the store named by `config.url` (default
    /// `file://<data_dir>/media`).
    pub fn from_config(config: &MediaConfig, data_dir: &Path) -> Result<MediaStore, MediaError> {
        let url = config.effective_url(data_dir);
        let part_size = usize::try_from(config.part_size)
            .map_err(|_| MediaError::Config("part_size is too large".into()))?;
        if let Some(rest) = url.strip_prefix("s3://") {
            if config.part_size < S3_MIN_PART {
                return Err(MediaError::Config(format!(
                    "part_size {} is below S3's minimum of {S3_MIN_PART} bytes",
                    config.part_size
                )));
            }
            let (bucket, prefix) = match rest.split_once('/') {
                Some((b, p)) => (b, p.trim_matches('/')),
                None => (rest, ""),
            };
            if bucket.is_empty() {
                return Err(MediaError::Config(format!(
                    "no bucket in media URL '{url}'"
                )));
            }
            let mut builder = AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .with_region(&config.s3_region)
                .with_virtual_hosted_style_request(false)
                .with_allow_http(config.s3_allow_http);
            if let Some(endpoint) = config.s3_endpoint.as_deref().filter(|e| !e.is_empty()) {
                builder = builder.with_endpoint(endpoint);
            }
            if let Some(key) = &config.s3_access_key_id {
                builder = builder.with_access_key_id(key);
            }
            if let Some(secret) = &config.s3_secret_access_key {
                builder = builder.with_secret_access_key(secret);
            }
            let s3 = builder.build()?;
            let inner: Arc<dyn ObjectStore> = if prefix.is_empty() {
                Arc::new(s3)
            } else {
                Arc::new(PrefixStore::new(s3, prefix))
            };
            let endpoint = config.s3_endpoint.clone().unwrap_or_else(|| "AWS".into());
            return Ok(MediaStore {
                inner,
                part_size,
                description: format!("s3://{bucket}/{prefix} at {endpoint}"),
                local: false,
            });
        }
        let dir = url.strip_prefix("file://").ok_or_else(|| {
            MediaError::Config(format!("media URL must be file:// or s3://, not '{url}'"))
        })?;
        crate::private_fs::create_dir(std::path::Path::new(dir))?;
        let dir = std::fs::canonicalize(dir)?;
        Ok(MediaStore {
            inner: Arc::new(LocalFileSystem::new_with_prefix(&dir)?),
            part_size,
            description: format!("file://{}", dir.display()),
            local: true,
        })
    }

    /// Human-readable location (no secrets).
    pub fn description(&self) -> &str {
        &self.description
    }

    /// True for a local directory (reads are file reads, so large ranges
    /// are cheap; over S3 each range is a request).
    pub fn is_local(&self) -> bool {
        self.local
    }

    /// Multipart part size: the most an upload buffers.
    pub fn part_size(&self) -> usize {
        self.part_size
    }

    /// Key of the original content.
    pub fn object_key(sha256_hex: &str) -> ObjectPath {
        ObjectPath::from(format!("objects/{sha256_hex}"))
    }

    /// Key of the thumbnail.
    pub fn thumb_key(sha256_hex: &str) -> ObjectPath {
        ObjectPath::from(format!("thumbs/{sha256_hex}.jpg"))
    }

    /// Starts a multipart upload. Nothing is visible until `complete`.
    pub async fn start_multipart(
        &self,
        key: &ObjectPath,
    ) -> Result<Box<dyn MultipartUpload>, MediaError> {
        Ok(self.inner.put_multipart(key).await?)
    }

    /// Stores a small object in one request.
    pub async fn put(&self, key: &ObjectPath, bytes: Vec<u8>) -> Result<(), MediaError> {
        self.inner.put(key, PutPayload::from(bytes)).await?;
        Ok(())
    }

    /// Reads a whole (small) object.
    pub async fn get(&self, key: &ObjectPath) -> Result<Bytes, MediaError> {
        Ok(self.inner.get(key).await?.bytes().await?)
    }

    /// Reads one byte range.
    pub async fn get_range(
        &self,
        key: &ObjectPath,
        range: Range<u64>,
    ) -> Result<Bytes, MediaError> {
        Ok(self.inner.get_range(key, range).await?)
    }

    /// Streams a byte range with bounded memory.
    pub async fn stream_range(
        &self,
        key: &ObjectPath,
        range: Range<u64>,
    ) -> Result<BoxStream<'static, Result<Bytes, MediaError>>, MediaError> {
        let opts = GetOptions {
            range: Some(GetRange::Bounded(range)),
            ..GetOptions::default()
        };
        let result = self.inner.get_opts(key, opts).await?;
        Ok(result
            .into_stream()
            .map(|r| r.map_err(MediaError::from))
            .boxed())
    }

    /// Size of an object, or `None` if it does not exist.
    pub async fn size_of(&self, key: &ObjectPath) -> Result<Option<u64>, MediaError> {
        match self.inner.head(key).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Checks that the store answers (a HEAD of a key that need not
    /// exist), for readiness.
    pub async fn probe(&self) -> Result<(), MediaError> {
        self.size_of(&ObjectPath::from("quichat-ready-probe"))
            .await
            .map(|_| ())
    }

    /// Deletes an object (missing is fine).
    pub async fn delete(&self, key: &ObjectPath) -> Result<(), MediaError> {
        match self.inner.delete(key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
