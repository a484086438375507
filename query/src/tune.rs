//! Learned fusion: the fusion setting (weights on the simplex under a normalization,
//! or RRF's k) that maximises mean NDCG@K over labelled queries, once for all queries
//! or once per label, and the HELD-OUT NDCG of that choice by stratified k-fold
//! cross-validation (each query scored by a setting fitted on the other folds only).
//!
//! It works on each query's candidate union and their exact distances on every column,
//! gathered once by the engine: a fused query's candidates do not depend on its
//! fusion, so a setting costs a re-fusion of those tables, never a search, and the
//! ranking a setting gets here is the one a query with that setting returns (the same
//! [`column_parts`] normalization, the same f32 arithmetic as [`combine`], the same
//! top-k cut and tie order; `quiver-sql`'s tests check it against EVALUATE).
//!
//! The weight search ([`search_weights`]): weights are points of the simplex (a
//! weighted sum's ranking is unchanged by scaling every weight), first on a grid of
//! step 1/20 — every grid point when there are at most [`ENUMERATE_AT_MOST`] of them
//! (up to 3 terms), else coordinate ascent from the centre and every vertex — then
//! refined by coordinate ascent on a grid of step 1/100 around the best point. Ties
//! keep the point found first, so results are deterministic.

mod search;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use crate::eval::Qrels;
use crate::fusion::{ColumnPart, Fusion, Missing, Normalization, column_parts, combine, kept};

pub use search::{ENUMERATE_AT_MOST, search_weights};

/// One labelled query's candidates, normalized under each normalization tried.
#[derive(Clone, Debug)]
pub struct TuneQuery {
    pub qid: String,
    pub label: String,
    /// Answers the fused query returns before the query's own item is left out.
    wanted: usize,
    /// The candidates taking part in the fusion, in union order (the fusion's tie
    /// order), with their ids (the evaluation's tie order) and grades.
    ids: Vec<String>,
    gains: Vec<u32>,
    own: Option<usize>,
    idcg: f64,
    columns: usize,
    /// Per normalization: `[candidate * columns + column]`, NaN where missing.
    normalized: Vec<Vec<f32>>,
    /// `[candidate * columns + column]`: rank by distance (0 = missing), and place in
    /// the column's own list (0 = outside).
    ranks: Vec<u32>,
    list_ranks: Vec<u32>,
    distances: Vec<f32>,
}

/// A query's candidates as the engine gathered them.
#[derive(Clone, Copy, Debug)]
pub struct Gathered<'a> {
    /// The union, in the order the fusion breaks ties by.
    pub ids: &'a [String],
    /// `[candidate][column]` exact distance (`None`: no value).
    pub distances: &'a [Vec<Option<f32>>],
    /// `[candidate][column]` 1-based place in the column's own result list.
    pub list_ranks: &'a [Vec<Option<usize>>],
}

impl TuneQuery {
    /// The query's table, normalized under each of `normalizations`; `None` when
    /// nothing is relevant to it (it has no NDCG). `own` is the query item (left out
    /// of the answer), `k` the cut-off.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        qid: &str,
        label: &str,
        gathered: Gathered<'_>,
        own: Option<&str>,
        qrels: &Qrels,
        k: usize,
        normalizations: &[Normalization],
        missing: Missing,
    ) -> Option<TuneQuery> {
        let mut ideal: Vec<u32> = qrels.values().copied().filter(|&g| g > 0).collect();
        if ideal.is_empty() || k == 0 {
            return None;
        }
        ideal.sort_unstable_by(|a, b| b.cmp(a));
        let idcg = ideal
            .iter()
            .take(k)
            .enumerate()
            .map(|(i, &g)| gain(g, i))
            .sum();
        let columns = gathered.distances.first().map_or(0, Vec::len);
        let keys: Vec<u32> = (0..gathered.ids.len() as u32).collect();
        let distance = |c: usize, key: u32| gathered.distances[key as usize][c];
        let list_rank = |c: usize, key: u32| gathered.list_ranks[key as usize][c];
        let mut tables = normalizations
            .iter()
            .map(|n| column_parts(&keys, columns, &distance, &list_rank, n, false));
        let first = tables.next()?;
        let keep: Vec<usize> = (0..first.len())
            .filter(|&i| kept(&first[i], missing))
            .collect();
        let flat = |rows: &[Vec<Option<ColumnPart>>], f: &dyn Fn(&ColumnPart) -> f32| {
            keep.iter()
                .flat_map(|&i| rows[i].iter().map(|p| p.as_ref().map_or(f32::NAN, f)))
                .collect::<Vec<f32>>()
        };
        let ranks = keep
            .iter()
            .flat_map(|&i| first[i].iter().map(|p| p.map_or(0, |p| p.rank as u32)))
            .collect();
        let list_ranks = keep
            .iter()
            .flat_map(|&i| (0..columns).map(move |c| (i, c)))
            .map(|(i, c)| gathered.list_ranks[i][c].unwrap_or(0) as u32)
            .collect();
        let distances = flat(&first, &|p| p.distance);
        let mut normalized = vec![flat(&first, &|p| p.normalized)];
        normalized.extend(tables.map(|t| flat(&t, &|p| p.normalized)));
        let ids: Vec<String> = keep.iter().map(|&i| gathered.ids[i].clone()).collect();
        Some(TuneQuery {
            qid: qid.to_string(),
            label: label.to_string(),
            wanted: k + usize::from(own.is_some()),
            gains: ids
                .iter()
                .map(|id| qrels.get(id).copied().unwrap_or(0))
                .collect(),
            own: own.and_then(|o| ids.iter().position(|id| id == o)),
            ids,
            idcg,
            columns,
            normalized,
            ranks,
            list_ranks,
            distances,
        })
    }

    /// NDCG@`k` of this query's answer under `setting`.
    pub fn ndcg(&self, setting: &Setting, k: usize, scratch: &mut Vec<(f32, u32)>) -> f64 {
        scratch.clear();
        let cols = self.columns;
        let table = &self.normalized[setting.normalization];
        match &setting.fusion {
            // The arithmetic of `combine` for WEIGHTED, without building parts.
            Fusion::Weighted(w) => {
                for (i, row) in table.chunks_exact(cols).enumerate() {
                    let mut s = 0f32;
                    for (x, w) in row.iter().zip(w) {
                        if !x.is_nan() {
                            s += w * x;
                        }
                    }
                    scratch.push((s, i as u32));
                }
            }
            other => {
                let lists = matches!(other, Fusion::RrfLists { .. });
                let mut row = vec![None; cols];
                for i in 0..self.ids.len() {
                    for (c, part) in row.iter_mut().enumerate() {
                        let at = i * cols + c;
                        *part = (!table[at].is_nan()).then(|| ColumnPart {
                            distance: self.distances[at],
                            normalized: table[at],
                            rank: match lists {
                                true => self.list_ranks[at],
                                false => self.ranks[at],
                            } as usize,
                            contribution: 0.0,
                        });
                    }
                    scratch.push((combine(&mut row, other), i as u32));
                }
            }
        }
        // The fusion's top `wanted` (score, then union order), then the evaluation's
        // order (score, then id), the query's own item left out.
        let by_fusion = |a: &(f32, u32), b: &(f32, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        let wanted = self.wanted.min(scratch.len());
        if wanted == 0 {
            return 0.0;
        }
        if wanted < scratch.len() {
            scratch.select_nth_unstable_by(wanted - 1, by_fusion);
            scratch.truncate(wanted);
        }
        scratch.sort_by(|a, b| {
            b.0.total_cmp(&a.0)
                .then_with(|| self.ids[a.1 as usize].cmp(&self.ids[b.1 as usize]))
        });
        let dcg: f64 = scratch
            .iter()
            .filter(|(_, i)| self.own != Some(*i as usize))
            .take(k)
            .enumerate()
            .map(|(place, &(_, i))| gain(self.gains[i as usize], place))
            .sum();
        dcg / self.idcg
    }

    /// How many columns the query fuses.
    pub fn columns(&self) -> usize {
        self.columns
    }
}

/// The discounted gain of grade `g` at 0-based place `i` (`eval`'s NDCG).
fn gain(g: u32, i: usize) -> f64 {
    f64::from(g) / ((i + 2) as f64).log2()
}

/// A fusion and the normalization it runs under (an index into the normalizations
/// the queries were built with).
#[derive(Clone, Debug, PartialEq)]
pub struct Setting {
    pub fusion: Fusion,
    pub normalization: usize,
}

/// What the tuner may choose among.
#[derive(Clone, Debug, PartialEq)]
pub struct Space {
    /// How many normalizations the queries carry (weights are searched under each).
    pub normalizations: usize,
    /// RRF's k values tried (rank-based, so under no normalization in particular).
    pub rrf_ks: Vec<f32>,
}

/// A tuning run's parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct TuneOptions {
    pub k: usize,
    /// k of k-fold cross-validation (≥ 2).
    pub folds: usize,
    /// One setting per label instead of one for all queries.
    pub per_label: bool,
    pub space: Space,
    /// Seeds the assignment of queries to folds.
    pub seed: u64,
}

/// Queries per parallel task of [`mean_ndcg`], and how many it takes to go parallel.
const CHUNK: usize = 64;
const PARALLEL_FROM: usize = 4 * CHUNK;

/// Mean NDCG of `setting` over `queries[at]`, in parallel over chunks of queries
/// (the sum is taken in query order, so the mean does not depend on the threads).
pub fn mean_ndcg(queries: &[TuneQuery], at: &[usize], setting: &Setting, k: usize) -> f64 {
    use rayon::prelude::*;
    if at.is_empty() {
        return 0.0;
    }
    if at.len() < PARALLEL_FROM {
        let mut scratch = Vec::new();
        let sum: f64 = at
            .iter()
            .map(|&q| queries[q].ndcg(setting, k, &mut scratch))
            .sum();
        return sum / at.len() as f64;
    }
    let per_query: Vec<f64> = at
        .par_chunks(CHUNK)
        .flat_map_iter(|chunk| {
            let mut scratch = Vec::new();
            chunk
                .iter()
                .map(|&q| queries[q].ndcg(setting, k, &mut scratch))
                .collect::<Vec<f64>>()
        })
        .collect();
    per_query.iter().sum::<f64>() / at.len() as f64
}

/// The best setting for `queries[at]` in `space`, and its mean NDCG there.
fn fit(queries: &[TuneQuery], at: &[usize], space: &Space, k: usize) -> (Setting, f64) {
    use rayon::prelude::*;
    let columns = at.first().map_or(1, |&q| queries[q].columns);
    let mut best: Option<(Setting, f64)> = None;
    let mut consider = |setting: Setting, score: f64| {
        if best.as_ref().is_none_or(|(_, b)| score > *b) {
            best = Some((setting, score));
        }
    };
    // Each normalization's weight search on its own thread.
    let searched: Vec<(Vec<f32>, f64)> = (0..space.normalizations)
        .into_par_iter()
        .map(|normalization| {
            search_weights(columns, &mut |w| {
                let setting = Setting {
                    fusion: Fusion::Weighted(w.to_vec()),
                    normalization,
                };
                mean_ndcg(queries, at, &setting, k)
            })
        })
        .collect();
    for (normalization, (weights, score)) in searched.into_iter().enumerate() {
        let setting = Setting {
            fusion: Fusion::Weighted(weights),
            normalization,
        };
        consider(setting, score);
    }
    for &rrf in &space.rrf_ks {
        let setting = Setting {
            fusion: Fusion::Rrf { k: rrf },
            normalization: 0,
        };
        let score = mean_ndcg(queries, at, &setting, k);
        consider(setting, score);
    }
    // `tune` checks that the space holds at least one normalization.
    best.expect("a space holds at least one normalization")
}

/// Each query's fold (0..folds): stratified by label (every label spread over the
/// folds as evenly as its count allows), shuffled by `seed`.
pub fn assign_folds(labels: &[&str], folds: usize, seed: u64) -> Vec<usize> {
    use rand::SeedableRng;
    use rand::seq::SliceRandom;
    let mut by_label: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, l) in labels.iter().enumerate() {
        by_label.entry(l).or_default().push(i);
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut fold_of = vec![0; labels.len()];
    let mut next = 0;
    for members in by_label.values_mut() {
        members.shuffle(&mut rng);
        for &q in members.iter() {
            fold_of[q] = next % folds;
            next += 1;
        }
    }
    fold_of
}

/// Cross-validation: for each fold, `fit` sees only the queries outside it, and each
/// query of the fold is scored by that fit. Returns every query's held-out score.
pub fn cross_validate<S>(
    fold_of: &[usize],
    folds: usize,
    fit: &mut dyn FnMut(&[usize]) -> S,
    score: &dyn Fn(&S, usize) -> f64,
) -> Vec<f64> {
    let mut held_out = vec![0.0; fold_of.len()];
    for f in 0..folds {
        let train: Vec<usize> = (0..fold_of.len()).filter(|&q| fold_of[q] != f).collect();
        let fitted = fit(&train);
        for q in (0..fold_of.len()).filter(|&q| fold_of[q] == f) {
            held_out[q] = score(&fitted, q);
        }
    }
    held_out
}

/// A tuning run's fitted setting for one scope: all queries (`label` None) or one
/// label.
#[derive(Clone, Debug, PartialEq)]
pub struct Tuned {
    pub label: Option<String>,
    pub setting: Setting,
}

/// One line of the report: all queries (`label` "*") or one label.
#[derive(Clone, Debug, PartialEq)]
pub struct TuneLine {
    pub label: String,
    pub queries: usize,
    /// The setting fitted for this scope (per label: the label's; otherwise the one
    /// for all queries). `None` on the "*" line of a per-label run.
    pub setting: Option<Setting>,
    /// Mean NDCG@K of the ranking as the statement wrote it.
    pub as_written: f64,
    /// Of the fitted setting(s) on the queries they were fitted on.
    pub in_sample: f64,
    /// Of settings fitted without each query (cross-validated).
    pub held_out: f64,
}

/// What [`tune`] found.
#[derive(Clone, Debug, PartialEq)]
pub struct TuneReport {
    /// The settings to save: one for all queries, then (per label) one per label.
    pub fitted: Vec<Tuned>,
    /// "*" first, then one line per label.
    pub lines: Vec<TuneLine>,
}

/// Why a tuning run cannot start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TuneError(pub String);

impl std::fmt::Display for TuneError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TuneError {}

/// Fits `options`' setting(s) on all `queries` and cross-validates them; `written` is
/// the statement's own setting (reported beside).
pub fn tune(
    queries: &[TuneQuery],
    written: &Setting,
    options: &TuneOptions,
) -> Result<TuneReport, TuneError> {
    let n = queries.len();
    let k = options.k;
    if options.folds < 2 || options.folds > n {
        return Err(TuneError(format!(
            "FOLDS {} needs 2 ≤ FOLDS ≤ the {n} queries that can be scored",
            options.folds
        )));
    }
    if options.space.normalizations == 0 {
        return Err(TuneError("no normalization to tune under".into()));
    }
    let mut labels: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, q) in queries.iter().enumerate() {
        labels.entry(q.label.as_str()).or_default().push(i);
    }
    if options.per_label {
        if labels.contains_key("") {
            return Err(TuneError(
                "PER LABEL needs every query labelled (\"label\" or \"kind\")".into(),
            ));
        }
        if let Some((label, members)) = labels.iter().find(|(_, m)| m.len() < 2) {
            return Err(TuneError(format!(
                "PER LABEL holds queries out per label: label '{label}' has {} scorable query, it needs 2",
                members.len()
            )));
        }
    }
    let space = &options.space;
    let all: Vec<usize> = (0..n).collect();
    // Each label's members among `train` (per label) or `train` itself.
    let fit_scopes = |train: &[usize]| -> Vec<(Option<&str>, Setting)> {
        match options.per_label {
            false => vec![(None, fit(queries, train, space, k).0)],
            true => labels
                .keys()
                .map(|&l| {
                    let mine: Vec<usize> = train
                        .iter()
                        .copied()
                        .filter(|&q| queries[q].label == l)
                        .collect();
                    (Some(l), fit(queries, &mine, space, k).0)
                })
                .collect(),
        }
    };
    let setting_for = |scopes: &[(Option<&str>, Setting)], q: usize| -> Setting {
        scopes
            .iter()
            .find(|(l, _)| l.is_none_or(|l| l == queries[q].label))
            .map(|(_, s)| s.clone())
            .expect("every label has a fitted setting")
    };
    let one = |setting: &Setting, q: usize| queries[q].ndcg(setting, k, &mut Vec::new());

    let global = fit(queries, &all, space, k).0;
    let mut fitted = vec![Tuned {
        label: None,
        setting: global.clone(),
    }];
    let scopes = match options.per_label {
        false => vec![(None, global.clone())],
        true => fit_scopes(&all),
    };
    if options.per_label {
        fitted.extend(scopes.iter().map(|(l, s)| Tuned {
            label: l.map(str::to_string),
            setting: s.clone(),
        }));
    }
    let in_sample: Vec<f64> = (0..n).map(|q| one(&setting_for(&scopes, q), q)).collect();
    let as_written: Vec<f64> = (0..n).map(|q| one(written, q)).collect();
    let label_refs: Vec<&str> = queries.iter().map(|q| q.label.as_str()).collect();
    let fold_of = assign_folds(&label_refs, options.folds, options.seed);
    let held_out = cross_validate(
        &fold_of,
        options.folds,
        &mut |train| fit_scopes(train),
        &|s, q| one(&setting_for(s, q), q),
    );

    let mean = |v: &[f64], at: &[usize]| at.iter().map(|&q| v[q]).sum::<f64>() / at.len() as f64;
    let mut lines = vec![TuneLine {
        label: "*".into(),
        queries: n,
        setting: (!options.per_label).then(|| global.clone()),
        as_written: mean(&as_written, &all),
        in_sample: mean(&in_sample, &all),
        held_out: mean(&held_out, &all),
    }];
    if labels.len() > 1 || options.per_label {
        for (label, members) in &labels {
            let setting = match options.per_label {
                true => setting_for(&scopes, members[0]),
                false => global.clone(),
            };
            lines.push(TuneLine {
                label: label.to_string(),
                queries: members.len(),
                setting: Some(setting),
                as_written: mean(&as_written, members),
                in_sample: mean(&in_sample, members),
                held_out: mean(&held_out, members),
            });
        }
    }
    Ok(TuneReport { fitted, lines })
}
