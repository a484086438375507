//! The HNSW side of `quiver-bench ann`: `quiver_index::hnsw::Hnsw`, built on the
//! current rayon pool and swept over run.py's `EF_SWEEP` (searching with
//! `ef = max(ef, k)`, as hnswlib's `set_ef(max(ef, 10))`); with `--quantize`,
//! traversed on codes (their time is part of the build; the recall curve is measured
//! on them), the best `k · refine` of the beam (the codes' default refine, as the
//! engine searches) re-ranked with exact distances.

use quiver::Quantize;
use quiver_index::SliceSource;
use quiver_index::calibration::{CALIBRATION_QUERIES, EF_POINTS};
use quiver_index::codes::BuiltCodes;
use quiver_index::hnsw::{Hnsw, HnswParams};
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
    // The curve is measured mid-build (see `Hnsw::build_calibrated`); its time is
    // reported apart and taken out of `build_s` by the caller.
    let codes = BuiltCodes::build(&source, ds.metric, opts.quantize);
    let (hnsw, curve, spent) = Hnsw::build_calibrated(
        &source,
        ds.metric,
        codes.as_ref().map(BuiltCodes::view).as_ref(),
        &params,
        &EF_POINTS,
        CALIBRATION_QUERIES,
        1,
        &quiver_index::Progress::default(),
    );
    let calibrate_s = spent.as_secs_f64();
    let refine = opts.quantize.default_refine() as usize;
    let n = ds.query.rows;
    Built {
        lib: match opts.quantize {
            Quantize::None => "quiver-hnsw".into(),
            q => format!("quiver-hnsw-{}", q.name()),
        },
        params: format!("M={} efC={}", params.m, params.ef_construction),
        param_name: "efSearch",
        sweep: EF_SWEEP.iter().map(|&ef| json!(ef)).collect(),
        bytes: hnsw.memory_bytes() + codes.as_ref().map_or(0, BuiltCodes::memory_bytes),
        plan: Box::new(move |_| (n, true)),
        search: Box::new(move |p: &Value, q: &[f32]| {
            let ef = p.as_u64().expect("ef is an integer") as usize;
            let hits = match &codes {
                Some(codes) => {
                    let rerank = K * refine;
                    let ef = ef.max(rerank);
                    hnsw.search_codes(&source, &codes.view(), q, K, ef, rerank, &|_| true)
                        .0
                }
                None => hnsw.search(&source, q, K, ef.max(K)),
            };
            hits.iter().map(|h| h.row.0).collect()
        }),
        pick: curve.map(|c| {
            let pick: PickFn = Box::new(move |target| c.pick(target).map(|ef| json!(ef)));
            (pick, calibrate_s)
        }),
    }
}
