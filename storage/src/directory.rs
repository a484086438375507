//! Where bytes live. [`Directory`] is a flat namespace of files (the database folder);
//! [`FsDirectory`] is the real one and [`FaultyDirectory`] wraps any directory to fail
//! the Nth write, fsync or rename, for fault-injection tests.
//!
//! Publication protocol used by every durable file except the WAL: write a temporary
//! name, fsync it, rename over the final name, fsync the directory.

mod faulty;
mod fs;
mod mmap;
mod power_loss;

use std::path::{Path, PathBuf};

pub use faulty::{FaultKind, FaultyDirectory};
pub use fs::FsDirectory;
pub use mmap::MappedBytes;
pub use power_loss::PowerLossDirectory;

use crate::error::Result;

/// A file open for writing.
pub trait WriteFile: Send + std::fmt::Debug {
    /// Appends all of `data` at the current end.
    fn write_all(&mut self, data: &[u8]) -> Result<()>;
    /// Makes everything written so far durable (fdatasync).
    fn sync(&mut self) -> Result<()>;
    /// Cuts the file to `len` bytes; later writes append from there.
    fn truncate(&mut self, len: u64) -> Result<()>;
}

/// A flat folder of named files.
pub trait Directory: Send + Sync + std::fmt::Debug {
    /// The folder, for messages and for the lock file.
    fn root(&self) -> &Path;
    /// Creates (or truncates) a file for writing.
    fn create(&self, name: &str) -> Result<Box<dyn WriteFile>>;
    /// Opens an existing file for appending.
    fn open_append(&self, name: &str) -> Result<Box<dyn WriteFile>>;
    /// Reads a whole (small) file.
    fn read(&self, name: &str) -> Result<Vec<u8>>;
    /// Reads a file from byte `offset` to its end (empty past the end): the new part
    /// of a file another process appends to.
    fn read_from(&self, name: &str, offset: u64) -> Result<Vec<u8>> {
        let mut all = self.read(name)?;
        let at = usize::try_from(offset).unwrap_or(usize::MAX).min(all.len());
        Ok(all.split_off(at))
    }
    /// Maps a whole immutable file read-only.
    fn map(&self, name: &str) -> Result<MappedBytes>;
    /// Atomically renames `from` over `to`.
    fn rename(&self, from: &str, to: &str) -> Result<()>;
    fn remove(&self, name: &str) -> Result<()>;
    fn exists(&self, name: &str) -> bool;
    /// Names of all files, unordered.
    fn list(&self) -> Result<Vec<String>>;
    /// Makes creations, renames and removals durable.
    fn sync_dir(&self) -> Result<()>;

    /// Full path of a file, for error messages.
    fn path_of(&self, name: &str) -> PathBuf {
        self.root().join(name)
    }
}

/// Writes `data` under `name` atomically and durably: temp file, fsync, rename, fsync dir.
pub fn publish(dir: &dyn Directory, name: &str, data: &[u8]) -> Result<()> {
    let tmp = format!("{name}.tmp");
    let mut f = dir.create(&tmp)?;
    f.write_all(data)?;
    f.sync()?;
    drop(f);
    dir.rename(&tmp, name)?;
    dir.sync_dir()
}
