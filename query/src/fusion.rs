//! Fusion of several vector columns into one ranking, after the plan's first two
//! steps (per-column ANN candidates, then their union): every candidate gets an EXACT
//! distance on every queried column, each column's distances become normalized scores,
//! and a fusion rule combines them. Everything each result is made of (raw distance,
//! normalized score, rank, contribution per column) is kept for EXPLAIN.
//!
//! Normalizations that fix a distance's score in advance ([`Normalization::Calibrated`]
//! from each column's measured typical distances, [`Normalization::Fixed`] from a
//! metric's span, e.g. cosine's [0, 2]) map a given distance to the same score on every
//! query, so a weight means the same thing on every query; min-max and z-score
//! re-scale per query (the best candidate is always 1), which makes
//! `WEIGHTED(0.7, 0.3)` trade different amounts of distance from query to query. The
//! engine picks the default (`quiver::default_normalization`).

use std::collections::HashMap;

pub use quiver_index::calibration::DistanceSpan;
use std::hash::Hash;

/// How per-column scores combine.
#[derive(Clone, Debug, PartialEq)]
pub enum Fusion {
    /// `Σ w_c · score_c` over normalized scores (weights as given, not re-normalized).
    Weighted(Vec<f32>),
    /// Reciprocal rank fusion over the union: `Σ 1 / (k + rank_c)`, each column's rank
    /// counted from 1 among all the candidates, by their exact distances.
    Rrf { k: f32 },
    /// Reciprocal rank fusion over the lists, the common definition (Elasticsearch,
    /// Qdrant, Milvus): `Σ 1 / (k + rank_c)` over the columns whose own result list
    /// holds the item, `rank_c` its place in that list; nothing from a column whose list
    /// does not.
    RrfLists { k: f32 },
    /// The lowest normalized score (an item must be good on every column).
    Min,
    /// The highest normalized score (good on any column is enough).
    Max,
    /// The mean normalized score.
    Avg,
}

/// As the language writes it (`WEIGHTED(0.7, 0.3)`, `RRF(k = 60.0)`, `MIN`).
impl std::fmt::Display for Fusion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fusion::Weighted(w) => {
                let w: Vec<String> = w.iter().map(|x| format!("{x:?}")).collect();
                write!(f, "WEIGHTED({})", w.join(", "))
            }
            Fusion::Rrf { k } => write!(f, "RRF(k = {k:?})"),
            Fusion::RrfLists { k } => write!(f, "RRF(k = {k:?}, LISTS)"),
            Fusion::Min => f.write_str("MIN"),
            Fusion::Max => f.write_str("MAX"),
            Fusion::Avg => f.write_str("AVG"),
        }
    }
}

/// How a column's distances become scores (higher is better).
#[derive(Clone, Debug, PartialEq)]
pub enum Normalization {
    /// `-distance`.
    None,
    /// `(s - min) / (max - min)` over this query's candidates (1 when all are equal).
    MinMax,
    /// `(s - mean) / stddev` over this query's candidates (0 when all are equal).
    ZScore,
    /// `1 - distance / scale` with a per-column scale fixed in advance (2 for cosine).
    Fixed(Vec<f32>),
    /// `(far - distance) / (far - near)` with each column's typical distances measured
    /// when its index was built ([`DistanceSpan`]).
    Calibrated(Vec<DistanceSpan>),
}

/// How a normalization reads in a plan (EXPLAIN).
impl std::fmt::Display for Normalization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Normalization::None => f.write_str("none (score = -distance)"),
            Normalization::MinMax => f.write_str("min-max over the candidates"),
            Normalization::ZScore => f.write_str("z-score over the candidates"),
            Normalization::Fixed(scales) => write!(f, "fixed: 1 - distance / {scales:?}"),
            Normalization::Calibrated(spans) => {
                f.write_str("calibrated (far - distance) / (far - near), [")?;
                for (i, s) in spans.iter().enumerate() {
                    let sep = if i == 0 { "" } else { "; " };
                    write!(f, "{sep}near {:.4} far {:.4}", s.near, s.far)?;
                }
                f.write_str("]")
            }
        }
    }
}

/// What happens to an item that has no value on a queried column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    /// Leave the item out.
    Skip,
    /// Fuse the columns it has (RRF and weighted: the missing column adds nothing;
    /// min/max/avg: over the present columns).
    ScorePresent,
}

/// One column's part in one result.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ColumnPart {
    pub distance: f32,
    pub normalized: f32,
    /// 1-based rank by distance among the candidates that have the column; under
    /// [`Fusion::RrfLists`] the place in the column's own result list, 0 outside it.
    pub rank: usize,
    pub contribution: f32,
}

/// One fused result.
#[derive(Clone, Debug, PartialEq)]
pub struct Fused<K> {
    pub key: K,
    pub score: f32,
    /// Per queried column, in order; `None` where the item has no value.
    pub parts: Vec<Option<ColumnPart>>,
}

/// Wrong fusion parameters for the number of columns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FusionError(pub String);

impl std::fmt::Display for FusionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FusionError {}

/// Fuses `columns` queried columns over the candidates `union` (each key once), with
/// `distance(column, key)` the exact distance (`None`: the item lacks the column).
/// Returns the best `k`, highest fused score first (ties by key).
pub fn fuse<K: Copy + Eq + Hash + Ord>(
    union: &[K],
    columns: usize,
    distance: &dyn Fn(usize, K) -> Option<f32>,
    fusion: &Fusion,
    normalization: &Normalization,
    missing: Missing,
    k: usize,
) -> Result<Vec<Fused<K>>, FusionError> {
    fuse_lists(
        union,
        columns,
        distance,
        &|_, _| None,
        fusion,
        normalization,
        missing,
        k,
    )
}

/// [`fuse`], with `list_rank(c, key)` the 1-based place of `key` in column `c`'s own
/// result list (`None`: not in it), which [`Fusion::RrfLists`] ranks by: each part's
/// `rank` is then that place, 0 for an item outside the list (no contribution).
#[allow(clippy::too_many_arguments)]
pub fn fuse_lists<K: Copy + Eq + Hash + Ord>(
    union: &[K],
    columns: usize,
    distance: &dyn Fn(usize, K) -> Option<f32>,
    list_rank: &dyn Fn(usize, K) -> Option<usize>,
    fusion: &Fusion,
    normalization: &Normalization,
    missing: Missing,
    k: usize,
) -> Result<Vec<Fused<K>>, FusionError> {
    check(columns, fusion, normalization)?;
    let lists = matches!(fusion, Fusion::RrfLists { .. });
    let parts = column_parts(union, columns, distance, list_rank, normalization, lists);
    let mut out: Vec<Fused<K>> = Vec::new();
    for (i, mut row) in parts.into_iter().enumerate() {
        if !kept(&row, missing) {
            continue;
        }
        let score = combine(&mut row, fusion);
        out.push(Fused {
            key: union[i],
            score,
            parts: row,
        });
    }
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.key.cmp(&b.key)));
    out.truncate(k);
    Ok(out)
}

/// Every candidate's part on every column, its contribution still 0: the exact
/// distance, its normalized score, and its rank (by distance among the candidates
/// that have the column, ties by key; with `lists`, the place in the column's own
/// result list from `list_rank`, 0 outside it). Scores under any fusion follow from
/// these by [`combine`].
pub fn column_parts<K: Copy + Eq + Hash + Ord>(
    union: &[K],
    columns: usize,
    distance: &dyn Fn(usize, K) -> Option<f32>,
    list_rank: &dyn Fn(usize, K) -> Option<usize>,
    normalization: &Normalization,
    lists: bool,
) -> Vec<Vec<Option<ColumnPart>>> {
    // Exact distances, per candidate and column.
    let table: Vec<Vec<Option<f32>>> = union
        .iter()
        .map(|&key| (0..columns).map(|c| distance(c, key)).collect())
        .collect();
    let mut parts: Vec<Vec<Option<ColumnPart>>> = vec![vec![None; columns]; union.len()];
    for c in 0..columns {
        let present: Vec<(usize, f32)> = table
            .iter()
            .enumerate()
            .filter_map(|(i, row)| row[c].map(|d| (i, d)))
            .collect();
        let normalize = normalizer(c, &present, normalization);
        let mut order: Vec<(usize, f32)> = present.clone();
        order.sort_by(|a, b| a.1.total_cmp(&b.1).then(union[a.0].cmp(&union[b.0])));
        let ranks: HashMap<usize, usize> = order
            .iter()
            .enumerate()
            .map(|(r, &(i, _))| (i, r + 1))
            .collect();
        for &(i, d) in &present {
            let rank = match lists {
                true => list_rank(c, union[i]).unwrap_or(0),
                false => ranks[&i],
            };
            parts[i][c] = Some(ColumnPart {
                distance: d,
                normalized: normalize(d),
                rank,
                contribution: 0.0,
            });
        }
    }
    parts
}

/// Whether a candidate with parts `row` takes part in the fusion: it has some column,
/// and every column under [`Missing::Skip`].
pub fn kept(row: &[Option<ColumnPart>], missing: Missing) -> bool {
    let have = row.iter().filter(|p| p.is_some()).count();
    have > 0 && (missing == Missing::ScorePresent || have == row.len())
}

pub fn check(
    columns: usize,
    fusion: &Fusion,
    normalization: &Normalization,
) -> Result<(), FusionError> {
    if columns == 0 {
        return Err(FusionError(
            "a fused query needs at least one column".into(),
        ));
    }
    if let Fusion::Weighted(w) = fusion
        && (w.len() != columns
            || w.iter().any(|x| !x.is_finite() || *x < 0.0)
            || w.iter().all(|&x| x == 0.0))
    {
        return Err(FusionError(format!(
            "WEIGHTED needs {columns} finite non-negative weights, not all 0, got {w:?}"
        )));
    }
    if let Fusion::Rrf { k } | Fusion::RrfLists { k } = fusion
        && !(k.is_finite() && *k >= 0.0)
    {
        return Err(FusionError(format!("RRF needs k >= 0, got {k}")));
    }
    if let Normalization::Fixed(scales) = normalization
        && (scales.len() != columns || scales.iter().any(|s| !s.is_finite() || *s <= 0.0))
    {
        return Err(FusionError(format!(
            "fixed normalization needs {columns} positive scales, got {scales:?}"
        )));
    }
    if let Normalization::Calibrated(spans) = normalization
        && (spans.len() != columns || spans.iter().any(|s| !s.is_valid()))
    {
        return Err(FusionError(format!(
            "calibrated normalization needs {columns} spans with far > near, got {spans:?}"
        )));
    }
    Ok(())
}

/// The distance → normalized score map of column `c` over its present candidates.
fn normalizer(c: usize, present: &[(usize, f32)], how: &Normalization) -> Box<dyn Fn(f32) -> f32> {
    let scores: Vec<f32> = present.iter().map(|&(_, d)| -d).collect();
    match how {
        Normalization::None => Box::new(|d| -d),
        Normalization::Fixed(scales) => {
            let scale = scales[c];
            Box::new(move |d| 1.0 - d / scale)
        }
        Normalization::Calibrated(spans) => {
            let DistanceSpan { near, far } = spans[c];
            Box::new(move |d| (far - d) / (far - near))
        }
        Normalization::MinMax => {
            let lo = scores.iter().copied().fold(f32::INFINITY, f32::min);
            let hi = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            Box::new(move |d| if hi > lo { (-d - lo) / (hi - lo) } else { 1.0 })
        }
        Normalization::ZScore => {
            let n = scores.len().max(1) as f64;
            let mean = scores.iter().map(|&s| s as f64).sum::<f64>() / n;
            let var = scores
                .iter()
                .map(|&s| (s as f64 - mean).powi(2))
                .sum::<f64>()
                / n;
            let sd = var.sqrt();
            Box::new(move |d| {
                if sd > 0.0 {
                    ((-d as f64 - mean) / sd) as f32
                } else {
                    0.0
                }
            })
        }
    }
}

/// Fagin's threshold: the highest fused score an item outside the candidate union can
/// reach, when every column's search was exact over its candidates and `edge[c]` is
/// the largest candidate distance on column `c` (`f32::INFINITY` when the column
/// returned fewer candidates than asked, i.e. every item was seen). An outside item is
/// at least `edge[c]` away on every column, and the fusion is monotone, so it scores
/// at most the fusion of the edges. `None` where no such bound holds: per-query
/// normalizations (min-max, z-score move with the candidate set), RRF (ranks are
/// counted within the union), and `Missing::ScorePresent` (a partial item is fused over
/// fewer columns).
pub fn threshold(
    edge: &[f32],
    fusion: &Fusion,
    normalization: &Normalization,
    missing: Missing,
) -> Option<f32> {
    let fixed = matches!(
        normalization,
        Normalization::None | Normalization::Fixed(_) | Normalization::Calibrated(_)
    );
    if !fixed
        || matches!(fusion, Fusion::Rrf { .. } | Fusion::RrfLists { .. })
        || missing != Missing::Skip
    {
        return None;
    }
    check(edge.len(), fusion, normalization).ok()?;
    let mut row: Vec<Option<ColumnPart>> = edge
        .iter()
        .enumerate()
        .map(|(c, &d)| {
            Some(ColumnPart {
                distance: d,
                // Finite even for an infinite edge, so a zero weight gives 0, not NaN.
                normalized: normalizer(c, &[], normalization)(d).max(-1e30),
                rank: 1,
                contribution: 0.0,
            })
        })
        .collect();
    Some(combine(&mut row, fusion))
}

/// Fills each present part's contribution and returns the fused score.
pub fn combine(row: &mut [Option<ColumnPart>], fusion: &Fusion) -> f32 {
    let present = row.iter().flatten().count() as f32;
    let mut score = match fusion {
        Fusion::Min => f32::INFINITY,
        Fusion::Max => f32::NEG_INFINITY,
        _ => 0.0,
    };
    for (c, part) in row.iter_mut().enumerate() {
        let Some(p) = part else { continue };
        p.contribution = match fusion {
            Fusion::Weighted(w) => w[c] * p.normalized,
            Fusion::Rrf { k } => 1.0 / (k + p.rank as f32),
            Fusion::RrfLists { k } if p.rank > 0 => 1.0 / (k + p.rank as f32),
            Fusion::RrfLists { .. } => 0.0,
            Fusion::Avg => p.normalized / present,
            Fusion::Min | Fusion::Max => p.normalized,
        };
        score = match fusion {
            Fusion::Min => score.min(p.contribution),
            Fusion::Max => score.max(p.contribution),
            _ => score + p.contribution,
        };
    }
    score
}

#[cfg(test)]
mod tests;
