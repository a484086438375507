//! IVF on RaBitQ codes (FAISS's `IndexIVFRaBitQ`): IVF-PQ's coarse quantizer, and each
//! entry the RaBitQ code of its residual from its list's centroid (`crate::rabitq`),
//! which codes a residual far more finely than the column's spread. The codes fold
//! their list's share of the estimate into each entry's term, so a query is rotated and
//! rounded once and each probed list only adds its constant. The best `k · refine`
//! codes are re-scored exactly from the column.

use quiver_storage::{Metric, RowId};

use super::build::{TrainedCoarse, assign_rows, coarse_graph, train_coarse};
use super::coarse::CoarseView;
use super::search::BestEntries;
use super::{CoarseQuantizer, IvfPqParams, IvfStats};
use crate::flat::{Hit, rescored};
use crate::hnsw::GraphView;
use crate::hnsw::search::NodeDistance;
use crate::progress::Progress;
use crate::rabitq::{Rabitq, RabitqView};
use crate::source::VectorSource;

/// Seed of the rotation, so rebuilding a segment gives the same codes.
const ROTATION_SEED: u64 = 29;

/// An owned IVF index on RaBitQ codes. Entry `e` (list `l` holds entries
/// `offsets[l]..offsets[l + 1]`, rows ascending) is row `rows[e]` with code `e`.
#[derive(Clone, Debug, PartialEq)]
pub struct IvfRabitq {
    pub metric: Metric,
    pub dim: usize,
    pub coarse: CoarseQuantizer,
    pub offsets: Vec<u32>,
    pub rows: Vec<u32>,
    pub codes: Rabitq,
}

/// An IVF index on RaBitQ codes over borrowed arrays, checked for consistent shapes.
#[derive(Clone, Copy, Debug)]
pub struct IvfRabitqView<'a> {
    coarse: CoarseView<'a>,
    offsets: &'a [u32],
    rows: &'a [u32],
    codes: RabitqView<'a>,
}

impl IvfRabitq {
    /// Trains `nlist` lists on a sample of `source`'s non-NULL rows (as IVF-PQ does)
    /// and codes every one of them at `bits` per dimension.
    pub fn build<S: VectorSource + Sync + ?Sized>(
        source: &S,
        metric: Metric,
        nlist: usize,
        bits: u32,
        progress: &Progress,
    ) -> IvfRabitq {
        let dim = source.dim();
        let params = IvfPqParams::new(nlist, 1);
        let TrainedCoarse {
            valid,
            centroids,
            directions,
            ..
        } = train_coarse(source, metric, &params, "IVF-RaBitQ", progress);
        let probe_by = directions.as_deref().unwrap_or(&centroids);
        let lists = assign_rows(source, metric, &valid, probe_by);
        // Counting sort by list; `valid` ascends, so rows ascend within a list.
        let nlist = centroids.len() / dim.max(1);
        let mut offsets = vec![0u32; nlist + 1];
        for &l in &lists {
            offsets[l as usize + 1] += 1;
        }
        for l in 0..nlist {
            offsets[l + 1] += offsets[l];
        }
        let mut next: Vec<u32> = offsets[..nlist].to_vec();
        let (mut rows, mut entry_lists) = (vec![0u32; valid.len()], vec![0u32; valid.len()]);
        for (&row, &l) in valid.iter().zip(&lists) {
            let at = next[l as usize] as usize;
            next[l as usize] += 1;
            (rows[at], entry_lists[at]) = (row, l);
        }
        progress.begin(format!("IVF-RaBitQ: coding {} vectors", rows.len()), 0);
        let codes = Rabitq::build_entries(
            source,
            metric,
            bits,
            ROTATION_SEED,
            &rows,
            &entry_lists,
            &centroids,
        );
        progress.end();
        let graph = coarse_graph(probe_by, dim, metric);
        IvfRabitq {
            metric,
            dim,
            coarse: CoarseQuantizer {
                centroids,
                directions,
                graph,
            },
            offsets,
            rows,
            codes,
        }
    }

    pub fn view(&self) -> IvfRabitqView<'_> {
        let coarse = &self.coarse;
        IvfRabitqView::new(
            self.metric,
            self.dim,
            &coarse.centroids,
            coarse.directions.as_deref(),
            coarse.graph.as_ref().map(|g| g.view()),
            &self.offsets,
            &self.rows,
            self.codes.view(),
        )
        .expect("a built index is consistent")
    }
}

impl<'a> IvfRabitqView<'a> {
    /// Checks every shape (O(nlist)), so that a search never indexes out of range;
    /// `Err` says what does not fit (a damaged segment).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        metric: Metric,
        dim: usize,
        centroids: &'a [f32],
        directions: Option<&'a [f32]>,
        graph: Option<GraphView<'a>>,
        offsets: &'a [u32],
        rows: &'a [u32],
        codes: RabitqView<'a>,
    ) -> Result<Self, String> {
        if dim == 0 || !centroids.len().is_multiple_of(dim) {
            return Err(format!("{} centroid floats for dim {dim}", centroids.len()));
        }
        let nlist = centroids.len() / dim;
        let n = rows.len();
        if offsets.len() != nlist + 1
            || offsets.first() != Some(&0)
            || offsets.last().map(|&x| x as usize) != Some(n)
            || offsets.windows(2).any(|w| w[0] > w[1])
        {
            return Err(format!(
                "list offsets do not describe {n} entries in {nlist} lists"
            ));
        }
        if codes.rows() != n {
            return Err(format!("{} RaBitQ codes for {n} entries", codes.rows()));
        }
        if directions.is_some_and(|d| d.len() != centroids.len()) {
            return Err("directions and centroids differ in size".to_string());
        }
        if graph.is_some_and(|g| g.nodes() != nlist) {
            return Err(format!("a coarse graph that is not over the {nlist} lists"));
        }
        Ok(IvfRabitqView {
            coarse: CoarseView {
                metric,
                dim,
                nlist,
                centroids,
                directions,
                graph,
            },
            offsets,
            rows,
            codes,
        })
    }

    pub fn nlist(&self) -> usize {
        self.coarse.nlist
    }

    /// Bits per dimension of the codes.
    pub fn bits(&self) -> u32 {
        self.codes.bits()
    }

    /// The `k` nearest rows `keep` accepts, closest first, with exact distances: the
    /// best `k · refine` codes of the `nprobe` nearest lists, re-scored from `source`
    /// (the column the index was built on); and how much it scanned.
    pub fn search_with_stats<S: VectorSource + ?Sized>(
        &self,
        source: &S,
        query: &[f32],
        k: usize,
        nprobe: usize,
        refine: usize,
        keep: &dyn Fn(RowId) -> bool,
    ) -> (Vec<Hit>, IvfStats) {
        let mut stats = IvfStats::default();
        let metric = self.coarse.metric;
        let Some(mut scorer) = self.codes.query(query).filter(|_| k > 0) else {
            return (Vec::new(), stats);
        };
        let q = super::prepared(metric, query);
        let probes = self.coarse.probe(&q, nprobe.clamp(1, self.nlist()));
        let keep_n = k.saturating_mul(refine.max(1));
        let mut best = BestEntries::new(keep_n, keep);
        for probe in &probes {
            scorer.set_constant(match metric {
                Metric::L2 => probe.coarse,
                Metric::Dot => -probe.coarse,
                Metric::Cosine => 1.0 - probe.coarse,
            });
            let (start, end) = (
                self.offsets[probe.list] as usize,
                self.offsets[probe.list + 1] as usize,
            );
            stats.codes += end - start;
            for entry in start..end {
                best.offer(scorer.distance(entry as u32), self.rows[entry]);
            }
        }
        let candidates = best.into_hits();
        stats.lists = probes.len();
        stats.refined = candidates.len();
        let rows = candidates.iter().map(|h| h.row);
        (rescored(source, metric, query, rows, k), stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flat::exact_top_k;
    use crate::source::SliceSource;

    /// 4,000 rows around 40 centres, dimensions of unequal spread.
    fn clustered(rows: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut rng = crate::ivf::kmeans::SplitMix::new(seed);
        let mut normal = move || (0..12).map(|_| rng.unit() as f32).sum::<f32>() - 6.0;
        let centres: Vec<f32> = (0..40 * dim).map(|_| 3.0 * normal()).collect();
        (0..rows)
            .flat_map(|r| {
                let c = &centres[(r % 40) * dim..][..dim];
                (0..dim)
                    .map(|d| c[d] + (0.2 + (d % 5) as f32 * 0.2) * normal())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Every metric and bit depth: exact distances for what it returns, recall against
    /// exact search rising with nprobe, and at least 0.95 with every list probed (what
    /// the codes miss; fewer lists add what the coarse quantizer misses).
    #[test]
    fn finds_the_exact_neighbours_with_enough_lists() {
        let dim = 48;
        let data = clustered(4000, dim, 1);
        let queries = clustered(20, dim, 2);
        let source = SliceSource::new(&data, dim).unwrap();
        for metric in [Metric::L2, Metric::Dot, Metric::Cosine] {
            for bits in [1u32, 4] {
                let index = IvfRabitq::build(&source, metric, 40, bits, &Progress::default());
                let view = index.view();
                assert_eq!(view.nlist(), 40);
                let recall_at = |nprobe: usize| {
                    let mut found = 0;
                    for q in queries.chunks_exact(dim) {
                        let truth = exact_top_k(&source, metric, q, 10, &|_| true);
                        let (hits, stats) =
                            view.search_with_stats(&source, q, 10, nprobe, 10, &|_| true);
                        assert_eq!(stats.lists, nprobe);
                        for h in &hits {
                            let exact = crate::kernels::distance(
                                metric,
                                q,
                                &source.get(h.row).unwrap().to_vec(),
                            );
                            assert_eq!(h.distance, exact);
                        }
                        found += truth
                            .iter()
                            .filter(|t| hits.iter().any(|h| h.row == t.row))
                            .count();
                    }
                    found as f32 / (10 * queries.len() / dim) as f32
                };
                let (few, many, all) = (recall_at(1), recall_at(8), recall_at(40));
                assert!(
                    few <= many && many <= all && all >= 0.95,
                    "{metric:?} {bits} bits: nprobe 1 {few}, 8 {many}, 40 {all}"
                );
            }
        }
    }

    #[test]
    fn filters_and_bad_queries() {
        let dim = 16;
        let data = clustered(1000, dim, 3);
        let source = SliceSource::new(&data, dim).unwrap();
        let index = IvfRabitq::build(&source, Metric::L2, 10, 2, &Progress::default());
        let view = index.view();
        let even = |r: RowId| r.0.is_multiple_of(2);
        let (hits, _) = view.search_with_stats(&source, &data[..dim], 10, 10, 4, &even);
        assert_eq!(hits.len(), 10);
        assert!(hits.iter().all(|h| even(h.row)));
        assert_eq!(hits[0].row, RowId(0));
        let (none, stats) = view.search_with_stats(&source, &data[1..dim], 10, 10, 4, &|_| true);
        assert!(none.is_empty() && stats == IvfStats::default());
        let bad = IvfRabitqView::new(
            Metric::L2,
            dim,
            &index.coarse.centroids,
            None,
            None,
            &index.offsets[1..],
            &index.rows,
            index.codes.view(),
        );
        assert!(bad.is_err());
    }
}
