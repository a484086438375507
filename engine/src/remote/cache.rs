//! The local cache a database served from object storage is mapped from. A sync
//! brings the folder to the newest published version: it downloads that version's
//! manifest and the files it names that the folder lacks (streamed to a temporary
//! name, renamed when complete), verifies every new segment's checksums once (a
//! `.verified` marker remembers it), writes the MANIFEST last, then removes the files
//! no longer named. Between syncs the database follows its MANIFEST like any reader
//! (`follow.rs`), so processes sharing one cache folder all move to what one of them
//! fetched.
//!
//! Invariants: a sync holds an exclusive lock on `CACHE-LOCK` in the folder (so two
//! processes never download into one folder at once); a MANIFEST is written only
//! once every file it names is there and verified, so a served version is never a
//! mix of two; with a bound, the folder never holds more than the bound: the files of
//! the version being replaced are removed first when both do not fit (readers still
//! mapping them keep them until they move on), and a version that cannot fit alone
//! is refused with `Error::CacheFull` before anything is downloaded.

use std::path::{Path as FsPath, PathBuf};

use futures_util::StreamExt;
use object_store::ObjectStoreExt;
use object_store::path::Path;
use quiver_storage::manifest::MANIFEST_FILE;
use quiver_storage::segment::segment_file_name;
use quiver_storage::{Directory, Error, FsDirectory, Manifest, Result, Segment};

use super::{Remote, files_of, remote_error, runtime};

/// Held (flock) while a sync changes the folder.
const LOCK: &str = "CACHE-LOCK";
/// Beside a segment whose checksums were verified after download.
const VERIFIED: &str = ".verified";
/// Downloads read objects in ranges of this size, this many at once (small in debug
/// builds, so that the tests' segments take many ranges).
const RANGE_BYTES: u64 = if cfg!(debug_assertions) {
    64 << 10
} else {
    32 << 20
};
const RANGES_IN_FLIGHT: usize = 4;

/// The default cache folder of `url` (see `RemoteOptions::cache_dir`). The URL's
/// path only adds plain names below the root (no `..`).
pub(crate) fn default_cache_dir(url: &str) -> PathBuf {
    let env = |name| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let root = env("QUIVER_CACHE_DIR")
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("quiver/remote")))
        .or_else(|| env("HOME").map(|d| d.join(".cache/quiver/remote")))
        .unwrap_or_else(|| std::env::temp_dir().join("quiver-cache/remote"));
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split('/')
        .filter(|part| !part.is_empty() && *part != "." && *part != "..")
        .fold(root, |dir, part| dir.join(part))
}

/// Bytes of the files in `dir`.
fn held(dir: &FsDirectory) -> Result<u64> {
    let mut total = 0;
    for name in dir.list()? {
        let path = dir.path_of(&name);
        total += std::fs::metadata(&path)
            .map_err(|e| Error::io(&path, e))?
            .len();
    }
    Ok(total)
}

/// Removes every file of `dir` but `keep`, the MANIFEST and the lock.
fn remove_all_but(dir: &FsDirectory, keep: &[String]) -> Result<()> {
    let keep: std::collections::HashSet<String> = keep
        .iter()
        .flat_map(|n| [n.clone(), format!("{n}{VERIFIED}")])
        .chain([MANIFEST_FILE.to_string(), LOCK.to_string()])
        .collect();
    for name in dir.list()? {
        if !keep.contains(&name) {
            let _ = dir.remove(&name);
        }
    }
    Ok(())
}

impl Remote {
    /// Brings `cache` to the newest published version, keeping it within `bound`
    /// bytes. Returns the version, and the cache's lock still held: the caller maps
    /// the version's files before dropping it, so that no other process's sync can
    /// remove them in between.
    pub fn sync(&self, cache: &FsPath, bound: Option<u64>) -> Result<(u64, std::fs::File)> {
        runtime()?.block_on(self.sync_async(cache, bound))
    }

    async fn sync_async(&self, cache: &FsPath, bound: Option<u64>) -> Result<(u64, std::fs::File)> {
        let version = self.newest().await?.ok_or_else(|| {
            Error::InvalidArgument(format!("{}: no database is published there", self.url))
        })?;
        let dir = FsDirectory::open(cache)?;
        let held = quiver_storage::lock::wait_for_lock(cache, LOCK)?;
        let key = self.version_key(version);
        let bytes = self.read_object(&key).await?;
        if dir.exists(MANIFEST_FILE) && dir.read(MANIFEST_FILE)? == bytes {
            return Ok((version, held));
        }
        let manifest = Manifest::decode(&bytes, &PathBuf::from(self.object(&key)))?;
        let wanted = files_of(&manifest);
        let missing: Vec<&String> = wanted.iter().filter(|n| !dir.exists(n)).collect();
        if let Some(limit) = bound {
            self.make_room(&dir, &wanted, &missing, limit, version)
                .await?;
        }
        for name in missing {
            self.download(&dir, name).await?;
        }
        for entry in &manifest.collections {
            for seg in &entry.segments {
                let marker = format!("{}{VERIFIED}", segment_file_name(seg.id));
                if !dir.exists(&marker) {
                    // A damaged download is removed, so the next sync fetches it again.
                    Segment::open(&dir, seg.id, &entry.schema)
                        .and_then(|segment| segment.verify())
                        .inspect_err(|_| {
                            let _ = dir.remove(&segment_file_name(seg.id));
                        })?;
                    dir.create(&marker)?;
                }
            }
        }
        quiver_storage::directory::publish(&dir, MANIFEST_FILE, &bytes)?;
        remove_all_but(&dir, &wanted)?;
        Ok((version, held))
    }

    /// Fails with `CacheFull` unless `missing` fits beside what the folder holds,
    /// after removing what `wanted` does not name when it must.
    async fn make_room(
        &self,
        dir: &FsDirectory,
        wanted: &[String],
        missing: &[&String],
        limit: u64,
        version: u64,
    ) -> Result<()> {
        let mut incoming = 0;
        for name in missing {
            let key = self.key(name);
            let meta = self
                .store
                .head(&key)
                .await
                .map_err(|e| remote_error(&self.object(&key), "checking", e))?;
            incoming += meta.size;
        }
        if held(dir)? + incoming > limit {
            remove_all_but(dir, wanted)?;
        }
        let needed = held(dir)? + incoming;
        if needed > limit {
            return Err(Error::CacheFull {
                cache: dir.root().to_path_buf(),
                what: format!("version {version} of {}", self.url),
                needed,
                limit,
            });
        }
        Ok(())
    }

    /// Copies the object `name` into `dir` under a temporary name, renamed when
    /// complete (a failure, e.g. a full disk, leaves nothing behind): ranged reads of
    /// [`RANGE_BYTES`], a few in flight, appended in order (memory stays bounded, and
    /// no single request has to carry a whole large segment).
    async fn download(&self, dir: &FsDirectory, name: &str) -> Result<()> {
        let key = self.key(name);
        let object = self.object(&key);
        let size = self
            .store
            .head(&key)
            .await
            .map_err(|e| remote_error(&object, "checking", e))?
            .size;
        let tmp = format!("{name}.{}.download", std::process::id());
        let written = async {
            let mut file = dir.create(&tmp)?;
            let ranges = (0..size)
                .step_by(RANGE_BYTES as usize)
                .map(|start| start..(start + RANGE_BYTES).min(size));
            let mut parts = futures_util::stream::iter(ranges)
                .map(|range| self.store.get_range(&key, range))
                .buffered(RANGES_IN_FLIGHT);
            while let Some(part) = parts.next().await {
                file.write_all(&part.map_err(|e| remote_error(&object, "reading", e))?)?;
            }
            file.sync()
        }
        .await;
        if let Err(e) = written {
            let _ = dir.remove(&tmp);
            return Err(e);
        }
        dir.rename(&tmp, name)
    }

    /// A small object's bytes (a manifest); errors name the object.
    async fn read_object(&self, key: &Path) -> Result<Vec<u8>> {
        let object = self.object(key);
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
