//! The IVF-PQ side of `quiver-bench ann`: `quiver_index::IvfPq` trained as run.py
//! trains FAISS's `IVF{nlist},PQ{m}x8` (nlist = 4·√n and m = dim / 8 unless given,
//! training sample `min(n, max(50·nlist, 20000))`), swept over run.py's
//! `NPROBE_SWEEP` without re-ranking, then with `refine` (FAISS's `k_factor`).

use std::time::Instant;

use quiver_index::calibration::{CALIBRATION_QUERIES, NPROBE_POINTS};
use quiver_index::{Calibration, IvfPq, IvfPqParams, IvfSearch, SliceSource};
use serde_json::{Value, json};

use super::data::Dataset;
use super::run::{AnnOptions, Built, K, PickFn};

/// run.py's `NPROBE_SWEEP`.
pub const NPROBE_SWEEP: [usize; 13] = [1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128, 192, 256];

/// The nlist, m and training sample run.py gives FAISS for this dataset.
pub fn faiss_defaults(n: usize, dim: usize, opts: &AnnOptions) -> (usize, usize, usize) {
    let nlist = opts
        .nlist
        .unwrap_or_else(|| (4.0 * (n as f64).sqrt()).round() as usize);
    let m = opts.pq_m.unwrap_or(dim / 8);
    let train = n.min((50 * nlist).max(20_000));
    (nlist, m, train)
}

pub fn build<'a>(ds: &'a Dataset, source: SliceSource<'a>, opts: &AnnOptions) -> Built<'a> {
    let (nlist, m, train) = faiss_defaults(ds.base.rows, ds.base.dim, opts);
    let mut params = IvfPqParams::new(nlist, m);
    params.train_points = train;
    if let Some(seed) = opts.seed {
        params.seed = seed;
    }
    let index = IvfPq::build(&source, ds.metric, &params);
    let refine = opts.refine;
    let sweep = [0, refine]
        .iter()
        .flat_map(|&rf| {
            NPROBE_SWEEP
                .iter()
                .filter(move |&&p| p <= nlist)
                .map(move |&p| json!([p, rf]))
        })
        .collect();
    let n = ds.query.rows;
    // The curve is measured with the refine factor of the second sweep.
    let t = Instant::now();
    let view = index.view();
    let points: Vec<u32> = NPROBE_POINTS
        .into_iter()
        .filter(|&p| p as usize <= nlist)
        .collect();
    let curve = Calibration::measure(
        &source,
        ds.metric,
        &points,
        CALIBRATION_QUERIES,
        1,
        &|q, k, nprobe, held_out| {
            let params = IvfSearch {
                nprobe: nprobe as usize,
                refine,
            };
            view.search(&source, q, k, &params, &|r| r != held_out)
        },
    );
    let calibrate_s = t.elapsed().as_secs_f64();
    Built {
        lib: "quiver-ivfpq".into(),
        params: format!("IVF{nlist},PQ{m}x8 (train {train}); refine k_factor={refine}"),
        param_name: "(nprobe, refine k_factor)",
        sweep,
        bytes: index.memory_bytes(),
        plan: Box::new(move |_| (n, true)),
        search: Box::new(move |p: &Value, q: &[f32]| {
            let nprobe = p[0].as_u64().expect("nprobe is an integer") as usize;
            let refine = p[1].as_u64().expect("refine is an integer") as usize;
            let params = IvfSearch { nprobe, refine };
            index
                .view()
                .search(&source, q, K, &params, &|_| true)
                .iter()
                .map(|h| h.row.0)
                .collect()
        }),
        pick: curve.map(|c| {
            let pick: PickFn =
                Box::new(move |target| c.pick(target).map(|nprobe| json!([nprobe, refine])));
            (pick, calibrate_s)
        }),
    }
}
