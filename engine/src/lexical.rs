//! MATCH: BM25 over a TEXT column with a BM25 index, exact. The statistics are the
//! snapshot's, over every live row (segments and memtable, deleted rows excluded),
//! never one segment's: N = live rows with at least one term, avgdl their mean length,
//! df(t) the live rows holding `t`. Each segment answers from its postings (a segment
//! sealed before the index, or with another analyzer, has its rows cut into terms
//! here, as the memtable's are), every row holding a query term is scored, and the
//! best `k` win, ties by id. A row holding no query term is never returned.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use quiver_index::bm25::storage::Bm25Index;
use quiver_index::bm25::{Stats, idf, length_norm, saturated, term_score, terms};
use quiver_index::{SegmentIndex, Strategy};
use quiver_storage::{Analyzer, Column, Error, IndexSpec, Result, RowId, Value};

use crate::search::{FilterMode, PartStats, SearchHit, SearchStats};
use crate::snapshot::{CollectionSnapshot, ItemRef};
use crate::state::SegmentView;

/// The most terms a MATCH query may have after analysis.
pub const MAX_QUERY_TERMS: usize = 1024;

/// Row lengths (in terms) whose length norm a query tabulates.
const NORM_TABLE: u32 = 2048;

/// A segment's terms for one query: from its index, or cut from its rows here.
enum Source<'s> {
    Indexed(Bm25Index<'s>),
    /// Each row's terms (`None` for deleted rows).
    Cut(Vec<Option<Vec<String>>>),
}

impl CollectionSnapshot {
    /// The `k` items of TEXT column `column` best by BM25 against `text` (its own
    /// index's k1, b and analyzer), among items `filter` accepts; score = BM25,
    /// distance = −score. Errors: no BM25 index on the column, a text without terms,
    /// more than [`MAX_QUERY_TERMS`] terms.
    pub fn search_text<'s>(
        &'s self,
        column: &str,
        text: &str,
        k: usize,
        filter: Option<&dyn Fn(&ItemRef<'_>) -> bool>,
    ) -> Result<(Vec<SearchHit<'s>>, SearchStats)> {
        let (pos, col) = self.schema().column(column)?;
        let Some(IndexSpec::Bm25 { k1, b, analyzer }) = col.index else {
            return Err(Error::InvalidArgument(format!(
                "MATCH needs a BM25 index on {column} (CREATE INDEX ON {} ({column}) USING BM25)",
                self.name()
            )));
        };
        let query = terms(analyzer, text);
        if query.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "MATCH({column}, ...): {text:?} has no terms"
            )));
        }
        if query.len() > MAX_QUERY_TERMS {
            return Err(Error::InvalidArgument(format!(
                "MATCH({column}, ...): {} terms, at most {MAX_QUERY_TERMS}",
                query.len()
            )));
        }
        // Distinct terms with their multiplicity, in order of first occurrence.
        let mut distinct: Vec<(&str, u32)> = Vec::new();
        for t in &query {
            match distinct.iter_mut().find(|(d, _)| *d == t.as_str()) {
                Some((_, n)) => *n += 1,
                None => distinct.push((t.as_str(), 1)),
            }
        }

        let sources = self
            .segments()
            .iter()
            .map(|view| source(view, col, analyzer))
            .collect::<Result<Vec<_>>>()?;
        let fresh: Vec<(&quiver_storage::Row, Vec<String>)> = self
            .memtable_rows()
            .map(|row| {
                let found = match &row.cells[pos] {
                    Value::Text(t) => terms(analyzer, t),
                    _ => Vec::new(),
                };
                (row, found)
            })
            .collect();

        // Collection-wide statistics over live rows.
        let mut stats = Stats::default();
        let mut df = vec![0u64; distinct.len()];
        for (view, src) in self.segments().iter().zip(&sources) {
            let live = |r: u32| !view.tombstones.is_deleted(RowId(r));
            match src {
                Source::Indexed(index) => {
                    for (r, &len) in index.view.lengths().iter().enumerate() {
                        if len > 0 && live(r as u32) {
                            stats.docs += 1;
                            stats.terms += u64::from(len);
                        }
                    }
                    for (d, (t, _)) in df.iter_mut().zip(&distinct) {
                        *d += index
                            .view
                            .postings(t)
                            .0
                            .iter()
                            .filter(|&&r| live(r))
                            .count() as u64;
                    }
                }
                Source::Cut(rows) => {
                    for found in rows.iter().flatten().filter(|f| !f.is_empty()) {
                        stats.docs += 1;
                        stats.terms += found.len() as u64;
                        for (d, (t, _)) in df.iter_mut().zip(&distinct) {
                            *d += u64::from(found.iter().any(|f| f == t));
                        }
                    }
                }
            }
        }
        for (_, found) in fresh.iter().filter(|(_, f)| !f.is_empty()) {
            stats.docs += 1;
            stats.terms += found.len() as u64;
            for (d, (t, _)) in df.iter_mut().zip(&distinct) {
                *d += u64::from(found.iter().any(|f| f == t));
            }
        }
        let avgdl = stats.avgdl();
        let idfs: Vec<f64> = df.iter().map(|&d| idf(stats.docs, d)).collect();
        // Each row's length norm, looked up for the common lengths (computed once per
        // query, not once per posting).
        let norms: Vec<f64> = (0..NORM_TABLE)
            .map(|len| length_norm(len, avgdl, k1, b))
            .collect();
        let norm = |len: u32| match norms.get(len as usize) {
            Some(&n) => n,
            None => length_norm(len, avgdl, k1, b),
        };
        // One row's score from its term frequencies (in `distinct`'s order) and length.
        let score = |tfs: &[u32], len: u32| -> f64 {
            let mut total = 0.0;
            for ((&tf, &(_, times)), &idf) in tfs.iter().zip(&distinct).zip(&idfs) {
                if tf > 0 {
                    total += f64::from(times) * term_score(idf, tf, len, avgdl, k1, b);
                }
            }
            total
        };

        let mut found: Vec<(f64, ItemRef<'s>)> = Vec::new();
        let mut parts = Vec::new();
        for (i, (view, src)) in self.segments().iter().zip(&sources).enumerate() {
            let part_started = Instant::now();
            let keep = |r: u32| {
                !view.tombstones.is_deleted(RowId(r))
                    && filter.is_none_or(|f| f(&self.item_at(view, RowId(r))))
            };
            let before = found.len();
            let strategy = match src {
                Source::Indexed(index) => {
                    // Term at a time into one accumulator per row, in `distinct`'s
                    // order, so each row's sum is the one `score` computes. Every
                    // contribution is positive (idf > 0, tf ≥ 1): a row holds a query
                    // term exactly when its sum is above 0.
                    let lengths = index.view.lengths();
                    let mut sums = vec![0f64; lengths.len()];
                    for ((t, times), &idf) in distinct.iter().zip(&idfs) {
                        let (rows, counts) = index.view.postings(t);
                        for (&r, &tf) in rows.iter().zip(counts) {
                            if let (Some(sum), Some(&len)) =
                                (sums.get_mut(r as usize), lengths.get(r as usize))
                            {
                                *sum += f64::from(*times) * saturated(idf, tf, norm(len), k1);
                            }
                        }
                    }
                    // The k-th best score kept, then every row at or above it.
                    let kth = kth_best(
                        sums.iter()
                            .enumerate()
                            .filter(|&(r, &s)| s > 0.0 && keep(r as u32))
                            .map(|(_, &s)| s),
                        k,
                    );
                    for (r, &s) in sums.iter().enumerate() {
                        if s > 0.0 && s >= kth && keep(r as u32) {
                            found.push((s, self.item_at(view, RowId(r as u32))));
                        }
                    }
                    Strategy::Bm25
                }
                Source::Cut(rows) => {
                    for (r, row) in rows.iter().enumerate() {
                        let Some(row_terms) = row else { continue };
                        let tfs = frequencies(row_terms, &distinct);
                        if tfs.iter().any(|&tf| tf > 0) && keep(r as u32) {
                            let s = score(&tfs, row_terms.len() as u32);
                            found.push((s, self.item_at(view, RowId(r as u32))));
                        }
                    }
                    Strategy::Exact
                }
            };
            parts.push(PartStats {
                segment: Some(i),
                strategy,
                filter: filter_mode(filter.is_some()),
                rows: view.live_rows() as usize,
                visited: found.len() - before,
                micros: part_started.elapsed().as_micros(),
            });
        }
        let (before, fresh_started) = (found.len(), Instant::now());
        for (row, row_terms) in &fresh {
            let tfs = frequencies(row_terms, &distinct);
            let item = self.item_of_row(row);
            if tfs.iter().any(|&tf| tf > 0) && filter.is_none_or(|f| f(&item)) {
                found.push((score(&tfs, row_terms.len() as u32), item));
            }
        }
        parts.push(PartStats {
            segment: None,
            strategy: Strategy::Exact,
            filter: filter_mode(filter.is_some()),
            rows: fresh.len(),
            visited: found.len() - before,
            micros: fresh_started.elapsed().as_micros(),
        });

        // Best first, ties by id: the k best scores (and any row tied with the k-th)
        // are the only ones whose ids are read.
        keep_best(&mut found, k, |x| x.0);
        let mut keyed = found
            .into_iter()
            .map(|(s, item)| Ok((s, item.id()?, item)))
            .collect::<Result<Vec<_>>>()?;
        keyed.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        keyed.truncate(k);
        let hits = keyed
            .into_iter()
            .map(|(s, _, item)| SearchHit {
                item,
                distance: -(s as f32),
                score: s as f32,
            })
            .collect();
        Ok((hits, SearchStats { parts }))
    }
}

/// A segment's source of terms for `column`: its BM25 index when it has one cut with
/// `analyzer`, else its live rows cut here.
fn source<'s>(view: &'s SegmentView, column: &Column, analyzer: Analyzer) -> Result<Source<'s>> {
    if let Some(SegmentIndex::Bm25(index)) = SegmentIndex::load(&view.segment, column)?
        && index.analyzer == analyzer
    {
        return Ok(Source::Indexed(index));
    }
    if !view.segment.has_column(column) {
        return Ok(Source::Cut(Vec::new()));
    }
    let rows = (0..view.segment.rows())
        .map(|r| {
            if view.tombstones.is_deleted(RowId(r)) {
                return Ok(None);
            }
            Ok(Some(match view.segment.attr(column, RowId(r))? {
                Value::Text(t) => terms(analyzer, &t),
                _ => Vec::new(),
            }))
        })
        .collect::<Result<_>>()?;
    Ok(Source::Cut(rows))
}

/// The `k`-th highest of `scores` (all positive), or 0 when there are fewer than `k`.
fn kth_best(scores: impl Iterator<Item = f64>, k: usize) -> f64 {
    let mut best: BinaryHeap<Reverse<Score>> = BinaryHeap::with_capacity(k + 1);
    for s in scores {
        if best.len() < k {
            best.push(Reverse(Score(s)));
        } else if best.peek().is_some_and(|Reverse(low)| s > low.0) {
            best.pop();
            best.push(Reverse(Score(s)));
        }
    }
    match best.len() == k {
        true => best.peek().map_or(0.0, |Reverse(low)| low.0),
        false => 0.0,
    }
}

/// A score ordered by `f64::total_cmp`.
#[derive(Clone, Copy, PartialEq)]
struct Score(f64);

impl Eq for Score {}

impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Score {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Keeps the `k` highest scores of `all` and every entry tied with the k-th (in no
/// order): the candidates whose ids decide the ties.
fn keep_best<T>(all: &mut Vec<T>, k: usize, score: impl Fn(&T) -> f64) {
    if all.len() > k && k > 0 {
        all.select_nth_unstable_by(k - 1, |a, b| score(b).total_cmp(&score(a)));
        let kth = score(&all[k - 1]);
        all.retain(|x| score(x) >= kth);
    }
}

/// How often each of `distinct`'s terms occurs in `row`.
fn frequencies(row: &[String], distinct: &[(&str, u32)]) -> Vec<u32> {
    distinct
        .iter()
        .map(|(t, _)| row.iter().filter(|r| r == t).count() as u32)
        .collect()
}

fn filter_mode(filtered: bool) -> FilterMode {
    match filtered {
        true => FilterMode::ExactOverPassing,
        false => FilterMode::None,
    }
}
