//! Building a newly declared index for the data already sealed, for that column only:
//! each segment that lacks it is rewritten with the same rows in the same order, the
//! new index built over them and every other column's index regions copied byte for
//! byte (row numbers are unchanged, so their graphs, codes and lists stay valid, and
//! so do the segment's deletions). Declaring a second index therefore costs one
//! index build, not a compaction that rebuilds every index of the collection.

use quiver_storage::segment::{ExtraRegion, RowSource, segment_file_name};
use quiver_storage::{Column, ColumnId, Result, RowId, Schema, Segment, SegmentId, Value};

use crate::compaction::holds;
use crate::database::Shared;
use crate::flush::files_of_segment;
use crate::indexes::SealedIndexes;
use crate::state::SegmentView;

/// Every row of one segment, deleted ones included, as a segment source.
struct AllRows<'a>(&'a Segment);

impl RowSource for AllRows<'_> {
    fn len(&self) -> usize {
        self.0.rows() as usize
    }
    fn id(&self, row: usize) -> Result<&str> {
        self.0.id_at(RowId(row as u32))
    }
    fn vector(&self, row: usize, _: usize, column: &Column) -> Result<Option<&[f32]>> {
        self.0.vector(column, RowId(row as u32))
    }
    fn attr(&self, row: usize, _: usize, column: &Column) -> Result<Value> {
        self.0.attr(column, RowId(row as u32))
    }
}

/// What [`Shared::build_index`] did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum IndexBuild {
    /// Every segment now holds the index (those rewritten, and those that had it).
    Done { rewritten: usize },
    /// The schema changed while the segments were rewritten: nothing was published.
    SchemaChanged,
}

impl Shared {
    /// Builds the index declared on `column` of collection `name` into every sealed
    /// segment without it (the memtable is flushed first, which builds it too).
    pub(crate) fn build_index(&self, name: &str, column: &str) -> Result<IndexBuild> {
        let _one_at_a_time = self.compaction.lock();
        // 1. Seal the memtable and pick the segments, each with an id for its rewrite.
        let (input, target, picked) = self.with_writer(|shared, writer| {
            shared.flush_locked(writer, name)?;
            let state = shared.state.read().clone();
            let cs = state.collection(name)?.clone();
            let (_, col) = cs.schema.column(column)?;
            let target = col.id;
            let lacking: Vec<SegmentView> = match col.index {
                None => Vec::new(),
                Some(spec) => cs
                    .segments
                    .iter()
                    .filter(|v| v.segment.has_column(col) && !holds(&v.segment, col, spec))
                    .cloned()
                    .collect(),
            };
            let picked: Vec<(SegmentView, SegmentId)> = lacking
                .into_iter()
                .map(|v| {
                    let id = SegmentId(writer.manifest.next_segment_id);
                    writer.manifest.next_segment_id += 1;
                    (v, id)
                })
                .collect();
            Ok((cs, target, picked))
        })?;
        if picked.is_empty() {
            return Ok(IndexBuild::Done { rewritten: 0 });
        }

        // 2. Rewrite outside the writer lock.
        let mut written: Vec<(SegmentId, SegmentView)> = Vec::with_capacity(picked.len());
        for (view, id) in &picked {
            match self.rewrite_with_index(*id, &input.schema, &view.segment, target) {
                Ok(new) => written.push((view.segment.id(), new)),
                Err(e) => {
                    self.remove_files(written.iter().map(|(_, w)| file(w)).collect());
                    return Err(e);
                }
            }
        }

        // 3. Publish: each rewrite takes its original's place with its deletions as
        // they are now (same row numbers); an original gone meanwhile (every row
        // deleted) leaves its rewrite unused.
        let mut manifest_attempted = false;
        let published = self.with_writer(|shared, writer| {
            let state = shared.state.read().clone();
            let current = state.collection(name)?;
            if current.id != input.id || current.schema != input.schema {
                return Ok(None);
            }
            let mut segments = current.segments.clone();
            let mut obsolete = Vec::new();
            for (old, new) in &written {
                match segments.iter_mut().find(|v| v.segment.id() == *old) {
                    Some(slot) => {
                        obsolete.extend(files_of_segment(slot));
                        *slot = SegmentView {
                            segment: new.segment.clone(),
                            tombstones: slot.tombstones.clone(),
                            tombstone_file: None,
                            dirty: slot.tombstones.count() > 0,
                        };
                    }
                    None => obsolete.push(file(new)),
                }
            }
            obsolete.extend(shared.publish_segments(
                writer,
                &state,
                current,
                segments,
                &mut manifest_attempted,
            )?);
            Ok(Some(obsolete))
        });
        match published {
            Ok(Some(obsolete)) => {
                self.remove_files(obsolete);
                Ok(IndexBuild::Done {
                    rewritten: written.len(),
                })
            }
            Ok(None) => {
                self.remove_files(written.iter().map(|(_, w)| file(w)).collect());
                Ok(IndexBuild::SchemaChanged)
            }
            Err(e) => {
                // Once the manifest store was attempted it may name the rewrites: keep
                // them (the writer is poisoned; a reopen sorts it out).
                if !manifest_attempted {
                    self.remove_files(written.iter().map(|(_, w)| file(w)).collect());
                }
                Err(e)
            }
        }
    }

    /// `segment`'s rows as segment `id`, with `target`'s index built and the other
    /// columns' index regions copied.
    fn rewrite_with_index(
        &self,
        id: SegmentId,
        schema: &Schema,
        segment: &Segment,
        target: ColumnId,
    ) -> Result<SegmentView> {
        let rows = AllRows(segment);
        let built = SealedIndexes::build_only(schema, &rows, Some(target), &self.progress);
        let mut extra = built.regions();
        for region in segment.regions() {
            let kept = region.column != target
                && !region.kind.holds_rows()
                && schema.columns().iter().any(|c| c.id == region.column);
            if kept && let Some(bytes) = segment.region_of(region.kind, region.column) {
                extra.push(ExtraRegion {
                    kind: region.kind,
                    column: region.column,
                    bytes,
                });
            }
        }
        self.write_segment_with(id, schema, &rows, &extra)
    }
}

fn file(view: &SegmentView) -> String {
    segment_file_name(view.segment.id())
}
