//! Building a newly declared index for the data already sealed, for that column only:
//! each segment is rewritten with the same rows in the same order, the new index built
//! over them and every other column's index regions copied byte for byte (row numbers are unchanged, so their graphs, codes and lists stay valid, and
//! so do the segment's deletions). Declaring a second index therefore costs one
//! index build, not a compaction that rebuilds every index of the collection.

use quiver_storage::segment::{ExtraRegion, RowSource, segment_file_name};
use quiver_storage::{Column, ColumnId, Result, RowId, Schema, Segment, SegmentId, Value, Vectors};

use crate::flush::files_of_segment;
use crate::indexes::SealedIndexes;
use crate::shared::Shared;
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
    fn vector(&self, row: usize, _: usize, column: &Column) -> Result<Option<Vectors<'_>>> {
        self.0.vector(column, RowId(row as u32))
    }
    fn vectors(&self, row: usize, _: usize, column: &Column) -> Result<Option<&[f32]>> {
        self.0.multi(column, RowId(row as u32))
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
    /// segment, replacing whatever index it held for that column (the declaration may
    /// change its parameters: m, quantize, the kind). The memtable is flushed first,
    /// which builds the declared index for what it seals.
    pub(crate) fn build_index(&self, name: &str, column: &str) -> Result<IndexBuild> {
        let _one_at_a_time = self.compaction.lock();
        // 1. Seal the memtable and pick the segments sealed before, each with an id for
        // its rewrite.
        let (input, target, picked) = self.with_writer(|shared, writer| {
            let before: Vec<SegmentId> = shared
                .state
                .read()
                .collection(name)?
                .segments
                .iter()
                .map(|v| v.segment.id())
                .collect();
            shared.flush_locked(writer, name)?;
            let state = shared.state.read().clone();
            let cs = state.collection(name)?.clone();
            let (_, col) = cs.schema.column(column)?;
            let target = col.id;
            let older: Vec<SegmentView> = match col.index {
                None => Vec::new(),
                Some(_) => cs
                    .segments
                    .iter()
                    .filter(|v| v.segment.has_column(col) && before.contains(&v.segment.id()))
                    .cloned()
                    .collect(),
            };
            let picked: Vec<(SegmentView, SegmentId)> = older
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
                        *slot = SegmentView::new(
                            new.segment.clone(),
                            slot.tombstones.clone(),
                            None,
                            slot.tombstones.count() > 0,
                        );
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

#[cfg(test)]
mod tests {
    use quiver_storage::{IndexSpec, Item, Metric, Quantize, Schema};

    use crate::{Database, WriteBatch};
    use quiver_index::hnsw::storage::HnswView;

    /// Declaring the index again with other parameters rebuilds it in every segment
    /// (the graphs' m and the codes follow the declaration), the data untouched.
    #[test]
    fn redeclaring_rebuilds_with_the_new_parameters() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path()).unwrap();
        let schema = Schema::builder()
            .vector("v", 8, Metric::L2)
            .build()
            .unwrap();
        let c = db.create_collection("c", schema).unwrap();
        for part in 0..2 {
            let mut batch = WriteBatch::new();
            for i in part * 300..(part + 1) * 300 {
                let v: Vec<f32> = (0..8).map(|d| ((i * 31 + d * 7) % 97) as f32).collect();
                batch.insert(Item::new(format!("i{i:04}")).set("v", v));
            }
            c.commit(batch).unwrap();
            c.flush().unwrap();
        }
        let graphs = |c: &crate::Collection| {
            let snap = c.snapshot().unwrap();
            let column = snap.schema().column("v").unwrap().1.clone();
            snap.segments()
                .iter()
                .map(|v| {
                    let hnsw = HnswView::load(&v.segment, &column).unwrap().unwrap();
                    (hnsw.graph.m, hnsw.codes.is_some())
                })
                .collect::<Vec<_>>()
        };
        c.create_index("v", IndexSpec::hnsw().m(8)).unwrap();
        assert_eq!(graphs(&c), vec![(8, true), (8, true)]);
        c.create_index("v", IndexSpec::hnsw().m(12).quantize(Quantize::None))
            .unwrap();
        assert_eq!(graphs(&c), vec![(12, false), (12, false)]);
        assert_eq!(c.snapshot().unwrap().count(), 600);
    }
}
