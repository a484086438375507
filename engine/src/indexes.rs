//! Indexes inside segments: built from the rows being sealed (flush, compaction) for
//! every column that declares one (a vector index, or BM25 on a TEXT column), stored
//! as extra segment regions.
//! The indexes' bytes and their in-place views are `quiver_index::stored`'s; this only
//! walks the schema's indexed columns.

use quiver_index::{BuiltIndex, Progress, VectorSource};
use quiver_storage::segment::{ExtraRegion, RowSource};
use quiver_storage::{Column, ColumnId, RowId, Schema, Value, Vectors};

/// One vector column of rows being sealed, as an index source: row `i` is segment
/// row `i`. Each row's vector is looked up once here: a build reads them millions of
/// times, and a segment's lookup (region by column) costs hash probes each time.
struct SealingColumn<'a> {
    vectors: Vec<Option<Vectors<'a>>>,
    dim: usize,
}

impl<'a> SealingColumn<'a> {
    fn new(rows: &'a (dyn RowSource + Sync), pos: usize, column: &'a Column, dim: usize) -> Self {
        let vectors = (0..rows.len())
            .map(|row| rows.vector(row, pos, column).ok().flatten())
            .collect();
        SealingColumn { vectors, dim }
    }

    /// A multi-vector column's elements: element `e` is the segment's element `e`
    /// (rows in order, each row's vectors in order), as the segment writer lays them
    /// out.
    fn elements(
        rows: &'a (dyn RowSource + Sync),
        pos: usize,
        column: &'a Column,
        dim: usize,
    ) -> Self {
        let mut vectors = Vec::new();
        for row in 0..rows.len() {
            if let Ok(Some(flat)) = rows.vectors(row, pos, column) {
                vectors.extend(flat.chunks_exact(dim).map(|v| Some(Vectors::F32(v))));
            }
        }
        SealingColumn { vectors, dim }
    }
}

impl VectorSource for SealingColumn<'_> {
    fn dim(&self) -> usize {
        self.dim
    }
    fn len(&self) -> usize {
        self.vectors.len()
    }
    fn get(&self, row: RowId) -> Option<Vectors<'_>> {
        self.vectors.get(row.0 as usize).copied().flatten()
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
            let Some(v) = column.vector_shape() else {
                continue;
            };
            progress.set_context(format!("index on {}", column.name));
            let dim = v.dim as usize;
            let source = match column.multi() {
                None => SealingColumn::new(rows, pos, column, dim),
                Some(_) => SealingColumn::elements(rows, pos, column, dim),
            };
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
