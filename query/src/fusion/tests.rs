use super::*;
use proptest::prelude::*;

/// Distances of three items on two columns: B is second on both, first on neither.
fn second_everywhere(c: usize, key: u32) -> Option<f32> {
    let table = [[0.1, 0.9], [0.2, 0.2], [0.9, 0.1]]; // A, B, C
    Some(table[key as usize][c])
}

#[test]
fn an_item_second_on_two_columns_but_first_on_neither_wins() {
    let fixed = Normalization::Fixed(vec![2.0, 2.0]);
    for fusion in [Fusion::Weighted(vec![0.5, 0.5]), Fusion::Avg, Fusion::Min] {
        let got = fuse(
            &[0, 1, 2],
            2,
            &second_everywhere,
            &fusion,
            &fixed,
            Missing::Skip,
            3,
        )
        .unwrap();
        assert_eq!(got[0].key, 1, "{fusion:?}: {got:?}");
    }
    let got = fuse(
        &[0, 1, 2],
        2,
        &second_everywhere,
        &Fusion::Weighted(vec![0.5, 0.5]),
        &fixed,
        Missing::Skip,
        1,
    )
    .unwrap();
    // 0.5 * (1 - 0.2 / 2) twice, and every part explained.
    assert!((got[0].score - 0.9).abs() < 1e-6);
    let part = got[0].parts[0].unwrap();
    assert_eq!((part.rank, part.distance), (2, 0.2));
    assert!((part.normalized - 0.9).abs() < 1e-6 && (part.contribution - 0.45).abs() < 1e-6);
}

#[test]
fn rrf_min_max_and_missing_columns() {
    let dist = |c: usize, key: u32| -> Option<f32> {
        match (key, c) {
            (3, 1) => None, // item 3 has no second column
            (3, 0) => Some(0.0),
            _ => second_everywhere(c, key),
        }
    };
    let keys = [0, 1, 2, 3];
    let none = Normalization::None;
    let skip = fuse(
        &keys,
        2,
        &dist,
        &Fusion::Rrf { k: 60.0 },
        &none,
        Missing::Skip,
        10,
    )
    .unwrap();
    assert!(
        skip.iter().all(|f| f.key != 3),
        "skipped for lacking a column"
    );
    let present = fuse(
        &keys,
        2,
        &dist,
        &Fusion::Rrf { k: 60.0 },
        &none,
        Missing::ScorePresent,
        10,
    )
    .unwrap();
    let three = present.iter().find(|f| f.key == 3).unwrap();
    assert_eq!(three.parts[1], None);
    assert!(
        (three.score - 1.0 / 61.0).abs() < 1e-7,
        "rank 1 on column 0 only"
    );
    let max = fuse(
        &keys,
        2,
        &dist,
        &Fusion::Max,
        &Normalization::MinMax,
        Missing::Skip,
        1,
    )
    .unwrap();
    assert_eq!(max[0].score, 1.0);
}

#[test]
fn bad_parameters_are_refused() {
    let d = |_: usize, _: u32| Some(0.0);
    let bad = [
        (Fusion::Weighted(vec![1.0]), Normalization::None, 2),
        (
            Fusion::Weighted(vec![1.0, f32::NAN]),
            Normalization::None,
            2,
        ),
        (Fusion::Weighted(vec![1.0, -1.0]), Normalization::None, 2),
        (Fusion::Rrf { k: -1.0 }, Normalization::None, 1),
        (Fusion::Avg, Normalization::Fixed(vec![0.0]), 1),
        (
            Fusion::Avg,
            Normalization::Calibrated(vec![DistanceSpan {
                near: 1.0,
                far: 0.5,
            }]),
            1,
        ),
        (Fusion::Avg, Normalization::None, 0),
    ];
    for (fusion, norm, columns) in bad {
        assert!(
            fuse(&[1u32], columns, &d, &fusion, &norm, Missing::Skip, 1).is_err(),
            "{fusion:?} {norm:?}"
        );
    }
}

/// The `c` keys with the smallest distance on column `col`.
fn top_c(dist: &[Vec<f32>], col: usize, c: usize) -> Vec<u32> {
    let mut keys: Vec<u32> = (0..dist.len() as u32).collect();
    keys.sort_by(|&a, &b| {
        dist[a as usize][col]
            .total_cmp(&dist[b as usize][col])
            .then(a.cmp(&b))
    });
    keys.truncate(c);
    keys
}

proptest! {
    /// Fagin's threshold rule: with a fixed normalization and a monotone fusion, when
    /// the k-th fused score over the union of per-column top-c candidates beats the
    /// fused score of the per-column c-th best values, no item outside the union can
    /// enter the top-k, so the answer equals brute-force fusion over all items. With
    /// c = n it always holds.
    #[test]
    fn fused_top_k_over_enough_candidates_equals_brute_force(
        raw in prop::collection::vec(prop::collection::vec(0f32..2.0, 2), 5..60),
        c_frac in 0.1f64..1.0,
        k in 1usize..8,
        which in 0usize..4,
    ) {
        let n = raw.len();
        let fusion = [Fusion::Weighted(vec![0.7, 0.3]), Fusion::Min, Fusion::Max, Fusion::Avg][which].clone();
        let norm = Normalization::Fixed(vec![2.0, 2.0]);
        let dist = |col: usize, key: u32| Some(raw[key as usize][col]);
        let all: Vec<u32> = (0..n as u32).collect();
        let brute = fuse(&all, 2, &dist, &fusion, &norm, Missing::Skip, k).unwrap();
        for c in [((n as f64 * c_frac).ceil() as usize).max(1), n] {
            let mut union: Vec<u32> = top_c(&raw, 0, c);
            union.extend(top_c(&raw, 1, c));
            union.sort_unstable();
            union.dedup();
            let got = fuse(&union, 2, &dist, &fusion, &norm, Missing::Skip, k).unwrap();
            // The threshold: a virtual item at the c-th best distance on every column.
            let worst_seen = |col: usize| top_c(&raw, col, c).last().map(|&key| raw[key as usize][col]).unwrap();
            let edge = [worst_seen(0), worst_seen(1)];
            let tau = threshold(&edge, &fusion, &norm, Missing::Skip).unwrap();
            let enough = c == n || (got.len() == k.min(n) && got[got.len() - 1].score > tau);
            if enough {
                let keys = |v: &[Fused<u32>]| v.iter().map(|f| f.key).collect::<Vec<_>>();
                prop_assert_eq!(keys(&got), keys(&brute), "c = {}", c);
            }
        }
    }
}

#[test]
fn calibrated_scores_put_near_at_one_and_far_at_zero_per_column() {
    // Column 0 spreads over [0.2, 0.8], column 1 over [0.02, 0.08]: after calibration
    // the same relative place scores the same on both.
    let spans = vec![
        DistanceSpan {
            near: 0.2,
            far: 0.8,
        },
        DistanceSpan {
            near: 0.02,
            far: 0.08,
        },
    ];
    let d = |c: usize, key: u32| -> Option<f32> {
        let [a, b] = [[0.2, 0.02], [0.5, 0.05], [0.8, 0.08]][key as usize];
        Some(if c == 0 { a } else { b })
    };
    let got = fuse(
        &[0, 1, 2],
        2,
        &d,
        &Fusion::Avg,
        &Normalization::Calibrated(spans),
        Missing::Skip,
        3,
    )
    .unwrap();
    for (f, want) in got.iter().zip([1.0, 0.5, 0.0]) {
        for part in f.parts.iter().flatten() {
            assert!((part.normalized - want).abs() < 1e-5, "{f:?}");
        }
    }
}

#[test]
fn threshold_exists_only_where_it_bounds_outside_items() {
    let fixed = Normalization::Fixed(vec![2.0, 2.0]);
    let w = Fusion::Weighted(vec![0.5, 0.5]);
    let tau = threshold(&[0.4, 1.0], &w, &fixed, Missing::Skip).unwrap();
    assert!((tau - (0.5 * 0.8 + 0.5 * 0.5)).abs() < 1e-6);
    // A column that returned everything: nothing lies outside on it.
    let zero = Fusion::Weighted(vec![1.0, 0.0]);
    let open = threshold(&[0.4, f32::INFINITY], &zero, &fixed, Missing::Skip).unwrap();
    assert!(open.is_finite() && (open - 0.8).abs() < 1e-6, "{open}");
    assert!(threshold(&[0.4, f32::INFINITY], &w, &fixed, Missing::Skip).unwrap() < -1e20);
    assert_eq!(
        threshold(&[0.4, 1.0], &w, &Normalization::MinMax, Missing::Skip),
        None
    );
    assert_eq!(
        threshold(&[0.4, 1.0], &Fusion::Rrf { k: 60.0 }, &fixed, Missing::Skip),
        None
    );
    assert_eq!(
        threshold(&[0.4, 1.0], &w, &fixed, Missing::ScorePresent),
        None
    );
}

/// RRF over the lists: each column's own list ranks (1/(k + place)), nothing from a
/// column whose list lacks the item, even when its exact distance there is known;
/// RRF over the union ranks every candidate by its exact distances instead.
#[test]
fn rrf_over_lists_counts_only_the_lists() {
    // Item 2 is close on column 1 but column 1's search did not return it.
    let dist = |c: usize, key: u32| -> Option<f32> {
        Some(match (c, key) {
            (0, k) => k as f32,
            (1, 0) => 0.5,
            (1, 1) => 0.3,
            (1, 2) => 0.1,
            _ => unreachable!(),
        })
    };
    let list = |c: usize, key: u32| -> Option<usize> {
        match (c, key) {
            (0, k) => Some(k as usize + 1),
            (1, 0) => Some(2),
            (1, 1) => Some(1),
            _ => None,
        }
    };
    let keys = [0u32, 1, 2];
    let none = Normalization::None;
    let lists = fuse_lists(
        &keys,
        2,
        &dist,
        &list,
        &Fusion::RrfLists { k: 10.0 },
        &none,
        Missing::Skip,
        3,
    )
    .unwrap();
    let two = lists.iter().find(|f| f.key == 2).unwrap();
    assert_eq!(two.parts[1].unwrap().rank, 0);
    assert_eq!(two.parts[1].unwrap().contribution, 0.0);
    assert!((two.score - 1.0 / 13.0).abs() < 1e-7);
    let one = lists.iter().find(|f| f.key == 1).unwrap();
    assert!((one.score - (1.0 / 12.0 + 1.0 / 11.0)).abs() < 1e-7);
    // Over the union, item 2 is first on column 1 by its exact distance.
    let union = fuse_lists(
        &keys,
        2,
        &dist,
        &list,
        &Fusion::Rrf { k: 10.0 },
        &none,
        Missing::Skip,
        3,
    )
    .unwrap();
    let two = union.iter().find(|f| f.key == 2).unwrap();
    assert_eq!(two.parts[1].unwrap().rank, 1);
    assert!((two.score - (1.0 / 13.0 + 1.0 / 11.0)).abs() < 1e-7);
    assert_eq!(
        threshold(
            &[0.4, 1.0],
            &Fusion::RrfLists { k: 60.0 },
            &none,
            Missing::Skip
        ),
        None
    );
    assert_eq!(
        Fusion::RrfLists { k: 60.0 }.to_string(),
        "RRF(k = 60.0, LISTS)"
    );
}
