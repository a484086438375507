//! Query side: pick the `nprobe` nearest lists, scan their codes with one inner-product
//! table, keep the best `k` (or `k * refine` to re-score exactly).

use std::collections::BinaryHeap;

use quiver_storage::{Metric, RowId};

use super::pq::adc;
use super::{IvfPqView, normalized};
use crate::flat::Hit;
use crate::hnsw::search::Scored;
use crate::hnsw::search_graph;
use crate::kernels::{RowDistance, distance_fn, prefetch_bytes};
use crate::source::{SliceSource, VectorSource};

/// Beam width of the coarse graph search: at least this, and twice `nprobe`.
const COARSE_MIN_EF: usize = 32;
/// The coarse graph is used only while `nprobe * GRAPH_PROBE_RATIO < nlist` (measured on
/// minilm, 1,265 lists: at nprobe 128 the exact pass gave 3,552 QPS against the
/// graph's 2,824; at nprobe 1, 17,442 against 23,084).
const GRAPH_PROBE_RATIO: usize = 16;

/// Cache lines prefetched per refined candidate (the first 2 KiB of the vector).
const REFINE_PREFETCH_LINES: usize = 32;

/// Query parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IvfSearch {
    /// Lists visited (at least 1).
    pub nprobe: usize,
    /// Re-score the best `k * refine` codes exactly from the raw vectors; 0 or 1 = no
    /// re-scoring (distances are then the quantized ones).
    pub refine: usize,
}

/// What one IVF-PQ search did (for EXPLAIN).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IvfStats {
    /// Lists probed.
    pub lists: usize,
    /// PQ codes scored in those lists.
    pub codes: usize,
    /// Candidates re-scored exactly from the raw vectors.
    pub refined: usize,
}

/// A probed list and the query's coarse term for it: `|q - c|²` for L2, `<q, c>`
/// otherwise.
#[derive(Clone, Copy, Debug)]
struct Probe {
    list: usize,
    coarse: f32,
}

impl IvfPqView<'_> {
    /// The `k` nearest rows `keep` accepts, closest first. With `refine > 1` the
    /// candidates are re-scored from `source` (the column the index was built on) and
    /// the distances are exact; NULL or missing rows are dropped.
    pub fn search<S: VectorSource + ?Sized>(
        &self,
        source: &S,
        query: &[f32],
        k: usize,
        params: &IvfSearch,
        keep: &dyn Fn(RowId) -> bool,
    ) -> Vec<Hit> {
        self.search_with_stats(source, query, k, params, keep).0
    }

    /// As [`IvfPqView::search`], also saying how much it scanned.
    pub fn search_with_stats<S: VectorSource + ?Sized>(
        &self,
        source: &S,
        query: &[f32],
        k: usize,
        params: &IvfSearch,
        keep: &dyn Fn(RowId) -> bool,
    ) -> (Vec<Hit>, IvfStats) {
        let mut stats = IvfStats::default();
        if query.len() != self.dim || k == 0 || self.nlist == 0 {
            return (Vec::new(), stats);
        }
        let prepared;
        let q: &[f32] = if self.metric == Metric::Cosine {
            prepared = normalized(query);
            &prepared
        } else {
            query
        };
        let refine = params.refine.max(1);
        let keep_n = k.saturating_mul(refine);
        let probes = self.probe(q, params.nprobe.clamp(1, self.nlist));
        stats.lists = probes.len();
        stats.codes = probes
            .iter()
            .map(|p| {
                (self.offsets[p.list + 1] as usize).saturating_sub(self.offsets[p.list] as usize)
            })
            .sum();
        let candidates = self.scan(q, &probes, keep_n, keep);
        if refine == 1 {
            return (candidates, stats);
        }
        stats.refined = candidates.len();
        // Start loading every candidate's raw vector before the first distance: they
        // are random rows, each a cache miss.
        for h in &candidates {
            if let Some(v) = source.get(h.row) {
                prefetch_bytes(v.bytes(), REFINE_PREFETCH_LINES);
            }
        }
        let distance = RowDistance::new(self.metric);
        let mut exact: Vec<Hit> = candidates
            .into_iter()
            .filter_map(|h| {
                source.get(h.row).map(|v| Hit {
                    row: h.row,
                    distance: distance.to(query, v),
                })
            })
            .collect();
        exact.sort_by(|a, b| a.distance.total_cmp(&b.distance).then(a.row.cmp(&b.row)));
        exact.truncate(k);
        (exact, stats)
    }

    /// The `nprobe` lists nearest the (prepared) query, by their probing vectors
    /// (directions, else centroids), each with its coarse term from its centroid.
    fn probe(&self, q: &[f32], nprobe: usize) -> Vec<Probe> {
        let l2 = self.metric == Metric::L2;
        let by = self.directions.unwrap_or(self.centroids);
        let mut lists = self.nearest_lists(q, by, nprobe);
        let distance = distance_fn(if l2 { Metric::L2 } else { Metric::Dot });
        for p in &mut lists {
            // Directions rank the lists; the residuals were taken from the centroids.
            if self.directions.is_some() {
                let c = &self.centroids[p.list * self.dim..(p.list + 1) * self.dim];
                p.coarse = distance(q, c);
            }
            if !l2 {
                p.coarse = -p.coarse; // negated dot -> <q, c>
            }
        }
        lists
    }

    /// The `nprobe` rows of `by` nearest `q` (L2, or by inner product), closest first;
    /// `coarse` holds the distance (negated dot for inner products).
    fn nearest_lists(&self, q: &[f32], by: &[f32], nprobe: usize) -> Vec<Probe> {
        let metric = if self.metric == Metric::L2 {
            Metric::L2
        } else {
            Metric::Dot
        };
        // The graph pays off while its beam is small next to the list count; for
        // wide probes one pass over every centroid is cheaper (and exact).
        let graph = self
            .graph
            .as_ref()
            .filter(|_| nprobe * GRAPH_PROBE_RATIO < self.nlist);
        if let Some(graph) = graph {
            let vectors = SliceSource::new(by, self.dim).expect("checked shape");
            let ef = (2 * nprobe).max(COARSE_MIN_EF);
            let (hits, _) = search_graph(graph, &vectors, metric, q, nprobe, ef, &|_| true);
            // A damaged graph may find fewer lists: fall back to the exact scan then.
            if hits.len() == nprobe {
                return hits
                    .into_iter()
                    .map(|h| Probe {
                        list: h.row.0 as usize,
                        coarse: h.distance,
                    })
                    .collect();
            }
        }
        let distance = distance_fn(metric);
        let mut all: Vec<Probe> = by
            .chunks_exact(self.dim)
            .enumerate()
            .map(|(list, c)| Probe {
                list,
                coarse: distance(q, c),
            })
            .collect();
        let order = |a: &Probe, b: &Probe| a.coarse.total_cmp(&b.coarse);
        if nprobe < all.len() {
            all.select_nth_unstable_by(nprobe - 1, order);
            all.truncate(nprobe);
        }
        all.sort_by(order);
        all
    }

    /// Scans the probed lists: the best `keep_n` accepted entries, closest first, with
    /// quantized distances.
    fn scan(
        &self,
        q: &[f32],
        probes: &[Probe],
        keep_n: usize,
        keep: &dyn Fn(RowId) -> bool,
    ) -> Vec<Hit> {
        let table = self.pq.inner_product_table(q);
        let m = self.pq.m();
        let mut best: BinaryHeap<Scored> = BinaryHeap::with_capacity(keep_n + 1);
        let mut worst = f32::INFINITY;
        for probe in probes {
            let (start, end) = (
                self.offsets[probe.list] as usize,
                self.offsets[probe.list + 1] as usize,
            );
            let codes = &self.codes[start * m..end * m];
            for (i, code) in (start..end).zip(codes.chunks_exact(m)) {
                let ip = adc(&table, code);
                let d = match self.metric {
                    Metric::L2 => probe.coarse + self.corrections[i] - 2.0 * ip,
                    Metric::Dot => -(probe.coarse + ip),
                    Metric::Cosine => 1.0 - (probe.coarse + ip),
                };
                if best.len() < keep_n || d < worst {
                    let row = self.rows[i];
                    if !keep(RowId(row)) {
                        continue;
                    }
                    best.push(Scored {
                        distance: d,
                        node: row,
                    });
                    if best.len() > keep_n {
                        best.pop();
                    }
                    if best.len() == keep_n {
                        worst = best.peek().map_or(f32::INFINITY, |s| s.distance);
                    }
                }
            }
        }
        best.into_sorted_vec()
            .into_iter()
            .map(|s| Hit {
                row: RowId(s.node),
                distance: s.distance,
            })
            .collect()
    }
}
