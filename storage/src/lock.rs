//! The writer lock: an exclusive advisory lock on `LOCK` inside the database folder,
//! held for as long as a writable database is open. Read-only opens take no lock.
//! Also a waiting lock for other folders (an object-storage cache's syncs).

use std::fs::{File, TryLockError};
use std::path::Path;

use crate::error::{Error, Result};

/// Name of the lock file inside the database folder.
pub const LOCK_FILE: &str = "LOCK";

/// Held while a writer has the database open; released on drop.
#[derive(Debug)]
pub struct WriterLock {
    _file: File,
}

impl WriterLock {
    /// Takes the lock or fails at once with [`Error::Locked`].
    pub fn acquire(root: &Path) -> Result<Self> {
        let (file, path) = lock_file(root, LOCK_FILE)?;
        match file.try_lock() {
            Ok(()) => Ok(WriterLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(Error::Locked {
                path: root.to_path_buf(),
            }),
            Err(TryLockError::Error(e)) => Err(Error::io(&path, e)),
        }
    }
}

/// Waits until this handle holds an exclusive lock on `root/name` (created if
/// missing); released when the file is dropped.
pub fn wait_for_lock(root: &Path, name: &str) -> Result<File> {
    let (file, path) = lock_file(root, name)?;
    file.lock().map_err(|e| Error::io(&path, e))?;
    Ok(file)
}

fn lock_file(root: &Path, name: &str) -> Result<(File, std::path::PathBuf)> {
    let path = root.join(name);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    Ok((file, path))
}
