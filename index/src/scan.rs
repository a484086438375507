//! A FLAT index on codes: every row's code distance (a few bytes read per row instead
//! of the whole vector), the best `k · refine` kept, and those re-scored exactly from
//! the column. The answer is exact for the candidates: a true neighbour is missed only
//! when its code ranked it below `k · refine` rows, which more `refine` makes rarer.

use quiver_storage::RowId;

use crate::codes::Codes;
use crate::flat::{Hit, in_blocks, merge_best, rescored, top_k_by};
use crate::hnsw::CodeCounts;
use crate::hnsw::search::NodeDistance;
use crate::source::VectorSource;

/// The calibration curve's points for a FLAT index: the oversampling `refine`.
pub const REFINE_POINTS: [u32; 10] = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32];

/// The `k` rows of `source` nearest to `query` that `keep` accepts, found on `codes`
/// (the best `k · refine` by code distance, scanned in parallel blocks) and re-scored
/// exactly under the codes' metric, closest first; with what it computed. A query of
/// another dimension finds nothing.
pub fn scan_codes<S: VectorSource + Sync + ?Sized>(
    codes: &Codes<'_>,
    source: &S,
    query: &[f32],
    k: usize,
    refine: usize,
    keep: &(dyn Fn(RowId) -> bool + Sync),
) -> (Vec<Hit>, CodeCounts) {
    let Some(scorer) = codes.query(query).filter(|_| query.len() == source.dim()) else {
        return (Vec::new(), CodeCounts::default());
    };
    let wanted = k.saturating_mul(refine.max(1));
    let n = codes.rows().min(source.len()) as u32;
    let by_code = in_blocks(n, |rows| {
        top_k_by(wanted, rows, keep, |row| {
            Some(scorer.distance(row.0)).filter(|d| d.is_finite())
        })
    });
    let candidates = merge_best(by_code, wanted);
    let counts = CodeCounts {
        code_distances: n as usize,
        reranked: candidates.len(),
    };
    let rows = candidates.iter().map(|c| c.row);
    (rescored(source, codes.metric(), query, rows, k), counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::BuiltCodes;
    use crate::flat::exact_top_k;
    use crate::kernels::RowDistance;
    use crate::source::SliceSource;
    use proptest::prelude::*;
    use quiver_storage::{Metric, Quantize};

    proptest! {
        /// Re-scoring makes the answer exact for its candidates: every hit's distance
        /// is the exact one, and with as many candidates as rows the answer is exact
        /// search's, whatever the codes.
        #[test]
        fn rescoring_is_exact_for_the_candidates(
            data in prop::collection::vec(-10f32..10.0, 60..1200),
            quantize in prop::sample::select(vec![Quantize::Sq8, Quantize::Rabitq1, Quantize::Rabitq2, Quantize::Rabitq4]),
            metric in prop::sample::select(vec![Metric::L2, Metric::Dot, Metric::Cosine]),
            k in 1usize..8,
            refine in 1usize..4,
        ) {
            let dim = 6;
            let data = &data[..data.len() / dim * dim];
            let source = SliceSource::new(data, dim).unwrap();
            let built = BuiltCodes::build(&source, metric, quantize).unwrap();
            let codes = built.view();
            let query = [0.5, -1.0, 2.0, 0.0, 3.0, -0.25];
            let keep = |r: RowId| r.0 % 5 != 2;
            let (hits, counts) = scan_codes(&codes, &source, &query, k, refine, &keep);
            let dist = RowDistance::new(metric);
            for h in &hits {
                prop_assert!(keep(h.row));
                prop_assert_eq!(h.distance, dist.to(&query, source.get(h.row).unwrap()));
            }
            prop_assert!(counts.reranked <= k * refine);
            let everything = source.len();
            let (all, _) = scan_codes(&codes, &source, &query, k, everything, &keep);
            prop_assert_eq!(all, exact_top_k(&source, metric, &query, k, &keep));
        }
    }

    #[test]
    fn another_dimension_finds_nothing() {
        let data: Vec<f32> = (0..400).map(|i| (i as f32 * 0.37).sin()).collect();
        let source = SliceSource::new(&data, 4).unwrap();
        let built = BuiltCodes::build(&source, Metric::L2, Quantize::Rabitq4).unwrap();
        let (hits, counts) = scan_codes(&built.view(), &source, &[1.0; 3], 5, 3, &|_| true);
        assert!(hits.is_empty() && counts == CodeCounts::default());
    }
}
