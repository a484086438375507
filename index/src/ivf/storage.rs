//! IVF's bytes in a segment: meta words, coarse centroids (and their directions for
//! cosine), the inverted lists (offsets, rows) and, for many lists, an HNSW graph over
//! the centroids; then the entries' codes: IVF-PQ's product-quantizer codebooks, codes
//! and per-code corrections, or IVF on RaBitQ's codes (meta word `m` = 0, the code
//! regions of `crate::codes` over the entries).
//! Built into regions at flush and compaction; viewed in place, sizes checked on load
//! so a damaged file gives `Corrupted` instead of a bad read.

use quiver_storage::segment::RegionKind;
use quiver_storage::{Column, Metric, Result, RowId, Segment};

use crate::calibration::{CALIBRATION_QUERIES, CalibratedSearch, Calibration, NPROBE_POINTS};
use crate::codes::BuiltCodes;
use crate::hnsw::storage::{GraphKinds, graph_meta, graph_regions, graph_view};
use crate::ivf::{CoarseQuantizer, IvfPqParts, IvfRabitq, IvfRabitqView};
use crate::progress::Progress;
use crate::rabitq::RabitqView;
use crate::source::VectorSource;
use crate::stored::{CALIBRATION_SEED, Regions, damaged};
use crate::{IvfPq, IvfPqParams, IvfPqView, IvfSearch};

const IVF_GRAPH_KINDS: GraphKinds = [
    RegionKind::IvfGraphLevels,
    RegionKind::IvfGraphLevel0,
    RegionKind::IvfGraphUpperOffsets,
    RegionKind::IvfGraphUpper,
];

/// IVF-PQ gets at most one list per this many rows of a segment (FAISS warns below
/// 39 training points per centroid).
const ROWS_PER_LIST: usize = 39;

/// The words and regions both IVF kinds write for their coarse quantizer and lists.
#[derive(Debug)]
struct CoarseMeta {
    /// nlist, code bytes (0: RaBitQ entries), dim, 1 if there is a coarse graph.
    meta: [u32; 4],
    graph_meta: Option<[u32; 4]>,
}

impl CoarseMeta {
    fn new(coarse: &CoarseQuantizer, dim: usize, m: u32) -> CoarseMeta {
        CoarseMeta {
            meta: [
                (coarse.centroids.len() / dim.max(1)) as u32,
                m,
                dim as u32,
                u32::from(coarse.graph.is_some()),
            ],
            graph_meta: coarse.graph.as_ref().map(graph_meta),
        }
    }

    /// IvfMeta, the centroids (and directions), the lists and the coarse graph.
    fn regions<'a>(
        &'a self,
        coarse: &'a CoarseQuantizer,
        offsets: &'a [u32],
        rows: &'a [u32],
        out: &mut Regions<'a>,
    ) {
        out.extend([
            (
                RegionKind::IvfMeta,
                bytemuck::cast_slice::<u32, u8>(&self.meta),
            ),
            (
                RegionKind::IvfCentroids,
                bytemuck::cast_slice(&coarse.centroids),
            ),
            (RegionKind::IvfOffsets, bytemuck::cast_slice(offsets)),
            (RegionKind::IvfRows, bytemuck::cast_slice(rows)),
        ]);
        if let Some(d) = &coarse.directions {
            out.push((RegionKind::IvfDirections, bytemuck::cast_slice(d)));
        }
        if let (Some(graph), Some(gm)) = (&coarse.graph, &self.graph_meta) {
            out.push((RegionKind::IvfGraphMeta, bytemuck::cast_slice(gm)));
            out.extend(graph_regions(graph, IVF_GRAPH_KINDS));
        }
    }
}

/// At most `nlist` lists, fewer for few rows (see [`ROWS_PER_LIST`]).
fn lists_for<S: VectorSource + ?Sized>(source: &S, nlist: u32) -> usize {
    let valid = (0..source.len() as u32)
        .filter(|&r| source.get(RowId(r)).is_some())
        .count();
    (nlist as usize).min((valid / ROWS_PER_LIST).max(1))
}

/// An IVF index's recall curve over the nprobe points up to its `nlist`.
fn nprobe_curve<S: VectorSource + Sync>(
    source: &S,
    metric: Metric,
    nlist: usize,
    search: &CalibratedSearch<'_>,
) -> Option<Calibration> {
    let points: Vec<u32> = NPROBE_POINTS
        .into_iter()
        .filter(|&p| p as usize <= nlist)
        .collect();
    Calibration::measure(
        source,
        metric,
        &points,
        CALIBRATION_QUERIES,
        CALIBRATION_SEED,
        search,
    )
}

/// A built IVF-PQ index, ready to be written.
#[derive(Debug)]
pub struct BuiltIvfPq {
    index: Box<IvfPq>,
    coarse: CoarseMeta,
}

impl BuiltIvfPq {
    /// The index over `source` (at most `nlist` lists, fewer for few rows; `m` bytes a
    /// code), with its recall curve measured at `refine`.
    pub fn build<S: VectorSource + Sync>(
        source: &S,
        metric: Metric,
        nlist: u32,
        m: u32,
        refine: u32,
        progress: &Progress,
    ) -> (BuiltIvfPq, Option<Calibration>) {
        let params = IvfPqParams::new(lists_for(source, nlist), m as usize);
        let index = IvfPq::build_reporting(source, metric, &params, progress);
        progress.begin("IVF-PQ: measuring the recall curve", 0);
        let view = index.view();
        let refine = refine as usize;
        let curve = nprobe_curve(source, metric, view.nlist(), &|q, k, nprobe, held_out| {
            let params = IvfSearch {
                nprobe: nprobe as usize,
                refine,
            };
            view.search(source, q, k, &params, &|r| r != held_out)
        });
        let coarse = CoarseMeta::new(&index.coarse, index.dim, m);
        let built = BuiltIvfPq {
            index: Box::new(index),
            coarse,
        };
        (built, curve)
    }

    pub(crate) fn regions<'a>(&'a self, out: &mut Regions<'a>) {
        let index = &self.index;
        let lists = &index.lists;
        self.coarse
            .regions(&index.coarse, &lists.offsets, &lists.rows, out);
        out.push((
            RegionKind::IvfCodebooks,
            bytemuck::cast_slice(&index.pq.codebooks),
        ));
        out.push((RegionKind::IvfCodes, &lists.codes));
        if !lists.corrections.is_empty() {
            let c = bytemuck::cast_slice(&lists.corrections);
            out.push((RegionKind::IvfCorrections, c));
        }
    }
}

/// A built IVF index on RaBitQ codes, ready to be written.
#[derive(Debug)]
pub struct BuiltIvfRabitq {
    index: Box<IvfRabitq>,
    coarse: CoarseMeta,
}

impl BuiltIvfRabitq {
    /// The index over `source` (at most `nlist` lists, fewer for few rows; `bits` per
    /// dimension), with its recall curve over nprobe measured at `refine`.
    pub fn build<S: VectorSource + Sync>(
        source: &S,
        metric: Metric,
        nlist: u32,
        bits: u32,
        refine: u32,
        progress: &Progress,
    ) -> (BuiltIvfRabitq, Option<Calibration>) {
        let nlist = lists_for(source, nlist);
        let index = IvfRabitq::build(source, metric, nlist, bits, progress);
        progress.begin("IVF-RaBitQ: measuring the recall curve", 0);
        let view = index.view();
        let refine = refine as usize;
        let curve = nprobe_curve(source, metric, view.nlist(), &|q, k, nprobe, held_out| {
            let keep = |r| r != held_out;
            view.search_with_stats(source, q, k, nprobe as usize, refine, &keep)
                .0
        });
        let coarse = CoarseMeta::new(&index.coarse, index.dim, 0);
        let built = BuiltIvfRabitq {
            index: Box::new(index),
            coarse,
        };
        (built, curve)
    }

    pub(crate) fn regions<'a>(&'a self, out: &mut Regions<'a>) {
        let index = &self.index;
        self.coarse
            .regions(&index.coarse, &index.offsets, &index.rows, out);
        BuiltCodes::rabitq_regions(&index.codes, out);
    }
}

/// A segment's IVF index: on product codes or on RaBitQ codes.
#[derive(Clone, Copy, Debug)]
pub enum IvfView<'a> {
    Pq(IvfPqView<'a>),
    Rabitq(IvfRabitqView<'a>),
}

/// The IVF index `segment` stores for `column`, viewed in place; `None` if none.
pub fn load<'a>(segment: &'a Segment, column: &Column) -> Result<Option<IvfView<'a>>> {
    let Some(meta) = segment.u32_region(RegionKind::IvfMeta, column.id)? else {
        return Ok(None);
    };
    let [nlist, m, dim, has_graph] = <[u32; 4]>::try_from(meta)
        .map_err(|_| damaged(segment, "IvfMeta is not 4 words".into()))?;
    let floats = |kind| -> Result<&'a [f32]> {
        segment
            .f32_region(kind, column.id)?
            .ok_or_else(|| damaged(segment, format!("{kind:?} region is missing")))
    };
    let words = |kind| -> Result<&'a [u32]> {
        segment
            .u32_region(kind, column.id)?
            .ok_or_else(|| damaged(segment, format!("{kind:?} region is missing")))
    };
    let graph = if has_graph == 1 {
        let g = graph_view(
            segment,
            column,
            RegionKind::IvfGraphMeta,
            IVF_GRAPH_KINDS,
            nlist as usize,
        )?;
        Some(g.ok_or_else(|| damaged(segment, "IvfGraphMeta region is missing".into()))?)
    } else {
        None
    };
    let metric = column
        .vector_shape()
        .map(|v| v.metric)
        .ok_or_else(|| damaged(segment, "IVF on a non-vector column".into()))?;
    if column.vector_shape().map(|v| v.dim) != Some(dim) {
        return Err(damaged(
            segment,
            format!("IVF of column {} does not match its meta", column.name),
        ));
    }
    let directions = segment.f32_region(RegionKind::IvfDirections, column.id)?;
    let bad = |reason: String| damaged(segment, format!("IVF of column {}: {reason}", column.name));
    if m == 0 {
        let centroid = floats(RegionKind::RabitqCentroid)?;
        let codes = segment
            .region_of(RegionKind::RabitqCodes, column.id)
            .ok_or_else(|| damaged(segment, "RabitqCodes region is missing".into()))?;
        let codes = RabitqView::new(
            metric,
            dim as usize,
            words(RegionKind::RabitqMeta)?,
            centroid,
            codes,
        )
        .map_err(bad)?;
        let view = IvfRabitqView::new(
            metric,
            dim as usize,
            floats(RegionKind::IvfCentroids)?,
            directions,
            graph,
            words(RegionKind::IvfOffsets)?,
            words(RegionKind::IvfRows)?,
            codes,
        )
        .map_err(bad)?;
        if view.nlist() != nlist as usize {
            return Err(bad(format!("{} lists, not {nlist}", view.nlist())));
        }
        return Ok(Some(IvfView::Rabitq(view)));
    }
    let parts = IvfPqParts {
        metric,
        dim: dim as usize,
        m: m as usize,
        centroids: floats(RegionKind::IvfCentroids)?,
        directions,
        graph,
        codebooks: floats(RegionKind::IvfCodebooks)?,
        offsets: words(RegionKind::IvfOffsets)?,
        rows: words(RegionKind::IvfRows)?,
        codes: segment
            .region_of(RegionKind::IvfCodes, column.id)
            .ok_or_else(|| damaged(segment, "IvfCodes region is missing".into()))?,
        corrections: segment
            .f32_region(RegionKind::IvfCorrections, column.id)?
            .unwrap_or(&[]),
    };
    let view = IvfPqView::new(parts).map_err(bad)?;
    if view.nlist() != nlist as usize {
        return Err(bad(format!("{} lists, not {nlist}", view.nlist())));
    }
    Ok(Some(IvfView::Pq(view)))
}

#[cfg(test)]
mod tests {
    use quiver_storage::directory::FsDirectory;
    use quiver_storage::segment::{
        ExtraRegion, RegionKind, RowRefs, SegmentWriter, segment_file_name,
    };
    use quiver_storage::{Error, IndexSpec, Item, Metric, Result, Row, Schema, Segment, SegmentId};

    use crate::stored::{BuiltIndex, segment_calibration};
    use crate::{Progress, SliceSource};

    /// A segment of 1,200 rows with an IVF-PQ index on `v`, its regions passed through
    /// `damage` before writing; returns what `segment_ivf` and `segment_calibration` say.
    fn open_with(damage: impl Fn(&mut Vec<(RegionKind, Vec<u8>)>)) -> (Result<bool>, Result<bool>) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = FsDirectory::open(tmp.path()).unwrap();
        let schema = Schema::builder()
            .vector("v", 8, Metric::L2)
            .build()
            .unwrap()
            .with_index("v", Some(IndexSpec::ivf_pq().nlist(8).m(2)))
            .unwrap();
        let vectors: Vec<Vec<f32>> = (0..1200)
            .map(|i| (0..8).map(|d| ((i * 7 + d * 13) % 31) as f32).collect())
            .collect();
        let rows: Vec<Row> = vectors
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let item = Item::new(format!("r{i:05}")).set("v", v.clone());
                Row::from_item(&schema, &item).unwrap()
            })
            .collect();
        let flat = vectors.concat();
        let spec = schema.columns()[0].index.unwrap();
        let source = SliceSource::new(&flat, 8).unwrap();
        let built = BuiltIndex::build(spec, &source, Metric::L2, 8, &Progress::default()).unwrap();
        let mut regions: Vec<(RegionKind, Vec<u8>)> = built
            .regions()
            .into_iter()
            .map(|(kind, bytes)| (kind, bytes.to_vec()))
            .collect();
        damage(&mut regions);
        let column = &schema.columns()[0];
        let extra: Vec<ExtraRegion<'_>> = regions
            .iter()
            .map(|(kind, bytes)| ExtraRegion {
                kind: *kind,
                column: column.id,
                bytes,
            })
            .collect();
        let name = segment_file_name(SegmentId(1));
        let rows = RowRefs(rows.iter().collect());
        SegmentWriter::write_with(&dir, &name, &schema, &rows, &extra).unwrap();
        let segment = Segment::open(&dir, SegmentId(1), &schema).unwrap();
        (
            super::load(&segment, column).map(|v| v.is_some()),
            segment_calibration(&segment, column).map(|c| c.is_some()),
        )
    }

    fn corrupted(r: &Result<bool>) -> bool {
        matches!(r, Err(Error::Corrupted { .. }))
    }

    #[test]
    fn intact_regions_open_with_a_curve() {
        let (ivf, curve) = open_with(|_| {});
        assert!(ivf.unwrap() && curve.unwrap());
    }

    #[test]
    fn damaged_ivf_regions_are_corrupted_not_panics() {
        let set_word = |kind: RegionKind, at: usize, value: u32| {
            move |regions: &mut Vec<(RegionKind, Vec<u8>)>| {
                let bytes = &mut regions.iter_mut().find(|r| r.0 == kind).unwrap().1;
                bytes[at * 4..at * 4 + 4].copy_from_slice(&value.to_le_bytes());
            }
        };
        let drop_kind = |kind: RegionKind| {
            move |regions: &mut Vec<(RegionKind, Vec<u8>)>| regions.retain(|r| r.0 != kind)
        };
        let truncate = |kind: RegionKind| {
            move |regions: &mut Vec<(RegionKind, Vec<u8>)>| {
                let bytes = &mut regions.iter_mut().find(|r| r.0 == kind).unwrap().1;
                bytes.truncate(bytes.len() - 4);
            }
        };
        assert!(corrupted(
            &open_with(set_word(RegionKind::IvfOffsets, 3, u32::MAX)).0
        ));
        assert!(corrupted(&open_with(set_word(RegionKind::IvfMeta, 0, 9)).0));
        assert!(corrupted(&open_with(set_word(RegionKind::IvfMeta, 2, 7)).0));
        assert!(corrupted(&open_with(set_word(RegionKind::IvfMeta, 3, 1)).0));
        assert!(corrupted(&open_with(drop_kind(RegionKind::IvfCodes)).0));
        assert!(corrupted(
            &open_with(drop_kind(RegionKind::IvfCorrections)).0
        ));
        assert!(corrupted(&open_with(truncate(RegionKind::IvfCodebooks)).0));
        assert!(corrupted(&open_with(truncate(RegionKind::IvfRows)).0));
        assert!(corrupted(
            &open_with(set_word(RegionKind::IndexCalibration, 1, 7.0f32.to_bits())).1
        ));
    }
}
