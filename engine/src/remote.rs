//! Databases served from object storage (`s3://bucket/prefix`), read-only, through the
//! `object_store` crate. A database is PUBLISHED there by its writer: every segment and
//! tombstone file its manifest names (immutable: a name already there is never
//! uploaded again), then the manifest as the next version `manifests/<version>`,
//! written with a conditional put (`If-None-Match: *`), so a version is never
//! overwritten and of two publishers racing for one version exactly one wins. A reader
//! OPENS the newest version: it downloads the manifest and the files it names into a
//! local cache folder (each segment's checksums verified before it is kept), maps them
//! from there, and drops cached files the version no longer names; `Database::refresh`
//! does the same for a newer version. Credentials, region and endpoint come from the
//! usual AWS environment variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`).

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, RetryConfig};
use quiver_storage::manifest::MANIFEST_FILE;
use quiver_storage::segment::segment_file_name;
use quiver_storage::{Directory, Error, FsDirectory, Manifest, Result, Segment};

/// Where published versions' manifests live, under the prefix.
const MANIFESTS: &str = "manifests";
/// Tries of a publish that loses the race for a version, or finds a local file gone.
const PUBLISH_TRIES: usize = 5;
/// Retries of one request, and for how long at most.
const RETRIES: usize = 3;
const RETRY_FOR: std::time::Duration = std::time::Duration::from_secs(15);

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

fn remote_error(url: &str, what: &str, e: impl std::fmt::Display) -> Error {
    Error::Io {
        path: PathBuf::from(url),
        source: std::io::Error::other(format!("{what}: {e}")),
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

impl Remote {
    /// `s3://bucket/prefix`, configured from the environment and then `config`
    /// (`object_store`'s S3 keys: `aws_endpoint`, `aws_allow_http`, `aws_region`,
    /// `aws_access_key_id`, `aws_secret_access_key`, ...).
    pub fn parse(url: &str, config: &[(&str, &str)]) -> Result<Remote> {
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
            .with_retry(retry);
        for (key, value) in config {
            let key = key
                .to_ascii_lowercase()
                .parse()
                .map_err(|e| Error::InvalidArgument(format!("{url}: setting {key}: {e}")))?;
            builder = builder.with_config(key, *value);
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
                Err(e) => return Err(remote_error(&self.url, &format!("checking {name}"), e)),
            }
            let data = dir.read(&name)?;
            sent += data.len() as u64;
            self.store
                .put(&key, PutPayload::from(data))
                .await
                .map_err(|e| remote_error(&self.url, &format!("uploading {name}"), e))?;
            uploaded += 1;
        }
        let version = self.newest().await?.map_or(1, |v| v + 1);
        let create = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        match self
            .store
            .put_opts(&self.version_key(version), PutPayload::from(bytes), create)
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
            Err(e) => Err(remote_error(&self.url, "writing the manifest", e)),
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
                // A file compacted away while uploading: its manifest is stale.
                Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {}
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

    /// Brings `cache` to the newest published version: downloads its manifest and
    /// the files it names that the cache lacks (segments verified), writes the
    /// MANIFEST last, and removes cached files it no longer names. Returns the version.
    pub fn sync(&self, cache: &FsPath) -> Result<u64> {
        let rt = runtime()?;
        rt.block_on(self.sync_async(cache))
    }

    async fn sync_async(&self, cache: &FsPath) -> Result<u64> {
        let version = self.newest().await?.ok_or_else(|| {
            Error::InvalidArgument(format!("{}: no database is published there", self.url))
        })?;
        let dir = FsDirectory::open(cache)?;
        let key = self.version_key(version);
        let bytes = self.download(&key).await?;
        let manifest = Manifest::decode(&bytes, &PathBuf::from(format!("{}/{key}", self.url)))?;
        let wanted = files_of(&manifest);
        for name in &wanted {
            if dir.exists(name) {
                continue;
            }
            let data = self.download(&self.key(name)).await?;
            let tmp = format!("{name}.download");
            let mut f = dir.create(&tmp)?;
            f.write_all(&data)?;
            f.sync()?;
            drop(f);
            dir.rename(&tmp, name)?;
        }
        for entry in &manifest.collections {
            for seg in &entry.segments {
                if !dir.exists(&format!("{}.verified", segment_file_name(seg.id))) {
                    let segment = Segment::open(&dir, seg.id, &entry.schema)?;
                    segment.verify().inspect_err(|_| {
                        let _ = dir.remove(&segment_file_name(seg.id));
                    })?;
                    dir.create(&format!("{}.verified", segment_file_name(seg.id)))?;
                }
            }
        }
        quiver_storage::directory::publish(&dir, MANIFEST_FILE, &bytes)?;
        let keep: std::collections::HashSet<String> = wanted
            .iter()
            .flat_map(|n| [n.clone(), format!("{n}.verified")])
            .chain([MANIFEST_FILE.to_string()])
            .collect();
        for name in dir.list()? {
            if !keep.contains(&name) {
                let _ = dir.remove(&name);
            }
        }
        Ok(version)
    }

    /// An object's bytes; errors name the object (`s3://bucket/key`).
    async fn download(&self, key: &Path) -> Result<Vec<u8>> {
        let object = format!("s3://{}/{key}", self.bucket);
        let got = self
            .store
            .get(key)
            .await
            .map_err(|e| remote_error(&object, "reading", e))?;
        let bytes = got
            .bytes()
            .await
            .map_err(|e| remote_error(&object, "reading", e))?;
        Ok(bytes.to_vec())
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
