//! HNSW (hierarchical navigable small world graphs, Malkov & Yashunin 2016) over a
//! [`VectorSource`]: the graph holds only row ids, the vectors stay where they are.
//!
//! - `build`: parallel insertion with rayon, per-node locks on neighbour lists, the
//!   neighbour-selection heuristic, then flattened into [`HnswGraph`]'s arrays.
//! - `graph`: the finished graph as flat `u32` arrays (level 0 links contiguous, one
//!   fixed-size slot per node), viewable in place from a memory map ([`GraphView`]).
//! - `search`: the layer search shared by build and query, a reusable visited set.

mod build;
mod graph;
mod grouped;
mod heuristic;
pub(crate) mod search;
pub mod storage;
mod visited;

pub use graph::{GraphView, HnswGraph, NONE};

use std::time::{Duration, Instant};

use quiver_storage::{Metric, RowId};

use crate::calibration::Calibration;
use crate::codes::Codes;
use crate::flat::{Hit, rescored};
use crate::kernels::RowDistance;
use crate::progress::Progress;
use crate::source::VectorSource;

/// k-nearest-neighbour search on any graph view (e.g. one mapped from a segment), and
/// how many distances it computed.
pub fn search_graph<S: VectorSource + ?Sized>(
    graph: &GraphView<'_>,
    source: &S,
    metric: Metric,
    query: &[f32],
    k: usize,
    ef: usize,
    keep: &dyn Fn(RowId) -> bool,
) -> (Vec<Hit>, usize) {
    search::knn(graph, source, RowDistance::new(metric), query, k, ef, keep)
}

/// The best node of each of up to `ef` distinct groups (`group` maps a node to its
/// group: a multi-vector column's element to its row), closest first, walked on the
/// `codes` when given (code distances) or else on `source` (exact distances);
/// and the distances computed. Nodes `keep` rejects are traversed, never returned.
#[allow(clippy::too_many_arguments)]
pub fn search_graph_grouped<S: VectorSource + ?Sized>(
    graph: &GraphView<'_>,
    codes: Option<&Codes<'_>>,
    source: &S,
    metric: Metric,
    query: &[f32],
    ef: usize,
    keep: &dyn Fn(RowId) -> bool,
    group: &dyn Fn(u32) -> u32,
) -> (Vec<Hit>, usize) {
    if query.len() != source.dim() {
        return (Vec::new(), 0);
    }
    let hits = |beam: Vec<search::Scored>| -> Vec<Hit> {
        beam.into_iter()
            .map(|s| Hit {
                row: RowId(s.node),
                distance: s.distance,
            })
            .collect()
    };
    match codes.and_then(|c| c.query(query)) {
        Some(on_codes) => {
            let scorer = search::Counted::new(on_codes);
            let found = grouped::beam_grouped(graph, &scorer, ef, keep, &group);
            (hits(found), scorer.count())
        }
        None => {
            let scorer = search::Counted::new(search::F32Query {
                source,
                dist: RowDistance::new(metric),
                query,
            });
            let found = grouped::beam_grouped(graph, &scorer, ef, keep, &group);
            (hits(found), scorer.count())
        }
    }
}

/// What a search on codes did, for EXPLAIN.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CodeCounts {
    /// Distances computed on the codes while traversing.
    pub code_distances: usize,
    /// Beam members re-ranked with exact distances from the column.
    pub reranked: usize,
}

/// k-nearest-neighbour search that walks the graph on `codes` (beam width `ef`, at
/// least `rerank`), then re-ranks the best `rerank` of the beam (at least `k`) with
/// exact distances under the codes' metric from `source`, the truth. Rows `keep`
/// rejects are traversed but never returned. A query of another dimension finds
/// nothing.
#[allow(clippy::too_many_arguments)]
pub fn search_graph_codes<S: VectorSource + ?Sized>(
    graph: &GraphView<'_>,
    codes: &Codes<'_>,
    source: &S,
    query: &[f32],
    k: usize,
    ef: usize,
    rerank: usize,
    keep: &dyn Fn(RowId) -> bool,
) -> (Vec<Hit>, CodeCounts) {
    let Some(scorer) = codes.query(query).filter(|_| query.len() == source.dim()) else {
        return (Vec::new(), CodeCounts::default());
    };
    let scorer = search::Counted::new(scorer);
    let beam = search::beam(graph, &scorer, ef.max(k).max(rerank), keep);
    let best = &beam[..rerank.max(k).min(beam.len())];
    let rows = best.iter().map(|s| RowId(s.node));
    let hits = rescored(source, codes.metric(), query, rows, k);
    let counts = CodeCounts {
        code_distances: scorer.count(),
        reranked: best.len(),
    };
    (hits, counts)
}

/// Build parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HnswParams {
    /// Links per node on upper levels; level 0 keeps up to `2 * m`.
    pub m: usize,
    /// Beam width while inserting.
    pub ef_construction: usize,
    /// Seed of the level draw, so builds are repeatable (up to thread scheduling).
    pub seed: u64,
}

impl Default for HnswParams {
    fn default() -> Self {
        HnswParams {
            m: 16,
            ef_construction: 200,
            seed: 100,
        }
    }
}

/// An HNSW index over one vector column.
#[derive(Clone, Debug)]
pub struct Hnsw {
    graph: HnswGraph,
    metric: Metric,
}

impl Hnsw {
    /// Builds the graph over every non-NULL row of `source`, in parallel on the current
    /// rayon pool.
    pub fn build<S: VectorSource + Sync + ?Sized>(
        source: &S,
        metric: Metric,
        params: &HnswParams,
    ) -> Hnsw {
        Hnsw {
            graph: build::build(source, metric, params),
            metric,
        }
    }

    /// Wraps a graph read back from storage.
    pub fn from_graph(graph: HnswGraph, metric: Metric) -> Hnsw {
        Hnsw { graph, metric }
    }

    pub fn graph(&self) -> &HnswGraph {
        &self.graph
    }

    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// Builds the index and its recall curve over `ef_points`: the `queries` sample
    /// rows are inserted last, and the curve is measured on the graph as it stands
    /// before them, so they query a graph they are truly not in (as real queries do).
    /// The curve is `None` when the source is too small to calibrate; the duration is
    /// the part of the build spent measuring it. With `codes`, the curve is measured
    /// searching on them ([`search_graph_codes`], re-ranking the codes' default
    /// `refine · k`), as the index will be searched.
    #[allow(clippy::too_many_arguments)]
    pub fn build_calibrated<S: VectorSource + Sync>(
        source: &S,
        metric: Metric,
        codes: Option<&Codes<'_>>,
        params: &HnswParams,
        ef_points: &[u32],
        queries: usize,
        seed: u64,
        progress: &Progress,
    ) -> (Hnsw, Option<Calibration>, Duration) {
        let sample = Calibration::sample(source, queries, seed).unwrap_or_default();
        let late: Vec<u32> = sample.iter().map(|r| r.0).collect();
        let mut curve = None;
        let mut spent = Duration::ZERO;
        let graph = build::build_in_two_rounds(
            source,
            metric,
            params,
            &late,
            |partial| {
                let started = Instant::now();
                let view = partial.view();
                let search = |q: &[f32], k: usize, ef: u32, held_out: RowId| {
                    let (ef, keep) = (ef as usize, |r| r != held_out);
                    match codes {
                        Some(c) => {
                            let rerank = k * c.quantize().default_refine() as usize;
                            search_graph_codes(&view, c, source, q, k, ef, rerank, &keep).0
                        }
                        None => search_graph(&view, source, metric, q, k, ef, &keep).0,
                    }
                };
                curve = Calibration::measure_on(source, metric, ef_points, &sample, &search);
                spent = started.elapsed();
            },
            progress,
        );
        (Hnsw { graph, metric }, curve, spent)
    }

    /// The `k` nearest rows to `query` (closest first), exploring `ef` candidates.
    /// `query.len()` must equal the source's dimension.
    pub fn search<S: VectorSource + ?Sized>(
        &self,
        source: &S,
        query: &[f32],
        k: usize,
        ef: usize,
    ) -> Vec<Hit> {
        self.search_filtered(source, query, k, ef, &|_| true)
    }

    /// As [`Hnsw::search`], returning only rows `keep` accepts (rejected rows are still
    /// traversed, so the graph stays connected).
    pub fn search_filtered<S: VectorSource + ?Sized>(
        &self,
        source: &S,
        query: &[f32],
        k: usize,
        ef: usize,
        keep: &dyn Fn(RowId) -> bool,
    ) -> Vec<Hit> {
        search::knn(
            &self.graph.view(),
            source,
            RowDistance::new(self.metric),
            query,
            k,
            ef,
            keep,
        )
        .0
    }

    /// As [`Hnsw::search_filtered`], traversing with `codes` of the same column (see
    /// [`search_graph_codes`]).
    #[allow(clippy::too_many_arguments)]
    pub fn search_codes<S: VectorSource + ?Sized>(
        &self,
        source: &S,
        codes: &Codes<'_>,
        query: &[f32],
        k: usize,
        ef: usize,
        rerank: usize,
        keep: &dyn Fn(RowId) -> bool,
    ) -> (Vec<Hit>, CodeCounts) {
        search_graph_codes(
            &self.graph.view(),
            codes,
            source,
            query,
            k,
            ef,
            rerank,
            keep,
        )
    }

    /// Bytes held by the graph arrays.
    pub fn memory_bytes(&self) -> usize {
        self.graph.memory_bytes()
    }
}

#[cfg(test)]
mod tests;
