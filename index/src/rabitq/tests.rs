use super::*;
use crate::flat::exact_top_k;
use crate::kernels::distance;
use crate::source::SliceSource;

/// Rows around a few random centres with per-dimension scales that differ tenfold
/// (as real embeddings' do), plus an offset: a shape the rotation and the centring
/// must cope with.
fn clustered(rows: usize, dim: usize, seed: u64) -> Vec<f32> {
    let mut rng = crate::ivf::kmeans::SplitMix::new(seed);
    let mut normal = move || (0..12).map(|_| rng.unit() as f32).sum::<f32>() - 6.0;
    let centres: Vec<Vec<f32>> = (0..8)
        .map(|_| (0..dim).map(|_| normal()).collect())
        .collect();
    let scales: Vec<f32> = (0..dim).map(|d| 0.1 + (d % 10) as f32 / 10.0).collect();
    (0..rows)
        .flat_map(|r| {
            let centre = &centres[r % 8];
            (0..dim)
                .map(|d| 0.5 + centre[d] + scales[d] * normal())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Mean |estimate − exact| over rows and queries, relative to the spread of the exact
/// distances (their mean absolute deviation per query): what decides a ranking.
fn relative_error(codes: &Rabitq, data: &[f32], dim: usize, queries: &[f32]) -> f32 {
    let view = codes.view();
    let (mut err, mut spread) = (0f64, 0f64);
    for q in queries.chunks_exact(dim) {
        let scorer = view.query(q).unwrap();
        let exact: Vec<f64> = data
            .chunks_exact(dim)
            .map(|x| distance(view.metric(), q, x) as f64)
            .collect();
        let mean = exact.iter().sum::<f64>() / exact.len() as f64;
        for (node, e) in exact.iter().enumerate() {
            err += (scorer.distance(node as u32) as f64 - e).abs();
            spread += (e - mean).abs();
        }
    }
    (err / spread) as f32
}

#[test]
fn estimates_every_metric_better_with_more_bits() {
    let dim = 200;
    let data = clustered(400, dim, 1);
    let queries = clustered(10, dim, 2);
    let source = SliceSource::new(&data, dim).unwrap();
    for metric in [Metric::L2, Metric::Dot, Metric::Cosine] {
        let errors: Vec<f32> = BITS
            .iter()
            .map(|&bits| {
                relative_error(
                    &Rabitq::build(&source, metric, bits, 9),
                    &data,
                    dim,
                    &queries,
                )
            })
            .collect();
        assert!(
            errors[0] > errors[1] && errors[1] > errors[2],
            "{metric:?}: {errors:?}"
        );
        assert!(errors[2] < 0.12, "{metric:?}: 4 bits off by {errors:?}");
        assert!(errors[0] < 0.75, "{metric:?}: 1 bit off by {errors:?}");
    }
}

/// The point of the codes: their top `k · factor`, re-scored exactly, holds the true
/// top k. Recall@10 against exact search, per bit depth, at the oversampling the
/// issue's goals name.
#[test]
fn oversampled_candidates_hold_the_true_neighbours() {
    let dim = 128;
    let data = clustered(3000, dim, 3);
    let queries = clustered(30, dim, 4);
    let source = SliceSource::new(&data, dim).unwrap();
    for (bits, factor, floor) in [(1u32, 10usize, 0.85f32), (2, 5, 0.85), (4, 3, 0.97)] {
        let codes = Rabitq::build(&source, Metric::L2, bits, 5);
        let view = codes.view();
        let mut found = 0;
        for q in queries.chunks_exact(dim) {
            let truth = exact_top_k(&source, Metric::L2, q, 10, &|_| true);
            let scorer = view.query(q).unwrap();
            let mut by_code: Vec<(f32, u32)> =
                (0..3000u32).map(|n| (scorer.distance(n), n)).collect();
            by_code.sort_by(|a, b| a.0.total_cmp(&b.0));
            let candidates: Vec<u32> = by_code[..10 * factor].iter().map(|c| c.1).collect();
            found += truth
                .iter()
                .filter(|h| candidates.contains(&h.row.0))
                .count();
        }
        let recall = found as f32 / 300.0;
        assert!(recall >= floor, "{bits} bits, {factor}x: recall {recall}");
    }
}

/// A NULL row is never reached; a row equal to the mean, a zero row and a zero query
/// keep the metrics' conventions closely enough to be re-scored.
#[test]
fn null_mean_and_zero_rows() {
    let v = [1.0, 2.0, 5.0, 5.0, 0.0, 0.0, 2.0, 4.0];
    let source = crate::source::RowOneNull(SliceSource::new(&v, 2).unwrap());
    for metric in [Metric::L2, Metric::Dot, Metric::Cosine] {
        for bits in BITS {
            let codes = Rabitq::build(&source, metric, bits, 1);
            let scorer = codes.view().query(&[1.0, -1.0]).unwrap();
            assert_eq!(scorer.distance(1), f32::INFINITY, "{metric:?}");
            assert_eq!(scorer.distance(4), f32::INFINITY, "past the end");
            for node in [0u32, 2, 3] {
                assert!(scorer.distance(node).is_finite(), "{metric:?} {node}");
            }
            if metric == Metric::Cosine {
                let zero = codes.view().query(&[0.0, 0.0]).unwrap();
                assert!(
                    (zero.distance(0) - 1.0).abs() < 0.05,
                    "{}",
                    zero.distance(0)
                );
            }
        }
    }
}

#[test]
fn builds_are_repeatable_and_views_check_their_sizes() {
    let dim = 70;
    let data = clustered(50, dim, 6);
    let source = SliceSource::new(&data, dim).unwrap();
    let codes = Rabitq::build(&source, Metric::L2, 2, 4);
    assert_eq!(codes, Rabitq::build(&source, Metric::L2, 2, 4));
    assert_eq!(codes.codes().len(), 50 * stride(dim, 2));
    assert_eq!(stride(dim, 2), 128 * 2 / 8 + 8);
    let view = |meta: &[u32], centroid: &[f32], bytes: &[u8], dim| {
        RabitqView::new(Metric::L2, dim, meta, centroid, bytes).map(|v| v.rows())
    };
    let (m, c, b) = (codes.meta(), codes.centroid(), codes.codes());
    assert_eq!(view(m, c, b, dim), Ok(50));
    assert!(view(m, c, b, dim + 1).is_err());
    assert!(view(&m[..m.len() - 1], c, b, dim).is_err());
    assert!(view(&m[..3], c, b, dim).is_err());
    assert!(view(m, &c[1..], b, dim).is_err());
    assert!(view(m, c, &b[1..], dim).is_err());
    let mut wrong_bits = m.to_vec();
    wrong_bits[0] = 3;
    assert!(view(&wrong_bits, c, b, dim).is_err());
    assert!(codes.view().query(&data[..dim - 1]).is_none());
}
