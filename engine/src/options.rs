//! How a database is opened: read-only or writable, the durability policy, when the
//! memtable is sealed into a segment, how often a reader follows its writer, and how
//! a database published to object storage is served.

use std::path::PathBuf;
use std::time::Duration;

/// When committed batches reach stable storage.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Durability {
    /// fsync before `commit` returns: a returned commit survives kill -9 and power loss.
    #[default]
    SyncEveryCommit,
    /// fsync from a background thread every interval (and at a commit when the interval
    /// has passed, and on close): a power cut loses at most the commits of that window.
    Periodic(Duration),
    /// No WAL fsync while open (closing syncs): commits survive a killed process, not
    /// a power cut. Segments and the manifest are always synced.
    Never,
}

/// Options for [`Database::open_with`].
#[derive(Clone, Debug)]
pub struct OpenOptions {
    /// Open without the writer lock; every write fails with `ReadOnly`.
    pub read_only: bool,
    /// When commits reach stable storage.
    pub durability: Durability,
    /// Seal a collection's memtable into a segment once it holds about this many bytes.
    pub memtable_bytes: usize,
    /// Check every segment region's checksum at open (reads all data; off by default so
    /// opening costs metadata only).
    pub verify_checksums: bool,
    /// At open, ask the kernel to read every segment's index regions (graphs, codes)
    /// ahead (`MADV_WILLNEED`), while the rows (the full vectors) stay on disk until
    /// read: the first searches then find the index in memory. On by default.
    pub prefetch_indexes: bool,
    /// A read-only database follows its writer: a snapshot taken this long after the
    /// last check first picks up what was committed since (`follow.rs`). Zero: every
    /// snapshot checks.
    pub refresh_every: Duration,
    /// For `s3://` URLs: the cache folder, its bound, S3 settings, polling.
    pub remote: RemoteOptions,
}

/// How a database published to object storage (`s3://bucket/prefix`) is served
/// (`remote.rs`): read-only, its files copied into a local cache folder and mapped
/// from there.
#[derive(Clone)]
pub struct RemoteOptions {
    /// The cache folder. Default: `<root>/<bucket>/<prefix>`, the root being
    /// `$QUIVER_CACHE_DIR`, else `$XDG_CACHE_HOME/quiver/remote`, else
    /// `~/.cache/quiver/remote`. Processes may share one.
    pub cache_dir: Option<PathBuf>,
    /// The most bytes the cache folder may hold, counting a version being fetched
    /// beside the one it replaces; a version that cannot fit is refused with
    /// `Error::CacheFull`. `None`: no bound.
    pub cache_bytes: Option<u64>,
    /// `object_store` S3 settings applied over the `AWS_*` environment variables
    /// (`aws_endpoint`, `aws_region`, `aws_access_key_id`, ...).
    pub settings: Vec<(String, String)>,
    /// Look for a newer published version this often, in the background (the
    /// snapshots that follow see it); `None`: only on `Database::refresh`.
    pub poll_every: Option<Duration>,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        RemoteOptions {
            cache_dir: None,
            cache_bytes: None,
            settings: Vec::new(),
            poll_every: Some(Duration::from_secs(10)),
        }
    }
}

/// Setting values may be secrets: only their keys are shown.
impl std::fmt::Debug for RemoteOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<&str> = self.settings.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("RemoteOptions")
            .field("cache_dir", &self.cache_dir)
            .field("cache_bytes", &self.cache_bytes)
            .field("settings", &keys)
            .field("poll_every", &self.poll_every)
            .finish()
    }
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            read_only: false,
            durability: Durability::default(),
            memtable_bytes: 64 << 20,
            verify_checksums: false,
            prefetch_indexes: true,
            refresh_every: Duration::from_millis(100),
            remote: RemoteOptions::default(),
        }
    }
}

impl OpenOptions {
    /// The defaults: writable, fsync on every commit, 64 MiB memtables.
    pub fn new() -> Self {
        Self::default()
    }

    /// See [`OpenOptions::read_only`](#structfield.read_only).
    pub fn read_only(mut self, yes: bool) -> Self {
        self.read_only = yes;
        self
    }

    /// See [`Durability`].
    pub fn durability(mut self, d: Durability) -> Self {
        self.durability = d;
        self
    }

    /// See [`OpenOptions::memtable_bytes`](#structfield.memtable_bytes).
    pub fn memtable_bytes(mut self, bytes: usize) -> Self {
        self.memtable_bytes = bytes;
        self
    }

    /// See [`OpenOptions::verify_checksums`](#structfield.verify_checksums).
    pub fn verify_checksums(mut self, yes: bool) -> Self {
        self.verify_checksums = yes;
        self
    }

    /// See [`OpenOptions::prefetch_indexes`](#structfield.prefetch_indexes).
    pub fn prefetch_indexes(mut self, yes: bool) -> Self {
        self.prefetch_indexes = yes;
        self
    }

    /// See [`OpenOptions::refresh_every`](#structfield.refresh_every).
    pub fn refresh_every(mut self, every: Duration) -> Self {
        self.refresh_every = every;
        self
    }

    /// See [`RemoteOptions::cache_dir`].
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.remote.cache_dir = Some(dir.into());
        self
    }

    /// See [`RemoteOptions::cache_bytes`].
    pub fn cache_bytes(mut self, bytes: u64) -> Self {
        self.remote.cache_bytes = Some(bytes);
        self
    }

    /// One S3 setting (see [`RemoteOptions::settings`]).
    pub fn s3_setting(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.remote.settings.push((key.into(), value.into()));
        self
    }

    /// See [`RemoteOptions::poll_every`].
    pub fn poll_remote_every(mut self, every: Option<Duration>) -> Self {
        self.remote.poll_every = every;
        self
    }
}
