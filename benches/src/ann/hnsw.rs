//! The HNSW side of `quiver-bench ann`: `quiver_index::hnsw::Hnsw`, built on the
//! current rayon pool and swept over run.py's `EF_SWEEP` (searching with
//! `ef = max(ef, k)`, as hnswlib's `set_ef(max(ef, 10))`).

use std::time::Instant;

use quiver_index::calibration::{CALIBRATION_QUERIES, EF_POINTS};
use quiver_index::hnsw::{Hnsw, HnswParams, search_graph_held_out};
use quiver_index::{Calibration, SliceSource};
use serde_json::{Value, json};

use super::data::Dataset;
use super::run::{AnnOptions, Built, EF_SWEEP, K, PickFn};

pub fn build<'a>(ds: &'a Dataset, source: SliceSource<'a>, opts: &AnnOptions) -> Built<'a> {
    let mut params = HnswParams {
        m: opts.m,
        ef_construction: opts.ef_construction,
        ..HnswParams::default()
    };
    if let Some(seed) = opts.seed {
        params.seed = seed;
    }
    let hnsw = Hnsw::build(&source, ds.metric, &params);
    let n = ds.query.rows;
    let t = Instant::now();
    let graph = hnsw.graph().view();
    let curve = Calibration::measure(
        &source,
        ds.metric,
        &EF_POINTS,
        CALIBRATION_QUERIES,
        1,
        &|q, k, ef, held_out| {
            search_graph_held_out(&graph, &source, ds.metric, q, k, ef as usize, held_out)
        },
    );
    let calibrate_s = t.elapsed().as_secs_f64();
    Built {
        lib: "quiver-hnsw",
        params: format!("M={} efC={}", params.m, params.ef_construction),
        param_name: "efSearch",
        sweep: EF_SWEEP.iter().map(|&ef| json!(ef)).collect(),
        bytes: hnsw.memory_bytes(),
        plan: Box::new(move |_| (n, true)),
        search: Box::new(move |p: &Value, q: &[f32]| {
            let ef = p.as_u64().expect("ef is an integer") as usize;
            hnsw.search(&source, q, K, ef.max(K))
                .iter()
                .map(|h| h.row.0)
                .collect()
        }),
        pick: curve.map(|c| {
            let pick: PickFn = Box::new(move |target| c.pick(target).map(|ef| json!(ef)));
            (pick, calibrate_s)
        }),
    }
}
