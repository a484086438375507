//! The real directory: files in one folder of the local file system.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::{Directory, MappedBytes, WriteFile};
use crate::error::{Error, Result};

/// A folder on the local file system.
#[derive(Debug, Clone)]
pub struct FsDirectory {
    root: PathBuf,
}

impl FsDirectory {
    /// Opens (creating if needed) the folder.
    pub fn open(root: impl AsRef<Path>) -> Result<Self> {
        let root = root.as_ref().to_path_buf();
        std::fs::create_dir_all(&root).map_err(|e| Error::io(&root, e))?;
        Ok(FsDirectory { root })
    }

    /// Opens an existing folder without creating anything.
    pub fn open_existing(root: impl AsRef<Path>) -> Result<Self> {
        let root = root.as_ref().to_path_buf();
        match std::fs::metadata(&root) {
            Ok(m) if m.is_dir() => Ok(FsDirectory { root }),
            Ok(_) => Err(Error::InvalidArgument(format!(
                "{} is not a directory",
                root.display()
            ))),
            Err(e) => Err(Error::io(&root, e)),
        }
    }
}

#[derive(Debug)]
struct FsFile {
    file: File,
    path: PathBuf,
}

impl WriteFile for FsFile {
    fn write_all(&mut self, data: &[u8]) -> Result<()> {
        self.file
            .write_all(data)
            .map_err(|e| Error::io(&self.path, e))
    }

    fn sync(&mut self) -> Result<()> {
        self.file.sync_data().map_err(|e| Error::io(&self.path, e))
    }

    fn truncate(&mut self, len: u64) -> Result<()> {
        self.file
            .set_len(len)
            .and_then(|_| self.file.seek(SeekFrom::Start(len)).map(|_| ()))
            .map_err(|e| Error::io(&self.path, e))
    }
}

impl Directory for FsDirectory {
    fn root(&self) -> &Path {
        &self.root
    }

    fn create(&self, name: &str) -> Result<Box<dyn WriteFile>> {
        let path = self.path_of(name);
        let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        Ok(Box::new(FsFile { file, path }))
    }

    fn open_append(&self, name: &str) -> Result<Box<dyn WriteFile>> {
        let path = self.path_of(name);
        let mut file = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        file.seek(SeekFrom::End(0))
            .map_err(|e| Error::io(&path, e))?;
        Ok(Box::new(FsFile { file, path }))
    }

    fn read(&self, name: &str) -> Result<Vec<u8>> {
        let path = self.path_of(name);
        std::fs::read(&path).map_err(|e| Error::io(&path, e))
    }

    fn read_from(&self, name: &str, offset: u64) -> Result<Vec<u8>> {
        use std::io::{Read, Seek, SeekFrom};
        let path = self.path_of(name);
        let mut file = File::open(&path).map_err(|e| Error::io(&path, e))?;
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| Error::io(&path, e))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| Error::io(&path, e))?;
        Ok(bytes)
    }

    fn map(&self, name: &str) -> Result<MappedBytes> {
        let path = self.path_of(name);
        let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
        MappedBytes::map_file(&file).map_err(|e| Error::io(&path, e))
    }

    fn rename(&self, from: &str, to: &str) -> Result<()> {
        let from = self.path_of(from);
        std::fs::rename(&from, self.path_of(to)).map_err(|e| Error::io(&from, e))
    }

    fn remove(&self, name: &str) -> Result<()> {
        let path = self.path_of(name);
        std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))
    }

    fn exists(&self, name: &str) -> bool {
        self.path_of(name).exists()
    }

    fn list(&self) -> Result<Vec<String>> {
        let entries = std::fs::read_dir(&self.root).map_err(|e| Error::io(&self.root, e))?;
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&self.root, e))?;
            if let Ok(name) = entry.file_name().into_string() {
                names.push(name);
            }
        }
        Ok(names)
    }

    fn sync_dir(&self) -> Result<()> {
        File::open(&self.root)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(&self.root, e))
    }
}
