//! Databases served from object storage (`s3://bucket/prefix`), read-only, through the
//! `object_store` crate. A database is PUBLISHED there by its writer: every segment and
//! tombstone file its manifest names (immutable: a name already there is never
//! uploaded again; large files go up in parts), then the manifest as the next version
//! `manifests/<version>`, written with a conditional put (`If-None-Match: *`), so a
//! version is never overwritten and of two publishers racing for one version exactly
//! one wins. A reader SERVES the newest version from a local cache folder
//! (`remote/cache.rs`). Credentials, region and endpoint come from the usual AWS
//! environment variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`,
//! `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`), then from `RemoteOptions::settings`.

mod cache;

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path;
use object_store::{
    ClientConfigKey, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, RetryConfig,
    WriteMultipart,
};
use quiver_storage::manifest::MANIFEST_FILE;
use quiver_storage::segment::segment_file_name;
use quiver_storage::{Directory, Error, Manifest, Result};

pub(crate) use cache::default_cache_dir;

/// Where published versions' manifests live, under the prefix.
const MANIFESTS: &str = "manifests";
/// Tries of a publish that loses the race for a version, or finds a local file gone.
const PUBLISH_TRIES: usize = 5;
/// Retries of one request, and for how long at most.
const RETRIES: usize = 3;
const RETRY_FOR: std::time::Duration = std::time::Duration::from_secs(15);
/// The most one request may take (`object_store`'s default, 30 s, is too short for
/// completing a multipart upload of a large segment; the `timeout` setting overrides).
const REQUEST_TIMEOUT: &str = "300s";
/// Files above twice this go up as a multipart upload, in parts of this size, a few
/// at once. Debug builds (the tests) use S3's smallest part, so that a test database
/// of a few MB walks the multipart path.
const PART_BYTES: usize = if cfg!(debug_assertions) {
    5 << 20
} else {
    32 << 20
};
const PARTS_IN_FLIGHT: usize = 4;

/// A database's place in object storage.
#[derive(Debug, Clone)]
pub struct Remote {
    url: String,
    bucket: String,
    store: Arc<dyn ObjectStore>,
    prefix: Path,
}

/// What a publish did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    /// The version now newest.
    pub version: u64,
    /// Files uploaded (those already there are skipped).
    pub uploaded: usize,
    /// Bytes uploaded.
    pub bytes: u64,
}

/// `what` failed on `object` (a URL); the source keeps the kind: `NotFound` for a
/// missing object, `PermissionDenied` for refused credentials, else `Other`.
fn remote_error(object: &str, what: &str, e: object_store::Error) -> Error {
    use std::io::ErrorKind;
    let kind = match &e {
        object_store::Error::NotFound { .. } => ErrorKind::NotFound,
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => ErrorKind::PermissionDenied,
        _ => ErrorKind::Other,
    };
    Error::Io {
        path: PathBuf::from(object),
        source: std::io::Error::new(kind, format!("{what}: {e}")),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Io {
            path: PathBuf::from("(object storage runtime)"),
            source: e,
        })
}

/// The URL `path` spells (`scheme://...`), if it is one rather than a folder.
pub(crate) fn url_of(path: &FsPath) -> Option<&str> {
    let text = path.to_str()?;
    let (scheme, _) = text.split_once("://")?;
    let is_scheme = !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    is_scheme.then_some(text)
}

impl Remote {
    /// `s3://bucket/prefix`, configured from the environment and then `settings`
    /// (`object_store`'s S3 keys: `aws_endpoint`, `aws_allow_http`, `aws_region`,
    /// `aws_access_key_id`, `aws_secret_access_key`, ...).
    pub fn parse<K: AsRef<str>, V: AsRef<str>>(url: &str, settings: &[(K, V)]) -> Result<Remote> {
        let parsed = url
            .strip_prefix("s3://")
            .ok_or_else(|| Error::InvalidArgument(format!("{url}: only s3:// URLs are served")))?;
        let (bucket, prefix) = parsed.split_once('/').unwrap_or((parsed, ""));
        if bucket.is_empty() {
            return Err(Error::InvalidArgument(format!("{url}: no bucket")));
        }
        // A few quick retries: an unreachable store is an error in seconds, not the
        // crate's default of up to 3 minutes.
        let retry = RetryConfig {
            max_retries: RETRIES,
            retry_timeout: RETRY_FOR,
            ..RetryConfig::default()
        };
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_retry(retry)
            // A config key, not `with_client_options`: that would drop the client
            // settings `from_env` read (AWS_ALLOW_HTTP).
            .with_config(
                AmazonS3ConfigKey::Client(ClientConfigKey::Timeout),
                REQUEST_TIMEOUT,
            );
        for (key, value) in settings {
            let (key, value) = (key.as_ref(), value.as_ref());
            let parsed = key
                .to_ascii_lowercase()
                .parse()
                .map_err(|e| Error::InvalidArgument(format!("{url}: setting {key}: {e}")))?;
            builder = builder.with_config(parsed, value);
        }
        let store = builder
            .build()
            .map_err(|e| Error::InvalidArgument(format!("{url}: {e}")))?;
        Ok(Remote {
            url: url.to_string(),
            bucket: bucket.to_string(),
            store: Arc::new(store),
            prefix: Path::from(prefix.trim_matches('/')),
        })
    }

    fn key(&self, name: &str) -> Path {
        self.prefix.clone().join(name)
    }

    /// `s3://bucket/key`, for errors.
    fn object(&self, key: &Path) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    fn version_key(&self, version: u64) -> Path {
        self.prefix
            .clone()
            .join(MANIFESTS)
            .join(format!("{version:020}"))
    }

    /// The newest published version, if any.
    async fn newest(&self) -> Result<Option<u64>> {
        use futures_util::TryStreamExt;
        let listed: Vec<object_store::ObjectMeta> = self
            .store
            .list(Some(&self.prefix.clone().join(MANIFESTS)))
            .try_collect()
            .await
            .map_err(|e| remote_error(&self.url, "listing the published versions", e))?;
        Ok(listed
            .iter()
            .filter_map(|m| m.location.filename()?.parse::<u64>().ok())
            .max())
    }

    /// Uploads `name` from `dir`, mapped (no copy), in parts when large.
    async fn upload(&self, dir: &dyn Directory, name: &str) -> Result<u64> {
        let key = self.key(name);
        let failed = |e| remote_error(&self.object(&key), "uploading", e);
        let data = Bytes::from_owner(dir.map(name)?);
        let len = data.len();
        if len <= 2 * PART_BYTES {
            self.store
                .put(&key, PutPayload::from(data))
                .await
                .map_err(failed)?;
            return Ok(len as u64);
        }
        let upload = self.store.put_multipart(&key).await.map_err(failed)?;
        let mut parts = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        for start in (0..len).step_by(PART_BYTES) {
            if let Err(e) = parts.wait_for_capacity(PARTS_IN_FLIGHT).await {
                let _ = parts.abort().await;
                return Err(failed(e));
            }
            parts.put(data.slice(start..(start + PART_BYTES).min(len)));
        }
        parts.finish().await.map_err(failed)?;
        Ok(len as u64)
    }

    /// Uploads what `dir`'s MANIFEST names and then the manifest as the next version.
    async fn publish_once(
        &self,
        dir: &dyn Directory,
    ) -> Result<std::result::Result<Published, u64>> {
        let bytes = dir.read(MANIFEST_FILE)?;
        let manifest = Manifest::decode(&bytes, &dir.path_of(MANIFEST_FILE))?;
        let (mut uploaded, mut sent) = (0, 0u64);
        for name in files_of(&manifest) {
            let key = self.key(&name);
            match self.store.head(&key).await {
                Ok(_) => continue,
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(remote_error(&self.object(&key), "checking", e)),
            }
            sent += self.upload(dir, &name).await?;
            uploaded += 1;
        }
        let version = self.newest().await?.map_or(1, |v| v + 1);
        let create = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        let key = self.version_key(version);
        match self
            .store
            .put_opts(&key, PutPayload::from(bytes), create)
            .await
        {
            Ok(_) => Ok(Ok(Published {
                version,
                uploaded,
                bytes: sent,
            })),
            Err(
                object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. },
            ) => Ok(Err(version)),
            Err(e) => Err(remote_error(&self.object(&key), "writing the manifest", e)),
        }
    }

    /// Publishes `dir` (its current MANIFEST and the files it names). A version taken
    /// by another publisher meanwhile is retried with the next; after
    /// [`PUBLISH_TRIES`], `Error::Conflict`.
    pub fn publish(&self, dir: &dyn Directory) -> Result<Published> {
        let rt = runtime()?;
        let mut lost = 0;
        for _ in 0..PUBLISH_TRIES {
            match rt.block_on(self.publish_once(dir)) {
                Ok(Ok(done)) => return Ok(done),
                Ok(Err(version)) => lost = version,
                // A local file compacted away while uploading: its manifest is stale.
                Err(Error::Io { path, source })
                    if source.kind() == std::io::ErrorKind::NotFound
                        && path.starts_with(dir.root()) => {}
                Err(e) => return Err(e),
            }
        }
        Err(Error::Conflict {
            what: format!(
                "{}: another publisher took version {lost} each of {PUBLISH_TRIES} tries",
                self.url
            ),
        })
    }
}

/// The segment and tombstone files `manifest` names.
fn files_of(manifest: &Manifest) -> Vec<String> {
    let mut names = Vec::new();
    for c in &manifest.collections {
        for s in &c.segments {
            names.push(segment_file_name(s.id));
            names.extend(s.tombstones.clone());
        }
    }
    names
}
