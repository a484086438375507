//! The coarse quantizer as a search reads it, shared by IVF-PQ and IVF on RaBitQ
//! codes: which lists a query probes, and each list's coarse term.

use quiver_storage::Metric;

use crate::hnsw::{GraphView, search_graph};
use crate::kernels::distance_fn;
use crate::source::SliceSource;

/// Beam width of the coarse graph search: at least this, and twice `nprobe`.
const COARSE_MIN_EF: usize = 32;
/// The coarse graph is used only while `nprobe * GRAPH_PROBE_RATIO < nlist` (measured on
/// minilm, 1,265 lists: at nprobe 128 the exact pass gave 3,552 QPS against the
/// graph's 2,824; at nprobe 1, 17,442 against 23,084).
const GRAPH_PROBE_RATIO: usize = 16;

/// A probed list and the query's coarse term for it: `|q - c|²` for L2, `<q, c>`
/// otherwise.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Probe {
    pub list: usize,
    pub coarse: f32,
}

/// An index's coarse quantizer, borrowed: `nlist` centroids of `dim` floats, for
/// inner-product columns the directions lists are chosen by, and for many lists a
/// graph over the probing vectors.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CoarseView<'a> {
    pub metric: Metric,
    pub dim: usize,
    pub nlist: usize,
    pub centroids: &'a [f32],
    pub directions: Option<&'a [f32]>,
    pub graph: Option<GraphView<'a>>,
}

impl CoarseView<'_> {
    /// The `nprobe` lists nearest the (prepared) query, by their probing vectors
    /// (directions, else centroids), each with its coarse term from its centroid.
    pub fn probe(&self, q: &[f32], nprobe: usize) -> Vec<Probe> {
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
}
