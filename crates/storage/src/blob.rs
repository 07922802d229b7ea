//! The blob store: bytes under derived keys, on a local folder or S3-compatible storage,
//! both through `object_store` so the two backends share one implementation and one test
//! suite. Writes are atomic (a reader sees the old blob or the new one, never half).

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, PutPayload, RetryConfig, WriteMultipart};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;

use crate::error::{Error, Result};
use crate::key::BlobKey;

/// What callers need from blob storage, and nothing more.
#[async_trait]
pub trait BlobStore: Send + Sync + std::fmt::Debug {
    /// Stores `bytes` under `key`, replacing any blob there.
    async fn put(&self, key: &BlobKey, bytes: Bytes) -> Result<()>;
    /// Stores a file's content under `key`, streaming it in parts so memory stays bounded
    /// whatever the file's size.
    async fn put_file(&self, key: &BlobKey, path: &Path) -> Result<()>;
    async fn get(&self, key: &BlobKey) -> Result<Bytes>;
    /// Bytes `range.start..range.end` of the blob (for HTTP range requests).
    async fn get_range(&self, key: &BlobKey, range: Range<u64>) -> Result<Bytes>;
    /// Size and existence, without the content; `None` when absent.
    async fn head(&self, key: &BlobKey) -> Result<Option<BlobMeta>>;
    /// Removes a blob; removing an absent one is not an error (deletes are retried).
    async fn delete(&self, key: &BlobKey) -> Result<()>;
    /// Every blob whose key starts with `prefix` followed by `/`, sorted by key.
    async fn list(&self, prefix: &BlobKey) -> Result<Vec<BlobMeta>>;
    /// A cheap round trip, for readiness probes.
    async fn check(&self) -> Result<()>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobMeta {
    pub key: BlobKey,
    pub size: u64,
}

/// Where blobs live. The local folder is the default, for one machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "backend", rename_all = "lowercase", deny_unknown_fields)]
pub enum BlobConfig {
    /// A folder on this machine, created if missing.
    Local { root: PathBuf },
    /// An S3-compatible service (AWS S3, MinIO, Garage, Ceph, moto).
    S3(S3Config),
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    pub bucket: String,
    /// Region; most S3-compatible servers accept any value.
    #[serde(default = "default_region")]
    pub region: String,
    /// Endpoint URL for non-AWS services, e.g. `http://127.0.0.1:9000`.
    pub endpoint: Option<String>,
    pub access_key_id: String,
    /// Never serialized, so it cannot end up in a dumped configuration.
    #[serde(skip_serializing)]
    pub secret_access_key: String,
    /// Allow plain `http://` endpoints (a local MinIO); off for anything on a network.
    #[serde(default)]
    pub allow_http: bool,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret never reaches a log line.
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

fn default_region() -> String {
    "us-east-1".into()
}

/// An unreachable store should fail a request in seconds, not the minutes of
/// object_store's defaults, so that a readiness probe and an upload both answer 503 soon.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
const RETRY_BUDGET: std::time::Duration = std::time::Duration::from_secs(15);

/// Size of the parts `put_file` uploads: S3's minimum is 5 MiB.
const PART_SIZE: usize = 8 << 20;

/// A [`BlobStore`] on any `object_store` backend.
#[derive(Debug, Clone)]
pub struct ObjectBlobStore {
    inner: Arc<dyn ObjectStore>,
}

impl ObjectBlobStore {
    pub fn open(config: &BlobConfig) -> Result<ObjectBlobStore> {
        let inner: Arc<dyn ObjectStore> = match config {
            BlobConfig::Local { root } => {
                std::fs::create_dir_all(root)
                    .map_err(|source| Error::Io { path: root.display().to_string(), source })?;
                Arc::new(
                    LocalFileSystem::new_with_prefix(root)
                        .map_err(|err| Error::Config(format!("blob folder {}: {err}", root.display())))?,
                )
            }
            BlobConfig::S3(s3) => {
                let mut builder = AmazonS3Builder::new()
                    .with_bucket_name(&s3.bucket)
                    .with_region(&s3.region)
                    .with_access_key_id(&s3.access_key_id)
                    .with_secret_access_key(&s3.secret_access_key)
                    // allow_http lives in the client options: set them whole, in one place.
                    .with_client_options(
                        ClientOptions::new()
                            .with_allow_http(s3.allow_http)
                            .with_connect_timeout(CONNECT_TIMEOUT)
                            .with_timeout(REQUEST_TIMEOUT),
                    )
                    .with_retry(RetryConfig {
                        max_retries: 3,
                        retry_timeout: RETRY_BUDGET,
                        backoff: BackoffConfig::default(),
                    });
                if let Some(endpoint) = &s3.endpoint {
                    // Custom endpoints rarely support virtual-hosted buckets.
                    builder = builder.with_endpoint(endpoint).with_virtual_hosted_style_request(false);
                }
                Arc::new(builder.build().map_err(|err| Error::Config(format!("S3 bucket {}: {err}", s3.bucket)))?)
            }
        };
        Ok(ObjectBlobStore { inner })
    }

    fn path(key: &BlobKey) -> ObjectPath {
        // BlobKey's alphabet is a subset of object_store's, so this cannot fail to round-trip.
        ObjectPath::from(key.as_str())
    }
}

#[async_trait]
impl BlobStore for ObjectBlobStore {
    async fn put(&self, key: &BlobKey, bytes: Bytes) -> Result<()> {
        self.inner
            .put(&Self::path(key), PutPayload::from(bytes))
            .await
            .map_err(|err| Error::backend("put", key.as_str(), err))?;
        Ok(())
    }

    async fn put_file(&self, key: &BlobKey, path: &Path) -> Result<()> {
        let io = |source| Error::Io { path: path.display().to_string(), source };
        let mut file = tokio::fs::File::open(path).await.map_err(io)?;
        let upload =
            self.inner.put_multipart(&Self::path(key)).await.map_err(|err| Error::backend("put", key.as_str(), err))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut buffer = vec![0u8; 1 << 20];
        loop {
            let n = match file.read(&mut buffer).await {
                Ok(n) => n,
                Err(source) => {
                    let _ = writer.abort().await;
                    return Err(io(source));
                }
            };
            if n == 0 {
                break;
            }
            // At most two parts in flight: memory stays near 2 x PART_SIZE.
            writer.wait_for_capacity(2).await.map_err(|err| Error::backend("put", key.as_str(), err))?;
            writer.write(&buffer[..n]);
        }
        writer.finish().await.map_err(|err| Error::backend("put", key.as_str(), err))?;
        Ok(())
    }

    async fn get(&self, key: &BlobKey) -> Result<Bytes> {
        let result = self.inner.get(&Self::path(key)).await.map_err(|err| Error::backend("get", key.as_str(), err))?;
        result.bytes().await.map_err(|err| Error::backend("get", key.as_str(), err))
    }

    async fn get_range(&self, key: &BlobKey, range: Range<u64>) -> Result<Bytes> {
        self.inner.get_range(&Self::path(key), range).await.map_err(|err| Error::backend("get", key.as_str(), err))
    }

    async fn head(&self, key: &BlobKey) -> Result<Option<BlobMeta>> {
        match self.inner.head(&Self::path(key)).await {
            Ok(meta) => Ok(Some(BlobMeta { key: key.clone(), size: meta.size })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(Error::backend("head", key.as_str(), err)),
        }
    }

    async fn delete(&self, key: &BlobKey) -> Result<()> {
        match self.inner.delete(&Self::path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(Error::backend("delete", key.as_str(), err)),
        }
    }

    async fn list(&self, prefix: &BlobKey) -> Result<Vec<BlobMeta>> {
        let metas: Vec<object_store::ObjectMeta> = self
            .inner
            .list(Some(&Self::path(prefix)))
            .try_collect()
            .await
            .map_err(|err| Error::backend("list", prefix.as_str(), err))?;
        let mut out = metas
            .into_iter()
            .map(|meta| Ok(BlobMeta { key: BlobKey::parse(meta.location.as_ref())?, size: meta.size }))
            .collect::<Result<Vec<_>>>()?;
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    async fn check(&self) -> Result<()> {
        let probe = BlobKey::parse("health/probe")?;
        self.head(&probe).await.map(|_| ())
    }
}
