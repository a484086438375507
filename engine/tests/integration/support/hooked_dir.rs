//! A real folder whose written files pass through a test's hook (a delay, a byte
//! budget): the `Directory` plumbing written once for the tests that need one.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use quiver::{Directory, FsDirectory, MappedBytes, WriteFile};

/// Wraps each file opened for writing.
pub trait FileHook: Send + Sync + std::fmt::Debug {
    fn wrap(&self, path: PathBuf, file: Box<dyn WriteFile>) -> Box<dyn WriteFile>;
}

/// `inner` with every created or appended file wrapped by `hook`.
#[derive(Debug)]
pub struct HookedDir<H> {
    pub inner: FsDirectory,
    pub hook: H,
}

impl<H: FileHook> Directory for HookedDir<H> {
    fn root(&self) -> &Path {
        self.inner.root()
    }
    fn create(&self, name: &str) -> quiver::Result<Box<dyn WriteFile>> {
        Ok(self.hook.wrap(self.path_of(name), self.inner.create(name)?))
    }
    fn open_append(&self, name: &str) -> quiver::Result<Box<dyn WriteFile>> {
        Ok(self
            .hook
            .wrap(self.path_of(name), self.inner.open_append(name)?))
    }
    fn read(&self, name: &str) -> quiver::Result<Vec<u8>> {
        self.inner.read(name)
    }
    fn map(&self, name: &str) -> quiver::Result<MappedBytes> {
        self.inner.map(name)
    }
    fn rename(&self, from: &str, to: &str) -> quiver::Result<()> {
        self.inner.rename(from, to)
    }
    fn remove(&self, name: &str) -> quiver::Result<()> {
        self.inner.remove(name)
    }
    fn exists(&self, name: &str) -> bool {
        self.inner.exists(name)
    }
    fn list(&self) -> quiver::Result<Vec<String>> {
        self.inner.list()
    }
    fn sync_dir(&self) -> quiver::Result<()> {
        self.inner.sync_dir()
    }
}
