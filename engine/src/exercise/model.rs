//! The model `ops_model` checks the database against: id → (vector, version), and
//! brute-force kNN over it.

use std::collections::BTreeMap;

use quiver_storage::{AttrType, Metric, Schema, Value};

use crate::Database;

/// An item as written: its vector `v` and the write's version `n`.
pub(super) type Version = (Vec<f32>, i64);
pub(super) type Model = BTreeMap<String, Version>;

pub(super) fn schema() -> Schema {
    Schema::builder()
        .vector("v", 4, Metric::L2)
        .attr("n", AttrType::Int)
        .build()
        .expect("a valid schema")
}

/// Small exact values (multiples of 1/4), so distances are exact in f64 and ties real.
pub(super) fn vector(bytes: [u8; 4]) -> Vec<f32> {
    bytes.iter().map(|&b| f32::from(b as i8) / 4.0).collect()
}

/// Everything the database's collection `c` holds, by scan (an id seen twice panics).
pub(super) fn read_all(db: &Database) -> Model {
    let snap = db
        .collection("c")
        .and_then(|c| c.snapshot())
        .expect("snapshot");
    let mut out = Model::new();
    for item in snap.scan() {
        let id = item.id().expect("id").to_string();
        let v = item.vector("v").expect("v").expect("v is set").to_vec();
        let n = match item.value("n").expect("n") {
            Value::Int(n) => n,
            other => panic!("{id}: n is {other:?}"),
        };
        assert!(
            out.insert(id.clone(), (v, n)).is_none(),
            "{id} scanned twice"
        );
    }
    assert_eq!(
        snap.count(),
        out.len() as u64,
        "count differs from the scan"
    );
    out
}

fn squared_l2(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
        .sum()
}

/// The model's distances of `ids` to `q`; panics on an id the model lacks or repeats.
fn distances(model: &Model, q: &[f32], ids: &[String]) -> Vec<f64> {
    let mut seen = std::collections::BTreeSet::new();
    ids.iter()
        .map(|id| {
            assert!(seen.insert(id), "{id} returned twice");
            let (v, _) = model
                .get(id)
                .unwrap_or_else(|| panic!("search returned {id}, which is not live"));
            squared_l2(v, q)
        })
        .collect()
}

/// `ids` (an exact search's answer) are `k` items nearest to `q` in the model,
/// nearest first (among equal distances, any).
pub(super) fn assert_exact_knn(model: &Model, q: &[f32], k: usize, ids: &[String]) {
    let got = distances(model, q, ids);
    let mut all: Vec<f64> = model.values().map(|(v, _)| squared_l2(v, q)).collect();
    all.sort_by(f64::total_cmp);
    all.truncate(k);
    assert_eq!(
        got, all,
        "exact search for {q:?} (k = {k}) returned {ids:?}"
    );
}

/// `ids` (an index search's answer) are live, distinct, nearest first, and as many as
/// asked for when the model has that many.
pub(super) fn assert_live_and_ordered(model: &Model, q: &[f32], k: usize, ids: &[String]) {
    let got = distances(model, q, ids);
    assert!(
        got.windows(2).all(|w| w[0] <= w[1]),
        "search for {q:?} is not nearest first: {ids:?}"
    );
    assert_eq!(
        ids.len(),
        k.min(model.len()),
        "search for {q:?} (k = {k}) over {} items returned {ids:?}",
        model.len()
    );
}
