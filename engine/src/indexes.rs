//! Indexes inside segments: built from the rows being sealed (flush, compaction) for
//! every column that declares one (a vector index, or BM25 on a TEXT column), stored
//! as extra segment regions.
//! The indexes' bytes and their in-place views are `quiver_index::stored`'s; this only
//! walks the schema's indexed columns.

use quiver_index::{BuiltIndex, Progress, VectorSource};
use quiver_storage::segment::{ExtraRegion, RowSource};
use quiver_storage::{Column, ColumnId, RowId, Schema, Value};

/// One vector column of rows being sealed, as an index source. Row `i` is segment row `i`.
struct SealingColumn<'a> {
    rows: &'a (dyn RowSource + Sync),
    pos: usize,
    column: &'a Column,
    dim: usize,
}

impl VectorSource for SealingColumn<'_> {
    fn dim(&self) -> usize {
        self.dim
    }
    fn len(&self) -> usize {
        self.rows.len()
    }
    fn get(&self, row: RowId) -> Option<&[f32]> {
        self.rows
            .vector(row.0 as usize, self.pos, self.column)
            .ok()
            .flatten()
    }
}

/// The indexes of every indexed column of the rows being sealed.
pub(crate) struct SealedIndexes {
    built: Vec<(ColumnId, BuiltIndex)>,
}

impl SealedIndexes {
    /// Every declared index of `schema` over `rows`.
    pub fn build(schema: &Schema, rows: &(dyn RowSource + Sync), progress: &Progress) -> Self {
        Self::build_only(schema, rows, None, progress)
    }

    /// As [`SealedIndexes::build`], for column `only` alone when given.
    pub fn build_only(
        schema: &Schema,
        rows: &(dyn RowSource + Sync),
        only: Option<ColumnId>,
        progress: &Progress,
    ) -> Self {
        let mut built = Vec::new();
        for (pos, column) in schema.columns().iter().enumerate() {
            let Some(spec) = column.index else {
                continue;
            };
            if only.is_some_and(|id| id != column.id) {
                continue;
            }
            if spec.is_text() {
                let texts: Vec<Option<String>> = (0..rows.len())
                    .map(|r| match rows.attr(r, pos, column) {
                        Ok(Value::Text(t)) => Some(t),
                        _ => None,
                    })
                    .collect();
                let texts = texts.iter().map(Option::as_deref);
                built.extend(BuiltIndex::build_text(spec, texts).map(|b| (column.id, b)));
                continue;
            }
            let Some(v) = column.vector() else {
                continue;
            };
            let source = SealingColumn {
                rows,
                pos,
                column,
                dim: v.dim as usize,
            };
            progress.set_context(format!("index on {}", column.name));
            let index = BuiltIndex::build(spec, &source, v.metric, v.dim, progress);
            built.extend(index.map(|index| (column.id, index)));
            progress.end();
            progress.set_context("");
        }
        SealedIndexes { built }
    }

    /// The regions to append to the segment.
    pub fn regions(&self) -> Vec<ExtraRegion<'_>> {
        self.built
            .iter()
            .flat_map(|(column, index)| {
                index
                    .regions()
                    .into_iter()
                    .map(|(kind, bytes)| ExtraRegion {
                        kind,
                        column: *column,
                        bytes,
                    })
            })
            .collect()
    }
}
