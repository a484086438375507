//! The results file (the JSON schema of `shared/bench/peers/run.py`, so both kinds of
//! file can be read and merged) and its Markdown summary, which reproduces run.py's
//! `markdown()` line for line.
//!
//! Fields run.py writes that Quiver does not know are kept through `extra` maps, so a
//! peer file read and written again loses nothing.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::data::Meta;
use super::frontier::{Point, qps_at, summarize};

/// Recall targets of the summary table.
pub const TARGETS: [f64; 3] = [0.90, 0.95, 0.99];

/// A whole results file: the environment, the dataset, one entry per (library, threads).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ResultsFile {
    pub info: Map<String, Value>,
    pub meta: Meta,
    pub results: Vec<LibResult>,
}

/// One library at one thread count: its build and its sweep.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LibResult {
    pub lib: String,
    pub threads: usize,
    /// Build parameters in words, e.g. `M=16 efC=200`.
    pub params: String,
    /// What `Row::param` is, e.g. `efSearch`.
    pub param_name: String,
    pub build_s: f64,
    pub rss_delta_mb: f64,
    pub serialized_mb: f64,
    pub rows: Vec<Row>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One timed pass over the queries at one parameter.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Row {
    pub rep: usize,
    /// An integer (ef), a string (flat's mode) or a list (faiss IVF-PQ's nprobe, refine).
    pub param: Value,
    pub recall: f64,
    pub id_recall: f64,
    pub qps: f64,
    pub nq: usize,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ResultsFile {
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_slice(&text)
            .with_context(|| format!("{} is not a benchmark results file", path.display()))
    }

    /// Writes the JSON to `path` and the Markdown summary beside it (`.md`); returns the
    /// Markdown.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<String> {
        let path = path.as_ref();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let json = serde_json::to_string_pretty(self)?;
        std::fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
        let md = markdown(&self.results, &self.meta);
        let md_path = path.with_extension("md");
        std::fs::write(&md_path, &md).with_context(|| format!("writing {}", md_path.display()))?;
        Ok(md)
    }
}

/// A parameter as run.py's `fmt_param` prints it.
pub fn fmt_param(p: &Value) -> String {
    match p {
        Value::Array(v) if v.len() == 2 => {
            let refine = match &v[1] {
                Value::Number(n) if n.as_f64() != Some(0.0) => format!(",rf={n}"),
                _ => String::new(),
            };
            format!("nprobe={}{refine}", v[0])
        }
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Exact-search libraries get one table line per mode instead of recall targets.
fn is_flat(lib: &str) -> bool {
    lib.ends_with("-flat")
}

/// IVF-PQ results sweep (nprobe, refine) pairs and show as two curves.
fn is_ivf(lib: &str) -> bool {
    lib.starts_with("faiss-ivfpq") || lib == "quiver-ivfpq"
}

/// The curves one result is shown as: IVF-PQ splits into without / with refinement.
pub fn variants(res: &LibResult) -> Vec<(String, Vec<Point>)> {
    let pts = summarize(&res.rows);
    if is_ivf(&res.lib) {
        let refine = |p: &Point| p.param.get(1).and_then(Value::as_f64).unwrap_or(0.0) != 0.0;
        let (with, without): (Vec<Point>, Vec<Point>) = pts.into_iter().partition(refine);
        vec![
            (" (no refine)".to_string(), without),
            (" + refine".to_string(), with),
        ]
    } else {
        vec![(String::new(), pts)]
    }
}

/// The summary table and full curves of `results` on the dataset `meta`.
pub fn markdown(results: &[LibResult], meta: &Meta) -> String {
    format!(
        "{}\nFull curves (median over reps; QPS spread min..max):\n\n{}",
        table(results, meta),
        curves(results)
    )
}

/// The heading line and the QPS-at-recall table.
pub fn table(results: &[LibResult], meta: &Meta) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Dataset `{}`: {} x {}, {} queries, metric {}\n",
        meta.name, meta.n_base, meta.dim, meta.n_query, meta.metric
    );
    s.push_str("| library | threads | params | build s | RSS delta MB | serialized MB | QPS@0.90 | QPS@0.95 | QPS@0.99 | max recall |\n");
    s.push_str("|---|---|---|---|---|---|---|---|---|---|\n");
    for res in results {
        if is_flat(&res.lib) {
            for p in summarize(&res.rows) {
                let _ = writeln!(
                    s,
                    "| {} ({}) | {} | {} | {:.2} | {:.0} | {:.0} | {q:.0} | {q:.0} | {q:.0} | {:.4} |",
                    res.lib,
                    fmt_param(&p.param),
                    res.threads,
                    res.params,
                    res.build_s,
                    res.rss_delta_mb,
                    res.serialized_mb,
                    p.recall,
                    q = p.qps,
                );
            }
            continue;
        }
        for (suffix, pts) in variants(res) {
            if pts.is_empty() {
                continue;
            }
            let cells: Vec<String> = TARGETS
                .iter()
                .map(|&t| match qps_at(&pts, t) {
                    None => "n/a".to_string(),
                    Some((q, p)) => format!("{q:.0} ({})", fmt_param(&p.param)),
                })
                .collect();
            let max = pts
                .iter()
                .map(|p| p.recall)
                .fold(f64::NEG_INFINITY, f64::max);
            let _ = writeln!(
                s,
                "| {}{suffix} | {} | {} | {:.1} | {:.0} | {:.0} | {} | {max:.4} |",
                res.lib,
                res.threads,
                res.params,
                res.build_s,
                res.rss_delta_mb,
                res.serialized_mb,
                cells.join(" | "),
            );
        }
    }
    s
}

/// One line per result: every median point as `param: recall/qps [min..max]`.
pub fn curves(results: &[LibResult]) -> String {
    let mut s = String::new();
    for res in results {
        let pts: Vec<String> = summarize(&res.rows)
            .iter()
            .map(|p| {
                format!(
                    "{}: {:.3}/{:.0} [{:.0}..{:.0}]",
                    fmt_param(&p.param),
                    p.recall,
                    p.qps,
                    p.qps_min,
                    p.qps_max
                )
            })
            .collect();
        let _ = writeln!(
            s,
            "- {} T={} ({}): {}",
            res.lib,
            res.threads,
            res.param_name,
            pts.join(", ")
        );
    }
    s
}

/// The libraries Quiver's HNSW is compared against in the ratio lines.
pub const PEERS: [&str; 3] = ["hnswlib", "faiss-hnsw", "usearch"];

/// `QUIVER-HNSW / PEER QPS@0.95 = x.xx` for each of Quiver's HNSW runs (on the
/// vectors, `quiver-hnsw`, or on 8-bit codes, `quiver-hnsw-sq8`) and each peer run at
/// the same thread count.
pub fn ratios(results: &[LibResult], target: f64) -> String {
    let mut s = String::new();
    let qps = |r: &LibResult| qps_at(&summarize(&r.rows), target).map(|(q, _)| q);
    let max_recall = |r: &LibResult| {
        summarize(&r.rows)
            .iter()
            .map(|p| p.recall)
            .fold(0.0, f64::max)
    };
    for ours in results.iter().filter(|r| r.lib.starts_with("quiver-hnsw")) {
        for peer in PEERS {
            for theirs in results
                .iter()
                .filter(|r| r.lib == peer && r.threads == ours.threads)
            {
                let line = match (qps(ours), qps(theirs)) {
                    (Some(a), Some(b)) => format!("{:.2} ({a:.0} vs {b:.0} QPS)", a / b),
                    (a, b) => {
                        let miss = |lib: &str, r: &LibResult, q: Option<f64>| {
                            q.is_none()
                                .then(|| format!("{lib} reaches only {:.4}", max_recall(r)))
                        };
                        let why: Vec<String> = [miss(&ours.lib, ours, a), miss(peer, theirs, b)]
                            .into_iter()
                            .flatten()
                            .collect();
                        format!("n/a ({})", why.join(", "))
                    }
                };
                let _ = writeln!(
                    s,
                    "{} / {peer} QPS@{target:.2} = {line}, threads {}",
                    ours.lib, ours.threads
                );
            }
        }
    }
    s
}

/// Files grouped by dataset (first-seen order): one combined table per dataset, then
/// its ratio lines, then the full curves.
pub fn combined(files: &[ResultsFile]) -> Result<String> {
    let mut groups: Vec<(&Meta, Vec<LibResult>)> = Vec::new();
    for f in files {
        match groups.iter_mut().find(|(m, _)| m.name == f.meta.name) {
            Some((m, results)) => {
                if (m.n_base, m.dim, m.n_query) != (f.meta.n_base, f.meta.dim, f.meta.n_query) {
                    bail!(
                        "two files name dataset {} but disagree on its size ({} x {}, {} queries vs {} x {}, {} queries)",
                        m.name,
                        m.n_base,
                        m.dim,
                        m.n_query,
                        f.meta.n_base,
                        f.meta.dim,
                        f.meta.n_query
                    );
                }
                results.extend(f.results.iter().cloned());
            }
            None => groups.push((&f.meta, f.results.clone())),
        }
    }
    let mut s = String::new();
    for (meta, results) in groups {
        s.push_str(&table(&results, meta));
        let r: String = [0.90, 0.95, 0.99]
            .into_iter()
            .map(|target| ratios(&results, target))
            .collect();
        if !r.is_empty() {
            s.push('\n');
            s.push_str(&r);
        }
        s.push_str("\nFull curves (median over reps; QPS spread min..max):\n\n");
        s.push_str(&curves(&results));
        s.push('\n');
    }
    Ok(s)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// A results file as run.py writes it (two libraries, trimmed).
    pub(crate) const PEER_FILE: &str = r#"{
 "info": {"python": "3.12.3", "nproc": 2},
 "meta": {"metric": "l2", "name": "tiny-euclidean", "n_base": 1000, "n_query": 2, "dim": 4, "gt_k": 100},
 "results": [
  {"lib": "faiss-flat", "threads": 1, "params": "exact", "param_name": "mode", "build_s": 0.001,
   "rss_delta_mb": 0.2, "serialized_mb": 0.1, "loadavg": [0.5, 0.4, 0.3], "build_s_all": [0.001],
   "rows": [
    {"rep": 0, "param": "batch", "recall": 1.0, "id_recall": 1.0, "qps": 5000.0, "nq": 2, "build_rep": 0},
    {"rep": 0, "param": "single", "recall": 1.0, "id_recall": 1.0, "qps": 3000.0, "nq": 2, "build_rep": 0}]},
  {"lib": "hnswlib", "threads": 1, "params": "M=16 efC=200", "param_name": "efSearch", "build_s": 1.25,
   "rss_delta_mb": 12.4, "serialized_mb": 10.6,
   "rows": [
    {"rep": 0, "param": 10, "recall": 0.9, "id_recall": 0.9, "qps": 800.0, "nq": 2},
    {"rep": 0, "param": 16, "recall": 0.99, "id_recall": 0.99, "qps": 100.0, "nq": 2}]},
  {"lib": "faiss-ivfpq", "threads": 1, "params": "IVF8,PQ2x8", "param_name": "(nprobe, refine k_factor)",
   "build_s": 0.5, "rss_delta_mb": 1.0, "serialized_mb": 0.1,
   "rows": [
    {"rep": 0, "param": [1, 0], "recall": 0.5, "id_recall": 0.5, "qps": 9000.0, "nq": 2},
    {"rep": 0, "param": [1, 10], "recall": 0.95, "id_recall": 0.95, "qps": 2000.0, "nq": 2}]}
 ]
}"#;

    fn peer_file() -> ResultsFile {
        serde_json::from_str(PEER_FILE).unwrap()
    }

    #[test]
    fn reads_run_py_files_and_keeps_unknown_fields() {
        let f = peer_file();
        assert_eq!(f.meta.name, "tiny-euclidean");
        assert_eq!(f.meta.extra["gt_k"], json!(100));
        assert_eq!(f.results[0].extra["build_s_all"], json!([0.001]));
        assert_eq!(f.results[0].rows[0].extra["build_rep"], json!(0));
        let again: Value = serde_json::to_value(&f).unwrap();
        assert_eq!(again, serde_json::from_str::<Value>(PEER_FILE).unwrap());
    }

    #[test]
    fn table_lines_match_run_py() {
        let f = peer_file();
        let md = table(&f.results, &f.meta);
        let lines: Vec<&str> = md.lines().collect();
        assert_eq!(
            lines[0],
            "Dataset `tiny-euclidean`: 1000 x 4, 2 queries, metric l2"
        );
        assert_eq!(
            lines[4],
            "| faiss-flat (batch) | 1 | exact | 0.00 | 0 | 0 | 5000 | 5000 | 5000 | 1.0000 |"
        );
        assert_eq!(
            lines[5],
            "| faiss-flat (single) | 1 | exact | 0.00 | 0 | 0 | 3000 | 3000 | 3000 | 1.0000 |"
        );
        // 0.95 lies halfway between (0.9, 800) and (0.99, 100) in recall... 5/9 of the
        // way: 800 * 8^(-5/9) = 252.
        assert_eq!(
            lines[6],
            "| hnswlib | 1 | M=16 efC=200 | 1.2 | 12 | 11 | 800 (10) | 252 (16) | 100 (16) | 0.9900 |"
        );
        assert_eq!(
            lines[7],
            "| faiss-ivfpq (no refine) | 1 | IVF8,PQ2x8 | 0.5 | 1 | 0 | n/a | n/a | n/a | 0.5000 |"
        );
        assert_eq!(
            lines[8],
            "| faiss-ivfpq + refine | 1 | IVF8,PQ2x8 | 0.5 | 1 | 0 | 2000 (nprobe=1,rf=10) | 2000 (nprobe=1,rf=10) | n/a | 0.9500 |"
        );
        let c = curves(&f.results);
        assert!(c.contains(
            "- hnswlib T=1 (efSearch): 10: 0.900/800 [800..800], 16: 0.990/100 [100..100]"
        ));
        assert!(c.contains("nprobe=1: 0.500/9000"));
    }

    #[test]
    fn combined_table_and_ratios() {
        let peers = peer_file();
        let mut ours = peer_file();
        ours.results = vec![LibResult {
            lib: "quiver-hnsw".into(),
            ..peers.results[1].clone()
        }];
        for r in &mut ours.results[0].rows {
            r.qps *= 2.0;
        }
        let s = combined(&[ours, peers]).unwrap();
        assert!(s.contains("| quiver-hnsw | 1 | M=16 efC=200 |"), "{s}");
        assert!(s.contains("| hnswlib | 1 |"));
        assert!(s.contains("quiver-hnsw / hnswlib QPS@0.95 = 2.00 (504 vs 252 QPS), threads 1"));
        assert_eq!(s.matches("Dataset `tiny-euclidean`").count(), 1);
    }

    #[test]
    fn combined_refuses_disagreeing_datasets() {
        let a = peer_file();
        let mut b = peer_file();
        b.meta.n_base = 7;
        assert!(combined(&[a, b]).is_err());
    }
}
