//! `quiver-bench ann`: build one index over a prepared dataset, then sweep its search
//! parameter as `shared/bench/peers/run.py`'s child does: for each repetition and
//! parameter, one warm-up call on 5 queries, then one timed pass over all queries
//! (QPS = queries / wall time of that pass), then recall outside the timing.
//!
//! Everything, the build included, runs inside a rayon pool of exactly `threads`
//! threads. With one thread the queries run in a plain loop; with more, a `par_iter`
//! spreads them over the pool.

use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, ensure};
use quiver::Quantize;
use quiver_index::{SliceSource, exact_top_k};
use rayon::prelude::*;
use serde_json::{Map, Value, json};

use super::data::Dataset;
use super::recall::recall_at;
use super::report::{LibResult, ResultsFile, Row, fmt_param};
use super::sys;

/// run.py's `EF_SWEEP`.
pub const EF_SWEEP: [usize; 12] = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512];
/// Neighbours asked for per query.
pub const K: usize = 10;
/// Queries in flat's "single" mode (as run.py's faiss-flat).
pub const SINGLE_QUERIES: usize = 200;
/// Queries of each warm-up call.
const WARM_UP_QUERIES: usize = 5;

/// Which index to benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum IndexKind {
    /// Exact search (`quiver_index::exact_top_k`); with `--quantize`, a scan of codes
    /// re-scored exactly (`quiver_index::scan`), swept over the oversampling.
    Flat,
    /// `quiver_index::hnsw::Hnsw`, traversed on the vectors or, with `--quantize`, on
    /// codes (`quiver_index::codes`), the beam's best re-ranked with exact distances.
    Hnsw,
    /// `quiver_index::IvfPq`, swept over nprobe without and with refinement.
    Ivfpq,
    /// `quiver_index::ivf::IvfRabitq` (`--quantize rabitq4|rabitq2|rabitq1`), swept
    /// over nprobe, re-scoring the codes' default `k · refine`.
    Ivf,
}

/// What `quiver-bench ann` was asked to do.
#[derive(Clone, Debug)]
pub struct AnnOptions {
    pub data: PathBuf,
    pub index: IndexKind,
    /// The codes HNSW walks or FLAT scans (`none`: the vectors).
    pub quantize: Quantize,
    pub m: usize,
    pub ef_construction: usize,
    /// HNSW level seed; `None` keeps `HnswParams::default()`'s.
    pub seed: Option<u64>,
    /// IVF-PQ lists (default: run.py's 4·√n).
    pub nlist: Option<usize>,
    /// IVF-PQ bytes per code (default: run.py's dim / 8).
    pub pq_m: Option<usize>,
    /// IVF-PQ re-ranking factor of the second sweep (run.py's default 10).
    pub refine: usize,
    pub threads: usize,
    pub reps: usize,
    /// Use only the first `nq` queries (0: all).
    pub nq: usize,
}

/// For one parameter: how many of the first queries it runs and whether they may run in
/// parallel.
pub type PlanFn<'a> = Box<dyn Fn(&Value) -> (usize, bool) + 'a>;
/// The ids of the `K` nearest rows to one query at one parameter, closest first.
pub type SearchFn<'a> = Box<dyn Fn(&Value, &[f32]) -> Vec<u32> + Sync + 'a>;

/// A built index, ready to be swept.
pub struct Built<'a> {
    pub lib: String,
    /// Build parameters in words (the table's "params" column).
    pub params: String,
    pub param_name: &'static str,
    pub sweep: Vec<Value>,
    /// Index size: the graph for HNSW, the vectors for flat.
    pub bytes: usize,
    /// How many queries a parameter point uses (flat's "single" uses 200) and whether
    /// they may run in parallel.
    pub plan: PlanFn<'a>,
    /// The ids of the `K` nearest rows to one query at one parameter, closest first.
    pub search: SearchFn<'a>,
    /// For indexes that calibrate their recall: the parameter the index's own curve
    /// picks for a recall target (`None`: unreachable), and the seconds measuring the
    /// curve took (not part of `build_s`).
    pub pick: Option<(PickFn<'a>, f64)>,
}

/// The search parameter a calibrated index picks for a recall target.
pub type PickFn<'a> = Box<dyn Fn(f32) -> Option<Value> + 'a>;

/// Recall targets checked against the real queries after the sweep.
pub const RECALL_TARGETS: [f32; 5] = [0.80, 0.85, 0.90, 0.95, 0.99];

impl std::fmt::Debug for Built<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Built")
            .field("lib", &self.lib)
            .field("params", &self.params)
            .field("bytes", &self.bytes)
            .finish_non_exhaustive()
    }
}

/// Exact search: modes "batch" (all queries, parallel when threads > 1) and "single"
/// (the first 200 queries one at a time).
fn flat<'a>(ds: &'a Dataset, source: SliceSource<'a>) -> Built<'a> {
    let metric = ds.metric;
    let n = ds.query.rows;
    Built {
        lib: "quiver-flat".into(),
        params: "exact".into(),
        param_name: "mode",
        sweep: vec![json!("batch"), json!("single")],
        bytes: ds.base.data.len() * size_of::<f32>(),
        plan: Box::new(move |p| {
            if p == "single" {
                (n.min(SINGLE_QUERIES), false)
            } else {
                (n, true)
            }
        }),
        search: Box::new(move |_, q| {
            exact_top_k(&source, metric, q, K, &|_| true)
                .iter()
                .map(|h| h.row.0)
                .collect()
        }),
        pick: None,
    }
}

/// For each recall target: the parameter the calibration picks, and the recall the
/// real queries get with it.
fn recall_targets(built: &Built, ds: &Dataset, parallel: bool) -> Vec<Value> {
    let Some((pick, calibrate_s)) = &built.pick else {
        return Vec::new();
    };
    let n = ds.query.rows;
    let mut out = Vec::new();
    for target in RECALL_TARGETS {
        let Some(p) = pick(target) else {
            eprintln!(
                "[{}] target {target:.2}: not reachable on the curve",
                built.lib
            );
            out.push(json!({"target": target, "param": null, "achieved": null}));
            continue;
        };
        let found = search_all(built, &p, ds, n, parallel);
        let achieved = recall_at(&found, ds, K).recall;
        eprintln!(
            "[{}] recall target {target:.2}: {}={} -> achieved {achieved:.4} ({:+.4}; curve measured in {calibrate_s:.1}s)",
            built.lib,
            built.param_name,
            fmt_param(&p),
            achieved - target as f64
        );
        out.push(json!({"target": target, "param": p, "achieved": achieved}));
    }
    out
}

/// Runs the whole benchmark and returns the results file (not yet written).
pub fn run(opts: &AnnOptions) -> Result<ResultsFile> {
    ensure!(opts.threads > 0, "--threads must be at least 1");
    ensure!(opts.reps > 0, "--reps must be at least 1");
    let started = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let loadavg_start = sys::loadavg();
    let t = Instant::now();
    let mut ds = Dataset::load(&opts.data)?;
    ds.truncate_queries(opts.nq);
    eprintln!(
        "loaded {} ({} x {}, {} queries, metric {}) in {:.1}s",
        ds.meta.name,
        ds.base.rows,
        ds.base.dim,
        ds.query.rows,
        ds.meta.metric,
        t.elapsed().as_secs_f64()
    );
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .build()
        .context("starting the rayon thread pool")?;
    let result = pool.install(|| bench(opts, &ds))?;
    let mut info = Map::new();
    info.insert("tool".into(), json!("quiver-bench ann"));
    info.insert("version".into(), json!(env!("CARGO_PKG_VERSION")));
    info.insert("index".into(), json!(format!("{:?}", opts.index)));
    info.insert("debug_build".into(), json!(cfg!(debug_assertions)));
    info.insert("cpu".into(), json!(sys::cpu_model()));
    info.insert("nproc".into(), json!(sys::nproc()));
    info.insert("loadavg_start".into(), json!(loadavg_start));
    info.insert("loadavg_end".into(), json!(sys::loadavg()));
    info.insert("started_unix".into(), json!(started));
    Ok(ResultsFile {
        info,
        meta: ds.meta.clone(),
        results: vec![result],
    })
}

/// Build and sweep; runs inside the pool.
fn bench(opts: &AnnOptions, ds: &Dataset) -> Result<LibResult> {
    let source = SliceSource::new(&ds.base.data, ds.base.dim).context("base vectors")?;
    let rss0 = sys::rss_bytes()?;
    let t = Instant::now();
    let built = match opts.index {
        IndexKind::Flat if opts.quantize.is_none() => flat(ds, source),
        IndexKind::Flat => super::codes::build(ds, source, opts),
        IndexKind::Hnsw => super::hnsw::build(ds, source, opts),
        IndexKind::Ivfpq => super::ivfpq::build(ds, source, opts),
        IndexKind::Ivf => super::ivf::build(ds, source, opts),
    };
    // Measuring a recall curve is not part of building the index peers build.
    let calibrate_s = built.pick.as_ref().map_or(0.0, |p| p.1);
    let build_s = t.elapsed().as_secs_f64() - calibrate_s;
    let rss1 = sys::rss_bytes()?;
    eprintln!(
        "[{} T={}] {} built in {build_s:.2}s, RSS +{:.0} MB, index {:.1} MB",
        built.lib,
        opts.threads,
        built.params,
        (rss1 as f64 - rss0 as f64) / MB,
        built.bytes as f64 / MB
    );
    let mut rows = Vec::new();
    for rep in 0..opts.reps {
        for p in &built.sweep {
            let (n, parallel) = (built.plan)(p);
            let parallel = parallel && opts.threads > 1;
            search_all(&built, p, ds, n.min(WARM_UP_QUERIES), parallel);
            let t = Instant::now();
            let found = search_all(&built, p, ds, n, parallel);
            let dt = t.elapsed().as_secs_f64();
            let r = recall_at(&found, ds, K);
            let qps = n as f64 / dt;
            eprintln!(
                "[{} T={}] rep {rep} {}={}: recall {:.4} id_recall {:.4} QPS {qps:.1}",
                built.lib,
                opts.threads,
                built.param_name,
                fmt_param(p),
                r.recall,
                r.id_recall
            );
            rows.push(Row {
                rep,
                param: p.clone(),
                recall: r.recall,
                id_recall: r.id_recall,
                qps,
                nq: n,
                extra: Map::new(),
            });
        }
    }
    let mut extra = Map::new();
    let targets = recall_targets(&built, ds, opts.threads > 1);
    if let Some((_, calibrate_s)) = &built.pick {
        extra.insert("recall_targets".into(), json!(targets));
        extra.insert("calibrate_s".into(), json!(calibrate_s));
    }
    extra.insert("loadavg".into(), json!(sys::loadavg()));
    extra.insert("build_s_all".into(), json!([build_s]));
    Ok(LibResult {
        lib: built.lib,
        threads: opts.threads,
        params: built.params.clone(),
        param_name: built.param_name.into(),
        build_s,
        rss_delta_mb: (rss1 as f64 - rss0 as f64) / MB,
        serialized_mb: built.bytes as f64 / MB,
        rows,
        extra,
    })
}

const MB: f64 = (1u64 << 20) as f64;

/// The first `n` queries at parameter `p`.
fn search_all(built: &Built, p: &Value, ds: &Dataset, n: usize, parallel: bool) -> Vec<Vec<u32>> {
    let search = &built.search;
    let one = |i: usize| search(p, ds.query.row(i));
    if parallel {
        (0..n).into_par_iter().map(one).collect()
    } else {
        (0..n).map(one).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ann::data::tests::vecs_bytes;
    use quiver_index::{VectorSource, distance};
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// A random 300 x 8 L2 dataset with 6 queries and exact top-10 ground truth.
    fn tiny_dataset(dir: &std::path::Path) {
        let (n, nq, dim, k) = (300, 6, 8, 10);
        let mut rng = StdRng::seed_from_u64(7);
        let mut rows = |count: usize| -> Vec<Vec<f32>> {
            (0..count)
                .map(|_| (0..dim).map(|_| rng.random::<f32>()).collect())
                .collect()
        };
        let (base, query) = (rows(n), rows(nq));
        let data: Vec<f32> = base.concat();
        let source = SliceSource::new(&data, dim).unwrap();
        let (mut gt, mut gt_dist) = (Vec::new(), Vec::new());
        for q in &query {
            let hits = exact_top_k(&source, quiver::Metric::L2, q, k, &|_| true);
            gt.push(hits.iter().map(|h| h.row.0 as i32).collect::<Vec<_>>());
            gt_dist.push(
                hits.iter()
                    .map(|h| distance(quiver::Metric::L2, q, &source.get(h.row).unwrap().to_vec()))
                    .collect::<Vec<_>>(),
            );
        }
        let fv = |v: &[Vec<f32>]| {
            let r: Vec<&[f32]> = v.iter().map(Vec::as_slice).collect();
            vecs_bytes(&r, f32::to_le_bytes)
        };
        let gt_rows: Vec<&[i32]> = gt.iter().map(Vec::as_slice).collect();
        std::fs::write(dir.join("base.fvecs"), fv(&base)).unwrap();
        std::fs::write(dir.join("query.fvecs"), fv(&query)).unwrap();
        std::fs::write(dir.join("gt.ivecs"), vecs_bytes(&gt_rows, i32::to_le_bytes)).unwrap();
        std::fs::write(dir.join("gt_dist.fvecs"), fv(&gt_dist)).unwrap();
        let meta = json!({"name": "tiny", "n_base": n, "dim": dim, "n_query": nq, "metric": "l2"});
        std::fs::write(dir.join("meta.json"), meta.to_string()).unwrap();
    }

    fn options(dir: &std::path::Path, index: IndexKind, threads: usize) -> AnnOptions {
        AnnOptions {
            data: dir.to_path_buf(),
            index,
            quantize: Quantize::None,
            m: 8,
            ef_construction: 64,
            seed: Some(1),
            nlist: None,
            pq_m: None,
            refine: 10,
            threads,
            reps: 2,
            nq: 0,
        }
    }

    #[test]
    fn flat_is_exact_in_both_modes() {
        let dir = tempfile::tempdir().unwrap();
        tiny_dataset(dir.path());
        for threads in [1, 2] {
            let f = run(&options(dir.path(), IndexKind::Flat, threads)).unwrap();
            let r = &f.results[0];
            assert_eq!((r.lib.as_str(), r.threads), ("quiver-flat", threads));
            assert_eq!(r.rows.len(), 4);
            assert!(
                r.rows
                    .iter()
                    .all(|row| row.recall == 1.0 && row.id_recall == 1.0)
            );
            assert_eq!(r.rows[1].param, json!("single"));
            assert_eq!(r.serialized_mb, (300 * 8 * 4) as f64 / MB);
        }
    }

    #[test]
    fn hnsw_sweeps_ef_and_writes_both_files() {
        let dir = tempfile::tempdir().unwrap();
        tiny_dataset(dir.path());
        // One thread: a parallel build can leave a few of 300 nodes unreachable (an
        // HNSW build race, not this crate's), and this test is about the plumbing.
        let f = run(&options(dir.path(), IndexKind::Hnsw, 1)).unwrap();
        let r = &f.results[0];
        assert_eq!(r.lib, "quiver-hnsw");
        assert_eq!(r.params, "M=8 efC=64");
        assert_eq!(r.rows.len(), 2 * EF_SWEEP.len());
        let last = r.rows.last().unwrap();
        assert_eq!(last.param, json!(512));
        assert!(last.recall >= 0.99, "recall {} at ef 512", last.recall);
        let out = dir.path().join("out/hnsw.json");
        let md = f.write(&out).unwrap();
        assert!(md.contains("| quiver-hnsw | 1 | M=8 efC=64 |"), "{md}");
        let back = ResultsFile::read(&out).unwrap();
        assert_eq!(back.results[0].rows.len(), r.rows.len());
        assert!(out.with_extension("md").is_file());
    }

    #[test]
    fn flat_on_codes_sweeps_refine() {
        let dir = tempfile::tempdir().unwrap();
        tiny_dataset(dir.path());
        let mut opts = options(dir.path(), IndexKind::Flat, 1);
        opts.quantize = Quantize::Rabitq4;
        opts.reps = 1;
        let f = run(&opts).unwrap();
        let r = &f.results[0];
        assert_eq!(r.lib, "quiver-flat-rabitq4");
        let params: Vec<Value> = r.rows.iter().map(|row| row.param.clone()).collect();
        let points = quiver_index::scan::REFINE_POINTS;
        assert_eq!(params, points.iter().map(|&p| json!(p)).collect::<Vec<_>>());
        assert!(r.rows.last().unwrap().recall >= 0.99, "{:?}", r.rows.last());
        assert!(r.rows.windows(2).all(|w| w[1].recall >= w[0].recall - 1e-9));
    }

    #[test]
    fn ivfpq_sweeps_nprobe_without_and_with_refine() {
        let dir = tempfile::tempdir().unwrap();
        tiny_dataset(dir.path());
        let mut opts = options(dir.path(), IndexKind::Ivfpq, 2);
        opts.nlist = Some(8);
        opts.pq_m = Some(4);
        opts.reps = 1;
        let f = run(&opts).unwrap();
        let r = &f.results[0];
        assert_eq!(r.lib, "quiver-ivfpq");
        // nprobe 1, 2, 4, 8 (those <= nlist), each without and with refine 10.
        let params: Vec<Value> = r.rows.iter().map(|row| row.param.clone()).collect();
        assert_eq!(params.len(), 8);
        assert_eq!(
            (params[0].clone(), params[7].clone()),
            (json!([1, 0]), json!([8, 10]))
        );
        let last = r.rows.last().unwrap();
        assert!(
            last.recall >= 0.95,
            "all lists + refine: recall {}",
            last.recall
        );
        let md = f.write(dir.path().join("ivf.json")).unwrap();
        assert!(
            md.contains("| quiver-ivfpq (no refine) |") && md.contains("| quiver-ivfpq + refine |"),
            "{md}"
        );
    }
}
