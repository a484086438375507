//! Vector indexes inside segments: built from the rows being sealed (flush,
//! compaction) for every column that declares one, stored as extra segment regions,
//! and viewed in place from the memory map when searching.

use quiver_index::hnsw::{GraphView, HnswGraph, NONE};
use quiver_index::{Hnsw, HnswParams, VectorSource};
use quiver_storage::segment::{ExtraRegion, RegionKind, RowSource};
use quiver_storage::{Column, ColumnId, Error, IndexSpec, Result, RowId, Schema, Segment};

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

/// A segment's vector column, viewed in place: NULL rows (validity bit clear) give
/// `None`, so an index never returns them.
pub(crate) struct SegmentColumn<'a> {
    data: &'a [f32],
    dim: usize,
    validity: Option<&'a [u64]>,
}

impl<'a> SegmentColumn<'a> {
    /// `None` when the segment predates the column.
    pub fn new(segment: &'a Segment, column: &Column) -> Result<Option<Self>> {
        let dim = column.vector().map_or(0, |v| v.dim as usize);
        let Some(data) = segment.vectors(column)? else {
            return Ok(None);
        };
        let validity = segment.validity(column)?;
        Ok(Some(SegmentColumn {
            data,
            dim,
            validity,
        }))
    }
}

impl VectorSource for SegmentColumn<'_> {
    fn dim(&self) -> usize {
        self.dim
    }
    fn len(&self) -> usize {
        self.data.len() / self.dim.max(1)
    }
    #[inline]
    fn get(&self, row: RowId) -> Option<&[f32]> {
        let i = row.0 as usize;
        if let Some(bits) = self.validity
            && bits.get(i / 64).is_none_or(|w| w & (1 << (i % 64)) == 0)
        {
            return None;
        }
        self.data.get(i * self.dim..(i + 1) * self.dim)
    }
}

/// The graph arrays of every indexed column, built from the rows about to be sealed.
pub(crate) struct SealedIndexes {
    graphs: Vec<(ColumnId, HnswGraph)>,
    meta: Vec<[u32; 4]>,
}

impl SealedIndexes {
    pub fn build(schema: &Schema, rows: &(dyn RowSource + Sync)) -> Self {
        let mut graphs = Vec::new();
        for (pos, column) in schema.columns().iter().enumerate() {
            let (Some(IndexSpec::Hnsw { m, ef_construction }), Some(v)) =
                (column.index, column.vector())
            else {
                continue;
            };
            let source = SealingColumn {
                rows,
                pos,
                column,
                dim: v.dim as usize,
            };
            let params = HnswParams {
                m: m as usize,
                ef_construction: ef_construction as usize,
                seed: 100,
            };
            let index = Hnsw::build(&source, v.metric, &params);
            graphs.push((column.id, index.graph().clone()));
        }
        let meta = graphs
            .iter()
            .map(|(_, g)| [g.m, g.m0, g.entry, g.max_level])
            .collect();
        SealedIndexes { graphs, meta }
    }

    /// The regions to append to the segment.
    pub fn regions(&self) -> Vec<ExtraRegion<'_>> {
        let mut out = Vec::new();
        for ((column, g), meta) in self.graphs.iter().zip(&self.meta) {
            let column = *column;
            let parts: [(RegionKind, &[u8]); 5] = [
                (RegionKind::HnswMeta, bytemuck::cast_slice(meta)),
                (RegionKind::HnswLevels, &g.levels),
                (RegionKind::HnswLevel0, bytemuck::cast_slice(&g.level0)),
                (
                    RegionKind::HnswUpperOffsets,
                    bytemuck::cast_slice(&g.upper_offsets),
                ),
                (RegionKind::HnswUpper, bytemuck::cast_slice(&g.upper)),
            ];
            out.extend(parts.into_iter().map(|(kind, bytes)| ExtraRegion {
                kind,
                column,
                bytes,
            }));
        }
        out
    }
}

/// The HNSW graph a segment stores for `column`, viewed in place; `None` if it has none.
/// Array sizes are checked here (O(1)); links out of range are harmless (the search
/// skips them) and are found by a full [`GraphView::check`].
pub(crate) fn segment_graph<'a>(
    segment: &'a Segment,
    column: &Column,
) -> Result<Option<GraphView<'a>>> {
    let Some(meta) = segment.u32_region(RegionKind::HnswMeta, column.id)? else {
        return Ok(None);
    };
    let region = |kind| -> Result<&'a [u32]> {
        segment
            .u32_region(kind, column.id)?
            .ok_or_else(|| damaged(segment, format!("{kind:?} region is missing")))
    };
    let levels = segment
        .region_of(RegionKind::HnswLevels, column.id)
        .ok_or_else(|| damaged(segment, "HnswLevels region is missing".into()))?;
    let [m, m0, entry, max_level] = <[u32; 4]>::try_from(meta)
        .map_err(|_| damaged(segment, "HnswMeta is not 4 words".into()))?;
    let view = GraphView {
        m,
        m0,
        entry,
        max_level,
        levels,
        level0: region(RegionKind::HnswLevel0)?,
        upper_offsets: region(RegionKind::HnswUpperOffsets)?,
        upper: region(RegionKind::HnswUpper)?,
    };
    let n = segment.rows() as usize;
    let entry_ok = entry == NONE || ((entry as usize) < n && max_level <= u8::MAX as u32);
    if view.levels.len() != n
        || view.level0.len() != n * (1 + m0 as usize)
        || view.upper_offsets.len() != n
        || !entry_ok
    {
        return Err(damaged(
            segment,
            format!(
                "HNSW arrays of column {} do not match {n} rows",
                column.name
            ),
        ));
    }
    Ok(Some(view))
}

fn damaged(segment: &Segment, reason: String) -> Error {
    Error::corrupted(segment.path(), 0, reason)
}
