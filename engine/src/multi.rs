//! Search over a multi-vector column (`frames VECTOR(512)[]`): an item is ranked by its
//! nearest vector (`frames <-> [q]`, the hit says which element matched) or by late
//! interaction (`MAXSIM(frames, [[q1], ...])`, higher is better, the hit's distance
//! is −MAXSIM).
//!
//! A segment with an index over the column's elements (every row's vectors) asks it,
//! for each query vector, for candidate rows among the live rows that pass the filter:
//! HNSW walks a beam over rows (each row's best element, `ef` rows wide) and names its
//! best [`RESCORED_PER_RESULT`]·k; IVF-PQ is asked for the [`ELEMENT_OVERFETCH`]·k
//! nearest elements, widened while they name fewer than k rows. Each candidate is
//! re-scored exactly over all its vectors, so every returned score is exact, and what
//! the index can miss is a candidate, never a wrong score. A segment without an index,
//! a recall target beyond its curve, few passing rows or too few candidates are
//! scanned exactly, and so is the memtable.

use std::collections::BTreeSet;
use std::time::Instant;

use quiver_index::multi::{MultiQuery, MultiScorer};
use quiver_index::{SegmentColumn, SegmentIndex};
use quiver_storage::row::check_vector;
use quiver_storage::{Column, Error, Result, RowId, Segment, Value};
use rayon::prelude::*;

use crate::search::{
    FilterMode, PartRows, PartStats, SearchHit, SearchOptions, SearchStats, Strategy,
    check_recall_target,
};
use crate::snapshot::{CollectionSnapshot, ItemRef};

/// Elements first asked of an IVF-PQ index per query vector, per result wanted (or
/// `ef`, when larger): several of an item's vectors tend to be near one another, so k
/// elements can hold far fewer than k items.
pub const ELEMENT_OVERFETCH: usize = 4;

/// Rows re-scored per result wanted, per query vector, from an HNSW beam over rows.
pub const RESCORED_PER_RESULT: usize = 2;

/// Searches of the index after the first, per query vector, while its elements name
/// fewer than k items; then the segment is scanned exactly.
const MAX_WIDENING: usize = 3;

/// The elements to ask for after `asked` named `found` of the `wanted` items: as many
/// more as the items found per element suggest, doubled for margin (at least twice
/// as many; eight times when none was found).
fn widened(asked: usize, found: usize, wanted: usize) -> usize {
    let factor = match found {
        0 => 8,
        f => (2 * wanted).div_ceil(f).max(2),
    };
    asked.saturating_mul(factor)
}

/// One scored item before the final cut: its distance, the item, the element that
/// matched.
type Found<'s> = (f32, ItemRef<'s>, Option<u32>);

/// One scored row of a segment: its distance, the row, the element that matched.
type RowHit = (f32, RowId, Option<u32>);

impl CollectionSnapshot {
    /// The `k` items of multi-vector column `column` best under `query`, among items
    /// `filter` accepts, with how each part was searched. Errors: not a multi-vector
    /// column, a query vector of the wrong dimension or not finite.
    pub fn search_multi<'s>(
        &'s self,
        column: &str,
        query: MultiQuery<'_>,
        k: usize,
        options: &SearchOptions,
        filter: Option<&dyn Fn(&ItemRef<'_>) -> bool>,
    ) -> Result<(Vec<SearchHit<'s>>, SearchStats)> {
        let (pos, col) = self.schema().column(column)?;
        let scorer = multi_scorer(col, query)?;
        check_recall_target(options)?;
        let mut stats = SearchStats::default();
        let mut found: Vec<Found<'s>> = Vec::new();
        for (i, view) in self.segments().iter().enumerate() {
            let started = Instant::now();
            let Some(multi) = view.segment.multi_column(col)? else {
                continue;
            };
            let rows = view.segment.rows();
            let allowed =
                PartRows::new(self, view, k, filter, |r| Ok(!multi.range(r)?.is_empty()))?;
            let (keep, candidates, few) = (|r| allowed.keep(r), allowed.candidates, allowed.few);
            let mut part = PartStats {
                segment: Some(i),
                strategy: Strategy::Exact,
                filter: match filter {
                    None => FilterMode::None,
                    Some(_) => FilterMode::ExactOverPassing,
                },
                rows: candidates,
                visited: 0,
                rescored: None,
                micros: 0,
            };
            let mut hits: Vec<RowHit> = Vec::new();
            if !options.exact
                && !few
                && let Some(index) = SegmentIndex::load(&view.segment, col)?
                && let Some(source) = SegmentColumn::new(&view.segment, col)?
            {
                // Without a filter or deletions every element counts: no lookup of its row.
                let keeps_all = allowed.keeps_all();
                let rows_of = view.element_rows(col)?;
                let keep_element = |e: RowId| match rows_of.get(e.0 as usize) {
                    Some(&r) => keeps_all || keep(RowId(r)),
                    None => false,
                };
                let wanted = k.min(candidates);
                let queries = scorer.query_vectors().count();
                let named = index_candidates(
                    &index,
                    &view.segment,
                    col,
                    &rows_of,
                    &source,
                    &scorer,
                    (k, wanted),
                    options,
                    &keep_element,
                )?;
                // `None`: a recall target beyond the curve, scanned exactly below.
                if let Some((rows_hit, strategy, visited)) = named {
                    part.visited += visited;
                    for &r in &rows_hit {
                        if let Some(vectors) = multi.row(r)?
                            && let Some(s) = scorer.score(vectors)
                        {
                            part.visited += vectors.len() / multi.dim().max(1) * queries;
                            hits.push((s.distance, r, s.element));
                        }
                    }
                    part.strategy = strategy;
                    part.rescored = Some(rows_hit.len());
                    if filter.is_some() {
                        part.filter = FilterMode::DuringIndexSearch;
                    }
                }
            }
            if part.strategy == Strategy::Exact || hits.len() < k.min(candidates) {
                if part.strategy != Strategy::Exact && filter.is_some() {
                    part.filter = FilterMode::ExactAfterIndex;
                }
                let (scanned, compared) = scan_exact(&scorer, rows, &keep, |r| multi.row(r))?;
                hits = scanned;
                part.strategy = Strategy::Exact;
                part.visited += compared;
            }
            part.micros = started.elapsed().as_micros();
            stats.parts.push(part);
            found.extend(
                top_k(hits, k)
                    .into_iter()
                    .map(|(d, r, e)| (d, self.item_at(view, r), e)),
            );
        }

        // The memtable: every row scored.
        let started = Instant::now();
        let (mut fresh, mut compared) = (0, 0);
        for row in self.memtable_rows() {
            let Value::Vectors(v) = &row.cells[pos] else {
                continue;
            };
            let item = self.item_of_row(row);
            if filter.is_none_or(|f| f(&item))
                && let Some(s) = scorer.score(v.as_flat())
            {
                fresh += 1;
                compared += v.len();
                found.push((s.distance, item, s.element));
            }
        }
        stats.parts.push(PartStats {
            segment: None,
            strategy: Strategy::Exact,
            filter: crate::search::filter_mode(filter.is_some()),
            rows: fresh,
            visited: compared * scorer.query_vectors().count(),
            rescored: None,
            micros: started.elapsed().as_micros(),
        });
        Ok((best_nearest(found, k)?, stats))
    }
}

/// The rows that `index` (over the elements of a segment's multi-vector column) names
/// as candidates for each of the query's vectors, with the strategy and the distances
/// computed; `None` where a recall target is beyond the index's curve. `(k, wanted)`:
/// the results asked for, and how many of the segment's rows can be returned.
///
/// HNSW walks a beam over rows (`search_groups`: each row's best element, `ef` rows
/// wide) and names its best [`RESCORED_PER_RESULT`]·k rows. Another index is asked
/// for elements, [`ELEMENT_OVERFETCH`]·k (or the beam width) at first, widened while
/// they name fewer than `wanted` rows.
#[allow(clippy::too_many_arguments)]
fn index_candidates(
    index: &SegmentIndex<'_>,
    segment: &Segment,
    col: &Column,
    rows_of: &[u32],
    source: &SegmentColumn<'_>,
    scorer: &MultiScorer<'_>,
    (k, wanted): (usize, usize),
    options: &SearchOptions,
    keep_element: &(dyn Fn(RowId) -> bool + Sync),
) -> Result<Option<(BTreeSet<RowId>, Strategy, usize)>> {
    let metric = col.expect_multi()?.metric;
    let mut rows = BTreeSet::new();
    let (mut used, mut visited) = (None, 0);
    // An element past the map can only come from a damaged index region.
    let group = |e: u32| rows_of.get(e as usize).copied().unwrap_or(u32::MAX);
    for q in scorer.query_vectors() {
        if let SegmentIndex::Hnsw(_) = index {
            let best = k.saturating_mul(RESCORED_PER_RESULT).max(1);
            let search = index.search_groups(
                segment,
                col,
                source,
                metric,
                q,
                best,
                options,
                keep_element,
                &group,
            )?;
            let Some((found, strategy, computed)) = search else {
                return Ok(None);
            };
            (used, visited) = (Some(strategy), visited + computed);
            let named = found.iter().take(best).map(|h| group(h.row.0));
            rows.extend(named.filter(|&r| r != u32::MAX).map(RowId));
            continue;
        }
        let beam = options.ef.unwrap_or(quiver_index::stored::DEFAULT_EF);
        let mut want = k.saturating_mul(ELEMENT_OVERFETCH).max(beam).max(1);
        for round in 0..=MAX_WIDENING {
            let search =
                index.search(segment, col, source, metric, q, want, options, keep_element)?;
            let Some((elements, strategy, computed)) = search else {
                return Ok(None);
            };
            (used, visited) = (Some(strategy), visited + computed);
            let mut mine = BTreeSet::new();
            mine.extend(
                elements
                    .iter()
                    .map(|e| group(e.row.0))
                    .filter(|&r| r != u32::MAX)
                    .map(RowId),
            );
            let (found, returned) = (mine.len(), elements.len());
            rows.extend(mine);
            if found >= wanted || returned < want || round == MAX_WIDENING {
                break;
            }
            want = widened(want, found, wanted);
        }
    }
    Ok(used.map(|strategy| (rows, strategy, visited)))
}

/// A multi-vector term prepared on a snapshot, for a fused query: ranks its column
/// ([`CollectionSnapshot::search_multi`]) and scores any one item exactly; its score
/// is −distance (−nearest distance, or MAXSIM).
pub(crate) struct MultiTerm<'s> {
    snap: &'s CollectionSnapshot,
    column: &'s Column,
    /// The query's vectors (checked), owned: the term outlives the query's borrow.
    vectors: Vec<f32>,
    maxsim: bool,
    options: SearchOptions,
}

impl<'s> MultiTerm<'s> {
    pub(crate) fn new(
        snap: &'s CollectionSnapshot,
        column: &str,
        query: MultiQuery<'_>,
        options: SearchOptions,
    ) -> Result<Self> {
        let (_, col) = snap.schema().column(column)?;
        multi_scorer(col, query)?;
        let (vectors, maxsim) = match query {
            MultiQuery::Nearest(q) => (q.to_vec(), false),
            MultiQuery::MaxSim(q) => (q.to_vec(), true),
        };
        Ok(MultiTerm {
            snap,
            column: col,
            vectors,
            maxsim,
            options,
        })
    }

    fn query(&self) -> MultiQuery<'_> {
        match self.maxsim {
            true => MultiQuery::MaxSim(&self.vectors),
            false => MultiQuery::Nearest(&self.vectors),
        }
    }
}

impl<'s> MultiTerm<'s> {
    /// The best `k` items among those `filter` accepts.
    pub(crate) fn top(
        &self,
        k: usize,
        filter: Option<&dyn Fn(&ItemRef<'_>) -> bool>,
    ) -> Result<(Vec<SearchHit<'s>>, SearchStats)> {
        self.snap
            .search_multi(&self.column.name, self.query(), k, &self.options, filter)
    }
    /// `item`'s score (−distance); `None` when it has no vectors.
    pub(crate) fn score_of(&self, item: &ItemRef<'_>) -> Result<Option<f64>> {
        let shape = self.column.expect_multi()?;
        let scorer = MultiScorer::new(self.query(), shape.metric, shape.dim as usize);
        Ok(item
            .multi(&self.column.name)?
            .and_then(|v| scorer.score(v))
            .map(|s| -(s.distance as f64)))
    }
}

/// `query` checked against multi-vector column `col`: every query vector of the
/// column's dimension and finite.
pub(crate) fn multi_scorer<'q>(col: &Column, query: MultiQuery<'q>) -> Result<MultiScorer<'q>> {
    let shape = col.expect_multi()?;
    let dim = shape.dim as usize;
    match query {
        MultiQuery::Nearest(q) => check_vector(&col.name, dim, q)?,
        MultiQuery::MaxSim(q) => {
            if q.is_empty() || !q.len().is_multiple_of(dim) {
                return Err(Error::InvalidArgument(format!(
                    "MAXSIM({}, ...) takes one or more vectors of {dim} values",
                    col.name
                )));
            }
            for v in q.chunks_exact(dim) {
                check_vector(&col.name, dim, v)?;
            }
        }
    }
    Ok(MultiScorer::new(query, shape.metric, dim))
}

/// Every row `keep` accepts scored over all its vectors (on the rayon pool), with the
/// distances computed.
fn scan_exact<'a>(
    scorer: &MultiScorer<'_>,
    rows: u32,
    keep: &(dyn Fn(RowId) -> bool + Sync),
    vectors_of: impl Fn(RowId) -> Result<Option<&'a [f32]>> + Sync,
) -> Result<(Vec<RowHit>, usize)> {
    let queries = scorer.query_vectors().count();
    let scored: Vec<(f32, RowId, Option<u32>, usize)> = (0..rows)
        .into_par_iter()
        .map(RowId)
        .filter(|&r| keep(r))
        .filter_map(|r| match vectors_of(r) {
            Err(e) => Some(Err(e)),
            Ok(None) => None,
            Ok(Some(v)) => scorer
                .score(v)
                .map(|s| Ok((s.distance, r, s.element, v.len()))),
        })
        .collect::<Result<_>>()?;
    let dim = match scorer.query() {
        MultiQuery::Nearest(q) => q.len(),
        MultiQuery::MaxSim(q) => q.len() / queries.max(1),
    };
    let compared = scored.iter().map(|s| s.3 / dim.max(1)).sum::<usize>() * queries;
    Ok((
        scored.into_iter().map(|(d, r, e, _)| (d, r, e)).collect(),
        compared,
    ))
}

/// The `k` lowest distances (ties by row) of one part.
fn top_k(mut hits: Vec<RowHit>, k: usize) -> Vec<RowHit> {
    let order = |a: &RowHit, b: &RowHit| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
    if hits.len() > k && k > 0 {
        hits.select_nth_unstable_by(k - 1, order);
    }
    hits.truncate(k);
    hits.sort_by(order);
    hits
}

/// The best `k` of `found` (lowest distance first, ties by id).
fn best_nearest<'s>(found: Vec<Found<'s>>, k: usize) -> Result<Vec<SearchHit<'s>>> {
    let mut keyed = found
        .into_iter()
        .map(|(d, item, element)| Ok((d, item.id()?, item, element)))
        .collect::<Result<Vec<_>>>()?;
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    keyed.truncate(k);
    Ok(keyed
        .into_iter()
        .map(|(distance, _, item, element)| SearchHit {
            item,
            distance,
            score: quiver_index::score(distance),
            element,
        })
        .collect())
}
