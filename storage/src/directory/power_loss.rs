//! A directory that can lose power: it passes every operation through to a real
//! folder and keeps a model of what the disk holds durably, under the rules the
//! engine's durability protocol assumes (POSIX with a careful reading):
//!
//! - a file's bytes are durable up to its length at its last `sync`;
//! - a name (create, rename, remove) is durable at the next `sync_dir`;
//! - a truncation shortens the durable bytes at once (pessimistic: the cut-off tail
//!   might survive on a real disk, and recovery must cope either way).
//!
//! `cut_power_after(n)` makes the `n`th mutating operation from then on, and every one
//! after it, fail as a dead machine would; [`PowerLossDirectory::lose_power`] then
//! rewrites the real folder to the durable state alone (every byte not yet fsynced
//! dropped), ready to be reopened by an ordinary directory.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use parking_lot::Mutex;

use super::{Directory, MappedBytes, WriteFile};
use crate::{Error, Result};

/// One file's contents as written, and how much of it is durable.
#[derive(Debug, Default)]
struct FileModel {
    data: Vec<u8>,
    synced: usize,
}

#[derive(Debug, Default)]
struct Model {
    files: Vec<FileModel>,
    /// Names as the running program sees them: name → file.
    current: HashMap<String, usize>,
    /// Names as the disk holds them durably.
    durable: HashMap<String, usize>,
    /// Mutating operations so far, and the one that fails first (`None`: power on).
    ops: u64,
    cut_at: Option<u64>,
}

impl Model {
    /// Counts one mutating operation; an error once the power is cut.
    fn op(&mut self, root: &Path) -> Result<()> {
        self.ops += 1;
        match self.cut_at {
            Some(at) if self.ops >= at => Err(Error::io(
                root,
                std::io::Error::other("simulated power loss"),
            )),
            _ => Ok(()),
        }
    }

    fn new_file(&mut self, name: &str) -> usize {
        self.files.push(FileModel::default());
        let id = self.files.len() - 1;
        self.current.insert(name.to_string(), id);
        id
    }
}

/// See the module documentation.
#[derive(Debug, Clone)]
pub struct PowerLossDirectory {
    inner: Arc<dyn Directory>,
    model: Arc<Mutex<Model>>,
}

impl PowerLossDirectory {
    /// Wraps `inner`, whose files (if any) are taken as durable.
    pub fn new(inner: Arc<dyn Directory>) -> Result<Self> {
        let mut model = Model::default();
        for name in inner.list()? {
            let data = inner.read(&name)?;
            let id = model.new_file(&name);
            model.files[id].synced = data.len();
            model.files[id].data = data;
        }
        model.durable = model.current.clone();
        Ok(PowerLossDirectory {
            inner,
            model: Arc::new(Mutex::new(model)),
        })
    }

    /// Mutating operations (create, write, sync, truncate, rename, remove, directory
    /// sync) so far.
    pub fn ops(&self) -> u64 {
        self.model.lock().ops
    }

    /// The `n`th mutating operation from now (1-based) and all later ones fail.
    pub fn cut_power_after(&self, n: u64) {
        let mut m = self.model.lock();
        m.cut_at = Some(m.ops + n.max(1));
    }

    /// Whether an operation has failed for the lost power.
    pub fn power_lost(&self) -> bool {
        let m = self.model.lock();
        m.cut_at.is_some_and(|at| m.ops >= at)
    }

    /// Rewrites the real folder to the durable state: every file removed, then each
    /// durable name written with its durable bytes. Call once nothing uses the
    /// folder any more (the database dropped).
    pub fn lose_power(&self) -> Result<()> {
        let m = self.model.lock();
        for name in self.inner.list()? {
            self.inner.remove(&name)?;
        }
        for (name, &id) in &m.durable {
            let file = &m.files[id];
            let mut out = self.inner.create(name)?;
            out.write_all(&file.data[..file.synced])?;
            out.sync()?;
        }
        self.inner.sync_dir()
    }
}

#[derive(Debug)]
struct PowerLossFile {
    inner: Box<dyn WriteFile>,
    model: Arc<Mutex<Model>>,
    id: usize,
    root: std::path::PathBuf,
}

impl WriteFile for PowerLossFile {
    fn write_all(&mut self, data: &[u8]) -> Result<()> {
        let mut m = self.model.lock();
        m.op(&self.root)?;
        self.inner.write_all(data)?;
        m.files[self.id].data.extend_from_slice(data);
        Ok(())
    }

    fn sync(&mut self) -> Result<()> {
        let mut m = self.model.lock();
        m.op(&self.root)?;
        self.inner.sync()?;
        let f = &mut m.files[self.id];
        f.synced = f.data.len();
        Ok(())
    }

    fn truncate(&mut self, len: u64) -> Result<()> {
        let mut m = self.model.lock();
        m.op(&self.root)?;
        self.inner.truncate(len)?;
        let f = &mut m.files[self.id];
        let len = usize::try_from(len).unwrap_or(usize::MAX).min(f.data.len());
        f.data.truncate(len);
        f.synced = f.synced.min(len);
        Ok(())
    }
}

impl Directory for PowerLossDirectory {
    fn root(&self) -> &Path {
        self.inner.root()
    }

    fn create(&self, name: &str) -> Result<Box<dyn WriteFile>> {
        let mut m = self.model.lock();
        m.op(self.root())?;
        let inner = self.inner.create(name)?;
        let id = m.new_file(name);
        Ok(Box::new(PowerLossFile {
            inner,
            model: self.model.clone(),
            id,
            root: self.root().to_path_buf(),
        }))
    }

    fn open_append(&self, name: &str) -> Result<Box<dyn WriteFile>> {
        let mut m = self.model.lock();
        m.op(self.root())?;
        let inner = self.inner.open_append(name)?;
        let id = match m.current.get(name) {
            Some(&id) => id,
            None => m.new_file(name),
        };
        Ok(Box::new(PowerLossFile {
            inner,
            model: self.model.clone(),
            id,
            root: self.root().to_path_buf(),
        }))
    }

    fn read(&self, name: &str) -> Result<Vec<u8>> {
        self.inner.read(name)
    }

    fn map(&self, name: &str) -> Result<MappedBytes> {
        self.inner.map(name)
    }

    fn rename(&self, from: &str, to: &str) -> Result<()> {
        let mut m = self.model.lock();
        m.op(self.root())?;
        self.inner.rename(from, to)?;
        if let Some(id) = m.current.remove(from) {
            m.current.insert(to.to_string(), id);
        }
        Ok(())
    }

    fn remove(&self, name: &str) -> Result<()> {
        let mut m = self.model.lock();
        m.op(self.root())?;
        self.inner.remove(name)?;
        m.current.remove(name);
        Ok(())
    }

    fn exists(&self, name: &str) -> bool {
        self.inner.exists(name)
    }

    fn list(&self) -> Result<Vec<String>> {
        self.inner.list()
    }

    fn sync_dir(&self) -> Result<()> {
        let mut m = self.model.lock();
        m.op(self.root())?;
        self.inner.sync_dir()?;
        m.durable = m.current.clone();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FsDirectory;

    fn fresh() -> (tempfile::TempDir, PowerLossDirectory) {
        let tmp = tempfile::tempdir().unwrap();
        let fs = Arc::new(FsDirectory::open(tmp.path()).unwrap());
        (tmp, PowerLossDirectory::new(fs).unwrap())
    }

    #[test]
    fn only_synced_bytes_and_names_survive() {
        let (_tmp, dir) = fresh();
        let mut a = dir.create("a").unwrap();
        a.write_all(b"durable").unwrap();
        a.sync().unwrap();
        a.write_all(b" lost").unwrap();
        dir.sync_dir().unwrap();
        let mut b = dir.create("b").unwrap(); // synced, but its name never is
        b.write_all(b"x").unwrap();
        b.sync().unwrap();
        dir.rename("a", "c").unwrap(); // not durable either
        dir.lose_power().unwrap();
        let mut names = dir.inner.list().unwrap();
        names.sort();
        assert_eq!(names, ["a"]);
        assert_eq!(dir.inner.read("a").unwrap(), b"durable");
    }

    #[test]
    fn the_cut_operation_and_all_later_ones_fail() {
        let (_tmp, dir) = fresh();
        let mut a = dir.create("a").unwrap();
        dir.cut_power_after(2);
        a.write_all(b"1").unwrap();
        assert!(!dir.power_lost());
        assert!(a.sync().is_err());
        assert!(dir.power_lost());
        assert!(dir.sync_dir().is_err() && dir.create("b").is_err());
        dir.lose_power().unwrap();
        assert!(
            dir.inner.list().unwrap().is_empty(),
            "the name 'a' was never synced"
        );
    }
}
