//! The group commit: validates batches against the newest state, appends them to the
//! WAL as one group (one write, one fsync for every batch that queued meanwhile), then
//! publishes the new state. Concurrent `commit` calls queue in `pending`; whichever
//! caller holds the writer lock commits everyone's batches.

use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use quiver_storage::wal::{AppendError, RecordBuilder};
use quiver_storage::{Error, Lsn, Result, Row};

use crate::batch::{BatchOp, CommitInfo, WriteBatch};
use crate::options::Durability;
use crate::shared::Shared;
use crate::state::{CollectionState, DbState};
use crate::writer::{Pending, Writer};

/// A batch that passed validation, with its encoded WAL record.
struct Accepted {
    record: Vec<u8>,
    info: CommitInfo,
    result: Arc<Mutex<Option<Result<CommitInfo>>>>,
}

impl Shared {
    /// Queues a batch and returns once it is committed (or rejected).
    ///
    /// Group commit: the first caller to find no leader at work becomes the leader,
    /// takes every queued batch, and writes and fsyncs them together. Others sleep on
    /// `commit_done` until their result is in, or until the leader finishes and one of
    /// them must lead the next group. Followers never wait for the writer lock, so the
    /// queue refills while a leader is in fsync.
    pub(crate) fn commit(&self, collection: &str, batch: WriteBatch) -> Result<CommitInfo> {
        let result = Arc::new(Mutex::new(None));
        let mut queue = self.pending.lock();
        queue.waiting.push(Pending {
            collection: collection.to_string(),
            batch,
            result: result.clone(),
        });
        loop {
            if let Some(r) = result.lock().take() {
                drop(queue);
                if r.is_ok() {
                    self.maybe_flush(collection);
                }
                return r;
            }
            if queue.leader_active {
                self.commit_done.wait(&mut queue);
                continue;
            }
            queue.leader_active = true;
            let group = std::mem::take(&mut queue.waiting);
            drop(queue);
            self.lead_group(group);
            queue = self.pending.lock();
            queue.leader_active = false;
            self.commit_done.notify_all();
        }
    }

    /// Commits a group under the writer lock; every batch gets a result.
    fn lead_group(&self, group: Vec<Pending>) {
        let mut guard = self.writer.lock();
        match guard.as_mut() {
            Some(writer) => self.commit_group(writer, group),
            None => {
                for p in group {
                    *p.result.lock() = Some(Err(Error::ReadOnly));
                }
            }
        }
    }

    fn commit_group(&self, writer: &mut Writer, group: Vec<Pending>) {
        if let Err(e) = writer.check_healthy() {
            for p in group {
                *p.result.lock() = Some(Err(Error::Poisoned {
                    reason: e.to_string(),
                }));
            }
            return;
        }
        let mut working: DbState = (**self.state.read()).clone();
        let mut accepted = Vec::new();
        let mut lsn = writer.next_lsn;
        for p in group {
            match stage_batch(&mut working, &p.collection, &p.batch, lsn) {
                Ok(Some((record, info))) => {
                    lsn = Lsn(lsn.0 + 1);
                    accepted.push(Accepted {
                        record,
                        info,
                        result: p.result,
                    });
                }
                Ok(None) => {
                    let info = CommitInfo {
                        lsn: working.last_lsn,
                        written: 0,
                        deleted: 0,
                    };
                    *p.result.lock() = Some(Ok(info));
                }
                Err(e) => *p.result.lock() = Some(Err(e)),
            }
        }
        if accepted.is_empty() {
            return;
        }
        let bytes = if accepted.len() == 1 {
            std::mem::take(&mut accepted[0].record)
        } else {
            concat_records(&accepted)
        };
        let durable = self.append_and_sync(writer, &bytes);
        match durable {
            Ok(()) => {
                writer.next_lsn = lsn;
                working.last_lsn = Lsn(lsn.0 - 1);
                *self.state.write() = Arc::new(working);
                for a in accepted {
                    *a.result.lock() = Some(Ok(a.info));
                }
            }
            Err(e) => {
                for a in accepted {
                    *a.result.lock() = Some(Err(self.shared_failure(&e)));
                }
            }
        }
    }

    /// A WAL failure as each waiting committer receives it (errors are not `Clone`):
    /// an I/O error keeps its file, its kind (`StorageFull` for ENOSPC) and its text;
    /// anything else becomes an I/O error on the folder with the original's text.
    fn shared_failure(&self, e: &Error) -> Error {
        match e {
            Error::Io { path, source } => Error::Io {
                path: path.clone(),
                source: std::io::Error::new(source.kind(), source.to_string()),
            },
            other => Error::Io {
                path: self.dir.root().to_path_buf(),
                source: std::io::Error::other(other.to_string()),
            },
        }
    }

    fn append_and_sync(&self, writer: &mut Writer, bytes: &[u8]) -> Result<()> {
        match writer.wal.append(bytes) {
            Ok(()) => {}
            Err(AppendError::RolledBack(e)) => return Err(e),
            Err(AppendError::TailUnknown(e)) => {
                writer.poison(format!(
                    "WAL append failed and could not be rolled back: {e}"
                ));
                return Err(e);
            }
        }
        let due = match self.options.durability {
            Durability::SyncEveryCommit => true,
            Durability::Periodic(every) => writer.last_sync.elapsed() >= every,
            Durability::Never => false,
        };
        if due {
            if let Err(e) = writer.wal.sync() {
                // After a failed fsync the kernel may have dropped the dirty pages: the
                // batch may or may not be on disk. Stop writing; reopen replays the truth.
                writer.poison(format!("WAL fsync failed: {e}"));
                return Err(e);
            }
            writer.last_sync = Instant::now();
        }
        Ok(())
    }
}

/// Validates `batch` against `working`, applies it there, and encodes its WAL record.
/// `Ok(None)` when the batch changes nothing (empty, or deletes of missing ids).
fn stage_batch(
    working: &mut DbState,
    collection: &str,
    batch: &WriteBatch,
    lsn: Lsn,
) -> Result<Option<(Vec<u8>, CommitInfo)>> {
    let current = working.collection(collection)?;
    let mut cs: CollectionState = (**current).clone();
    let schema = cs.schema.clone();
    let mut record = RecordBuilder::new(lsn, cs.id);
    let (mut written, mut deleted) = (0, 0);
    for op in &batch.ops {
        match op {
            BatchOp::Insert(item) => {
                let row = Row::from_item(&schema, item)?;
                if cs.locate(row.id.as_str())?.is_some() {
                    return Err(Error::DuplicateId {
                        id: item.id.clone(),
                    });
                }
                record.put(&schema, &row);
                cs.put_row_at(None, row);
                written += 1;
            }
            BatchOp::Upsert(item) => {
                let row = Row::from_item(&schema, item)?;
                record.put(&schema, &row);
                cs.put_row(row)?;
                written += 1;
            }
            BatchOp::Update(item) => {
                quiver_storage::ItemId::new(item.id.clone())?;
                let location = cs.locate(&item.id)?.ok_or_else(|| Error::NotFound {
                    id: item.id.clone(),
                })?;
                let row = cs.row_at(location, &item.id)?.patched(&schema, item)?;
                record.put(&schema, &row);
                cs.put_row_at(Some(location), row);
                written += 1;
            }
            BatchOp::UpdateIfUnchanged {
                item,
                column,
                value,
            } => {
                quiver_storage::ItemId::new(item.id.clone())?;
                let (pos, _) = schema.column(column)?;
                let Some(location) = cs.locate(&item.id)? else {
                    continue;
                };
                let row = cs.row_at(location, &item.id)?;
                if row.cells[pos] != *value {
                    continue;
                }
                let row = row.patched(&schema, item)?;
                record.put(&schema, &row);
                cs.put_row_at(Some(location), row);
                written += 1;
            }
            BatchOp::Delete(id) => {
                let id = quiver_storage::ItemId::new(id.clone())?;
                if cs.delete_id(id.as_str())? {
                    record.delete(&id);
                    deleted += 1;
                }
            }
        }
    }
    if record.ops() == 0 {
        return Ok(None);
    }
    let record = record.finish()?;
    cs.unflushed_since.get_or_insert(lsn);
    working
        .collections
        .insert(collection.to_string(), Arc::new(cs));
    working.last_lsn = lsn;
    Ok(Some((
        record,
        CommitInfo {
            lsn,
            written,
            deleted,
        },
    )))
}

/// The group's records back to back, for one append.
fn concat_records(accepted: &[Accepted]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(accepted.iter().map(|a| a.record.len()).sum());
    for a in accepted {
        bytes.extend_from_slice(&a.record);
    }
    bytes
}
