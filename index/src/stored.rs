//! Indexes stored in segments, one dispatch over the index families. Each family owns
//! its bytes (`hnsw/storage.rs`, `ivf/storage.rs`: region kinds, encoding, the in-place
//! view); the engine builds a column's index with [`BuiltIndex::build`], appends
//! [`BuiltIndex::regions`] to the segment, and opens a segment's index with
//! [`SegmentIndex::load`] to search or check it. Adding a family: its folder with a
//! `storage.rs`, and one variant in each of the two enums here.

use quiver_storage::segment::RegionKind;
use quiver_storage::{Column, Error, IndexSpec, Metric, Quantize, Result, RowId, Segment, Vectors};

use crate::bm25::storage::{Bm25Index, StoredBm25};
use crate::calibration::{CALIBRATION_MIN_ROWS, CALIBRATION_QUERIES, Calibration, DistanceSpan};
use crate::codes::{BuiltCodes, Codes};
use crate::flat::Hit;
use crate::hnsw::storage::{BuiltHnsw, HnswView};
use crate::hnsw::{search_graph, search_graph_codes};
use crate::ivf::IvfRabitqView;
use crate::ivf::storage::{BuiltIvfPq, BuiltIvfRabitq, IvfView};
use crate::progress::Progress;
use crate::scan::{REFINE_POINTS, scan_codes};
use crate::source::VectorSource;
use crate::{IvfPqView, IvfSearch};

/// Seed of the calibration sample, so rebuilding a segment measures the same rows.
pub(crate) const CALIBRATION_SEED: u64 = 7;

/// Default HNSW beam width.
pub const DEFAULT_EF: usize = 64;
/// Default IVF-PQ lists probed.
pub const DEFAULT_NPROBE: usize = 32;

/// Regions to append to a segment, for one column.
pub(crate) type Regions<'a> = Vec<(RegionKind, &'a [u8])>;

/// The error for a segment whose index regions do not hold together.
pub(crate) fn damaged(segment: &Segment, reason: String) -> Error {
    Error::corrupted(segment.path(), 0, reason)
}

/// One column's index, built from the rows about to be sealed, with its measured
/// recall curve and distance span.
#[derive(Debug)]
pub struct BuiltIndex {
    family: Built,
    curve: Option<Vec<u32>>,
    span: Option<[u32; 2]>,
}

#[derive(Debug)]
enum Built {
    Hnsw(BuiltHnsw),
    IvfPq(BuiltIvfPq),
    IvfRabitq(BuiltIvfRabitq),
    /// `None`: no codes (none asked for, or too few rows to train them on).
    Flat(Option<BuiltCodes>),
    Bm25(StoredBm25),
}

impl BuiltIndex {
    /// The BM25 index `spec` declares over a TEXT column's `texts` (row `i` is segment
    /// row `i`, `None` for NULL); `None` when `spec` is not a text index.
    pub fn build_text<'t>(
        spec: IndexSpec,
        texts: impl Iterator<Item = Option<&'t str>>,
    ) -> Option<BuiltIndex> {
        let IndexSpec::Bm25 { analyzer, .. } = spec else {
            return None;
        };
        Some(BuiltIndex {
            family: Built::Bm25(StoredBm25::build(analyzer, texts)),
            curve: None,
            span: None,
        })
    }

    /// The index `spec` declares over `source` (a vector column of dimension `dim`);
    /// `None` for a text index (BM25), which [`BuiltIndex::build_text`] builds.
    pub fn build<S: VectorSource + Sync>(
        spec: IndexSpec,
        source: &S,
        metric: Metric,
        dim: u32,
        progress: &Progress,
    ) -> Option<BuiltIndex> {
        if let Some(wide) = crate::source::Widened::of(source) {
            return Self::build(spec, &wide, metric, dim, progress);
        }
        let (family, curve) = match spec {
            IndexSpec::Hnsw {
                m,
                ef_construction,
                quantize,
            } => {
                let (built, curve) =
                    BuiltHnsw::build(source, metric, m, ef_construction, quantize, progress);
                (Built::Hnsw(built), curve)
            }
            IndexSpec::IvfPq { nlist, m, refine } => {
                let m = IndexSpec::pq_m_for(m, dim);
                let (built, curve) = BuiltIvfPq::build(source, metric, nlist, m, refine, progress);
                (Built::IvfPq(built), curve)
            }
            IndexSpec::Ivf {
                nlist,
                quantize,
                refine,
            } => {
                let bits = quantize.rabitq_bits()?;
                let refine = spec_refine(refine, quantize);
                let (built, curve) =
                    BuiltIvfRabitq::build(source, metric, nlist, bits, refine, progress);
                (Built::IvfRabitq(built), curve)
            }
            IndexSpec::Flat { quantize, .. } => {
                let codes = (source.len() >= CALIBRATION_MIN_ROWS)
                    .then(|| BuiltCodes::build(source, metric, quantize))
                    .flatten();
                let curve = codes.as_ref().and_then(|c| flat_curve(source, metric, c));
                (Built::Flat(codes), curve)
            }
            IndexSpec::Bm25 { .. } => return None,
        };
        Some(BuiltIndex {
            family,
            span: curve.as_ref().and_then(|c| c.span).map(|s| s.to_words()),
            curve: curve.map(|c| c.to_words()),
        })
    }

    /// The regions that store it (for its column).
    pub fn regions(&self) -> Vec<(RegionKind, &[u8])> {
        let mut out = Vec::new();
        match &self.family {
            Built::Hnsw(h) => h.regions(&mut out),
            Built::IvfPq(i) => i.regions(&mut out),
            Built::IvfRabitq(i) => i.regions(&mut out),
            Built::Flat(Some(codes)) => codes.regions(&mut out),
            Built::Flat(None) => {}
            Built::Bm25(t) => t.regions(&mut out),
        }
        if let Some(words) = &self.curve {
            out.push((RegionKind::IndexCalibration, bytemuck::cast_slice(words)));
        }
        if let Some(words) = &self.span {
            out.push((RegionKind::ColumnSpan, bytemuck::cast_slice(words)));
        }
        out
    }
}

/// A spec's `refine`: its own when set (non-zero), else the codes' default.
fn spec_refine(refine: u32, quantize: Quantize) -> u32 {
    match refine {
        0 => quantize.default_refine(),
        r => r,
    }
}

/// A FLAT index's recall curve over `refine`, measured as it will be searched.
fn flat_curve<S: VectorSource + Sync>(
    source: &S,
    metric: Metric,
    codes: &BuiltCodes,
) -> Option<Calibration> {
    let sample = Calibration::sample(source, CALIBRATION_QUERIES, CALIBRATION_SEED)?;
    let codes = codes.view();
    let search = |q: &[f32], k: usize, refine: u32, held_out: RowId| {
        scan_codes(&codes, source, q, k, refine as usize, &|r| r != held_out).0
    };
    Calibration::measure_on(source, metric, &REFINE_POINTS, &sample, &search)
}

/// How to search an index.
#[derive(Clone, Copy, Debug, Default)]
pub struct SearchOptions {
    /// Beam width for HNSW (at least k is used); default 64.
    pub ef: Option<usize>,
    /// IVF-PQ lists probed; default 32.
    pub nprobe: Option<usize>,
    /// Candidates re-scored exactly per result, for an index searched on codes
    /// (IVF-PQ, HNSW or FLAT with `quantize`); default the index's (`IndexSpec::refine`)
    /// or the codes' ([`Quantize::default_refine`]).
    pub refine: Option<usize>,
    /// Target recall@10 in (0, 1]: each segment picks ef / nprobe / a FLAT index's
    /// refine from its index's measured curve (overrides them).
    pub recall: Option<f32>,
    /// Scan every row exactly, ignoring indexes.
    pub exact: bool,
}

impl SearchOptions {
    pub fn ef(mut self, ef: usize) -> Self {
        self.ef = Some(ef);
        self
    }

    pub fn nprobe(mut self, nprobe: usize) -> Self {
        self.nprobe = Some(nprobe);
        self
    }

    pub fn refine(mut self, refine: usize) -> Self {
        self.refine = Some(refine);
        self
    }

    pub fn recall(mut self, target: f32) -> Self {
        self.recall = Some(target);
        self
    }

    pub fn exact(mut self, yes: bool) -> Self {
        self.exact = yes;
        self
    }
}

/// How one part of the collection was searched (for EXPLAIN).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Traversed on the segment's `codes` (`Quantize::None`: on the vectors), the best
    /// `rerank` of the beam re-scored with the vectors (`None`: not on codes; `Some(0)`:
    /// the caller re-scores).
    Hnsw {
        ef: usize,
        codes: Quantize,
        rerank: Option<usize>,
    },
    IvfPq {
        nprobe: usize,
        refine: usize,
    },
    /// IVF on `codes`: `nprobe` lists scanned, the best `rerank` re-scored exactly.
    Ivf {
        nprobe: usize,
        codes: Quantize,
        rerank: usize,
    },
    /// A FLAT index: every row's `codes` scanned, the best `rerank` re-scored exactly.
    Scan {
        codes: Quantize,
        rerank: usize,
    },
    /// A TEXT column's BM25 postings (MATCH): every row holding a query term scored.
    Bm25,
    /// A SPARSE column's postings (`quiver_index::sparse`): `read` of the `listed`
    /// entries of the query's indices' lists (the rest pruned), the rows that could
    /// win scored exactly.
    SparsePostings {
        read: usize,
        listed: usize,
    },
    Exact,
    /// An exact scan of a segment whose FLAT index has no `codes`: it had too few rows
    /// to train them on (an exact scan of so few rows costs less anyway).
    ExactUntrained {
        codes: Quantize,
    },
}

impl std::fmt::Display for Strategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Strategy::Hnsw {
                ef, rerank: None, ..
            } => write!(f, "HNSW ef={ef}"),
            Strategy::Hnsw {
                ef,
                codes,
                rerank: Some(0),
            } => write!(f, "HNSW ef={ef} on {} codes, not re-ranked", codes.name()),
            Strategy::Hnsw {
                ef,
                codes,
                rerank: Some(n),
            } => write!(
                f,
                "HNSW ef={ef} on {} codes, best {n} re-ranked",
                codes.name()
            ),
            Strategy::IvfPq { nprobe, refine } => {
                write!(f, "IVF-PQ nprobe={nprobe} refine={refine}")
            }
            Strategy::Ivf {
                nprobe,
                codes,
                rerank,
            } => write!(
                f,
                "IVF nprobe={nprobe} on {} codes, best {rerank} re-scored",
                codes.name()
            ),
            Strategy::Scan { codes, rerank } => {
                write!(f, "scan of {} codes, best {rerank} re-scored", codes.name())
            }
            Strategy::Bm25 => write!(f, "BM25 postings"),
            Strategy::SparsePostings { read, listed } => {
                write!(f, "sparse postings, {read} of {listed} entries read")
            }
            Strategy::Exact => write!(f, "exact scan"),
            Strategy::ExactUntrained { codes } => write!(
                f,
                "exact scan: fewer than {CALIBRATION_MIN_ROWS} rows, too few to train {} codes",
                codes.name()
            ),
        }
    }
}

/// The strategy of an exact scan of `segment`'s `column`: [`Strategy::ExactUntrained`]
/// where the column's FLAT index asks for codes the segment was too small to train.
pub fn exact_strategy(segment: &Segment, column: &Column) -> Strategy {
    match column.index {
        Some(IndexSpec::Flat { quantize, .. })
            if !quantize.is_none() && (segment.rows() as usize) < CALIBRATION_MIN_ROWS =>
        {
            Strategy::ExactUntrained { codes: quantize }
        }
        _ => Strategy::Exact,
    }
}

/// The index a segment holds for a column, viewed in place.
#[derive(Clone, Copy, Debug)]
pub enum SegmentIndex<'a> {
    Hnsw(HnswView<'a>),
    IvfPq(IvfPqView<'a>),
    IvfRabitq(IvfRabitqView<'a>),
    /// A FLAT index's codes (a segment's codes without a graph).
    Flat(Codes<'a>),
    /// A TEXT column's BM25 index: answers MATCH (the engine's `lexical.rs`), not
    /// vector searches.
    Bm25(Bm25Index<'a>),
}

impl<'a> SegmentIndex<'a> {
    /// `column`'s index in `segment`; `None` where it has none.
    pub fn load(segment: &'a Segment, column: &Column) -> Result<Option<SegmentIndex<'a>>> {
        if let Some(hnsw) = HnswView::load(segment, column)? {
            return Ok(Some(SegmentIndex::Hnsw(hnsw)));
        }
        if let Some(text) = Bm25Index::load(segment, column)? {
            return Ok(Some(SegmentIndex::Bm25(text)));
        }
        match crate::ivf::storage::load(segment, column)? {
            Some(IvfView::Pq(ivf)) => return Ok(Some(SegmentIndex::IvfPq(ivf))),
            Some(IvfView::Rabitq(ivf)) => return Ok(Some(SegmentIndex::IvfRabitq(ivf))),
            None => {}
        }
        Ok(Codes::load(segment, column)?.map(SegmentIndex::Flat))
    }

    /// The `k` rows of `source` (the segment's column) nearest to `query` that `keep`
    /// accepts, with the strategy used and the distances computed; `None` where the
    /// options' recall target is beyond the index's measured curve (or it has none):
    /// the caller scans exactly.
    #[allow(clippy::too_many_arguments)]
    pub fn search<S: VectorSource + Sync + ?Sized>(
        &self,
        segment: &Segment,
        column: &Column,
        source: &S,
        metric: Metric,
        query: &[f32],
        k: usize,
        options: &SearchOptions,
        keep: &(dyn Fn(RowId) -> bool + Sync),
    ) -> Result<Option<(Vec<Hit>, Strategy, usize)>> {
        let picked = match picked(segment, column, options)? {
            Picked::BeyondCurve => return Ok(None),
            Picked::Parameter(p) => Some(p),
            Picked::Default => None,
        };
        Ok(Some(match self {
            SegmentIndex::Hnsw(HnswView { graph, codes: None }) => {
                let ef = picked.or(options.ef).unwrap_or(DEFAULT_EF).max(k);
                let (hits, visited) = search_graph(graph, source, metric, query, k, ef, keep);
                let strategy = Strategy::Hnsw {
                    ef,
                    codes: Quantize::None,
                    rerank: None,
                };
                (hits, strategy, visited)
            }
            SegmentIndex::Hnsw(HnswView {
                graph,
                codes: Some(codes),
            }) => {
                let refine = options
                    .refine
                    .unwrap_or(codes.quantize().default_refine() as usize);
                let rerank = k * refine.max(1);
                let ef = picked.or(options.ef).unwrap_or(DEFAULT_EF).max(rerank);
                let (hits, counts) =
                    search_graph_codes(graph, codes, source, query, k, ef, rerank, keep);
                let strategy = Strategy::Hnsw {
                    ef,
                    codes: codes.quantize(),
                    rerank: Some(rerank),
                };
                (hits, strategy, counts.code_distances + counts.reranked)
            }
            SegmentIndex::IvfRabitq(ivf) => {
                let quantize = Codes::quantize_of_bits(ivf.bits());
                let refine = match column.index {
                    Some(IndexSpec::Ivf { refine, .. }) => spec_refine(refine, quantize),
                    _ => quantize.default_refine(),
                };
                let refine = options.refine.unwrap_or(refine as usize);
                let nprobe = picked.or(options.nprobe).unwrap_or(DEFAULT_NPROBE);
                let (hits, s) = ivf.search_with_stats(source, query, k, nprobe, refine, keep);
                let strategy = Strategy::Ivf {
                    nprobe: s.lists,
                    codes: quantize,
                    rerank: s.refined,
                };
                (hits, strategy, s.codes + s.refined)
            }
            SegmentIndex::Flat(codes) => {
                let refine = match column.index {
                    Some(IndexSpec::Flat { refine, .. }) => spec_refine(refine, codes.quantize()),
                    _ => codes.quantize().default_refine(),
                };
                let refine = picked.or(options.refine).unwrap_or(refine as usize);
                let (hits, counts) = scan_codes(codes, source, query, k, refine, keep);
                let strategy = Strategy::Scan {
                    codes: codes.quantize(),
                    rerank: counts.reranked,
                };
                (hits, strategy, counts.code_distances + counts.reranked)
            }
            SegmentIndex::IvfPq(ivf) => {
                let spec_refine = match column.index {
                    Some(IndexSpec::IvfPq { refine, .. }) => refine as usize,
                    _ => 0,
                };
                let params = IvfSearch {
                    nprobe: picked.or(options.nprobe).unwrap_or(DEFAULT_NPROBE),
                    refine: options.refine.unwrap_or(spec_refine),
                };
                let (hits, s) = ivf.search_with_stats(source, query, k, &params, keep);
                let strategy = Strategy::IvfPq {
                    nprobe: params.nprobe,
                    refine: params.refine,
                };
                (hits, strategy, s.codes + s.refined)
            }
            SegmentIndex::Bm25(_) => {
                return Err(Error::InvalidArgument(format!(
                    "column {} holds text: rank it with MATCH, not <->",
                    column.name
                )));
            }
        }))
    }

    /// For an HNSW index over a multi-vector column's elements: the best element of
    /// each of up to `groups` distinct rows (`group`: an element's row), the beam
    /// `max(groups, ef)` rows wide, closest first (code distances when walked on 8-bit
    /// codes: the caller re-scores), with the strategy and the distances computed.
    /// `None` where the recall target is beyond the curve, as for
    /// [`SegmentIndex::search`]. Another index kind is an error: its caller searches
    /// elements.
    #[allow(clippy::too_many_arguments)]
    pub fn search_groups<S: VectorSource + ?Sized>(
        &self,
        segment: &Segment,
        column: &Column,
        source: &S,
        metric: Metric,
        query: &[f32],
        groups: usize,
        options: &SearchOptions,
        keep: &dyn Fn(RowId) -> bool,
        group: &dyn Fn(u32) -> u32,
    ) -> Result<Option<(Vec<Hit>, Strategy, usize)>> {
        let SegmentIndex::Hnsw(HnswView { graph, codes }) = self else {
            return Err(Error::InvalidArgument(format!(
                "column {}: only an HNSW index searches by groups",
                column.name
            )));
        };
        let ef = match picked(segment, column, options)? {
            Picked::BeyondCurve => return Ok(None),
            Picked::Parameter(p) => p,
            Picked::Default => options.ef.unwrap_or(DEFAULT_EF),
        }
        .max(groups);
        let (hits, visited) = crate::hnsw::search_graph_grouped(
            graph,
            codes.as_ref(),
            source,
            metric,
            query,
            ef,
            keep,
            group,
        );
        let strategy = Strategy::Hnsw {
            ef,
            codes: codes.map_or(Quantize::None, |c| c.quantize()),
            rerank: codes.map(|_| 0),
        };
        Ok(Some((hits, strategy, visited)))
    }

    /// VERIFY's check of the index beyond its sizes (checked on load): a line saying
    /// what holds, or `Corrupted`.
    pub fn check(&self, segment: &Segment, column: &Column) -> Result<String> {
        match self {
            SegmentIndex::Hnsw(h) => h.check(segment, column),
            SegmentIndex::IvfPq(ivf) => Ok(format!("IVF-PQ, {} lists", ivf.nlist())),
            SegmentIndex::IvfRabitq(ivf) => Ok(format!(
                "IVF, {} lists of {} codes",
                ivf.nlist(),
                Codes::quantize_of_bits(ivf.bits()).name()
            )),
            SegmentIndex::Flat(codes) => Ok(format!(
                "FLAT, {} codes of {} rows",
                codes.quantize().name(),
                codes.rows()
            )),
            SegmentIndex::Bm25(text) => text.check(segment, column),
        }
    }
}

/// The search parameter (ef or nprobe) a recall target picks off the segment's curve.
enum Picked {
    /// No target: the options' parameter or the default.
    Default,
    Parameter(usize),
    /// The curve never reaches the target (or there is none): scan exactly.
    BeyondCurve,
}

fn picked(segment: &Segment, column: &Column, options: &SearchOptions) -> Result<Picked> {
    let Some(target) = options.recall else {
        return Ok(Picked::Default);
    };
    Ok(
        match segment_calibration(segment, column)?.and_then(|c| c.pick(target)) {
            Some(p) => Picked::Parameter(p as usize),
            None => Picked::BeyondCurve,
        },
    )
}

/// The index's recall curve in this segment, if it has one.
pub fn segment_calibration(segment: &Segment, column: &Column) -> Result<Option<Calibration>> {
    words_region(
        segment,
        RegionKind::IndexCalibration,
        column,
        "recall curve",
        Calibration::from_words,
    )
}

/// The column's measured distance span in this segment, if its index recorded one.
pub fn segment_span(segment: &Segment, column: &Column) -> Result<Option<DistanceSpan>> {
    words_region(
        segment,
        RegionKind::ColumnSpan,
        column,
        "distance span",
        DistanceSpan::from_words,
    )
}

/// A `u32` region of `column` read by `parse`; `Corrupted` naming `what` when it does
/// not parse.
fn words_region<T>(
    segment: &Segment,
    kind: RegionKind,
    column: &Column,
    what: &str,
    parse: impl Fn(&[u32]) -> Option<T>,
) -> Result<Option<T>> {
    match segment.u32_region(kind, column.id)? {
        None => Ok(None),
        Some(words) => parse(words).map(Some).ok_or_else(|| {
            damaged(
                segment,
                format!("{what} of column {} is malformed", column.name),
            )
        }),
    }
}

/// The vectors an index over `column` holds in `segment`: its rows for a vector
/// column, its elements (every row's vectors) for a multi-vector column.
pub fn indexed_count(segment: &Segment, column: &Column) -> Result<usize> {
    match column.multi() {
        None => Ok(segment.rows() as usize),
        Some(_) => Ok(segment
            .multi_column(column)?
            .map_or(0, |m| m.element_count())),
    }
}

/// A segment's vector column, viewed in place: NULL rows (validity bit clear) give
/// `None`, so an index never returns them. For a multi-vector column, its elements
/// (what an index over it is built on; element `e` is "row" `e`).
#[derive(Clone, Copy, Debug)]
pub struct SegmentColumn<'a> {
    data: Vectors<'a>,
    dim: usize,
    validity: Option<&'a [u64]>,
}

impl<'a> SegmentColumn<'a> {
    /// `None` when the segment predates the column.
    pub fn new(segment: &'a Segment, column: &Column) -> Result<Option<Self>> {
        let dim = column.vector_shape().map_or(0, |v| v.dim as usize);
        if column.multi().is_some() {
            return Ok(segment.multi_column(column)?.map(|m| SegmentColumn {
                data: Vectors::F32(m.elements()),
                dim,
                validity: None,
            }));
        }
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
    fn get(&self, row: RowId) -> Option<Vectors<'_>> {
        let i = row.0 as usize;
        if let Some(bits) = self.validity
            && bits.get(i / 64).is_none_or(|w| w & (1 << (i % 64)) == 0)
        {
            return None;
        }
        self.data.get(i * self.dim..(i + 1) * self.dim)
    }
}
