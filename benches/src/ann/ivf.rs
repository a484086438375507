//! The IVF-on-RaBitQ side of `quiver-bench ann`: `--index ivf --quantize rabitqB`
//! builds `quiver_index::ivf::IvfRabitq` with run.py's nlist for FAISS (4·√n unless
//! given), then sweeps run.py's `NPROBE_SWEEP` re-scoring the codes' default
//! `k · refine` exactly (as the engine searches, and as `quantized_peers.py` gives
//! FAISS's `IVF{nlist},RaBitQ{B}` its IndexRefineFlat).

use std::time::Instant;

use quiver_index::calibration::{CALIBRATION_QUERIES, NPROBE_POINTS};
use quiver_index::ivf::IvfRabitq;
use quiver_index::{Calibration, Progress, SliceSource};
use serde_json::{Value, json};

use super::data::Dataset;
use super::ivfpq::{NPROBE_SWEEP, faiss_defaults};
use super::run::{AnnOptions, Built, K, PickFn};

pub fn build<'a>(ds: &'a Dataset, source: SliceSource<'a>, opts: &AnnOptions) -> Built<'a> {
    let quantize = opts.quantize;
    let bits = quantize
        .rabitq_bits()
        .expect("IVF is benchmarked on RaBitQ codes: --quantize rabitq4, rabitq2 or rabitq1");
    let (nlist, _, _) = faiss_defaults(ds.base.rows, ds.base.dim, opts);
    let index = IvfRabitq::build(&source, ds.metric, nlist, bits, &Progress::default());
    let refine = quantize.default_refine() as usize;
    let t = Instant::now();
    let view = index.view();
    let points: Vec<u32> = NPROBE_POINTS
        .into_iter()
        .filter(|&p| p as usize <= view.nlist())
        .collect();
    let curve = Calibration::measure(
        &source,
        ds.metric,
        &points,
        CALIBRATION_QUERIES,
        1,
        &|q, k, nprobe, held_out| {
            view.search_with_stats(&source, q, k, nprobe as usize, refine, &|r| r != held_out)
                .0
        },
    );
    let calibrate_s = t.elapsed().as_secs_f64();
    let n = ds.query.rows;
    let lists = view.nlist();
    Built {
        lib: format!("quiver-ivf-{}", quantize.name()),
        params: format!("IVF{lists},{} refine={refine}", quantize.name()),
        param_name: "nprobe",
        sweep: NPROBE_SWEEP
            .iter()
            .filter(|&&p| p <= lists)
            .map(|&p| json!(p))
            .collect(),
        bytes: index.codes.memory_bytes() + 4 * (index.rows.len() + index.offsets.len()),
        plan: Box::new(move |_| (n, true)),
        search: Box::new(move |p: &Value, q: &[f32]| {
            let nprobe = p.as_u64().expect("nprobe is an integer") as usize;
            index
                .view()
                .search_with_stats(&source, q, K, nprobe, refine, &|_| true)
                .0
                .iter()
                .map(|h| h.row.0)
                .collect()
        }),
        pick: curve.map(|c| {
            let pick: PickFn = Box::new(move |target| c.pick(target).map(|p| json!(p)));
            (pick, calibrate_s)
        }),
    }
}
