//! A full disk: a directory that holds only so many bytes answers writes past that
//! with ENOSPC (writing the part that fits, as a real disk does). Commits and flushes
//! fail with a typed I/O error naming the file and the cause, the handle never
//! panics, and the database reopens holding every acknowledged batch (the failed one
//! whole or not at all); given room again, it takes new commits.

use crate::support::hooked_dir;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use hooked_dir::{FileHook, HookedDir};
use quiver::{
    Database, Error, FsDirectory, Item, Metric, OpenOptions, Schema, WriteBatch, WriteFile,
};

/// A byte budget shared by every file written through the directory.
#[derive(Debug)]
struct Budget {
    free: Arc<AtomicI64>,
}

#[derive(Debug)]
struct SmallFile {
    inner: Box<dyn WriteFile>,
    free: Arc<AtomicI64>,
    path: std::path::PathBuf,
}

impl WriteFile for SmallFile {
    fn write_all(&mut self, data: &[u8]) -> quiver::Result<()> {
        let left = self.free.fetch_sub(data.len() as i64, Ordering::SeqCst);
        if left < data.len() as i64 {
            let fits = left.max(0) as usize;
            self.free.store(0, Ordering::SeqCst);
            self.inner.write_all(&data[..fits])?;
            return Err(Error::Io {
                path: self.path.clone(),
                source: std::io::Error::from_raw_os_error(28), // ENOSPC
            });
        }
        self.inner.write_all(data)
    }
    fn sync(&mut self) -> quiver::Result<()> {
        self.inner.sync()
    }
    fn truncate(&mut self, len: u64) -> quiver::Result<()> {
        self.inner.truncate(len)
    }
}

impl FileHook for Budget {
    fn wrap(&self, path: std::path::PathBuf, inner: Box<dyn WriteFile>) -> Box<dyn WriteFile> {
        Box::new(SmallFile {
            inner,
            free: self.free.clone(),
            path,
        })
    }
}

fn batch(b: usize) -> WriteBatch {
    let mut w = WriteBatch::new();
    for i in 0..16 {
        w.insert(Item::new(format!("{b:05}-{i:02}")).set("v", vec![b as f32; 32]));
    }
    w
}

fn is_enospc(e: &Error) -> bool {
    matches!(e, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::StorageFull)
}

#[test]
fn a_full_disk_is_a_typed_error_and_loses_nothing_acknowledged() {
    for budget in [40_000i64, 90_000, 150_000, 400_000] {
        let tmp = tempfile::tempdir().unwrap();
        let free = Arc::new(AtomicI64::new(budget));
        let disk = Arc::new(HookedDir {
            inner: FsDirectory::open(tmp.path()).unwrap(),
            hook: Budget { free: free.clone() },
        });
        let db = Database::open_in(disk, OpenOptions::new()).unwrap();
        let schema = Schema::builder()
            .vector("v", 32, Metric::L2)
            .build()
            .unwrap();
        let c = db.create_collection("c", schema).unwrap();
        let mut acknowledged = 0;
        let mut failure = None;
        for b in 0..1000 {
            let result = c
                .commit(batch(b))
                .map(drop)
                .and_then(|()| if b % 10 == 9 { c.flush() } else { Ok(()) });
            match result {
                Ok(()) => acknowledged = b + 1,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        let failure = failure.unwrap_or_else(|| panic!("budget {budget}: the disk never filled"));
        // The first failure is the disk's own error; a later call may instead report
        // that the handle stopped writing after it (typed, never a panic).
        assert!(is_enospc(&failure), "budget {budget}: {failure:?}");
        // The cause is the error's source (`{:#}` in anyhow, Python's message).
        let cause = std::error::Error::source(&failure).map(ToString::to_string);
        assert!(
            cause
                .as_deref()
                .is_some_and(|c| c.contains("No space left on device")),
            "{failure}: {cause:?}"
        );
        free.store(1 << 30, Ordering::SeqCst);
        let after = c.commit(batch(5000));
        assert!(
            after.is_ok() || matches!(after, Err(Error::Poisoned { .. })),
            "budget {budget}: {after:?}"
        );
        drop(c);
        drop(db);

        let db = Database::open(tmp.path()).unwrap();
        let c = db.collection("c").unwrap();
        let snap = c.snapshot().unwrap();
        for b in 0..acknowledged {
            for i in 0..16 {
                assert!(
                    snap.get(&format!("{b:05}-{i:02}")).unwrap().is_some(),
                    "budget {budget}: batch {b} lost"
                );
            }
        }
        let n = snap.count() as usize;
        assert_eq!(
            n % 16,
            0,
            "budget {budget}: a partial batch after reopening"
        );
        assert!(
            n >= acknowledged * 16 && n <= (acknowledged + 2) * 16,
            "budget {budget}: {n} items"
        );
        c.commit(batch(9000)).unwrap();
        eprintln!("budget {budget}: {acknowledged} batches acknowledged before ENOSPC: {failure}");
    }
}
