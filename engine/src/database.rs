//! [`Database`]: a folder opened in-process. One writer per folder (the `LOCK` file),
//! any number of read-only openers, and inside a process many reader threads and one
//! writer at a time.

use quiver_encode::Registry;
use quiver_index::Progress;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::{Condvar, Mutex, RwLock};
use quiver_storage::lock::WriterLock;
use quiver_storage::{ColumnKind, Directory, Error, FsDirectory, Result, Schema};

use crate::options::{Durability, OpenOptions};
use crate::shared::Shared;
use crate::snapshot::Snapshot;
use crate::writer::CommitQueue;

/// An open database. Cheap to clone; all clones share one writer and one state.
#[derive(Clone, Debug)]
pub struct Database {
    pub(crate) shared: Arc<Shared>,
}

/// Facts about an open database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatabaseInfo {
    /// The database folder.
    pub path: PathBuf,
    /// Opened read-only (no lock, no writes).
    pub read_only: bool,
    /// Collections.
    pub collections: usize,
    /// Segments over all collections.
    pub segments: usize,
    /// The last committed batch's sequence number.
    pub last_lsn: u64,
    /// The SIMD family the distance kernels use on this CPU (simsimd's name).
    pub kernels: &'static str,
    /// A read-only database: why its last refresh failed, if it did (it serves
    /// what it had).
    pub refresh_error: Option<String>,
}

impl Database {
    /// Opens or creates the database folder `path` for writing, with default options.
    pub fn open(path: impl AsRef<Path>) -> Result<Database> {
        Self::open_with(path, OpenOptions::default())
    }

    /// Opens the folder with explicit options. An `s3://bucket/prefix` URL opens the
    /// database published there, read-only whatever `options` say, through its cache
    /// folder ([`crate::RemoteOptions`]).
    pub fn open_with(path: impl AsRef<Path>, options: OpenOptions) -> Result<Database> {
        if let Some(url) = crate::remote::url_of(path.as_ref()) {
            return Self::open_remote(url, options);
        }
        let dir = if options.read_only {
            FsDirectory::open_existing(path)?
        } else {
            FsDirectory::open(path)?
        };
        Self::open_in(Arc::new(dir), options)
    }

    /// Opens a database stored in any [`Directory`] (tests use a fault-injecting one).
    pub fn open_in(dir: Arc<dyn Directory>, options: OpenOptions) -> Result<Database> {
        Self::open_served(dir, options, None)
    }

    /// The newest version published at `url`, synced into its cache folder first.
    fn open_remote(url: &str, mut options: OpenOptions) -> Result<Database> {
        let remote = crate::remote::Remote::parse(url, &options.remote.settings)?;
        let cache = match &options.remote.cache_dir {
            Some(dir) => dir.clone(),
            None => crate::remote::default_cache_dir(url),
        };
        // The cache's lock stays held until the version's files are mapped.
        let (_, _held) = remote.sync(&cache, options.remote.cache_bytes)?;
        options.read_only = true;
        let dir = Arc::new(FsDirectory::open_existing(&cache)?);
        Self::open_served(dir, options, Some(remote))
    }

    /// Opens `dir`; `remote` is where a served database's cache is synced from.
    fn open_served(
        dir: Arc<dyn Directory>,
        options: OpenOptions,
        remote: Option<crate::remote::Remote>,
    ) -> Result<Database> {
        let lock = if options.read_only {
            None
        } else {
            Some(WriterLock::acquire(dir.root())?)
        };
        let recovered = recover_retrying(&dir, &options)?;
        let follower = recovered
            .follower
            .map(|(manifest, wal_at)| crate::shared::Follower::new(manifest, wal_at));
        let poll = remote.as_ref().and(options.remote.poll_every);
        let shared = Shared {
            dir,
            options,
            state: RwLock::new(Arc::new(recovered.state)),
            writer: Mutex::new(recovered.writer),
            follower,
            remote,
            pending: Mutex::new(CommitQueue::default()),
            commit_done: Condvar::new(),
            compaction: Mutex::new(()),
            progress: Arc::default(),
            encoders: Registry::default(),
            _lock: lock,
        };
        let shared = Arc::new(shared);
        if let (Durability::Periodic(every), false) =
            (shared.options.durability, shared.options.read_only)
        {
            spawn_periodic_sync(Arc::downgrade(&shared), every);
        }
        if let Some(every) = poll {
            crate::follow::spawn_poll(Arc::downgrade(&shared), every);
        }
        Ok(Database { shared })
    }

    /// Progress of this database's long operations (index builds at flush and
    /// compaction, COPY), for a display to poll from another thread.
    pub fn progress(&self) -> Arc<Progress> {
        self.shared.progress.clone()
    }

    /// A consistent point-in-time view of every collection. On a read-only database
    /// it first follows the writer (at most every [`OpenOptions::refresh_every`]): it
    /// holds every commit acknowledged before the last refresh; a refresh that fails
    /// keeps the previous view ([`Database::refresh`] says why).
    pub fn snapshot(&self) -> Snapshot {
        let _ = self.shared.follow(false);
        Snapshot::new(self.shared.state.read().clone())
    }

    /// A read-only database: picks up the writer's commits now (one served from
    /// object storage first fetches the newest published version). Returns whether
    /// anything changed; `false` on a writable database (its state is always current).
    pub fn refresh(&self) -> Result<bool> {
        self.shared.refresh_remote()
    }

    /// Publishes this database to object storage at `url` (`s3://bucket/prefix`):
    /// flushes every collection, uploads the segment and tombstone files not there
    /// yet, then the manifest as the next version, never overwriting one
    /// (`remote.rs`). Readers open `url` with [`Database::open`].
    pub fn publish(&self, url: &str) -> Result<crate::remote::Published> {
        self.publish_with(url, &[])
    }

    /// [`Database::publish`] with S3 settings beside the environment's
    /// (`object_store`'s keys, e.g. `("aws_endpoint", "http://127.0.0.1:5000")`).
    pub fn publish_with(
        &self,
        url: &str,
        settings: &[(&str, &str)],
    ) -> Result<crate::remote::Published> {
        self.flush()?;
        crate::remote::Remote::parse(url, settings)?.publish(self.shared.dir.as_ref())
    }

    /// Names of all collections, sorted.
    pub fn collection_names(&self) -> Vec<String> {
        let _ = self.shared.follow(false);
        self.shared
            .state
            .read()
            .collections
            .keys()
            .cloned()
            .collect()
    }

    /// Drops a collection and deletes its files (readers holding a snapshot keep their
    /// mapped view until they drop it).
    pub fn drop_collection(&self, name: &str) -> Result<()> {
        let files = self.shared.with_writer(|shared, writer| {
            let state = shared.state.read().clone();
            let cs = state.collection(name)?;
            let mut manifest = writer.manifest.clone();
            manifest.collections.retain(|c| c.name != name);
            manifest.last_lsn = state.last_lsn;
            shared.store_manifest(writer, manifest)?;
            let mut next = (*state).clone();
            next.collections.remove(name);
            *shared.state.write() = Arc::new(next);
            Ok(crate::flush::files_of(cs))
        })?;
        self.shared.remove_files(files);
        Ok(())
    }

    /// Seals every collection's memtable into segments.
    pub fn flush(&self) -> Result<()> {
        for name in self.collection_names() {
            self.collection(&name)?.flush()?;
        }
        Ok(())
    }

    /// Facts about the open database (`quiver info`).
    pub fn info(&self) -> DatabaseInfo {
        let state = self.shared.state.read().clone();
        DatabaseInfo {
            path: self.shared.dir.root().to_path_buf(),
            read_only: self.shared.options.read_only,
            collections: state.collections.len(),
            segments: state.collections.values().map(|c| c.segments.len()).sum(),
            last_lsn: state.last_lsn.0,
            kernels: quiver_index::kernels::instruction_set(),
            refresh_error: (self.shared.follower.as_ref()).and_then(|f| f.lock().error()),
        }
    }

    /// Adds a column to a collection. Existing items have no value for it (NULL), so a
    /// column added to a non-empty collection must be nullable; backfill it with
    /// `WriteBatch::update`.
    pub(crate) fn alter(
        &self,
        name: &str,
        change: impl FnOnce(&Schema, u64) -> Result<Schema>,
    ) -> Result<()> {
        self.shared.with_writer(|shared, writer| {
            shared.flush_locked(writer, name)?;
            let state = shared.state.read().clone();
            let cs = state.collection(name)?;
            let schema = change(&cs.schema, cs.count())?;
            let mut manifest = writer.manifest.clone();
            if let Some(entry) = manifest.collections.iter_mut().find(|c| c.id == cs.id) {
                entry.schema = schema.clone();
            }
            shared.store_manifest(writer, manifest)?;
            let mut next_cs = (**cs).clone();
            next_cs.schema = Arc::new(schema);
            shared.publish_collection(&state, next_cs);
            Ok(())
        })
    }
}

/// Validates the kind of a column added to an existing collection.
pub(crate) fn added_column(
    schema: &Schema,
    items: u64,
    name: &str,
    kind: ColumnKind,
    nullable: bool,
) -> Result<Schema> {
    if items > 0 && !nullable {
        return Err(Error::InvalidArgument(format!(
            "column {name} is added to a collection with {items} items, which have no value for it: declare it nullable"
        )));
    }
    schema.with_column(name, kind, nullable)
}

/// Recovers; a read-only open retries a few times when a file vanished under it (a
/// live writer retired a WAL file or compacted a segment between our listing and our
/// read), which a fresh look at the manifest resolves.
fn recover_retrying(
    dir: &Arc<dyn Directory>,
    options: &OpenOptions,
) -> Result<crate::recovery::Recovered> {
    let mut attempt = 0;
    loop {
        match crate::recovery::recover(dir.clone(), options) {
            Err(Error::Io { source, .. })
                if options.read_only
                    && source.kind() == std::io::ErrorKind::NotFound
                    && attempt < 3 =>
            {
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Under [`Durability::Periodic`], fsyncs the WAL every `every` even when no commit
/// comes to do it. The thread ends when the database is dropped.
fn spawn_periodic_sync(shared: std::sync::Weak<Shared>, every: std::time::Duration) {
    let spawned = std::thread::Builder::new()
        .name("quiver-wal-sync".into())
        .spawn(move || {
            loop {
                std::thread::sleep(every);
                let Some(shared) = shared.upgrade() else {
                    return;
                };
                let mut guard = shared.writer.lock();
                if let Some(writer) = guard.as_mut() {
                    writer.sync_wal();
                }
            }
        });
    // Without the thread, commits still sync once `every` has passed (see the writer).
    drop(spawned);
}

pub(crate) fn check_collection_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "collection name {name:?} must be 1..=64 ASCII letters, digits or '_', not starting with a digit"
        )))
    }
}

impl OpenOptions {
    /// Opens (creating when writable) the database folder `path`.
    pub fn open(self, path: impl AsRef<Path>) -> Result<Database> {
        Database::open_with(path, self)
    }
}
