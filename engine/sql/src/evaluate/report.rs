//! An [`Evaluation`] as result rows: the summary (overall, then per label) or one row
//! per query, worst first.

use quiver_query::eval::{Metrics, Summary};
use quiver_storage::Value;

use super::Evaluation;
use crate::statements::Output;

fn metric_columns(k: usize) -> Vec<String> {
    ["recall", "precision", "ndcg", "mrr", "map", "hit"]
        .iter()
        .map(|m| format!("{m}@{k}"))
        .collect()
}

fn metric_values(m: &Metrics) -> Vec<Value> {
    [m.recall, m.precision, m.ndcg, m.rr, m.ap, m.hit]
        .into_iter()
        .map(Value::Float)
        .collect()
}

/// `label | queries | skipped | recall@K ... hit@K | qps`: the first row over all
/// queries (`*`), then one per label. `skipped` counts queries not applicable to the
/// ranking and queries with nothing relevant.
pub fn summary(ev: &Evaluation) -> Output {
    let mut columns = vec!["label".to_string(), "queries".into(), "skipped".into()];
    columns.extend(metric_columns(ev.k));
    columns.push("qps".into());
    let row = |label: &str, s: &Summary, not_applicable: usize| {
        let mut r = vec![
            Value::Text(label.to_string()),
            Value::Int(s.queries as i64),
            Value::Int((s.without_relevant + not_applicable) as i64),
        ];
        // A label none of whose queries could be scored has no mean: NULL, not 0.
        match s.queries {
            0 => r.extend(std::iter::repeat_n(Value::Null, 6)),
            _ => r.extend(metric_values(&s.mean)),
        }
        r.push(Value::Int(ev.qps.round() as i64));
        r
    };
    let all_na: usize = ev.not_applicable.values().sum();
    let mut rows = vec![row("*", &ev.overall, all_na)];
    let mut labels: Vec<&String> = ev.by_label.keys().chain(ev.not_applicable.keys()).collect();
    labels.sort();
    labels.dedup();
    if labels.len() > 1 || labels.first().is_some_and(|l| !l.is_empty()) {
        for label in labels {
            let s = ev.by_label.get(label).copied().unwrap_or_default();
            let na = ev.not_applicable.get(label).copied().unwrap_or(0);
            rows.push(row(label, &s, na));
        }
    }
    Output::Rows { columns, rows }
}

/// `qid | label | recall@K ... hit@K | answer`, worst NDCG first (queries with nothing
/// relevant left out).
pub fn per_query(ev: &Evaluation) -> Output {
    let mut columns = vec!["qid".to_string(), "label".into()];
    columns.extend(metric_columns(ev.k));
    columns.push("answer".into());
    let mut scored: Vec<(&super::QueryOutcome, Metrics)> = ev
        .outcomes
        .iter()
        .filter_map(|o| o.metrics.map(|m| (o, m)))
        .collect();
    scored.sort_by(|a, b| a.1.ndcg.total_cmp(&b.1.ndcg).then(a.0.qid.cmp(&b.0.qid)));
    let rows = scored
        .into_iter()
        .map(|(o, m)| {
            let mut r = vec![Value::Text(o.qid.clone()), Value::Text(o.label.clone())];
            r.extend(metric_values(&m));
            r.push(Value::Text(o.answer.join(" ")));
            r
        })
        .collect();
    Output::Rows { columns, rows }
}

/// Summaries of several rankings in one table: a leading `setting` column.
pub fn sweep(results: &[(String, Evaluation)]) -> Output {
    let mut columns = vec!["setting".to_string()];
    let mut rows = Vec::new();
    for (setting, ev) in results {
        let Output::Rows {
            columns: c,
            rows: r,
        } = summary(ev)
        else {
            continue;
        };
        if columns.len() == 1 {
            columns.extend(c);
        }
        rows.extend(r.into_iter().map(|row| {
            let mut with = vec![Value::Text(setting.clone())];
            with.extend(row);
            with
        }));
    }
    Output::Rows { columns, rows }
}

/// `label | queries | skipped | fusion | normalize | ndcg@K written | ndcg@K in-sample |
/// ndcg@K held-out`: all queries (`*`) first, then each label; then `profile`, the
/// profile each line's setting was saved as.
pub fn tune(t: &super::tune::Tuning) -> Output {
    let k = t.k;
    let columns = vec![
        "label".to_string(),
        "queries".into(),
        "skipped".into(),
        "fusion".into(),
        "normalize".into(),
        format!("ndcg@{k} written"),
        format!("ndcg@{k} in-sample"),
        format!("ndcg@{k} held-out"),
        "profile".into(),
    ];
    let saved = |label: &str| -> Value {
        let full = t.saved.iter().find(|name| match label {
            "*" => !name.contains('/'),
            l => name.ends_with(&format!("/{l}")),
        });
        full.map_or(Value::Null, |n| Value::Text(n.clone()))
    };
    let rows = t
        .report
        .lines
        .iter()
        .map(|line| {
            let (fusion, normalize) = match &line.setting {
                Some(s) => {
                    let (f, n) = t.describe(s);
                    (
                        Value::Text(f),
                        n.map_or(Value::Null, |n| Value::Text(n.into())),
                    )
                }
                None => (Value::Text("per label".into()), Value::Null),
            };
            let skipped = match line.label.as_str() {
                "*" => t.skipped.values().sum(),
                l => t.skipped.get(l).copied().unwrap_or(0),
            };
            vec![
                Value::Text(line.label.clone()),
                Value::Int(line.queries as i64),
                Value::Int(skipped as i64),
                fusion,
                normalize,
                Value::Float(line.as_written),
                Value::Float(line.in_sample),
                Value::Float(line.held_out),
                saved(&line.label),
            ]
        })
        .collect();
    Output::Rows { columns, rows }
}
