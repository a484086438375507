//! What every handle on one open database shares: the directory, the published state,
//! the writer (behind its lock), the commit queue, the compaction lock, progress and
//! encoders. The one owner of the locks; `Database` and `Collection` are thin handles
//! on it.

use std::sync::Arc;

use parking_lot::{Condvar, Mutex, RwLock};
use quiver_encode::Registry;
use quiver_index::Progress;
use quiver_storage::lock::WriterLock;
use quiver_storage::{Directory, Error, Result};

use crate::options::OpenOptions;
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
    /// A read-only database's place in its writer's history (`follow.rs`).
    pub follower: Option<Mutex<Follower>>,
    /// Served from object storage: where from (`refresh` syncs the cache first).
    pub remote: Option<crate::remote::Remote>,
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

/// Where a read-only database following its writer stands (`follow.rs`).
#[derive(Debug)]
pub(crate) struct Follower {
    /// The manifest the published state was built from.
    pub manifest: quiver_storage::Manifest,
    /// The newest WAL file read, and the byte its last complete record ends at.
    pub wal_at: Option<(String, u64)>,
    /// When the folder was last checked.
    pub checked: Option<std::time::Instant>,
    /// Why the last refresh failed, if it did.
    pub last_error: Option<String>,
    /// A served database: why the last sync from object storage failed, if it did.
    pub sync_error: Option<String>,
}

impl Follower {
    /// Why the last sync or refresh failed, if one did.
    pub fn error(&self) -> Option<String> {
        self.sync_error.clone().or_else(|| self.last_error.clone())
    }

    pub fn new(
        manifest: quiver_storage::Manifest,
        wal_at: Option<(String, u64)>,
    ) -> Mutex<Follower> {
        Mutex::new(Follower {
            manifest,
            wal_at,
            checked: None,
            last_error: None,
            sync_error: None,
        })
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("root", &self.dir.root())
            .finish_non_exhaustive()
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

impl Drop for Shared {
    /// Closing syncs what the durability policy left unsynced (best effort).
    fn drop(&mut self) {
        if let Some(writer) = self.writer.get_mut().as_mut() {
            writer.sync_wal();
        }
    }
}
