//! [`Database`]: a folder opened in-process. One writer per folder (the `LOCK` file),
//! any number of read-only openers, and inside a process many reader threads and one
//! writer at a time.

use quiver_encode::Registry;
use quiver_index::Progress;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::{Condvar, Mutex, RwLock};
use quiver_storage::lock::WriterLock;
use quiver_storage::{
    CollectionEntry, CollectionId, ColumnKind, Directory, Error, FsDirectory, Result, Schema,
};

use crate::collection::Collection;
use crate::options::{Durability, OpenOptions};
use crate::snapshot::Snapshot;
use crate::state::{CollectionState, DbState};
use crate::writer::{CommitQueue, Writer};

/// Everything the handles share.
pub(crate) struct Shared {
    pub dir: Arc<dyn Directory>,
    pub options: OpenOptions,
    /// The newest published state; readers clone the `Arc` and go.
    pub state: RwLock<Arc<DbState>>,
    /// `None` for a read-only database.
    pub writer: Mutex<Option<Writer>>,
    pub pending: Mutex<CommitQueue>,
    /// Signalled when a commit leader finishes a group.
    pub commit_done: Condvar,
    /// Serializes compactions (they run mostly outside the writer lock).
    pub compaction: Mutex<()>,
    /// Where index builds and COPY report how far they have got.
    pub progress: Arc<Progress>,
    /// The encoders EMBED calls by name.
    pub encoders: Registry,
    pub _lock: Option<WriterLock>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("root", &self.dir.root())
            .finish_non_exhaustive()
    }
}

/// An open database. Cheap to clone; all clones share one writer and one state.
#[derive(Clone, Debug)]
pub struct Database {
    pub(crate) shared: Arc<Shared>,
}

/// Facts about an open database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatabaseInfo {
    pub path: PathBuf,
    pub read_only: bool,
    pub collections: usize,
    pub segments: usize,
    pub last_lsn: u64,
    /// The SIMD family the distance kernels use on this CPU (simsimd's name).
    pub kernels: &'static str,
}

impl Database {
    /// Opens or creates the database folder `path` for writing, with default options.
    pub fn open(path: impl AsRef<Path>) -> Result<Database> {
        Self::open_with(path, OpenOptions::default())
    }

    /// Opens the folder with explicit options.
    pub fn open_with(path: impl AsRef<Path>, options: OpenOptions) -> Result<Database> {
        let dir = if options.read_only {
            FsDirectory::open_existing(path)?
        } else {
            FsDirectory::open(path)?
        };
        Self::open_in(Arc::new(dir), options)
    }

    /// Opens a database stored in any [`Directory`] (tests use a fault-injecting one).
    pub fn open_in(dir: Arc<dyn Directory>, options: OpenOptions) -> Result<Database> {
        let lock = if options.read_only {
            None
        } else {
            Some(WriterLock::acquire(dir.root())?)
        };
        let recovered = recover_retrying(&dir, &options)?;
        let shared = Shared {
            dir,
            options,
            state: RwLock::new(Arc::new(recovered.state)),
            writer: Mutex::new(recovered.writer),
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
        Ok(Database { shared })
    }

    /// Progress of this database's long operations (index builds at flush and
    /// compaction, COPY), for a display to poll from another thread.
    pub fn progress(&self) -> Arc<Progress> {
        self.shared.progress.clone()
    }

    /// A consistent point-in-time view of every collection.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot::new(self.shared.state.read().clone())
    }

    /// Creates a collection.
    pub fn create_collection(&self, name: &str, schema: Schema) -> Result<Collection> {
        check_collection_name(name)?;
        self.shared.with_writer(|shared, writer| {
            let state = shared.state.read().clone();
            if state.collections.contains_key(name) {
                return Err(Error::CollectionExists {
                    name: name.to_string(),
                });
            }
            let mut manifest = writer.manifest.clone();
            let id = CollectionId(manifest.next_collection_id);
            manifest.next_collection_id += 1;
            manifest.last_lsn = state.last_lsn;
            manifest.collections.push(CollectionEntry {
                id,
                name: name.to_string(),
                schema: schema.clone(),
                flushed_lsn: state.last_lsn,
                segments: Vec::new(),
            });
            shared.store_manifest(writer, manifest)?;
            let cs = CollectionState::new(id, name.to_string(), schema, state.last_lsn);
            shared.publish_collection(&state, cs);
            Ok(())
        })?;
        self.collection(name)
    }

    /// A handle on an existing collection.
    pub fn collection(&self, name: &str) -> Result<Collection> {
        self.shared.state.read().collection(name)?;
        Ok(Collection::new(self.shared.clone(), name))
    }

    /// Names of all collections, sorted.
    pub fn collection_names(&self) -> Vec<String> {
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

    pub fn info(&self) -> DatabaseInfo {
        let state = self.shared.state.read().clone();
        DatabaseInfo {
            path: self.shared.dir.root().to_path_buf(),
            read_only: self.shared.options.read_only,
            collections: state.collections.len(),
            segments: state.collections.values().map(|c| c.segments.len()).sum(),
            last_lsn: state.last_lsn.0,
            kernels: quiver_index::kernels::instruction_set(),
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

impl Drop for Shared {
    /// Closing syncs what the durability policy left unsynced (best effort).
    fn drop(&mut self) {
        if let Some(writer) = self.writer.get_mut().as_mut() {
            writer.sync_wal();
        }
    }
}

fn check_collection_name(name: &str) -> Result<()> {
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

impl Shared {
    /// Runs `f` holding the writer lock; fails for read-only or poisoned databases.
    pub(crate) fn with_writer<T>(
        &self,
        f: impl FnOnce(&Shared, &mut Writer) -> Result<T>,
    ) -> Result<T> {
        let mut guard = self.writer.lock();
        let writer = guard.as_mut().ok_or(Error::ReadOnly)?;
        writer.check_healthy()?;
        f(self, writer)
    }

    /// Publishes `state` with one collection added or replaced. Caller holds the writer,
    /// and `state` is the current state (only the writer publishes).
    pub(crate) fn publish_collection(&self, state: &DbState, cs: CollectionState) {
        let mut next = state.clone();
        next.collections.insert(cs.name.clone(), Arc::new(cs));
        *self.state.write() = Arc::new(next);
    }

    /// Stores a manifest; a failure poisons the writer (the file on disk is then either
    /// the old or the new manifest, and only a reopen can tell which).
    pub(crate) fn store_manifest(
        &self,
        writer: &mut Writer,
        manifest: quiver_storage::Manifest,
    ) -> Result<()> {
        match manifest.store(self.dir.as_ref()) {
            Ok(()) => {
                writer.manifest = manifest;
                Ok(())
            }
            Err(e) => {
                writer.poison(format!("storing the manifest failed: {e}"));
                Err(e)
            }
        }
    }

    /// Best-effort removal of files no manifest names any more. A file left behind
    /// (crash, error) is removed at the next writable open.
    pub(crate) fn remove_files(&self, files: Vec<String>) {
        for f in files {
            let _ = self.dir.remove(&f);
        }
    }
}
