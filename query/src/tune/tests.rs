use std::collections::HashSet;

use proptest::prelude::*;

use super::*;
use crate::eval::{rank, score_query};
use crate::fusion::fuse_lists;

fn qrels(relevant: &[(&str, u32)]) -> Qrels {
    relevant
        .iter()
        .map(|&(id, g)| (id.to_string(), g))
        .collect()
}

/// A query over `distances` (`[candidate][column]`, ids "c0", "c1", ...).
fn query(
    label: &str,
    distances: Vec<Vec<Option<f32>>>,
    relevant: &[(&str, u32)],
    normalization: Normalization,
) -> TuneQuery {
    let ids: Vec<String> = (0..distances.len()).map(|i| format!("c{i}")).collect();
    let lists = vec![vec![None; distances[0].len()]; distances.len()];
    let gathered = Gathered {
        ids: &ids,
        distances: &distances,
        list_ranks: &lists,
    };
    let norms = [normalization];
    TuneQuery::new(
        "q",
        label,
        gathered,
        None,
        &qrels(relevant),
        3,
        &norms,
        Missing::Skip,
    )
    .unwrap()
}

#[test]
fn the_weight_search_finds_a_known_optimum_on_and_off_the_enumerated_grid() {
    for target in [
        vec![0.2f32, 0.5, 0.3],
        vec![0.1, 0.2, 0.3, 0.15, 0.25],
        vec![0.37, 0.63],
    ] {
        let mut calls = 0;
        let (w, score) = search_weights(target.len(), &mut |w| {
            calls += 1;
            -w.iter()
                .zip(&target)
                .map(|(a, b)| f64::from(a - b).powi(2))
                .sum::<f64>()
        });
        for (got, want) in w.iter().zip(&target) {
            assert!((got - want).abs() < 1e-6, "{w:?} for {target:?}");
        }
        assert!(score > -1e-12);
        assert!((w.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        // Memoized: never more evaluations than points that exist on both grids.
        assert!(calls < 2000, "{calls} evaluations");
    }
}

#[test]
fn the_weight_search_is_bounded_for_many_terms() {
    let mut calls = 0;
    let target: Vec<f32> = (0..40).map(|i| (i % 3) as f32).collect();
    let (w, _) = search_weights(40, &mut |w| {
        calls += 1;
        w.iter().zip(&target).map(|(a, b)| f64::from(a * b)).sum()
    });
    assert_eq!(w.len(), 40);
    assert!(
        calls <= 2 * super::search::MAX_POINTS + 100,
        "{calls} evaluations"
    );
}

/// A query whose relevant item c0 is nearest on column `good_on` and farthest on the
/// other; c2 is middling on both. Under min-max, with weights (a, 1 - a), c0 scores a
/// (or 1 - a) and c2 0.5625: c0 wins only for a > 0.5625 (or a < 0.4375).
fn two_column_query(label: &str, good_on: usize) -> TuneQuery {
    let mut d = vec![
        vec![Some(0.1), Some(0.9)],
        vec![Some(0.9), Some(0.1)],
        vec![Some(0.45), Some(0.45)],
    ];
    if good_on == 1 {
        d[0].swap(0, 1);
        d[1].swap(0, 1);
    }
    query(label, d, &[("c0", 1)], Normalization::MinMax)
}

/// Weights only: RRF's ties would go to c0 by id in these toys.
fn space() -> Space {
    Space {
        normalizations: 1,
        rrf_ks: Vec::new(),
    }
}

fn options(per_label: bool, folds: usize) -> TuneOptions {
    TuneOptions {
        k: 1,
        folds,
        per_label,
        space: space(),
        seed: 7,
    }
}

fn weights(s: &Setting) -> Vec<f32> {
    match &s.fusion {
        Fusion::Weighted(w) => w.clone(),
        other => panic!("not weighted: {other:?}"),
    }
}

#[test]
fn per_label_tuning_gives_each_label_its_own_column_and_a_perfect_held_out_score() {
    // Label "a" is answered by column 0 only, "b" by column 1 only: any one setting
    // fails one label at k = 1, a setting per label answers both.
    let mut queries: Vec<TuneQuery> = (0..6).map(|_| two_column_query("a", 0)).collect();
    queries.extend((0..6).map(|_| two_column_query("b", 1)));
    let written = Setting {
        fusion: Fusion::Weighted(vec![0.5, 0.5]),
        normalization: 0,
    };
    let global = tune(&queries, &written, &options(false, 3)).unwrap();
    assert_eq!(global.lines[0].label, "*");
    assert!((global.lines[0].in_sample - 0.5).abs() < 1e-9, "{global:?}");
    assert_eq!(global.fitted.len(), 1);

    let per = tune(&queries, &written, &options(true, 3)).unwrap();
    let line = |l: &str| per.lines.iter().find(|x| x.label == l).unwrap();
    assert_eq!(line("*").in_sample, 1.0);
    assert_eq!(line("*").held_out, 1.0);
    assert_eq!(line("*").as_written, 0.0, "c2 wins at (0.5, 0.5)");
    let wa = weights(line("a").setting.as_ref().unwrap());
    let wb = weights(line("b").setting.as_ref().unwrap());
    assert!(wa[0] > wa[1] && wb[1] > wb[0], "{wa:?} {wb:?}");
    assert_eq!(per.fitted.len(), 3, "all queries, then a and b");
    assert_eq!(per.fitted[1].label.as_deref(), Some("a"));
}

#[test]
fn cross_validation_never_fits_on_the_fold_it_scores() {
    let labels = ["x", "x", "y", "y", "y", "z", "x", "y", "z", "z", "x"];
    let folds = 4;
    let fold_of = assign_folds(&labels, folds, 3);
    // Stratified: every label spread over distinct folds where its count allows.
    for l in ["x", "y", "z"] {
        let used: HashSet<usize> = (0..labels.len())
            .filter(|&q| labels[q] == l)
            .map(|q| fold_of[q])
            .collect();
        let n = labels.iter().filter(|&&x| x == l).count();
        assert_eq!(used.len(), n.min(folds), "label {l}: {fold_of:?}");
    }
    let mut fits: Vec<Vec<usize>> = Vec::new();
    let held = cross_validate(
        &fold_of,
        folds,
        &mut |train| {
            fits.push(train.to_vec());
            fits.len() - 1
        },
        &|fit: &usize, _| *fit as f64,
    );
    assert_eq!(fits.len(), folds);
    for (q, &h) in held.iter().enumerate() {
        let fit = &fits[h as usize];
        assert!(!fit.contains(&q), "query {q} scored by a fit that saw it");
        assert!(fit.iter().all(|&t| fold_of[t] != fold_of[q]));
        assert_eq!(
            fit.len() + fold_of.iter().filter(|&&f| f == fold_of[q]).count(),
            11
        );
    }
}

#[test]
fn a_setting_that_memorises_its_queries_scores_lower_held_out() {
    // Under score = -distance and weights (a, 1 - a), query kind A's relevant item
    // beats its rival only for a > 0.6, kind B's only for a < 0.4. On all four queries
    // the best weights serve one kind (0.5); each held-out query is scored by weights
    // fitted on the other three, which favour the other kind (0).
    let kind_a = vec![vec![Some(0.0), Some(1.0)], vec![Some(0.4), Some(0.4)]];
    let kind_b = vec![vec![Some(1.0), Some(0.0)], vec![Some(0.4), Some(0.4)]];
    let queries: Vec<TuneQuery> = [&kind_a, &kind_a, &kind_b, &kind_b]
        .into_iter()
        .map(|d| query("", d.clone(), &[("c0", 1)], Normalization::None))
        .collect();
    let written = Setting {
        fusion: Fusion::Weighted(vec![0.5, 0.5]),
        normalization: 0,
    };
    let report = tune(&queries, &written, &options(false, 4)).unwrap();
    let all = &report.lines[0];
    assert_eq!(all.in_sample, 0.5, "{all:?}");
    assert_eq!(all.held_out, 0.0, "{all:?}");
}

#[test]
fn bad_tuning_requests_are_refused() {
    let queries: Vec<TuneQuery> = (0..3).map(|_| two_column_query("a", 0)).collect();
    let written = Setting {
        fusion: Fusion::Weighted(vec![0.5, 0.5]),
        normalization: 0,
    };
    let e = tune(&queries, &written, &options(false, 4)).unwrap_err();
    assert!(e.0.contains("FOLDS 4"), "{e}");
    assert!(tune(&queries, &written, &options(false, 1)).is_err());
    let mut lonely = queries.clone();
    lonely.push(two_column_query("b", 1));
    let e = tune(&lonely, &written, &options(true, 2)).unwrap_err();
    assert!(e.0.contains("label 'b'"), "{e}");
    let unlabelled: Vec<TuneQuery> = (0..3).map(|_| two_column_query("", 0)).collect();
    assert!(tune(&unlabelled, &written, &options(true, 2)).is_err());
}

fn fusions() -> impl Strategy<Value = Fusion> {
    prop_oneof![
        prop::collection::vec(0.0f32..1.0, 3).prop_map(Fusion::Weighted),
        (0.0f32..80.0).prop_map(|k| Fusion::Rrf { k }),
        (0.0f32..80.0).prop_map(|k| Fusion::RrfLists { k }),
        Just(Fusion::Min),
        Just(Fusion::Max),
        Just(Fusion::Avg),
    ]
}

proptest! {
    /// The tuner's NDCG of any setting equals fusing the table with `fuse_lists`,
    /// ranking as EVALUATE does and scoring with `eval::score_query`.
    #[test]
    fn a_settings_ndcg_is_the_fused_queries_ndcg(
        table in prop::collection::vec(
            prop::collection::vec(prop::option::weighted(0.8, 0..8u8), 3), 1..30),
        grades in prop::collection::vec(0..3u32, 30),
        fusion in fusions(),
        normalization in 0..3usize,
        skip in any::<bool>(),
        own in prop::option::of(0..30usize),
        k in 1..6usize,
    ) {
        let distances: Vec<Vec<Option<f32>>> = table
            .iter()
            .map(|r| r.iter().map(|d| d.map(f32::from)).collect())
            .collect();
        let n = distances.len();
        let ids: Vec<String> = (0..n).map(|i| format!("i{:02}", (i * 7) % 30)).collect();
        let lists: Vec<Vec<Option<usize>>> = (0..n)
            .map(|i| (0..3).map(|c| (i % (c + 2) == 0).then_some(i / (c + 2) + 1)).collect())
            .collect();
        let qrels: Qrels = ids.iter().zip(&grades).map(|(id, &g)| (id.clone(), g)).collect();
        prop_assume!(qrels.values().any(|&g| g > 0));
        let own = own.filter(|&o| o < n).map(|o| ids[o].clone());
        let missing = if skip { Missing::Skip } else { Missing::ScorePresent };
        let norms = [Normalization::MinMax, Normalization::ZScore, Normalization::None];
        let gathered = Gathered { ids: &ids, distances: &distances, list_ranks: &lists };
        let q = TuneQuery::new("q", "", gathered, own.as_deref(), &qrels, k, &norms, missing)
            .unwrap();
        let setting = Setting { fusion: fusion.clone(), normalization };
        let got = q.ndcg(&setting, k, &mut Vec::new());

        let keys: Vec<u32> = (0..n as u32).collect();
        let fused = fuse_lists(
            &keys, 3,
            &|c, key| distances[key as usize][c],
            &|c, key| lists[key as usize][c],
            &fusion, &norms[normalization], missing,
            k + usize::from(own.is_some()),
        ).unwrap();
        let scored: Vec<(String, f64)> = fused
            .iter()
            .map(|f| (ids[f.key as usize].clone(), f64::from(f.score)))
            .collect();
        let ranked: Vec<&str> = rank(&scored)
            .into_iter()
            .filter(|id| Some(*id) != own.as_deref())
            .take(k)
            .collect();
        let want = score_query(&ranked, &qrels, k).unwrap().ndcg;
        prop_assert!((got - want).abs() < 1e-12, "tuner {got} vs fused {want}");
    }
}
