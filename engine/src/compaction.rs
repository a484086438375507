//! Compaction: merge a collection's segments into one, dropping deleted rows and the
//! bytes of dropped columns. The merge runs outside the writer lock; deletions that
//! land meanwhile are carried over to the new segment when it is published. Readers
//! keep whatever snapshot they hold; the old files are unlinked but stay mapped.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

use quiver_storage::segment::{RegionKind, RowSource, segment_file_name};
use quiver_storage::{
    Column, Error, IndexSpec, Quantize, Result, RowId, Segment, SegmentId, Value, Vectors,
};

use quiver_index::Strategy;
use quiver_index::bm25::storage::Bm25Index;
use quiver_index::codes::Codes;
use quiver_index::ivf::storage::IvfView;
use quiver_index::stored::exact_strategy;

use crate::shared::Shared;
use crate::state::{CollectionState, SegmentView};

/// Live rows of several segments, merged in id order.
pub(crate) struct MergeSource<'a> {
    inputs: &'a [SegmentView],
    /// (input, row) per output row: 8 bytes a row.
    rows: Vec<(u32, RowId)>,
}

impl<'a> MergeSource<'a> {
    /// Each segment's rows are sorted by id (the segment writer enforces it), so a
    /// k-way merge with one cursor per input yields id order without sorting or
    /// holding the ids: millions of rows cost 8 bytes each here.
    pub(crate) fn new(inputs: &'a [SegmentView]) -> Result<Self> {
        let mut heads = BinaryHeap::with_capacity(inputs.len());
        for (i, view) in inputs.iter().enumerate() {
            if let Some(row) = next_live(view, 0) {
                heads.push(Reverse((view.segment.id_at(row)?, i, row)));
            }
        }
        let total = inputs.iter().map(|v| v.live_rows() as usize).sum();
        let mut rows = Vec::with_capacity(total);
        let mut last: Option<&str> = None;
        while let Some(Reverse((id, i, row))) = heads.pop() {
            if last == Some(id) {
                return Err(Error::corrupted(
                    inputs[i].segment.path(),
                    0,
                    format!("item {id:?} is live in two segments"),
                ));
            }
            last = Some(id);
            rows.push((i as u32, row));
            if let Some(next) = next_live(&inputs[i], row.0 + 1) {
                heads.push(Reverse((inputs[i].segment.id_at(next)?, i, next)));
            }
        }
        Ok(MergeSource { inputs, rows })
    }

    fn at(&self, row: usize) -> (&Segment, RowId) {
        let (i, r) = self.rows[row];
        (&self.inputs[i as usize].segment, r)
    }
}

/// The first row of `view` at or after `from` that is not deleted.
fn next_live(view: &SegmentView, from: u32) -> Option<RowId> {
    (from..view.segment.rows())
        .map(RowId)
        .find(|&r| !view.tombstones.is_deleted(r))
}

impl RowSource for MergeSource<'_> {
    fn len(&self) -> usize {
        self.rows.len()
    }
    fn id(&self, row: usize) -> Result<&str> {
        let (segment, r) = self.at(row);
        segment.id_at(r)
    }
    fn vector(&self, row: usize, _: usize, column: &Column) -> Result<Option<Vectors<'_>>> {
        let (segment, r) = self.at(row);
        segment.vector(column, r)
    }
    fn vectors(&self, row: usize, _: usize, column: &Column) -> Result<Option<&[f32]>> {
        let (segment, r) = self.at(row);
        segment.multi(column, r)
    }
    fn attr(&self, row: usize, _: usize, column: &Column) -> Result<Value> {
        let (segment, r) = self.at(row);
        segment.attr(column, r)
    }
}

/// Whether `segment` stores the index `spec` declares on `column` (its codes
/// included), so that compacting it alone would rebuild nothing new.
fn holds(segment: &Segment, column: &Column, spec: IndexSpec) -> bool {
    let has = |kind| segment.region_of(kind, column.id).is_some();
    let codes = || {
        Codes::load(segment, column)
            .ok()
            .flatten()
            .map_or(Quantize::None, |c| c.quantize())
    };
    match spec {
        IndexSpec::Hnsw { quantize, .. } => has(RegionKind::HnswMeta) && codes() == quantize,
        // Both IVF kinds have IvfMeta; RaBitQ entries are coded in the RaBitQ regions.
        IndexSpec::IvfPq { .. } => has(RegionKind::IvfMeta) && !has(RegionKind::RabitqMeta),
        IndexSpec::Ivf { quantize, .. } => {
            match quiver_index::ivf::storage::load(segment, column) {
                Ok(Some(IvfView::Rabitq(ivf))) => Codes::quantize_of_bits(ivf.bits()) == quantize,
                _ => false,
            }
        }
        // A segment too small to train codes on keeps none (see `exact_strategy`).
        IndexSpec::Flat { quantize, .. } => {
            codes() == quantize || exact_strategy(segment, column) != Strategy::Exact
        }
        // k1 and b apply when scoring; only the analyzer shapes the stored terms.
        IndexSpec::Bm25 { analyzer, .. } => Bm25Index::load(segment, column)
            .ok()
            .flatten()
            .is_some_and(|index| index.analyzer == analyzer),
    }
}

fn worth_compacting(cs: &CollectionState) -> bool {
    let has_dead_bytes = |v: &SegmentView| {
        v.tombstones.count() > 0
            || v.segment
                .column_ids()
                .iter()
                .any(|id| cs.schema.position_of(*id).is_none())
    };
    let lacks_an_index = |v: &SegmentView| {
        cs.schema.columns().iter().any(|c| {
            v.segment.has_column(c) && c.index.is_some_and(|spec| !holds(&v.segment, c, spec))
        })
    };
    cs.segments.len() > 1
        || cs
            .segments
            .iter()
            .any(|v| has_dead_bytes(v) || lacks_an_index(v))
}

impl Shared {
    pub(crate) fn compact(&self, name: &str) -> Result<()> {
        let _one_at_a_time = self.compaction.lock();
        // 1. Seal the memtable and pick the inputs.
        let picked = self.with_writer(|shared, writer| {
            shared.flush_locked(writer, name)?;
            let state = shared.state.read().clone();
            let cs = state.collection(name)?.clone();
            if !worth_compacting(&cs) {
                return Ok(None);
            }
            let id = SegmentId(writer.manifest.next_segment_id);
            writer.manifest.next_segment_id += 1;
            Ok(Some((cs, id)))
        })?;
        let Some((input, id)) = picked else {
            return Ok(());
        };

        // 2. Merge without holding the writer lock.
        let source = MergeSource::new(&input.segments)?;
        let output = if source.is_empty() {
            None
        } else {
            Some(self.write_segment(id, &input.schema, &source)?)
        };

        // 3. Publish, carrying over deletions made since step 1.
        let mut manifest_attempted = false;
        let published = self.with_writer(|shared, writer| {
            let state = shared.state.read().clone();
            let current = state.collection(name)?;
            if current.id != input.id {
                return Err(Error::UnknownCollection {
                    name: name.to_string(),
                });
            }
            let is_input = |v: &SegmentView| {
                input
                    .segments
                    .iter()
                    .any(|i| i.segment.id() == v.segment.id())
            };
            let mut segments = Vec::with_capacity(current.segments.len() + 1);
            if let Some(mut out) = output.clone() {
                carry_over_deletions(&input.segments, &current.segments, &mut out)?;
                segments.push(out);
            }
            segments.extend(current.segments.iter().filter(|v| !is_input(v)).cloned());
            // Inputs' files as they are now (a flush may have written newer tombstone
            // files for them during the merge) and as they were.
            let mut obsolete = crate::flush::files_of(&input);
            for view in current.segments.iter().filter(|v| is_input(v)) {
                obsolete.extend(view.tombstone_file.clone());
            }
            obsolete.extend(shared.publish_segments(
                writer,
                &state,
                current,
                segments,
                &mut manifest_attempted,
            )?);
            Ok(obsolete)
        });
        match published {
            Ok(obsolete) => {
                self.remove_files(obsolete);
                Ok(())
            }
            Err(e) => {
                // Once the manifest store was attempted, the manifest on disk may name
                // the output: keep it (the writer is poisoned; a reopen sorts it out).
                if output.is_some() && !manifest_attempted {
                    self.remove_files(vec![segment_file_name(id)]);
                }
                Err(e)
            }
        }
    }
}

/// Deletes from `out` the rows deleted in the inputs since the merge read them. An
/// input gone from `current` was dropped by a flush because all its rows were deleted.
fn carry_over_deletions(
    then: &[SegmentView],
    current: &[SegmentView],
    out: &mut SegmentView,
) -> Result<()> {
    for old in then {
        let now = current.iter().find(|v| v.segment.id() == old.segment.id());
        let deleted: Vec<RowId> = match now {
            Some(now) => now.tombstones.newer_than(&old.tombstones).collect(),
            None => (0..old.segment.rows())
                .map(RowId)
                .filter(|&r| !old.tombstones.is_deleted(r))
                .collect(),
        };
        for row in deleted {
            if let Some(r) = out.segment.find(old.segment.id_at(row)?)? {
                out.dirty |= Arc::make_mut(&mut out.tombstones).delete(r);
            }
        }
    }
    Ok(())
}
