//! Every metric against values computed by hand.

use super::*;

fn qrels(pairs: &[(&str, u32)]) -> Qrels {
    pairs.iter().map(|(id, g)| (id.to_string(), *g)).collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn graded_answer_by_hand() {
    // Judged: a=2, b=1, c=0 (judged not relevant), d=1 (never retrieved).
    let q = qrels(&[("a", 2), ("b", 1), ("c", 0), ("d", 1)]);
    // Ranked: x (unjudged), a, c, b.
    let m = score_query(&["x", "a", "c", "b"], &q, 3).unwrap();
    // Top 3 = x, a, c: one relevant (a at rank 2) of three relevant items.
    assert!(close(m.recall, 1.0 / 3.0));
    assert!(close(m.precision, 1.0 / 3.0));
    assert!(close(m.rr, 0.5));
    assert!(close(m.hit, 1.0));
    // DCG = 2/log2(3); IDCG = 2/log2(2) + 1/log2(3) + 1/log2(4) = 2 + 0.63093 + 0.5.
    let dcg = 2.0 / 3f64.log2();
    let idcg = 2.0 + 1.0 / 3f64.log2() + 0.5;
    assert!(close(m.ndcg, dcg / idcg), "{}", m.ndcg);
    // AP@3: P@2 = 1/2 at the one relevant rank, divided by min(3 relevant, K=3).
    assert!(close(m.ap, 0.5 / 3.0));

    // At K = 4, b (rank 4) counts too.
    let m = score_query(&["x", "a", "c", "b"], &q, 4).unwrap();
    assert!(close(m.recall, 2.0 / 3.0));
    assert!(close(m.precision, 0.5));
    let dcg = 2.0 / 3f64.log2() + 1.0 / 5f64.log2();
    assert!(close(m.ndcg, dcg / idcg));
    assert!(close(m.ap, (0.5 + 2.0 / 4.0) / 3.0));
}

#[test]
fn a_perfect_answer_scores_one() {
    let q = qrels(&[("a", 3), ("b", 1)]);
    let m = score_query(&["a", "b", "z"], &q, 2).unwrap();
    assert_eq!(
        m,
        Metrics {
            recall: 1.0,
            precision: 1.0,
            ndcg: 1.0,
            rr: 1.0,
            ap: 1.0,
            hit: 1.0
        }
    );
    // The wrong order of grades costs NDCG only.
    let m = score_query(&["b", "a"], &q, 2).unwrap();
    let ndcg = (1.0 + 3.0 / 3f64.log2()) / (3.0 + 1.0 / 3f64.log2());
    assert!(close(m.ndcg, ndcg) && close(m.recall, 1.0) && close(m.ap, 1.0));
}

#[test]
fn k_larger_than_the_answer_and_misses() {
    let q = qrels(&[("a", 1), ("b", 1)]);
    // Two results, K = 10: precision divides by K, AP by min(relevant, K) = 2.
    let m = score_query(&["a", "y"], &q, 10).unwrap();
    assert!(close(m.precision, 0.1));
    assert!(close(m.recall, 0.5));
    assert!(close(m.ap, 0.5));
    assert!(close(m.ndcg, 1.0 / (1.0 + 1.0 / 3f64.log2())));
    // Nothing relevant retrieved: zeros, and an empty answer is the same.
    for answer in [&["y", "z"][..], &[][..]] {
        let m = score_query(answer, &q, 5).unwrap();
        assert_eq!(m, Metrics::default());
    }
}

#[test]
fn ties_are_ranked_by_id_and_unjudged_queries_are_left_out() {
    // b and a tie: a ranks first whatever order the index returned them in.
    let answer = [("b", 0.5), ("c", 0.9), ("a", 0.5)];
    assert_eq!(rank(&answer), ["c", "a", "b"]);
    let q = qrels(&[("a", 1)]);
    let m = score_query(&rank(&answer), &q, 3).unwrap();
    assert!(close(m.rr, 0.5));
    // A query whose judgements are all 0 (or none) has no score...
    assert_eq!(score_query(&["a"], &qrels(&[("a", 0)]), 3), None);
    assert_eq!(score_query(&["a"], &Qrels::new(), 3), None);
    // ...and means skip it, counting it apart.
    let s = summarize(&[Some(m), None, score_query(&["a"], &q, 3)]);
    assert_eq!((s.queries, s.without_relevant), (2, 1));
    assert!(close(s.mean.rr, 0.75));
    assert!(close(s.mean.hit, 1.0));
    assert_eq!(summarize(&[None]).mean, Metrics::default());
}
