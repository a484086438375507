//! Read-only databases that follow their writer (another process, or another handle
//! in this one): each snapshot, at most every [`OpenOptions::refresh_every`], picks
//! up what the writer committed since — new manifests (flushes, compactions, schema
//! changes, index builds), and the records appended to the WAL, replayed
//! incrementally from where the last refresh stopped.
//!
//! The protocol, optimistic and lock-free (the reader never writes to the folder):
//! 1. read the MANIFEST;
//! 2. if it is the one the published state was built from, read the WAL from where the
//!    last refresh stopped (the newest file from its last record boundary, then any
//!    newer files) and replay the new records; otherwise rebuild: map the segments it
//!    names (re-using the mapped segments the state already holds) and replay every
//!    WAL record newer than each collection's flushed LSN;
//! 3. read the MANIFEST again: publish only if it is unchanged; otherwise start over
//!    (a few times; then keep serving the previous state until the next refresh).
//!
//! Why this is enough: the writer publishes a file before the manifest that names it,
//! and deletes a segment, tombstone or WAL file only after storing a manifest that no
//! longer needs it. So while the manifest stays the same, every file it names and every
//! WAL record after its flushed LSNs is there; a file that vanishes mid-refresh means a
//! newer manifest, and step 3 catches that. Segments are mapped and the WAL is read
//! into memory, so a file deleted after this reader opened it stays readable. A record
//! being appended is seen as a torn tail and left for the next refresh, so a reader
//! never shows half a batch; a killed writer leaves the same torn tail.

use std::sync::Arc;
use std::time::Instant;

use quiver_storage::wal::{WAL_HEADER_LEN, read_wal_file, read_wal_tail};
use quiver_storage::{Directory, Error, Lsn, Manifest, Result};

use crate::options::OpenOptions;
use crate::recovery::{apply_records, list_wal_files, open_collections};
use crate::shared::{Follower, Shared};
use crate::state::DbState;

/// Rebuilds tried in one refresh before it gives up until the next.
const ATTEMPTS: usize = 5;

impl Shared {
    /// For a following reader: the writer's commits since the last refresh, when
    /// `refresh_every` has passed (always, with `force`). Returns whether the state
    /// changed. A failure keeps the previous state.
    pub(crate) fn follow(&self, force: bool) -> Result<bool> {
        let Some(follower) = &self.follower else {
            return Ok(false);
        };
        let mut f = follower.lock();
        let due = f
            .checked
            .is_none_or(|at| at.elapsed() >= self.options.refresh_every);
        if !force && !due {
            return Ok(false);
        }
        f.checked = Some(Instant::now());
        let result = self.refresh(&mut f);
        f.last_error = result.as_ref().err().map(|e| e.to_string());
        result
    }

    fn refresh(&self, f: &mut Follower) -> Result<bool> {
        let dir = self.dir.as_ref();
        for _ in 0..ATTEMPTS {
            let Some(manifest) = Manifest::load(dir)? else {
                return Err(Error::InvalidArgument(format!(
                    "{}: the MANIFEST is gone",
                    dir.root().display()
                )));
            };
            let current = self.state.read().clone();
            let attempt = match manifest == f.manifest {
                true => tail(dir, &current, f.wal_at.clone()),
                false => rebuild(dir, &manifest, &self.options, &current),
            };
            let (next, wal_at) = match attempt {
                Ok(done) => done,
                // A file gone mid-read: a newer manifest exists; start over.
                Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                    continue;
                }
                Err(e) => return Err(e),
            };
            if Manifest::load(dir)?.as_ref() != Some(&manifest) {
                continue;
            }
            let changed = next.is_some();
            if let Some(next) = next {
                *self.state.write() = Arc::new(next);
            }
            f.manifest = manifest;
            f.wal_at = wal_at;
            return Ok(changed);
        }
        Err(Error::InvalidArgument(format!(
            "{}: the writer changed the manifest during {ATTEMPTS} refreshes in a row; serving the previous state",
            dir.root().display()
        )))
    }
}

/// What a refresh read: the new state (`None`: nothing new) and the WAL position.
type Refreshed = (Option<DbState>, Option<(String, u64)>);

/// The records appended since `wal_at` (the newest file read, and where), replayed
/// onto `current`.
fn tail(
    dir: &dyn Directory,
    current: &DbState,
    wal_at: Option<(String, u64)>,
) -> Result<Refreshed> {
    let files = list_wal_files(dir)?;
    let from = match &wal_at {
        Some((name, _)) => match files.iter().position(|(_, n)| n == name) {
            Some(at) => at,
            // Retired: the writer flushed, so a newer manifest exists.
            None => {
                return Err(Error::Io {
                    path: dir.path_of(name),
                    source: std::io::ErrorKind::NotFound.into(),
                });
            }
        },
        None => 0,
    };
    let mut state: Option<DbState> = None;
    let mut position = wal_at.clone();
    let by_id = current
        .collections
        .values()
        .map(|c| (c.id, c.name.clone()))
        .collect();
    for (_, name) in &files[from..] {
        let path = dir.path_of(name);
        let after = state.as_ref().unwrap_or(current).last_lsn;
        let file = match &wal_at {
            // Where the last refresh stopped: only the bytes appended since are read.
            Some((at, offset)) if at == name && *offset >= WAL_HEADER_LEN as u64 => {
                read_wal_tail(path, dir.read_from(name, *offset)?, *offset, after)?
            }
            _ => read_wal_file(path, dir.read(name)?, after)?,
        };
        if file.records.is_empty() {
            if file.valid_len > 0 {
                position = Some((name.clone(), file.valid_len));
            }
            continue;
        }
        let next = state.get_or_insert_with(|| current.clone());
        apply_records(next, &by_id, &file)?;
        position = Some((name.clone(), file.valid_len));
    }
    let changed = state
        .as_ref()
        .is_some_and(|s| s.last_lsn != current.last_lsn);
    Ok((state.filter(|_| changed), position))
}

/// The state of `manifest`, re-using `current`'s mapped segments, with every WAL
/// record newer than each collection's flushed LSN replayed.
fn rebuild(
    dir: &dyn Directory,
    manifest: &Manifest,
    options: &OpenOptions,
    current: &DbState,
) -> Result<Refreshed> {
    let (mut state, by_id) = open_collections(dir, manifest, options, Some(current))?;
    let mut position = None;
    let mut last = Lsn(0);
    for (_, name) in list_wal_files(dir)? {
        let bytes = dir.read(&name)?;
        let file = read_wal_file(dir.path_of(&name), bytes, last)?;
        last = apply_records(&mut state, &by_id, &file)?.max(last);
        position = Some((name, file.valid_len));
    }
    state.last_lsn = last.max(manifest.last_lsn);
    Ok((Some(state), position))
}

impl Shared {
    /// A database served from object storage: brings the cache folder to the newest
    /// published version (`remote/cache.rs`), then follows it, holding the cache's
    /// lock so its files stay until mapped. A failure keeps the version served, and
    /// is remembered. Any other read-only database just follows.
    pub(crate) fn refresh_remote(&self) -> Result<bool> {
        let Some(remote) = &self.remote else {
            return self.follow(true);
        };
        let synced = remote.sync(self.dir.root(), self.options.remote.cache_bytes);
        if let Some(follower) = &self.follower {
            follower.lock().sync_error = synced.as_ref().err().map(|e| e.to_string());
        }
        let _held = synced?;
        self.follow(true)
    }
}

/// Refreshes a served database every `every` until it is dropped.
pub(crate) fn spawn_poll(shared: std::sync::Weak<Shared>, every: std::time::Duration) {
    let spawned = std::thread::Builder::new()
        .name("quiver-remote-poll".into())
        .spawn(move || {
            loop {
                std::thread::sleep(every);
                let Some(shared) = shared.upgrade() else {
                    return;
                };
                let _ = shared.refresh_remote();
            }
        });
    // Without the thread, `Database::refresh` still moves to newer versions.
    drop(spawned);
}
