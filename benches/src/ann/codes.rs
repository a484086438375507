//! The FLAT-on-codes side of `quiver-bench ann`: `--index flat --quantize q` codes
//! every row (`quiver_index::codes`, the coding time is the build), then scans the
//! codes and re-scores the best `k · refine` exactly (`quiver_index::scan`), swept
//! over `refine`. Its recall curve is measured as the engine measures it, on held-out
//! rows of the base set.

use quiver_index::calibration::CALIBRATION_QUERIES;
use quiver_index::codes::BuiltCodes;
use quiver_index::scan::{REFINE_POINTS, scan_codes};
use quiver_index::{Calibration, SliceSource};
use quiver_storage::RowId;
use serde_json::{Value, json};

use super::data::Dataset;
use super::run::{AnnOptions, Built, K, PickFn};

pub fn build<'a>(ds: &'a Dataset, source: SliceSource<'a>, opts: &AnnOptions) -> Built<'a> {
    let quantize = opts.quantize;
    let codes = BuiltCodes::build(&source, ds.metric, quantize)
        .expect("flat is benchmarked on codes only with --quantize");
    let bytes = codes.memory_bytes();
    let started = std::time::Instant::now();
    let curve = Calibration::sample(&source, CALIBRATION_QUERIES, 1).and_then(|sample| {
        let view = codes.view();
        let search = |q: &[f32], k: usize, refine: u32, held_out: RowId| {
            scan_codes(&view, &source, q, k, refine as usize, &|r| r != held_out).0
        };
        Calibration::measure_on(&source, ds.metric, &REFINE_POINTS, &sample, &search)
    });
    let calibrate_s = started.elapsed().as_secs_f64();
    let n = ds.query.rows;
    Built {
        lib: format!("quiver-flat-{}", quantize.name()),
        params: format!("{} codes", quantize.name()),
        param_name: "refine",
        sweep: REFINE_POINTS.iter().map(|&r| json!(r)).collect(),
        bytes,
        plan: Box::new(move |_| (n, true)),
        search: Box::new(move |p: &Value, q: &[f32]| {
            let refine = p.as_u64().expect("refine is an integer") as usize;
            scan_codes(&codes.view(), &source, q, K, refine, &|_| true)
                .0
                .iter()
                .map(|h| h.row.0)
                .collect()
        }),
        pick: curve.map(|c| {
            let pick: PickFn = Box::new(move |target| c.pick(target).map(|r| json!(r)));
            (pick, calibrate_s)
        }),
    }
}
