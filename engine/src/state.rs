//! The in-memory state readers see: every collection's schema, memtable and segments
//! with their tombstones. A commit builds a new [`DbState`] from cheap clones and
//! publishes it whole, so a reader's snapshot never shows half a batch.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parking_lot::Mutex;
use quiver_index::sparse::SparsePostings;
use quiver_storage::{
    CollectionId, Column, ColumnId, Error, Lsn, Result, RowId, Schema, Segment, Tombstones,
};

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
    /// Indexes derived in memory from the segment, shared by every state that holds it.
    pub derived: Arc<DerivedIndexes>,
}

impl SegmentView {
    /// A view of `segment` with its deletions.
    pub fn new(
        segment: Arc<Segment>,
        tombstones: Arc<Tombstones>,
        tombstone_file: Option<String>,
        dirty: bool,
    ) -> Self {
        SegmentView {
            segment,
            tombstones,
            tombstone_file,
            dirty,
            derived: Arc::default(),
        }
    }

    pub fn live_rows(&self) -> u32 {
        self.segment.rows() - self.tombstones.count()
    }

    /// The postings of SPARSE column `column` in this segment (deleted rows included:
    /// searches skip them), built from its cells by the first query that needs them
    /// and kept for the segment's life (it never changes). `Corrupted` when a cell is
    /// not a valid sparse value.
    pub fn sparse_postings(&self, column: &Column) -> Result<Arc<SparsePostings>> {
        if let Some(p) = self.derived.sparse.lock().get(&column.id) {
            return Ok(p.clone());
        }
        // Built without the lock; two queries racing both build, the first kept.
        let mut cells = Vec::new();
        for r in 0..self.segment.rows() {
            if let Some(cell) = self.segment.sparse_cell(column, RowId(r))? {
                cells.push((r, cell));
            }
        }
        let built = Arc::new(SparsePostings::build(
            self.segment.rows(),
            cells.iter().map(|(r, cell)| (*r, cell.entries())),
        ));
        let mut map = self.derived.sparse.lock();
        Ok(map.entry(column.id).or_insert(built).clone())
    }
}

impl SegmentView {
    /// Each element's row in multi-vector column `column` (what an index over the
    /// elements returns, mapped back to items in O(1)), built from the segment's
    /// offsets by the first query that needs it and kept for the segment's life.
    /// `Corrupted` when the offsets are out of order; empty when the segment predates
    /// the column.
    pub fn element_rows(&self, column: &Column) -> Result<Arc<Vec<u32>>> {
        if let Some(rows) = self.derived.element_rows.lock().get(&column.id) {
            return Ok(rows.clone());
        }
        let mut rows = Vec::new();
        if let Some(multi) = self.segment.multi_column(column)? {
            rows.reserve_exact(multi.element_count());
            for r in 0..self.segment.rows() {
                let range = multi.range(RowId(r))?;
                if range.start != rows.len() {
                    return Err(Error::corrupted(
                        self.segment.path(),
                        0,
                        format!(
                            "element offsets of column {} go back at row {r}",
                            column.name
                        ),
                    ));
                }
                rows.resize(range.end, r);
            }
        }
        let mut map = self.derived.element_rows.lock();
        Ok(map.entry(column.id).or_insert(Arc::new(rows)).clone())
    }
}

/// Indexes a sealed segment gets in memory rather than in its file: the postings of
/// its SPARSE columns (8 bytes per stored entry) and the element → row maps of its
/// multi-vector columns (4 bytes per element), by column id.
#[derive(Debug, Default)]
pub(crate) struct DerivedIndexes {
    /// A leaf lock, held only to look up or insert, never while building.
    sparse: Mutex<HashMap<ColumnId, Arc<SparsePostings>>>,
    /// The same.
    element_rows: Mutex<HashMap<ColumnId, Arc<Vec<u32>>>>,
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
