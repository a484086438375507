//! The in-memory state readers see: every collection's schema, memtable and segments
//! with their tombstones. A commit builds a new [`DbState`] from cheap clones and
//! publishes it whole, so a reader's snapshot never shows half a batch.

use std::collections::BTreeMap;
use std::sync::Arc;

use quiver_storage::{CollectionId, Error, Lsn, Result, Schema, Segment, Tombstones};

use crate::memtable::Memtable;

/// One segment as seen by a state: the immutable file and the deletions so far.
#[derive(Clone, Debug)]
pub(crate) struct SegmentView {
    pub segment: Arc<Segment>,
    pub tombstones: Arc<Tombstones>,
    /// Tombstone file currently named by the manifest.
    pub tombstone_file: Option<String>,
    /// True when `tombstones` has deletions not yet written to a tombstone file.
    pub dirty: bool,
}

impl SegmentView {
    pub fn live_rows(&self) -> u32 {
        self.segment.rows() - self.tombstones.count()
    }
}

#[derive(Clone, Debug)]
pub(crate) struct CollectionState {
    pub id: CollectionId,
    pub name: String,
    pub schema: Arc<Schema>,
    pub memtable: Memtable,
    /// Oldest first.
    pub segments: Vec<SegmentView>,
    /// All of this collection's WAL records up to here are in segments and tombstone files.
    pub flushed_lsn: Lsn,
    /// The oldest LSN whose effect is only in memory (memtable or dirty tombstones).
    pub unflushed_since: Option<Lsn>,
}

impl CollectionState {
    pub fn new(id: CollectionId, name: String, schema: Schema, flushed_lsn: Lsn) -> Self {
        CollectionState {
            id,
            name,
            schema: Arc::new(schema),
            memtable: Memtable::default(),
            segments: Vec::new(),
            flushed_lsn,
            unflushed_since: None,
        }
    }

    pub fn count(&self) -> u64 {
        let sealed: u64 = self.segments.iter().map(|s| s.live_rows() as u64).sum();
        sealed + self.memtable.len() as u64
    }

    pub fn needs_flush(&self) -> bool {
        self.unflushed_since.is_some()
    }
}

#[derive(Clone, Debug, Default)]
pub(crate) struct DbState {
    pub collections: BTreeMap<String, Arc<CollectionState>>,
    /// The LSN of the newest commit visible in this state.
    pub last_lsn: Lsn,
}

impl DbState {
    /// A collection by name, or `UnknownCollection`.
    pub fn collection(&self, name: &str) -> Result<&Arc<CollectionState>> {
        self.collections
            .get(name)
            .ok_or_else(|| Error::UnknownCollection {
                name: name.to_string(),
            })
    }
}
