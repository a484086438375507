//! Vector indexes inside segments: built from the rows being sealed (flush,
//! compaction) for every column that declares one (HNSW or IVF-PQ, each with its
//! measured recall curve), stored as extra segment regions. `index_views` reads them
//! back in place from the memory map.

use quiver_index::calibration::{CALIBRATION_QUERIES, EF_POINTS, NPROBE_POINTS};
use quiver_index::hnsw::HnswGraph;
use quiver_index::sq8::Sq8;
use quiver_index::{
    Calibration, Hnsw, HnswParams, IvfPq, IvfPqParams, IvfSearch, Progress, VectorSource,
};
use quiver_storage::segment::{ExtraRegion, RegionKind, RowSource};
use quiver_storage::{
    Column, ColumnId, IndexSpec, Metric, Quantize, Result, RowId, Schema, Segment,
};

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

/// IVF-PQ gets at most one list per this many rows of a segment (FAISS warns below
/// 39 training points per centroid).
const ROWS_PER_LIST: usize = 39;
/// Seed of the calibration sample, so rebuilding a segment measures the same rows.
const CALIBRATION_SEED: u64 = 7;

/// One column's index, built from the rows about to be sealed.
enum BuiltIndex {
    Hnsw {
        graph: HnswGraph,
        meta: [u32; 4],
        /// The 8-bit codes it is traversed on (`quantize = 'sq8'`).
        codes: Option<Sq8>,
    },
    IvfPq {
        index: Box<IvfPq>,
        meta: [u32; 4],
        graph_meta: Option<[u32; 4]>,
    },
}

/// One indexed column: its index, recall curve words and distance span words.
type Sealed = (ColumnId, BuiltIndex, Option<Vec<u32>>, Option<[u32; 2]>);

/// The indexes of every indexed column of the rows being sealed, with their curves.
pub(crate) struct SealedIndexes {
    built: Vec<Sealed>,
}

fn hnsw_meta(g: &HnswGraph) -> [u32; 4] {
    [g.m, g.m0, g.entry, g.max_level]
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
            let (Some(spec), Some(v)) = (column.index, column.vector()) else {
                continue;
            };
            if only.is_some_and(|id| id != column.id) {
                continue;
            }
            let source = SealingColumn {
                rows,
                pos,
                column,
                dim: v.dim as usize,
            };
            progress.set_context(format!("index on {}", column.name));
            let (index, curve) = match spec {
                IndexSpec::Hnsw {
                    m,
                    ef_construction,
                    quantize,
                } => build_hnsw(&source, v.metric, m, ef_construction, quantize, progress),
                IndexSpec::IvfPq { nlist, m, refine } => build_ivf_pq(
                    &source,
                    v.metric,
                    nlist,
                    IndexSpec::pq_m_for(m, v.dim),
                    refine,
                    progress,
                ),
            };
            let span = curve.as_ref().and_then(|c| c.span).map(|s| s.to_words());
            built.push((column.id, index, curve.map(|c| c.to_words()), span));
            progress.end();
            progress.set_context("");
        }
        SealedIndexes { built }
    }

    /// The regions to append to the segment.
    pub fn regions(&self) -> Vec<ExtraRegion<'_>> {
        let mut out = Vec::new();
        for (column, index, curve, span) in &self.built {
            let column = *column;
            let mut parts: Vec<(RegionKind, &[u8])> = Vec::new();
            match index {
                BuiltIndex::Hnsw { graph, meta, codes } => {
                    parts.push((RegionKind::HnswMeta, bytemuck::cast_slice(meta)));
                    parts.extend(graph_regions(graph, HNSW_KINDS));
                    if let Some(codes) = codes {
                        let ranges = bytemuck::cast_slice(codes.ranges());
                        parts.push((RegionKind::Sq8Ranges, ranges));
                        parts.push((RegionKind::Sq8Codes, codes.codes()));
                    }
                }
                BuiltIndex::IvfPq {
                    index,
                    meta,
                    graph_meta,
                } => {
                    parts.extend([
                        (RegionKind::IvfMeta, bytemuck::cast_slice::<u32, u8>(meta)),
                        (
                            RegionKind::IvfCentroids,
                            bytemuck::cast_slice(&index.coarse.centroids),
                        ),
                        (
                            RegionKind::IvfCodebooks,
                            bytemuck::cast_slice(&index.pq.codebooks),
                        ),
                        (
                            RegionKind::IvfOffsets,
                            bytemuck::cast_slice(&index.lists.offsets),
                        ),
                        (RegionKind::IvfRows, bytemuck::cast_slice(&index.lists.rows)),
                        (RegionKind::IvfCodes, &index.lists.codes),
                    ]);
                    if let Some(d) = &index.coarse.directions {
                        parts.push((RegionKind::IvfDirections, bytemuck::cast_slice(d)));
                    }
                    if !index.lists.corrections.is_empty() {
                        let c = bytemuck::cast_slice(&index.lists.corrections);
                        parts.push((RegionKind::IvfCorrections, c));
                    }
                    if let (Some(graph), Some(gm)) = (&index.coarse.graph, graph_meta) {
                        parts.push((RegionKind::IvfGraphMeta, bytemuck::cast_slice(gm)));
                        parts.extend(graph_regions(graph, IVF_GRAPH_KINDS));
                    }
                }
            }
            if let Some(words) = curve {
                parts.push((RegionKind::IndexCalibration, bytemuck::cast_slice(words)));
            }
            if let Some(words) = span {
                parts.push((RegionKind::ColumnSpan, bytemuck::cast_slice(words)));
            }
            out.extend(parts.into_iter().map(|(kind, bytes)| ExtraRegion {
                kind,
                column,
                bytes,
            }));
        }
        out
    }
}

/// Region kinds of a graph's levels, level 0, upper offsets and upper slots.
pub(crate) type GraphKinds = [RegionKind; 4];
pub(crate) const HNSW_KINDS: GraphKinds = [
    RegionKind::HnswLevels,
    RegionKind::HnswLevel0,
    RegionKind::HnswUpperOffsets,
    RegionKind::HnswUpper,
];
pub(crate) const IVF_GRAPH_KINDS: GraphKinds = [
    RegionKind::IvfGraphLevels,
    RegionKind::IvfGraphLevel0,
    RegionKind::IvfGraphUpperOffsets,
    RegionKind::IvfGraphUpper,
];

fn graph_regions(g: &HnswGraph, kinds: GraphKinds) -> [(RegionKind, &[u8]); 4] {
    [
        (kinds[0], &g.levels),
        (kinds[1], bytemuck::cast_slice(&g.level0)),
        (kinds[2], bytemuck::cast_slice(&g.upper_offsets)),
        (kinds[3], bytemuck::cast_slice(&g.upper)),
    ]
}

fn build_hnsw(
    source: &SealingColumn<'_>,
    metric: Metric,
    m: u32,
    ef_construction: u32,
    quantize: Quantize,
    progress: &Progress,
) -> (BuiltIndex, Option<Calibration>) {
    let params = HnswParams {
        m: m as usize,
        ef_construction: ef_construction as usize,
        seed: 100,
    };
    let codes = match quantize {
        Quantize::Sq8 => Some(Sq8::build(source, metric)),
        Quantize::None => None,
    };
    let (index, curve, _) = Hnsw::build_calibrated(
        source,
        metric,
        codes.as_ref().map(Sq8::view).as_ref(),
        &params,
        &EF_POINTS,
        CALIBRATION_QUERIES,
        CALIBRATION_SEED,
        progress,
    );
    let graph = index.graph().clone();
    let meta = hnsw_meta(&graph);
    (BuiltIndex::Hnsw { graph, meta, codes }, curve)
}

fn build_ivf_pq(
    source: &SealingColumn<'_>,
    metric: Metric,
    nlist: u32,
    m: u32,
    refine: u32,
    progress: &Progress,
) -> (BuiltIndex, Option<Calibration>) {
    let valid = (0..source.len() as u32)
        .filter(|&r| source.get(RowId(r)).is_some())
        .count();
    let nlist = (nlist as usize).min((valid / ROWS_PER_LIST).max(1));
    let index = IvfPq::build_reporting(
        source,
        metric,
        &IvfPqParams::new(nlist, m as usize),
        progress,
    );
    progress.begin("IVF-PQ: measuring the recall curve", 0);
    let view = index.view();
    let points: Vec<u32> = NPROBE_POINTS
        .into_iter()
        .filter(|&p| p as usize <= view.nlist())
        .collect();
    let curve = Calibration::measure(
        source,
        metric,
        &points,
        CALIBRATION_QUERIES,
        CALIBRATION_SEED,
        &|q, k, nprobe, held_out| {
            let params = IvfSearch {
                nprobe: nprobe as usize,
                refine: refine as usize,
            };
            view.search(source, q, k, &params, &|r| r != held_out)
        },
    );
    let meta = [
        view.nlist() as u32,
        m,
        index.dim as u32,
        u32::from(index.coarse.graph.is_some()),
    ];
    let graph_meta = index.coarse.graph.as_ref().map(hnsw_meta);
    (
        BuiltIndex::IvfPq {
            index: Box::new(index),
            meta,
            graph_meta,
        },
        curve,
    )
}
