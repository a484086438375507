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
use quiver_index::bm25::{Stats, idf, length_norm, saturated, terms};
use quiver_index::{SegmentIndex, Strategy};
use quiver_storage::{Analyzer, Column, Error, IndexSpec, Result, Row, RowId, Value};

use crate::search::{PartStats, SearchHit, SearchStats, best_scored, filter_mode};
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
        TextQuery::new(self, column, text)?.top(k, filter)
    }
}

/// A MATCH query prepared on a snapshot: its terms and the collection-wide
/// statistics, ready to rank the column ([`TextQuery::top`]) or score any one item
/// ([`TextQuery::score_of`], a fused query's exact re-scoring).
pub(crate) struct TextQuery<'s> {
    snap: &'s CollectionSnapshot,
    column: &'s Column,
    k1: f32,
    b: f32,
    analyzer: Analyzer,
    /// Distinct terms with their multiplicity, in summing order (see `new`).
    distinct: Vec<(String, u32)>,
    sources: Vec<Source<'s>>,
    /// Memtable rows and their terms.
    fresh: Vec<(&'s Row, Vec<String>)>,
    idfs: Vec<f64>,
    avgdl: f64,
    /// Length norms of the common lengths.
    norms: Vec<f64>,
}

impl<'s> TextQuery<'s> {
    pub(crate) fn new(snap: &'s CollectionSnapshot, column: &str, text: &str) -> Result<Self> {
        let (pos, col) = snap.schema().column(column)?;
        let Some(IndexSpec::Bm25 { k1, b, analyzer }) = col.index else {
            return Err(Error::InvalidArgument(format!(
                "MATCH needs a BM25 index on {column} (CREATE INDEX ON {} ({column}) USING BM25)",
                snap.name()
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
        let mut distinct: Vec<(String, u32)> = Vec::new();
        for t in query {
            match distinct.iter_mut().find(|(d, _)| *d == t) {
                Some((_, n)) => *n += 1,
                None => distinct.push((t, 1)),
            }
        }
        let sources = snap
            .segments()
            .iter()
            .map(|view| source(view, col, analyzer))
            .collect::<Result<Vec<_>>>()?;
        let fresh: Vec<(&Row, Vec<String>)> = snap
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
        let mut count_row = |found: &[String]| {
            if !found.is_empty() {
                stats.docs += 1;
                stats.terms += found.len() as u64;
                for (d, (t, _)) in df.iter_mut().zip(&distinct) {
                    *d += u64::from(found.contains(t));
                }
            }
        };
        for found in sources.iter().filter_map(|s| match s {
            Source::Cut(rows) => Some(rows.iter().flatten()),
            Source::Indexed(_) => None,
        }) {
            found.for_each(|f| count_row(f));
        }
        fresh.iter().for_each(|(_, f)| count_row(f));
        for (view, src) in snap.segments().iter().zip(&sources) {
            let Source::Indexed(index) = src else {
                continue;
            };
            // Without deletions the segment's totals are in its meta and a term's df
            // is its postings' length; with them, deleted rows are left out.
            let live = |r: u32| !view.tombstones.is_deleted(RowId(r));
            let whole = view.tombstones.count() == 0;
            if whole {
                stats.docs += index.docs;
                stats.terms += index.terms;
            } else {
                for (r, &len) in index.view.lengths().iter().enumerate() {
                    if len > 0 && live(r as u32) {
                        stats.docs += 1;
                        stats.terms += u64::from(len);
                    }
                }
            }
            for (d, (t, _)) in df.iter_mut().zip(&distinct) {
                let rows = index.view.postings(t).0;
                *d += match whole {
                    true => rows.len() as u64,
                    false => rows.iter().filter(|&&r| live(r)).count() as u64,
                };
            }
        }
        let avgdl = stats.avgdl();
        let idfs: Vec<f64> = df.iter().map(|&d| idf(stats.docs, d)).collect();
        // The order every score is summed in: by upper bound (multiplicity · idf),
        // highest first, ties by first occurrence. `top` prunes in this order; every
        // other path sums in it too, so a row's score is the same bits everywhere.
        let mut ranked: Vec<((String, u32), f64)> = distinct.into_iter().zip(idfs).collect();
        ranked.sort_by(|a, b| (f64::from(b.0.1) * b.1).total_cmp(&(f64::from(a.0.1) * a.1)));
        let (distinct, idfs): (Vec<(String, u32)>, Vec<f64>) = ranked.into_iter().unzip();
        let norms = (0..NORM_TABLE)
            .map(|len| length_norm(len, avgdl, k1, b))
            .collect();
        Ok(TextQuery {
            snap,
            column: col,
            k1,
            b,
            analyzer,
            distinct,
            sources,
            fresh,
            idfs,
            avgdl,
            norms,
        })
    }

    /// A row's length norm (tabulated for the common lengths).
    fn norm(&self, len: u32) -> f64 {
        match self.norms.get(len as usize) {
            Some(&n) => n,
            None => length_norm(len, self.avgdl, self.k1, self.b),
        }
    }

    /// A row's score from its term frequencies (in `distinct`'s order) and length:
    /// the terms summed in that order, as the accumulators of [`TextQuery::top`] do.
    fn score(&self, tfs: &[u32], len: u32) -> f64 {
        let norm = self.norm(len);
        let mut total = 0.0;
        for ((&tf, (_, times)), &idf) in tfs.iter().zip(&self.distinct).zip(&self.idfs) {
            if tf > 0 {
                total += f64::from(*times) * saturated(idf, tf, norm, self.k1);
            }
        }
        total
    }

    /// `item`'s BM25 score; `None` when its text is NULL (0 when it holds no term).
    pub(crate) fn score_of(&self, item: &ItemRef<'_>) -> Result<Option<f64>> {
        Ok(match item.value(&self.column.name)? {
            Value::Text(t) => {
                let found = terms(self.analyzer, &t);
                let tfs = frequencies(&found, &self.distinct);
                Some(self.score(&tfs, found.len() as u32))
            }
            _ => None,
        })
    }

    /// A segment's best `k` rows by its postings (and every row tied with the k-th),
    /// each handed to `emit` with its score, among the rows `keep` accepts.
    ///
    /// Term at a time into one accumulator per row, in summing order. Every
    /// contribution is positive (idf > 0, tf ≥ 1) and at most its upper bound
    /// `multiplicity · idf · (k1 + 1)`. Once the terms left can add less than the
    /// k-th best sum so far (θ), no row untouched yet, nor any whose sum plus that
    /// bound stays under θ, can reach the top k: the remaining terms then only update
    /// the candidates left (by binary search in a long list). Exact: the sums of the
    /// rows that can win are complete, in the same order as everywhere else.
    fn top_of_postings(
        &self,
        index: &Bm25Index<'_>,
        k: usize,
        keep: &dyn Fn(u32) -> bool,
        emit: &mut dyn FnMut(f64, u32),
    ) {
        let lengths = index.view.lengths();
        let bounds: Vec<f64> = self
            .distinct
            .iter()
            .zip(&self.idfs)
            .map(|((_, times), idf)| f64::from(*times) * idf * (f64::from(self.k1) + 1.0))
            .collect();
        // remaining[j]: the most the terms from j on can add to a row.
        let mut remaining = vec![0.0; bounds.len() + 1];
        for j in (0..bounds.len()).rev() {
            remaining[j] = remaining[j + 1] + bounds[j];
        }
        let mut sums = vec![0f64; lengths.len()];
        let mut touched: Vec<u32> = Vec::new();
        let mut candidates: Option<(Vec<u32>, Vec<bool>)> = None;
        for (j, ((t, times), &idf)) in self.distinct.iter().zip(&self.idfs).enumerate() {
            if candidates.is_none() && j > 0 && touched.len() >= k {
                // A margin far above the rounding of a sum of ≤ 1024 terms.
                let theta = kth_best(
                    touched
                        .iter()
                        .filter(|&&r| keep(r))
                        .map(|&r| sums[r as usize]),
                    k,
                ) * (1.0 - 1e-9);
                if remaining[j] < theta {
                    let left: Vec<u32> = touched
                        .iter()
                        .copied()
                        .filter(|&r| keep(r) && sums[r as usize] + remaining[j] >= theta)
                        .collect();
                    let mut mask = vec![false; lengths.len()];
                    left.iter().for_each(|&r| mask[r as usize] = true);
                    candidates = Some((left, mask));
                }
            }
            let (rows, counts) = index.view.postings(t);
            // Row r's contribution from this term, or `None` past the rows (damage).
            let part = |r: u32, tf: u32| -> Option<f64> {
                let len = *lengths.get(r as usize)?;
                Some(f64::from(*times) * saturated(idf, tf, self.norm(len), self.k1))
            };
            match &candidates {
                None => {
                    for (&r, &tf) in rows.iter().zip(counts) {
                        if let Some(c) = part(r, tf) {
                            let sum = &mut sums[r as usize];
                            if *sum == 0.0 {
                                touched.push(r);
                            }
                            *sum += c;
                        }
                    }
                }
                Some((left, _)) if left.len() * 24 < rows.len() => {
                    for &r in left {
                        if let Ok(at) = rows.binary_search(&r)
                            && let Some(c) = part(r, counts[at])
                        {
                            sums[r as usize] += c;
                        }
                    }
                }
                Some((_, mask)) => {
                    for (&r, &tf) in rows.iter().zip(counts) {
                        if mask.get(r as usize) == Some(&true)
                            && let Some(c) = part(r, tf)
                        {
                            sums[r as usize] += c;
                        }
                    }
                }
            }
        }
        let rows = candidates.map_or(touched, |(left, _)| left);
        let kth = kth_best(
            rows.iter().filter(|&&r| keep(r)).map(|&r| sums[r as usize]),
            k,
        );
        for r in rows {
            let s = sums[r as usize];
            if s > 0.0 && s >= kth && keep(r) {
                emit(s, r);
            }
        }
    }

    /// The best `k` rows holding a query term, among items `filter` accepts.
    pub(crate) fn top(
        &self,
        k: usize,
        filter: Option<&dyn Fn(&ItemRef<'_>) -> bool>,
    ) -> Result<(Vec<SearchHit<'s>>, SearchStats)> {
        let snap = self.snap;
        let mut found: Vec<(f64, ItemRef<'s>)> = Vec::new();
        let mut parts = Vec::new();
        for (i, (view, src)) in snap.segments().iter().zip(&self.sources).enumerate() {
            let part_started = Instant::now();
            let keep = |r: u32| {
                !view.tombstones.is_deleted(RowId(r))
                    && filter.is_none_or(|f| f(&snap.item_at(view, RowId(r))))
            };
            let before = found.len();
            let strategy = match src {
                Source::Indexed(index) => {
                    self.top_of_postings(index, k, &keep, &mut |s, r| {
                        found.push((s, snap.item_at(view, RowId(r))));
                    });
                    Strategy::Bm25
                }
                Source::Cut(rows) => {
                    for (r, row) in rows.iter().enumerate() {
                        let Some(row_terms) = row else { continue };
                        let tfs = frequencies(row_terms, &self.distinct);
                        if tfs.iter().any(|&tf| tf > 0) && keep(r as u32) {
                            let s = self.score(&tfs, row_terms.len() as u32);
                            found.push((s, snap.item_at(view, RowId(r as u32))));
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
                rescored: None,
                micros: part_started.elapsed().as_micros(),
            });
        }
        let (before, fresh_started) = (found.len(), Instant::now());
        for (row, row_terms) in &self.fresh {
            let tfs = frequencies(row_terms, &self.distinct);
            let item = snap.item_of_row(row);
            if tfs.iter().any(|&tf| tf > 0) && filter.is_none_or(|f| f(&item)) {
                found.push((self.score(&tfs, row_terms.len() as u32), item));
            }
        }
        parts.push(PartStats {
            segment: None,
            strategy: Strategy::Exact,
            filter: filter_mode(filter.is_some()),
            rows: self.fresh.len(),
            visited: found.len() - before,
            rescored: None,
            micros: fresh_started.elapsed().as_micros(),
        });

        Ok((best_scored(found, k)?, SearchStats { parts }))
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

/// How often each of `distinct`'s terms occurs in `row`.
fn frequencies(row: &[String], distinct: &[(String, u32)]) -> Vec<u32> {
    distinct
        .iter()
        .map(|(t, _)| row.iter().filter(|r| *r == t).count() as u32)
        .collect()
}
