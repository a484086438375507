//! The single writer's state (the WAL being appended, the WAL files, the current
//! manifest, the next LSN, whether it is poisoned) and the queue of batches waiting
//! for it; `commit.rs` runs the group commit over them, `recovery.rs` replays the WAL
//! through [`replay_ops`].

use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use quiver_storage::wal::WalOp;
use quiver_storage::{Error, Lsn, Manifest, Result, WalWriter};

use crate::batch::{CommitInfo, WriteBatch};
use crate::state::CollectionState;

/// State only the writer touches.
#[derive(Debug)]
pub(crate) struct Writer {
    pub wal: WalWriter,
    /// WAL files on disk, oldest first, with their first LSN.
    pub wal_files: Vec<(Lsn, String)>,
    /// The manifest as last stored.
    pub manifest: Manifest,
    pub next_lsn: Lsn,
    pub last_sync: Instant,
    /// Set when a failure left the files in an unknown state: writes must stop.
    pub poisoned: Option<String>,
}

impl Writer {
    pub fn check_healthy(&self) -> Result<()> {
        match &self.poisoned {
            Some(reason) => Err(Error::Poisoned {
                reason: reason.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Fsyncs appended WAL records if the writer is healthy; a failure poisons it.
    pub fn sync_wal(&mut self) {
        if self.poisoned.is_none() {
            match self.wal.sync() {
                Ok(()) => self.last_sync = Instant::now(),
                Err(e) => self.poison(format!("WAL fsync failed: {e}")),
            }
        }
    }

    pub fn poison(&mut self, reason: impl Into<String>) {
        self.poisoned.get_or_insert(reason.into());
    }
}

/// A batch waiting for the writer, and where its result goes.
pub(crate) struct Pending {
    pub collection: String,
    pub batch: WriteBatch,
    pub result: Arc<Mutex<Option<Result<CommitInfo>>>>,
}

/// Batches waiting for a leader, and whether a leader is at work.
#[derive(Default)]
pub(crate) struct CommitQueue {
    pub waiting: Vec<Pending>,
    pub leader_active: bool,
}

/// Applies one replayed WAL record's ops (already validated when first committed).
pub(crate) fn replay_ops(cs: &mut CollectionState, ops: Vec<WalOp>, lsn: Lsn) -> Result<()> {
    for op in ops {
        match op {
            WalOp::Put(row) => cs.put_row(row)?,
            WalOp::Delete(id) => {
                cs.delete_id(id.as_str())?;
            }
        }
    }
    cs.unflushed_since.get_or_insert(lsn);
    Ok(())
}
