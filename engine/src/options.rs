//! How a database is opened: read-only or writable, the durability policy, when the
//! memtable is sealed into a segment, and how often a reader follows its writer.

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
    /// A read-only database follows its writer: a snapshot taken this long after the
    /// last check first picks up what was committed since (`follow.rs`). Zero: every
    /// snapshot checks.
    pub refresh_every: Duration,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            read_only: false,
            durability: Durability::default(),
            memtable_bytes: 64 << 20,
            verify_checksums: false,
            refresh_every: Duration::from_millis(100),
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

    /// See [`OpenOptions::refresh_every`](#structfield.refresh_every).
    pub fn refresh_every(mut self, every: Duration) -> Self {
        self.refresh_every = every;
        self
    }
}
