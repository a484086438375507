//! Per-query metrics and their means (conventions in the parent module's doc).

use std::collections::HashMap;

/// Graded relevance judgements of one query: item id → grade (0 = not relevant).
pub type Qrels = HashMap<String, u32>;

/// One query's scores at a cut-off `K`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Metrics {
    pub recall: f64,
    pub precision: f64,
    pub ndcg: f64,
    /// Reciprocal rank of the first relevant result within K (0 when none).
    pub rr: f64,
    pub ap: f64,
    /// 1 when any relevant result is within K.
    pub hit: f64,
}

/// `(id, score)` pairs (higher score = better) as ids in rank order: score descending,
/// ties by id ascending.
pub fn rank<S: AsRef<str>>(answer: &[(S, f64)]) -> Vec<&str> {
    let mut order: Vec<(&str, f64)> = answer.iter().map(|(id, s)| (id.as_ref(), *s)).collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    order.into_iter().map(|(id, _)| id).collect()
}

/// The metrics of the ranked ids `ranked` against `qrels` at cut-off `k`, or `None`
/// when the query has no relevant judgement (or `k` is 0).
pub fn score_query(ranked: &[&str], qrels: &Qrels, k: usize) -> Option<Metrics> {
    let relevant = qrels.values().filter(|&&g| g > 0).count();
    if relevant == 0 || k == 0 {
        return None;
    }
    let grade = |id: &str| qrels.get(id).copied().unwrap_or(0);
    let top = &ranked[..ranked.len().min(k)];
    let (mut found, mut dcg, mut ap_sum, mut rr) = (0usize, 0.0, 0.0, 0.0);
    for (i, id) in top.iter().enumerate() {
        let g = grade(id);
        if g == 0 {
            continue;
        }
        found += 1;
        dcg += f64::from(g) / ((i + 2) as f64).log2();
        ap_sum += found as f64 / (i + 1) as f64;
        if rr == 0.0 {
            rr = 1.0 / (i + 1) as f64;
        }
    }
    let mut ideal: Vec<u32> = qrels.values().copied().filter(|&g| g > 0).collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, &g)| f64::from(g) / ((i + 2) as f64).log2())
        .sum();
    Some(Metrics {
        recall: found as f64 / relevant as f64,
        precision: found as f64 / k as f64,
        ndcg: dcg / idcg,
        rr,
        ap: ap_sum / relevant.min(k) as f64,
        hit: if found > 0 { 1.0 } else { 0.0 },
    })
}

/// Means over a set of queries.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Summary {
    /// Mean of each metric over the queries that have a relevant judgement.
    pub mean: Metrics,
    /// Queries averaged.
    pub queries: usize,
    /// Queries left out because nothing is relevant to them.
    pub without_relevant: usize,
}

/// Averages per-query results (`None` = a query without relevant judgements).
pub fn summarize(per_query: &[Option<Metrics>]) -> Summary {
    let scored: Vec<&Metrics> = per_query.iter().flatten().collect();
    let n = scored.len();
    let mean = |f: fn(&Metrics) -> f64| {
        if n == 0 {
            0.0
        } else {
            scored.iter().map(|m| f(m)).sum::<f64>() / n as f64
        }
    };
    Summary {
        mean: Metrics {
            recall: mean(|m| m.recall),
            precision: mean(|m| m.precision),
            ndcg: mean(|m| m.ndcg),
            rr: mean(|m| m.rr),
            ap: mean(|m| m.ap),
            hit: mean(|m| m.hit),
        },
        queries: n,
        without_relevant: per_query.len() - n,
    }
}
