//! A directory that fails on purpose: the Nth write, fsync or rename (counted from 1
//! across the whole directory) returns an I/O error, and so does every later one of that
//! kind while `sticky` is set. A failed write first writes half of its bytes, as a real
//! short write on a full disk would, so torn records get exercised too.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{Directory, MappedBytes, WriteFile};
use crate::error::{Error, Result};

/// Which operation to fail.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FaultKind {
    Write,
    Sync,
    Rename,
}

#[derive(Debug)]
struct Plan {
    kind: FaultKind,
    fail_at: u64,
    sticky: bool,
    count: AtomicU64,
    failures: AtomicU64,
}

impl Plan {
    /// Counts one operation of `kind`; true when it must fail.
    fn should_fail(&self, kind: FaultKind) -> bool {
        if kind != self.kind {
            return false;
        }
        let n = self.count.fetch_add(1, Ordering::SeqCst) + 1;
        let fail = n == self.fail_at || (self.sticky && n > self.fail_at);
        if fail {
            self.failures.fetch_add(1, Ordering::SeqCst);
        }
        fail
    }
}

fn injected(path: &Path, kind: FaultKind) -> Error {
    Error::io(
        path,
        std::io::Error::other(format!("injected {kind:?} failure")),
    )
}

/// Wraps a directory and fails one planned operation.
#[derive(Debug, Clone)]
pub struct FaultyDirectory {
    inner: Arc<dyn Directory>,
    plan: Arc<Plan>,
}

impl FaultyDirectory {
    /// Fails the `n`th (1-based) operation of `kind`, and all later ones if `sticky`.
    pub fn new(inner: Arc<dyn Directory>, kind: FaultKind, n: u64, sticky: bool) -> Self {
        FaultyDirectory {
            inner,
            plan: Arc::new(Plan {
                kind,
                fail_at: n,
                sticky,
                count: AtomicU64::new(0),
                failures: AtomicU64::new(0),
            }),
        }
    }

    /// How many operations of the planned kind were attempted so far.
    pub fn attempts(&self) -> u64 {
        self.plan.count.load(Ordering::SeqCst)
    }

    /// How many injected failures fired.
    pub fn failures(&self) -> u64 {
        self.plan.failures.load(Ordering::SeqCst)
    }
}

#[derive(Debug)]
struct FaultyFile {
    inner: Box<dyn WriteFile>,
    plan: Arc<Plan>,
    path: std::path::PathBuf,
}

impl WriteFile for FaultyFile {
    fn write_all(&mut self, data: &[u8]) -> Result<()> {
        if self.plan.should_fail(FaultKind::Write) {
            self.inner.write_all(&data[..data.len() / 2])?;
            return Err(injected(&self.path, FaultKind::Write));
        }
        self.inner.write_all(data)
    }

    fn sync(&mut self) -> Result<()> {
        if self.plan.should_fail(FaultKind::Sync) {
            return Err(injected(&self.path, FaultKind::Sync));
        }
        self.inner.sync()
    }

    fn truncate(&mut self, len: u64) -> Result<()> {
        self.inner.truncate(len)
    }
}

impl Directory for FaultyDirectory {
    fn root(&self) -> &Path {
        self.inner.root()
    }

    fn create(&self, name: &str) -> Result<Box<dyn WriteFile>> {
        let inner = self.inner.create(name)?;
        Ok(Box::new(FaultyFile {
            inner,
            plan: self.plan.clone(),
            path: self.path_of(name),
        }))
    }

    fn open_append(&self, name: &str) -> Result<Box<dyn WriteFile>> {
        let inner = self.inner.open_append(name)?;
        Ok(Box::new(FaultyFile {
            inner,
            plan: self.plan.clone(),
            path: self.path_of(name),
        }))
    }

    fn read(&self, name: &str) -> Result<Vec<u8>> {
        self.inner.read(name)
    }

    fn map(&self, name: &str) -> Result<MappedBytes> {
        self.inner.map(name)
    }

    fn rename(&self, from: &str, to: &str) -> Result<()> {
        if self.plan.should_fail(FaultKind::Rename) {
            return Err(injected(&self.path_of(from), FaultKind::Rename));
        }
        self.inner.rename(from, to)
    }

    fn remove(&self, name: &str) -> Result<()> {
        self.inner.remove(name)
    }

    fn exists(&self, name: &str) -> bool {
        self.inner.exists(name)
    }

    fn list(&self) -> Result<Vec<String>> {
        self.inner.list()
    }

    fn sync_dir(&self) -> Result<()> {
        if self.plan.should_fail(FaultKind::Sync) {
            return Err(injected(self.root(), FaultKind::Sync));
        }
        self.inner.sync_dir()
    }
}
