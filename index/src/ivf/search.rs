//! Query side: pick the `nprobe` nearest lists, scan their codes with one inner-product
//! table, keep the best `k` (or `k * refine` to re-score exactly).

use std::collections::BinaryHeap;

use quiver_storage::{Metric, RowId};

use super::coarse::Probe;
use super::pq::adc;
use super::{IvfPqView, normalized};
use crate::flat::{Hit, rescored};
use crate::hnsw::search::Scored;
use crate::source::VectorSource;

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
        let probes = self.coarse().probe(q, params.nprobe.clamp(1, self.nlist));
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
        let rows = candidates.iter().map(|h| h.row);
        (rescored(source, self.metric, query, rows, k), stats)
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
        let mut best = BestEntries::new(keep_n, keep);
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
                best.offer(d, self.rows[i]);
            }
        }
        best.into_hits()
    }
}

/// The best `keep_n` entries of a scan: a bounded max-heap, the filter asked only
/// about entries that would be kept.
pub(super) struct BestEntries<'k> {
    heap: BinaryHeap<Scored>,
    keep_n: usize,
    worst: f32,
    keep: &'k dyn Fn(RowId) -> bool,
}

impl<'k> BestEntries<'k> {
    pub fn new(keep_n: usize, keep: &'k dyn Fn(RowId) -> bool) -> Self {
        BestEntries {
            heap: BinaryHeap::with_capacity(keep_n + 1),
            keep_n,
            worst: f32::INFINITY,
            keep,
        }
    }

    /// Row `row` at `distance`, kept if it is among the best so far and `keep` accepts it.
    #[inline]
    pub fn offer(&mut self, distance: f32, row: u32) {
        if self.heap.len() >= self.keep_n && distance >= self.worst {
            return;
        }
        if !(self.keep)(RowId(row)) {
            return;
        }
        self.heap.push(Scored {
            distance,
            node: row,
        });
        if self.heap.len() > self.keep_n {
            self.heap.pop();
        }
        if self.heap.len() == self.keep_n {
            self.worst = self.heap.peek().map_or(f32::INFINITY, |s| s.distance);
        }
    }

    /// The kept entries, closest first.
    pub fn into_hits(self) -> Vec<Hit> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|s| Hit {
                row: RowId(s.node),
                distance: s.distance,
            })
            .collect()
    }
}
