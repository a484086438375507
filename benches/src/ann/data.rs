//! The prepared ANN datasets: `base.fvecs`, `query.fvecs`, `gt.ivecs`, `gt_dist.fvecs`
//! and `meta.json` in one folder (written by `shared/bench/data/prepare.py`).
//!
//! `.fvecs` / `.ivecs` files are rows of one little-endian `i32` dimension followed by
//! that many `f32` / `i32` values. Every row must repeat the same dimension.

use std::path::Path;

use anyhow::{Context, Result, bail, ensure};
use quiver::Metric;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Rows of one dimension, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Vecs<T> {
    pub rows: usize,
    pub dim: usize,
    pub data: Vec<T>,
}

impl<T> Vecs<T> {
    pub fn row(&self, i: usize) -> &[T] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// Keeps the first `rows` rows (no-op when there are fewer).
    pub fn truncate(&mut self, rows: usize) {
        self.rows = self.rows.min(rows);
        self.data.truncate(self.rows * self.dim);
    }
}

/// Parses `.fvecs` / `.ivecs` bytes; `what` names the source in errors.
fn parse_vecs<T>(bytes: &[u8], what: &str, value: impl Fn([u8; 4]) -> T) -> Result<Vecs<T>> {
    ensure!(!bytes.is_empty(), "{what}: the file is empty");
    ensure!(
        bytes.len().is_multiple_of(4),
        "{what}: {} bytes is not a whole number of 4-byte values",
        bytes.len()
    );
    let word = |i: usize| -> [u8; 4] { bytes[4 * i..4 * i + 4].try_into().expect("4 bytes") };
    let dim = i32::from_le_bytes(word(0));
    ensure!(
        dim > 0 && dim <= 1 << 20,
        "{what}: dimension {dim} in the first row is not plausible (is this an fvecs/ivecs file?)"
    );
    let dim = dim as usize;
    let words = bytes.len() / 4;
    ensure!(
        words.is_multiple_of(dim + 1),
        "{what}: {} bytes is not a whole number of rows of dimension {dim} ({} bytes each)",
        bytes.len(),
        4 * (dim + 1)
    );
    let rows = words / (dim + 1);
    let mut data = Vec::with_capacity(rows * dim);
    for r in 0..rows {
        let head = i32::from_le_bytes(word(r * (dim + 1)));
        if head as i64 != dim as i64 {
            bail!("{what}: row {r} has dimension {head}, the first row has {dim}");
        }
        data.extend((1..=dim).map(|j| value(word(r * (dim + 1) + j))));
    }
    Ok(Vecs { rows, dim, data })
}

/// Parses `.fvecs` bytes; every value must be finite.
pub fn parse_fvecs(bytes: &[u8], what: &str) -> Result<Vecs<f32>> {
    let v = parse_vecs(bytes, what, f32::from_le_bytes)?;
    if let Some(i) = v.data.iter().position(|x| !x.is_finite()) {
        bail!(
            "{what}: row {} holds a non-finite value ({})",
            i / v.dim,
            v.data[i]
        );
    }
    Ok(v)
}

/// Parses `.ivecs` bytes.
pub fn parse_ivecs(bytes: &[u8], what: &str) -> Result<Vecs<i32>> {
    parse_vecs(bytes, what, i32::from_le_bytes)
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

pub fn read_fvecs(path: &Path) -> Result<Vecs<f32>> {
    parse_fvecs(&read(path)?, &path.display().to_string())
}

pub fn read_ivecs(path: &Path) -> Result<Vecs<i32>> {
    parse_ivecs(&read(path)?, &path.display().to_string())
}

/// `meta.json`: the fields the reports read, and everything else kept as it was.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub name: String,
    pub n_base: usize,
    pub dim: usize,
    pub n_query: usize,
    /// `"l2"` (squared Euclidean) or `"ip"` (inner product).
    pub metric: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Meta {
    pub fn metric(&self) -> Result<Metric> {
        match self.metric.as_str() {
            "l2" => Ok(Metric::L2),
            "ip" => Ok(Metric::Dot),
            other => bail!("meta.json: unknown metric {other:?} (expected \"l2\" or \"ip\")"),
        }
    }
}

/// A loaded, checked dataset.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub meta: Meta,
    pub metric: Metric,
    pub base: Vecs<f32>,
    pub query: Vecs<f32>,
    /// Exact neighbour ids per query, closest first.
    pub gt: Vecs<i32>,
    /// Their distances: squared L2, or minus the inner product.
    pub gt_dist: Vecs<f32>,
}

impl Dataset {
    /// Reads and checks the five files of `dir`.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let meta_path = dir.join("meta.json");
        let meta: Meta = serde_json::from_slice(&read(&meta_path)?)
            .with_context(|| format!("parsing {}", meta_path.display()))?;
        let load = || -> Result<Dataset> {
            Dataset::from_parts(
                meta.clone(),
                read_fvecs(&dir.join("base.fvecs"))?,
                read_fvecs(&dir.join("query.fvecs"))?,
                read_ivecs(&dir.join("gt.ivecs"))?,
                read_fvecs(&dir.join("gt_dist.fvecs"))?,
            )
        };
        load().with_context(|| format!("loading dataset {}", dir.display()))
    }

    /// Checks that the parts agree with each other and with `meta`.
    pub fn from_parts(
        meta: Meta,
        base: Vecs<f32>,
        query: Vecs<f32>,
        gt: Vecs<i32>,
        gt_dist: Vecs<f32>,
    ) -> Result<Self> {
        let metric = meta.metric()?;
        ensure!(
            (base.rows, base.dim) == (meta.n_base, meta.dim),
            "base.fvecs is {} x {}, meta.json says {} x {}",
            base.rows,
            base.dim,
            meta.n_base,
            meta.dim
        );
        ensure!(
            query.dim == base.dim,
            "query.fvecs has dimension {}, base.fvecs {}",
            query.dim,
            base.dim
        );
        ensure!(
            query.rows == meta.n_query,
            "query.fvecs has {} rows, meta.json says n_query = {}",
            query.rows,
            meta.n_query
        );
        ensure!(
            gt.rows == query.rows && gt_dist.rows == query.rows,
            "gt.ivecs has {} rows and gt_dist.fvecs {}, but there are {} queries",
            gt.rows,
            gt_dist.rows,
            query.rows
        );
        ensure!(
            gt.dim == gt_dist.dim,
            "gt.ivecs keeps {} neighbours per query, gt_dist.fvecs {}",
            gt.dim,
            gt_dist.dim
        );
        if let Some(bad) = gt.data.iter().find(|&&i| i < 0 || i as usize >= base.rows) {
            bail!(
                "gt.ivecs holds id {bad}, outside the {} base rows",
                base.rows
            );
        }
        Ok(Dataset {
            meta,
            metric,
            base,
            query,
            gt,
            gt_dist,
        })
    }

    /// Keeps only the first `nq` queries and their ground truth (0 keeps all).
    pub fn truncate_queries(&mut self, nq: usize) {
        if nq > 0 {
            self.query.truncate(nq);
            self.gt.truncate(nq);
            self.gt_dist.truncate(nq);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn vecs_bytes<T: Copy>(rows: &[&[T]], le: impl Fn(T) -> [u8; 4]) -> Vec<u8> {
        let mut out = Vec::new();
        for r in rows {
            out.extend((r.len() as i32).to_le_bytes());
            for &x in r.iter() {
                out.extend(le(x));
            }
        }
        out
    }

    pub(crate) fn meta(n_base: usize, dim: usize, n_query: usize, metric: &str) -> Meta {
        Meta {
            name: "tiny".into(),
            n_base,
            dim,
            n_query,
            metric: metric.into(),
            extra: Map::new(),
        }
    }

    #[test]
    fn parses_fvecs_and_ivecs() {
        let bytes = vecs_bytes(&[&[1.0f32, 2.5, -3.0], &[0.0, 0.5, 7.0]], f32::to_le_bytes);
        let v = parse_fvecs(&bytes, "t").unwrap();
        assert_eq!((v.rows, v.dim), (2, 3));
        assert_eq!(v.row(1), &[0.0, 0.5, 7.0]);
        let bytes = vecs_bytes(&[&[4i32, 5], &[6, 7]], i32::to_le_bytes);
        let v = parse_ivecs(&bytes, "t").unwrap();
        assert_eq!(v.data, vec![4, 5, 6, 7]);
    }

    #[test]
    fn rejects_malformed_files() {
        let err = |b: &[u8]| parse_fvecs(b, "x.fvecs").unwrap_err().to_string();
        assert!(err(&[]).contains("empty"));
        let good = vecs_bytes(&[&[1.0f32, 2.0], &[3.0, 4.0]], f32::to_le_bytes);
        assert!(err(&good[..good.len() - 2]).contains("4-byte"));
        assert!(err(&good[..good.len() - 4]).contains("whole number of rows"));
        let mut bad_head = good.clone();
        bad_head[12..16].copy_from_slice(&3i32.to_le_bytes());
        assert!(err(&bad_head).contains("row 1 has dimension 3"));
        assert!(err(&(-1i32).to_le_bytes()).contains("not plausible"));
        let nan = vecs_bytes(&[&[1.0f32, f32::NAN]], f32::to_le_bytes);
        assert!(err(&nan).contains("non-finite"));
    }

    #[test]
    fn dataset_parts_must_agree() {
        let base = Vecs {
            rows: 2,
            dim: 2,
            data: vec![0.0, 0.0, 1.0, 1.0],
        };
        let query = Vecs {
            rows: 1,
            dim: 2,
            data: vec![0.0, 0.0],
        };
        let gt = Vecs {
            rows: 1,
            dim: 2,
            data: vec![0, 1],
        };
        let gt_dist = Vecs {
            rows: 1,
            dim: 2,
            data: vec![0.0, 2.0],
        };
        let parts = |m: Meta, gt: Vecs<i32>| {
            Dataset::from_parts(m, base.clone(), query.clone(), gt, gt_dist.clone())
        };
        let ds = parts(meta(2, 2, 1, "ip"), gt.clone()).unwrap();
        assert_eq!(ds.metric, Metric::Dot);
        assert!(parts(meta(3, 2, 1, "l2"), gt.clone()).is_err());
        assert!(parts(meta(2, 2, 1, "cosine"), gt.clone()).is_err());
        let out_of_range = Vecs {
            data: vec![0, 2],
            ..gt
        };
        let e = parts(meta(2, 2, 1, "l2"), out_of_range).unwrap_err();
        assert!(e.to_string().contains("id 2"), "{e}");
    }
}
