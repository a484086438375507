//! Recall@k exactly as `shared/bench/peers/run.py` computes it (`recall_at`), so that
//! Quiver's numbers and the peers' can share one table.
//!
//! *Distance recall* (ann-benchmarks style): a returned id counts when its exact
//! distance to the query, computed in `f64`, is at most the k-th true distance from
//! `gt_dist` plus a tiny tolerance (`thr + 1e-7 * |thr| + 1e-6`). Ties at the k-th
//! distance therefore never cost anyone recall. *Id recall*: the share of the true
//! top-k ids among the distinct returned ids.

use quiver::Metric;

use super::data::Dataset;

/// Recall of one parameter point, averaged over queries.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Recall {
    pub recall: f64,
    pub id_recall: f64,
}

/// The exact distance in `f64`: squared L2, or minus the inner product for `Dot`.
fn exact_distance(metric: Metric, a: &[f32], b: &[f32]) -> f64 {
    let pairs = a.iter().zip(b).map(|(&x, &y)| (f64::from(x), f64::from(y)));
    match metric {
        Metric::Dot => -pairs.map(|(x, y)| x * y).sum::<f64>(),
        _ => pairs.map(|(x, y)| (x - y) * (x - y)).sum(),
    }
}

/// Recall@k of `found[i]` (the ids returned for query `i`, closest first; fewer than
/// `k` is allowed and the missing ones count as misses; only the first `k` are read).
pub fn recall_at(found: &[Vec<u32>], ds: &Dataset, k: usize) -> Recall {
    assert!(
        k > 0 && k <= ds.gt.dim,
        "k = {k} with {} true neighbours",
        ds.gt.dim
    );
    assert!(found.len() <= ds.query.rows, "more results than queries");
    if found.is_empty() {
        return Recall {
            recall: 0.0,
            id_recall: 0.0,
        };
    }
    let (mut hits, mut id_hits) = (0usize, 0usize);
    for (q, ids) in found.iter().enumerate() {
        let ids = &ids[..ids.len().min(k)];
        let query = ds.query.row(q);
        let thr = f64::from(ds.gt_dist.row(q)[k - 1]);
        let thr = thr + 1e-7 * thr.abs() + 1e-6;
        hits += ids
            .iter()
            .filter(|&&id| {
                (id as usize) < ds.base.rows
                    && exact_distance(ds.metric, ds.base.row(id as usize), query) <= thr
            })
            .count()
            .min(k);
        let truth = &ds.gt.row(q)[..k];
        let mut distinct = ids.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        id_hits += distinct
            .iter()
            .filter(|&&id| truth.contains(&(id as i32)))
            .count();
    }
    let denom = (found.len() * k) as f64;
    Recall {
        recall: hits as f64 / denom,
        id_recall: id_hits as f64 / denom,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ann::data::Vecs;
    use crate::ann::data::tests::meta;

    /// Base points on a line at 0, 1, 2, 2 (a tie), 3, 10; one query at 0; k = 3.
    fn line(metric: &str) -> Dataset {
        let xs = [0.0f32, 1.0, 2.0, 2.0, 3.0, 10.0];
        let base = Vecs {
            rows: 6,
            dim: 1,
            data: xs.to_vec(),
        };
        let query = Vecs {
            rows: 2,
            dim: 1,
            data: vec![0.0, 10.0],
        };
        let (gt, gt_dist) = if metric == "l2" {
            // Query 0: rows 0, 1, 2 at 0, 1, 4. Query 1 (x=10): rows 5, 4, 2 at 0, 49, 64.
            (vec![0, 1, 2, 5, 4, 2], vec![0.0, 1.0, 4.0, 0.0, 49.0, 64.0])
        } else {
            // Inner product with 0 is 0 everywhere; with 10 it is 10 * x.
            (
                vec![0, 1, 2, 5, 4, 2],
                vec![0.0, 0.0, 0.0, -100.0, -30.0, -20.0],
            )
        };
        let gt = Vecs {
            rows: 2,
            dim: 3,
            data: gt,
        };
        let gt_dist = Vecs {
            rows: 2,
            dim: 3,
            data: gt_dist,
        };
        Dataset::from_parts(meta(6, 1, 2, metric), base, query, gt, gt_dist).unwrap()
    }

    #[test]
    fn ties_count_as_hits_but_not_as_id_hits() {
        let ds = line("l2");
        // Query 0 returns row 3 (the tie of row 2) instead of row 2: distance recall 3/3,
        // id recall 2/3. Query 1 returns 5, 4 and the far row 0: 2/3 and 2/3.
        let r = recall_at(&[vec![0, 1, 3], vec![5, 4, 0]], &ds, 3);
        assert_eq!(r.recall, 5.0 / 6.0);
        assert_eq!(r.id_recall, 4.0 / 6.0);
    }

    #[test]
    fn short_and_duplicate_results() {
        let ds = line("l2");
        // Query 0: only two ids, both right. Query 1: the same right id three times
        // counts three times in distance recall (as run.py) and once in id recall.
        let r = recall_at(&[vec![0, 1], vec![5, 5, 5]], &ds, 3);
        assert_eq!(r.recall, 5.0 / 6.0);
        assert_eq!(r.id_recall, 3.0 / 6.0);
        // Extra ids past k are ignored.
        let r = recall_at(&[vec![0, 1, 2, 5], vec![5, 4, 2, 1]], &ds, 3);
        assert_eq!((r.recall, r.id_recall), (1.0, 1.0));
    }

    #[test]
    fn inner_product_uses_minus_the_product() {
        let ds = line("ip");
        // Query 0 (x=0): every row ties at 0, so any ids count fully.
        // Query 1 (x=10): the top 3 are 10, 3, 2 (products 100, 30, 20); row 1 (10) misses.
        let r = recall_at(&[vec![5, 4, 3], vec![5, 4, 1]], &ds, 3);
        assert_eq!(r.recall, 5.0 / 6.0);
        // Ids: query 0 truth {0, 1, 2}, returned {3, 4, 5}: none; query 1: {5, 4}.
        assert_eq!(r.id_recall, 2.0 / 6.0);
    }

    #[test]
    fn tolerance_is_run_pys() {
        // Query 0 returns row 2 at distance exactly 4; the k-th true distance in
        // gt_dist decides: 3.999999 + 1e-7 * 3.999999 + 1e-6 >= 4 admits it,
        // 3.999998 + ... < 4 does not.
        for (thr, want) in [(3.999_999f32, 1.0), (3.999_998, 2.0 / 3.0)] {
            let mut ds = line("l2");
            ds.gt_dist.data[2] = thr;
            let r = recall_at(&[vec![0, 1, 2]], &ds, 3);
            assert_eq!(r.recall, want, "threshold {thr}");
        }
    }
}
