//! HNSW's bytes in a segment: the graph (meta words, node levels, level-0 slots, upper
//! offsets and slots) and, with `quantize`, the codes it is traversed on (`codes.rs`).
//! Built into regions at flush and compaction; viewed in place from the memory map,
//! sizes checked here (cheaply) so a damaged file gives `Corrupted` instead of a bad
//! read; links out of range are harmless (searches skip them; VERIFY counts them).

use quiver_storage::segment::RegionKind;
use quiver_storage::{Column, Metric, Quantize, Result, Segment};

use super::{GraphView, HnswGraph, NONE};
use crate::calibration::{CALIBRATION_QUERIES, Calibration, EF_POINTS};
use crate::codes::{BuiltCodes, Codes};
use crate::progress::Progress;
use crate::source::VectorSource;
use crate::stored::{CALIBRATION_SEED, Regions, damaged};
use crate::{Hnsw, HnswParams};

/// Region kinds of a graph's levels, level 0, upper offsets and upper slots.
pub(crate) type GraphKinds = [RegionKind; 4];
const HNSW_KINDS: GraphKinds = [
    RegionKind::HnswLevels,
    RegionKind::HnswLevel0,
    RegionKind::HnswUpperOffsets,
    RegionKind::HnswUpper,
];

/// A built HNSW index, ready to be written.
#[derive(Debug)]
pub struct BuiltHnsw {
    graph: HnswGraph,
    meta: [u32; 4],
    /// The codes it is traversed on (`quantize`).
    codes: Option<BuiltCodes>,
}

/// The graph's meta words: m, m0, entry point, top level.
pub(crate) fn graph_meta(g: &HnswGraph) -> [u32; 4] {
    [g.m, g.m0, g.entry, g.max_level]
}

impl BuiltHnsw {
    /// The graph over `source` (and its codes when asked), with its measured recall
    /// curve.
    pub fn build<S: VectorSource + Sync>(
        source: &S,
        metric: Metric,
        m: u32,
        ef_construction: u32,
        quantize: Quantize,
        progress: &Progress,
    ) -> (BuiltHnsw, Option<Calibration>) {
        let params = HnswParams {
            m: m as usize,
            ef_construction: ef_construction as usize,
            seed: 100,
        };
        let codes = BuiltCodes::build(source, metric, quantize);
        let (index, curve, _) = Hnsw::build_calibrated(
            source,
            metric,
            codes.as_ref().map(BuiltCodes::view).as_ref(),
            &params,
            &EF_POINTS,
            CALIBRATION_QUERIES,
            CALIBRATION_SEED,
            progress,
        );
        let graph = index.graph().clone();
        let meta = graph_meta(&graph);
        (BuiltHnsw { graph, meta, codes }, curve)
    }

    pub(crate) fn regions<'a>(&'a self, out: &mut Regions<'a>) {
        out.push((RegionKind::HnswMeta, bytemuck::cast_slice(&self.meta)));
        out.extend(graph_regions(&self.graph, HNSW_KINDS));
        if let Some(codes) = &self.codes {
            codes.regions(out);
        }
    }
}

/// A graph's four arrays as the regions `kinds`.
pub(crate) fn graph_regions(g: &HnswGraph, kinds: GraphKinds) -> [(RegionKind, &[u8]); 4] {
    [
        (kinds[0], &g.levels),
        (kinds[1], bytemuck::cast_slice(&g.level0)),
        (kinds[2], bytemuck::cast_slice(&g.upper_offsets)),
        (kinds[3], bytemuck::cast_slice(&g.upper)),
    ]
}

/// A segment's HNSW index for one column, viewed in place.
#[derive(Clone, Copy, Debug)]
pub struct HnswView<'a> {
    pub graph: GraphView<'a>,
    /// The codes it is traversed on, where the segment has them.
    pub codes: Option<Codes<'a>>,
}

impl<'a> HnswView<'a> {
    /// The HNSW index `segment` stores for `column`; `None` if it has none.
    pub fn load(segment: &'a Segment, column: &Column) -> Result<Option<HnswView<'a>>> {
        let rows = crate::stored::indexed_count(segment, column)?;
        let Some(graph) = graph_view(segment, column, RegionKind::HnswMeta, HNSW_KINDS, rows)?
        else {
            return Ok(None);
        };
        Ok(Some(HnswView {
            graph,
            codes: Codes::load(segment, column)?,
        }))
    }

    /// VERIFY's check: every link within the nodes (the sizes were checked on load).
    pub fn check(&self, segment: &Segment, column: &Column) -> Result<String> {
        let n = self.graph.nodes() as u32;
        let out_of_range = self
            .graph
            .level0
            .iter()
            .chain(self.graph.upper)
            .filter(|&&link| link != NONE && link >= n)
            .count();
        if out_of_range > 0 {
            return Err(damaged(
                segment,
                format!(
                    "HNSW on {}: {out_of_range} links point past the {n} nodes",
                    column.name
                ),
            ));
        }
        let codes = match self.codes {
            Some(c) => format!(", {} codes of every row", c.quantize().name()),
            None => String::new(),
        };
        Ok(format!("HNSW, {n} nodes, every link in range{codes}"))
    }
}

/// A graph stored under `meta_kind` and `kinds`, which must have `n` nodes.
pub(crate) fn graph_view<'a>(
    segment: &'a Segment,
    column: &Column,
    meta_kind: RegionKind,
    kinds: GraphKinds,
    n: usize,
) -> Result<Option<GraphView<'a>>> {
    let Some(meta) = segment.u32_region(meta_kind, column.id)? else {
        return Ok(None);
    };
    let region = |kind| -> Result<&'a [u32]> {
        segment
            .u32_region(kind, column.id)?
            .ok_or_else(|| damaged(segment, format!("{kind:?} region is missing")))
    };
    let levels = segment
        .region_of(kinds[0], column.id)
        .ok_or_else(|| damaged(segment, format!("{:?} region is missing", kinds[0])))?;
    let [m, m0, entry, max_level] = <[u32; 4]>::try_from(meta)
        .map_err(|_| damaged(segment, format!("{meta_kind:?} is not 4 words")))?;
    let view = GraphView {
        m,
        m0,
        entry,
        max_level,
        levels,
        level0: region(kinds[1])?,
        upper_offsets: region(kinds[2])?,
        upper: region(kinds[3])?,
    };
    let entry_ok = entry == NONE || ((entry as usize) < n && max_level <= u8::MAX as u32);
    if view.levels.len() != n
        || view.level0.len() != n * (1 + m0 as usize)
        || view.upper_offsets.len() != n
        || !entry_ok
    {
        return Err(damaged(
            segment,
            format!(
                "graph arrays of column {} do not match {n} nodes",
                column.name
            ),
        ));
    }
    Ok(Some(view))
}
