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

/// One multi-vector column of rows being sealed, as an index source over its elements:
/// element `e` is the segment's element `e` (rows in order, each row's vectors in
/// order), as the segment writer lays them out.
struct SealingElements<'a> {
    rows: &'a (dyn RowSource + Sync),
    pos: usize,
    column: &'a Column,
    dim: usize,
    /// Per element, its row and its place in the row's list.
    places: Vec<(u32, u32)>,
}

impl<'a> SealingElements<'a> {
    fn new(rows: &'a (dyn RowSource + Sync), pos: usize, column: &'a Column, dim: usize) -> Self {
        let mut places = Vec::new();
        for row in 0..rows.len() {
            let count = match rows.vectors(row, pos, column) {
                Ok(Some(flat)) => flat.len() / dim,
                _ => 0,
            };
            places.extend((0..count as u32).map(|j| (row as u32, j)));
        }
        SealingElements {
            rows,
            pos,
            column,
            dim,
            places,
        }
    }
}

impl VectorSource for SealingElements<'_> {
    fn dim(&self) -> usize {
        self.dim
    }
    fn len(&self) -> usize {
        self.places.len()
    }
    fn get(&self, element: RowId) -> Option<&[f32]> {
        let &(row, j) = self.places.get(element.0 as usize)?;
        let flat = self
            .rows
            .vectors(row as usize, self.pos, self.column)
            .ok()
            .flatten()?;
        flat.get(j as usize * self.dim..(j as usize + 1) * self.dim)
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
            let index = match column.multi() {
                None => {
                    let source = SealingColumn {
                        rows,
                        pos,
                        column,
                        dim,
                    };
                    BuiltIndex::build(spec, &source, v.metric, v.dim, progress)
                }
                Some(_) => {
                    let source = SealingElements::new(rows, pos, column, dim);
                    BuiltIndex::build(spec, &source, v.metric, v.dim, progress)
                }
            };
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
