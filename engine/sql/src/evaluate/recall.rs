//! `EVALUATE RECALL`: how much of the exact answer an index setting finds. The queries
//! are the collection's own vectors (a deterministic sample: every n-th item with a
//! vector in the column); each is answered by the index at every setting and by an exact
//! scan, the query item itself left out of both; recall@K is the share of the exact
//! top K the setting returned, averaged. Users need no ground-truth script.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use quiver_query::sql::RecallSettings;
use quiver_storage::{Error, Result, Value};

use crate::statements::Output;
use quiver::CollectionSnapshot;
use quiver::Database;
use quiver::SearchOptions;

/// One setting's measurement.
#[derive(Clone, Debug, PartialEq)]
pub struct RecallPoint {
    pub setting: String,
    pub queries: usize,
    /// Mean recall@K against exact search.
    pub recall: f64,
    /// Queries answered per second (one at a time).
    pub qps: f64,
}

/// The settings of `settings` as search options, named.
fn options(settings: &RecallSettings) -> Vec<(String, SearchOptions)> {
    let base = SearchOptions::default;
    match settings {
        RecallSettings::Default => vec![("default".into(), base())],
        RecallSettings::Ef(v) => v
            .iter()
            .map(|&e| (format!("ef={e}"), base().ef(e as usize)))
            .collect(),
        RecallSettings::Nprobe(v) => v
            .iter()
            .map(|&n| (format!("nprobe={n}"), base().nprobe(n as usize)))
            .collect(),
        RecallSettings::Target(v) => v
            .iter()
            .map(|&t| (format!("target={t}"), base().recall(t as f32)))
            .collect(),
    }
}

/// The ids of the `k` nearest to `query` other than `own`, and the time it took.
fn answer(
    snap: &CollectionSnapshot,
    column: &str,
    query: &[f32],
    own: &str,
    k: usize,
    options: &SearchOptions,
) -> Result<(Vec<String>, Duration)> {
    let started = Instant::now();
    let hits = snap.search(column, query, k + 1, options)?;
    let took = started.elapsed();
    let mut ids = Vec::with_capacity(k);
    for h in &hits {
        let id = h.item.id()?;
        if id != own && ids.len() < k {
            ids.push(id.to_string());
        }
    }
    Ok((ids, took))
}

/// Recall@`k` of each setting of `settings` on `column`, over `sample` of the
/// collection's own vectors, plus the exact scan's rate (the last point).
pub fn evaluate_recall(
    db: &Database,
    collection: &str,
    column: &str,
    k: usize,
    sample: usize,
    settings: &RecallSettings,
) -> Result<Vec<RecallPoint>> {
    if k == 0 || sample == 0 {
        return Err(Error::InvalidArgument(
            "EVALUATE RECALL needs K ≥ 1 and SAMPLE ≥ 1".into(),
        ));
    }
    let snap = db.collection(collection)?.snapshot()?;
    snap.schema().column(column)?.1.expect_vector()?;
    let mut with_vector = Vec::new();
    for item in snap.scan() {
        if let Some(v) = item.vector(column)? {
            with_vector.push((item.id()?.to_string(), v.to_vec()));
        }
    }
    let step = (with_vector.len() / sample).max(1);
    let queries: Vec<&(String, Vec<f32>)> = with_vector.iter().step_by(step).take(sample).collect();
    if queries.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "no item of {collection} has a {column} vector"
        )));
    }
    let exact_options = SearchOptions::default().exact(true);
    let mut truth = Vec::with_capacity(queries.len());
    let mut exact_time = Duration::ZERO;
    for (id, v) in &queries {
        let (ids, took) = answer(&snap, column, v, id, k, &exact_options)?;
        exact_time += took;
        truth.push(ids.into_iter().collect::<HashSet<String>>());
    }
    let rate = |n: usize, t: Duration| match t.as_secs_f64() {
        s if s > 0.0 => n as f64 / s,
        _ => 0.0,
    };
    let mut points = Vec::new();
    for (setting, opts) in options(settings) {
        let (mut sum, mut time) = (0.0, Duration::ZERO);
        let mut counted = 0;
        for ((id, v), exact) in queries.iter().zip(&truth) {
            let (ids, took) = answer(&snap, column, v, id, k, &opts)?;
            time += took;
            if !exact.is_empty() {
                sum +=
                    ids.iter().filter(|i| exact.contains(*i)).count() as f64 / exact.len() as f64;
                counted += 1;
            }
        }
        points.push(RecallPoint {
            setting,
            queries: counted,
            recall: if counted > 0 {
                sum / counted as f64
            } else {
                0.0
            },
            qps: rate(queries.len(), time),
        });
    }
    points.push(RecallPoint {
        setting: "exact".into(),
        queries: queries.len(),
        recall: 1.0,
        qps: rate(queries.len(), exact_time),
    });
    Ok(points)
}

/// `setting | queries | recall@K | qps`.
pub fn report(points: &[RecallPoint], k: usize) -> Output {
    Output::Rows {
        columns: vec![
            "setting".into(),
            "queries".into(),
            format!("recall@{k}"),
            "qps".into(),
        ],
        rows: points
            .iter()
            .map(|p| {
                vec![
                    Value::Text(p.setting.clone()),
                    Value::Int(p.queries as i64),
                    Value::Float(p.recall),
                    Value::Int(p.qps.round() as i64),
                ]
            })
            .collect(),
    }
}
