//! Appending to the WAL. A failed append is cut back off so the log never keeps half a
//! record that a later record would follow; if even that fails the caller must poison
//! the writer.

use std::sync::Arc;

use crate::directory::{Directory, WriteFile};
use crate::error::Result;
use crate::ids::Lsn;

use super::{WAL_HEADER_LEN, wal_file_name, wal_header};

/// The open, newest WAL file.
#[derive(Debug)]
pub struct WalWriter {
    dir: Arc<dyn Directory>,
    file: Box<dyn WriteFile>,
    name: String,
    len: u64,
    unsynced: bool,
}

impl WalWriter {
    /// Creates a fresh WAL file whose first record will have `first` and makes its
    /// existence durable.
    pub fn create(dir: Arc<dyn Directory>, first: Lsn) -> Result<Self> {
        let name = wal_file_name(first);
        let mut file = dir.create(&name)?;
        file.write_all(&wal_header())?;
        file.sync()?;
        dir.sync_dir()?;
        Ok(WalWriter {
            dir,
            file,
            name,
            len: WAL_HEADER_LEN as u64,
            unsynced: false,
        })
    }

    /// Reopens an existing WAL file, cutting it to `valid_len` (dropping a torn tail).
    pub fn reopen(dir: Arc<dyn Directory>, name: &str, valid_len: u64) -> Result<Self> {
        let mut file = dir.open_append(name)?;
        let len = if valid_len < WAL_HEADER_LEN as u64 {
            file.truncate(0)?;
            file.write_all(&wal_header())?;
            WAL_HEADER_LEN as u64
        } else {
            file.truncate(valid_len)?;
            valid_len
        };
        file.sync()?;
        Ok(WalWriter {
            dir,
            file,
            name: name.to_string(),
            len,
            unsynced: false,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len <= WAL_HEADER_LEN as u64
    }

    /// Appends framed records. On failure the file is cut back to its previous length;
    /// the returned error is the write's, or the truncation's if that failed too (then
    /// the log's tail is unknown and the writer must stop).
    pub fn append(&mut self, records: &[u8]) -> Result<(), AppendError> {
        match self.file.write_all(records) {
            Ok(()) => {
                self.len += records.len() as u64;
                self.unsynced = true;
                Ok(())
            }
            Err(write_err) => match self.file.truncate(self.len) {
                Ok(()) => Err(AppendError::RolledBack(write_err)),
                Err(_) => Err(AppendError::TailUnknown(write_err)),
            },
        }
    }

    /// Makes appended records durable. After a failed fsync the state of the appended
    /// bytes is unknown (they may or may not survive a crash): the caller must stop.
    pub fn sync(&mut self) -> Result<()> {
        if self.unsynced {
            self.file.sync()?;
            self.unsynced = false;
        }
        Ok(())
    }

    /// Syncs this file and starts a new one whose first record will have `first`.
    pub fn rotate(&mut self, first: Lsn) -> Result<()> {
        self.sync()?;
        *self = WalWriter::create(self.dir.clone(), first)?;
        Ok(())
    }
}

/// Why an append failed.
#[derive(Debug)]
pub enum AppendError {
    /// Nothing of the records remains in the file; the writer can go on.
    RolledBack(crate::Error),
    /// Part of the records may remain; the writer must stop.
    TailUnknown(crate::Error),
}
