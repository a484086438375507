//! Exact search: the distance from the query to every row, the k closest kept. The
//! ground truth every approximate index is measured against.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use quiver_storage::{Metric, RowId};

use std::ops::Range;

use rayon::prelude::*;

use crate::kernels::{RowDistance, prefetch_bytes};
use crate::source::VectorSource;

/// One result: a row and its distance (lower is closer).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hit {
    pub row: RowId,
    pub distance: f32,
}

/// Max-heap order by distance (ties by row), so the heap's top is the worst kept hit.
struct Worst(Hit);

impl PartialEq for Worst {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Worst {}
impl PartialOrd for Worst {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Worst {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .distance
            .total_cmp(&other.0.distance)
            .then(self.0.row.cmp(&other.0.row))
    }
}

/// The `k` rows closest to `query`, closest first, skipping NULL rows and rows
/// `keep` rejects. Ties break by row id, so results are deterministic.
pub fn exact_top_k(
    source: &dyn VectorSource,
    metric: Metric,
    query: &[f32],
    k: usize,
    keep: &dyn Fn(RowId) -> bool,
) -> Vec<Hit> {
    top_k_in(
        source,
        RowDistance::new(metric),
        query,
        k,
        0..source.len() as u32,
        keep,
    )
}

/// Rows per parallel block: big enough that scheduling costs nothing next to the
/// distances, small enough to balance two to a few dozen cores.
const BLOCK_ROWS: u32 = 8192;

/// [`exact_top_k`] with the rows split into blocks scanned on the rayon pool, each
/// keeping its own k best, then merged. Same results, same tie order.
pub fn exact_top_k_parallel<S: VectorSource + Sync + ?Sized>(
    source: &S,
    metric: Metric,
    query: &[f32],
    k: usize,
    keep: &(dyn Fn(RowId) -> bool + Sync),
) -> Vec<Hit> {
    let n = source.len() as u32;
    let distance = RowDistance::new(metric);
    let hits = in_blocks(n, |rows| top_k_in(source, distance, query, k, rows, keep));
    merge_best(hits, k)
}

/// `scan` run over `0..n` in blocks on the rayon pool, the hits concatenated.
pub(crate) fn in_blocks(n: u32, scan: impl Fn(Range<u32>) -> Vec<Hit> + Sync) -> Vec<Hit> {
    (0..n.div_ceil(BLOCK_ROWS))
        .into_par_iter()
        .flat_map_iter(|b| scan(b * BLOCK_ROWS..((b + 1) * BLOCK_ROWS).min(n)))
        .collect()
}

/// The k best of `rows`, closest first.
fn top_k_in<S: VectorSource + ?Sized>(
    source: &S,
    distance: RowDistance,
    query: &[f32],
    k: usize,
    rows: Range<u32>,
    keep: &dyn Fn(RowId) -> bool,
) -> Vec<Hit> {
    top_k_by(k, rows, keep, |row| {
        source.get(row).map(|v| distance.to(query, v))
    })
}

/// The `k` rows of `rows` with the lowest `distance` (`None`: the row is skipped),
/// closest first, ties by row; rows `keep` rejects are skipped before they are scored.
pub(crate) fn top_k_by(
    k: usize,
    rows: Range<u32>,
    keep: &dyn Fn(RowId) -> bool,
    distance: impl Fn(RowId) -> Option<f32>,
) -> Vec<Hit> {
    if k == 0 {
        return Vec::new();
    }
    let mut heap = BinaryHeap::with_capacity(k + 1);
    for row in rows.map(RowId) {
        if !keep(row) {
            continue;
        }
        let Some(distance) = distance(row) else {
            continue;
        };
        let hit = Worst(Hit { row, distance });
        if heap.len() < k {
            heap.push(hit);
        } else if heap.peek().is_some_and(|top| hit < *top) {
            heap.pop();
            heap.push(hit);
        }
    }
    heap.into_sorted_vec().into_iter().map(|w| w.0).collect()
}

/// Cache lines prefetched per re-scored candidate (the first 2 KiB of its vector).
const RESCORE_PREFETCH_LINES: usize = 32;

/// `candidates` re-scored exactly under `metric` from `source` (NULL or missing rows
/// dropped), the best `k` kept, closest first (ties by row). Every candidate's vector
/// is requested before the first distance: they are random rows, each a cache miss.
pub(crate) fn rescored<S: VectorSource + ?Sized>(
    source: &S,
    metric: Metric,
    query: &[f32],
    candidates: impl Iterator<Item = RowId> + Clone,
    k: usize,
) -> Vec<Hit> {
    for row in candidates.clone() {
        if let Some(v) = source.get(row) {
            prefetch_bytes(v.bytes(), RESCORE_PREFETCH_LINES);
        }
    }
    let distance = RowDistance::new(metric);
    let hits = candidates
        .filter_map(|row| {
            source.get(row).map(|v| Hit {
                row,
                distance: distance.to(query, v),
            })
        })
        .collect();
    merge_best(hits, k)
}

/// Hits merged from blocks, closest first (ties by row), the best `k` kept.
pub(crate) fn merge_best(mut hits: Vec<Hit>, k: usize) -> Vec<Hit> {
    hits.sort_by_key(|h| Worst(*h));
    hits.truncate(k);
    hits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::distance;
    use crate::source::SliceSource;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn matches_a_full_sort(data in prop::collection::vec(-10f32..10.0, 3..300), k in 0usize..20) {
            let dim = 3;
            let data = &data[..data.len() / dim * dim];
            let source = SliceSource::new(data, dim).unwrap();
            let query = [0.5, -1.0, 2.0];
            let got = exact_top_k(&source, Metric::L2, &query, k, &|r| r.0 % 7 != 3);
            let mut all: Vec<Hit> = (0..source.len() as u32)
                .map(RowId)
                .filter(|r| r.0 % 7 != 3)
                .map(|row| Hit { row, distance: distance(Metric::L2, &query, &source.get(row).unwrap().to_vec()) })
                .collect();
            all.sort_by(|a, b| a.distance.total_cmp(&b.distance).then(a.row.cmp(&b.row)));
            all.truncate(k);
            let parallel = exact_top_k_parallel(&source, Metric::L2, &query, k, &|r: RowId| r.0 % 7 != 3);
            prop_assert_eq!(&got, &all);
            prop_assert_eq!(parallel, all);
        }
    }

    #[test]
    fn parallel_blocks_merge_to_the_sequential_answer() {
        let dim = 2;
        let data: Vec<f32> = (0..3 * BLOCK_ROWS as usize * dim)
            .map(|i| ((i * 7919) % 1013) as f32)
            .collect();
        let source = SliceSource::new(&data, dim).unwrap();
        for metric in [Metric::L2, Metric::Dot, Metric::Cosine] {
            let query = [3.0, -1.0];
            let keep = |r: RowId| !r.0.is_multiple_of(3);
            let sequential = exact_top_k(&source, metric, &query, 25, &keep);
            assert_eq!(
                exact_top_k_parallel(&source, metric, &query, 25, &keep),
                sequential
            );
        }
    }
}
