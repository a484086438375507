//! Nearest-neighbour search over one vector column of a snapshot: every segment (its
//! HNSW graph or IVF-PQ index when it has one, else an exact scan) plus the memtable
//! (exact), merged.
//!
//! Recall-targeted search: with [`SearchOptions::recall`], each segment reads the
//! parameter (ef or nprobe) for the target off the recall curve measured when its
//! index was built; a segment whose curve never reaches the target, or that has no
//! curve (under 1,000 rows), is scanned exactly.
//!
//! Filtered search: the filter is evaluated on each segment's live rows first. When few
//! rows pass (under [`EXACT_BELOW`] of the segment, or no more than k) the passing rows
//! are scanned exactly; otherwise the graph is searched with the filter applied during
//! traversal, and if that still finds fewer than k passing rows, the segment falls back
//! to the exact scan. So k rows come back whenever k rows pass.

use quiver_index::flat::exact_top_k_parallel;
use quiver_index::stored::exact_strategy;
use std::time::Instant;

use quiver_index::{Hit, SegmentColumn, SegmentIndex, VectorSource, exact_top_k};
pub use quiver_index::{SearchOptions, Strategy};
use quiver_storage::row::check_vector;
use quiver_storage::{Error, Result, Row, RowId, Value, Vectors};

use crate::snapshot::{CollectionSnapshot, ItemRef};
use crate::state::SegmentView;

/// Below this fraction of passing rows a segment is scanned exactly.
pub const EXACT_BELOW: f64 = 0.05;

/// One result: the item, its distance under the column's metric (lower is closer) and
/// its score (higher is better).
#[derive(Clone, Copy, Debug)]
pub struct SearchHit<'a> {
    /// The item, read from the snapshot.
    pub item: ItemRef<'a>,
    /// Its distance under the column's metric (lower is closer).
    pub distance: f32,
    /// Its score (higher is better): `quiver_index::score(distance)`.
    pub score: f32,
    /// On a multi-vector column ranked by `<->`, the place of the item's nearest
    /// vector in its list (which keyframe matched); `None` elsewhere.
    pub element: Option<u32>,
}

/// How a filter was applied to one part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterMode {
    /// The search had no filter.
    None,
    /// Few rows pass (or the part has no index): the passing rows were scanned exactly.
    ExactOverPassing,
    /// Checked on each result inside the index search (rejected rows still guide it).
    DuringIndexSearch,
    /// The index search found fewer than k passing rows, so the part was scanned
    /// exactly after it.
    ExactAfterIndex,
}

impl std::fmt::Display for FilterMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FilterMode::None => "no filter",
            FilterMode::ExactOverPassing => "filter first, passing rows scanned",
            FilterMode::DuringIndexSearch => "filter during index search",
            FilterMode::ExactAfterIndex => "filter during index search, too few: rescanned",
        })
    }
}

/// What the search of one part (a segment or the memtable) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartStats {
    /// Index of the segment in the snapshot; `None` for the memtable.
    pub segment: Option<usize>,
    /// How it was searched.
    pub strategy: Strategy,
    /// Where the filter was applied.
    pub filter: FilterMode,
    /// Live rows with a value that pass the filter (all of them without one).
    pub rows: usize,
    /// Vectors compared with the query: graph nodes scored, PQ codes scanned plus
    /// candidates re-scored, or rows scanned (on a multi-vector column, elements).
    pub visited: usize,
    /// On a multi-vector column searched through its index: the items whose
    /// elements the index found, each re-scored exactly over all its vectors.
    pub rescored: Option<usize>,
    /// Time spent on the part, filter evaluation included.
    pub micros: u128,
}

impl std::fmt::Display for PartStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.segment {
            Some(s) => write!(f, "segment {s}: ")?,
            None => f.write_str("memtable: ")?,
        }
        write!(
            f,
            "{}, {}, {} rows, {} vectors compared, ",
            self.strategy, self.filter, self.rows, self.visited,
        )?;
        if let Some(n) = self.rescored {
            write!(f, "{n} items re-scored, ")?;
        }
        f.write_str(&ms(self.micros))
    }
}

/// A duration in microseconds as EXPLAIN and the search stats print it.
pub fn ms(micros: u128) -> String {
    format!("{:.3} ms", micros as f64 / 1e3)
}

/// What a search did, part by part.
#[derive(Clone, Debug, Default)]
pub struct SearchStats {
    /// One per segment searched, then the memtable.
    pub parts: Vec<PartStats>,
}

impl CollectionSnapshot {
    /// The `k` items nearest to `query` on vector column `column` (on a multi-vector
    /// column, by each item's nearest vector).
    pub fn search(
        &self,
        column: &str,
        query: &[f32],
        k: usize,
        options: &SearchOptions,
    ) -> Result<Vec<SearchHit<'_>>> {
        Ok(self.search_where(column, query, k, options, None)?.0)
    }

    /// As [`CollectionSnapshot::search`], keeping only items `filter` accepts, and
    /// reporting how each part was searched.
    pub fn search_where<'s>(
        &'s self,
        column: &str,
        query: &[f32],
        k: usize,
        options: &SearchOptions,
        filter: Option<&dyn Fn(&ItemRef<'_>) -> bool>,
    ) -> Result<(Vec<SearchHit<'s>>, SearchStats)> {
        let (pos, col) = self.schema().column(column)?;
        if col.multi().is_some() {
            let nearest = quiver_index::multi::MultiQuery::Nearest(query);
            return self.search_multi(column, nearest, k, options, filter);
        }
        let shape = col.expect_vector()?;
        check_vector(column, shape.dim as usize, query)?;
        let metric = shape.metric;
        check_recall_target(options)?;
        let mut stats = SearchStats::default();
        let mut found: Vec<(f32, ItemRef<'s>)> = Vec::new();

        for (i, view) in self.segments().iter().enumerate() {
            let started = Instant::now();
            let Some(source) = SegmentColumn::new(&view.segment, col)? else {
                continue;
            };
            let part = PartRows::new(self, view, k, filter, |r| Ok(source.get(r).is_some()))?;
            let (keep, candidates, few) = (|r| part.keep(r), part.candidates, part.few);
            let mut hits: Vec<Hit> = Vec::new();
            let mut strategy = Strategy::Exact;
            let mut visited = 0;
            let mut filter_mode = match filter {
                None => FilterMode::None,
                Some(_) => FilterMode::ExactOverPassing,
            };
            if !options.exact
                && !few
                && let Some(index) = SegmentIndex::load(&view.segment, col)?
                && let Some((found, used, computed)) = index.search(
                    &view.segment,
                    col,
                    &source,
                    metric,
                    query,
                    k,
                    options,
                    &keep,
                )?
            {
                (hits, strategy, visited) = (found, used, computed);
                if filter.is_some() {
                    filter_mode = FilterMode::DuringIndexSearch;
                }
            }
            if strategy == Strategy::Exact || hits.len() < k.min(candidates) {
                if strategy != Strategy::Exact && filter.is_some() {
                    filter_mode = FilterMode::ExactAfterIndex;
                }
                hits = exact_top_k_parallel(&source, metric, query, k, &keep);
                strategy = exact_strategy(&view.segment, col);
                visited += candidates;
            }
            stats.parts.push(PartStats {
                segment: Some(i),
                strategy,
                filter: filter_mode,
                rows: candidates,
                visited,
                rescored: None,
                micros: started.elapsed().as_micros(),
            });
            found.extend(
                hits.into_iter()
                    .map(|h| (h.distance, self.item_at(view, h.row))),
            );
        }

        // The memtable: exact over its rows, read in place.
        let started = Instant::now();
        let fresh: Vec<&'s Row> = self
            .memtable_rows()
            .filter(|row| matches!(row.cells[pos], Value::Vector(_)))
            .filter(|row| filter.is_none_or(|f| f(&self.item_of_row(row))))
            .collect();
        let source = RowsColumn {
            rows: &fresh,
            pos,
            dim: shape.dim as usize,
        };
        for h in exact_top_k(&source, metric, query, k, &|_| true) {
            found.push((h.distance, self.item_of_row(fresh[h.row.0 as usize])));
        }
        stats.parts.push(PartStats {
            segment: None,
            strategy: Strategy::Exact,
            filter: match filter {
                None => FilterMode::None,
                Some(_) => FilterMode::ExactOverPassing,
            },
            rows: fresh.len(),
            visited: fresh.len(),
            rescored: None,
            micros: started.elapsed().as_micros(),
        });

        found.sort_by(|a, b| a.0.total_cmp(&b.0));
        found.truncate(k);
        let hits = found
            .into_iter()
            .map(|(distance, item)| SearchHit {
                item,
                distance,
                score: quiver_index::score(distance),
                element: None,
            })
            .collect();
        Ok((hits, stats))
    }
}

/// The rows of one segment a search may return: live, holding a value, accepted by
/// the filter.
pub(crate) struct PartRows<'v> {
    view: &'v SegmentView,
    /// With a filter, each row's verdict (evaluated once, before searching).
    passing: Option<Vec<bool>>,
    /// How many rows may be returned.
    pub candidates: usize,
    /// Under a filter, so few rows pass that scanning them beats the index.
    pub few: bool,
}

impl<'v> PartRows<'v> {
    pub(crate) fn new(
        snap: &CollectionSnapshot,
        view: &'v SegmentView,
        k: usize,
        filter: Option<&dyn Fn(&ItemRef<'_>) -> bool>,
        has_value: impl Fn(RowId) -> Result<bool>,
    ) -> Result<Self> {
        let rows = view.segment.rows();
        let mut part = PartRows {
            view,
            passing: None,
            candidates: view.live_rows() as usize,
            few: false,
        };
        if let Some(f) = filter {
            let passing: Vec<bool> = (0..rows)
                .map(RowId)
                .map(|r| Ok(part.live(r) && has_value(r)? && f(&snap.item_at(view, r))))
                .collect::<Result<_>>()?;
            part.candidates = passing.iter().filter(|&&b| b).count();
            part.few = part.candidates <= k || (part.candidates as f64) < EXACT_BELOW * rows as f64;
            part.passing = Some(passing);
        }
        Ok(part)
    }

    /// A row past the segment can only come from a damaged index region: never hand
    /// it out.
    fn live(&self, r: RowId) -> bool {
        r.0 < self.view.segment.rows() && !self.view.tombstones.is_deleted(r)
    }

    /// Whether every row may be returned (no filter, no deletion).
    pub(crate) fn keeps_all(&self) -> bool {
        self.passing.is_none() && self.view.tombstones.count() == 0
    }

    /// Whether row `r` may be returned.
    pub(crate) fn keep(&self, r: RowId) -> bool {
        match &self.passing {
            Some(p) => p.get(r.0 as usize).copied().unwrap_or(false),
            None => self.live(r),
        }
    }
}

/// A recall target, when given, is in (0, 1].
pub(crate) fn check_recall_target(options: &SearchOptions) -> Result<()> {
    match options.recall {
        Some(target) if !(target > 0.0 && target <= 1.0) => Err(Error::InvalidArgument(format!(
            "a recall target must be in (0, 1], got {target}"
        ))),
        _ => Ok(()),
    }
}

/// One vector column of memtable rows.
struct RowsColumn<'a> {
    rows: &'a [&'a Row],
    pos: usize,
    dim: usize,
}

impl VectorSource for RowsColumn<'_> {
    fn dim(&self) -> usize {
        self.dim
    }
    fn len(&self) -> usize {
        self.rows.len()
    }
    fn get(&self, row: RowId) -> Option<Vectors<'_>> {
        match &self.rows.get(row.0 as usize)?.cells[self.pos] {
            Value::Vector(v) => Some(Vectors::F32(v)),
            _ => None,
        }
    }
}

/// The best `k` of `found` (higher score first, ties by id) as hits whose distance is
/// −score. Only the `k` best scores, and entries tied with the k-th, have their ids
/// read.
pub(crate) fn best_scored<'s>(
    mut found: Vec<(f64, ItemRef<'s>)>,
    k: usize,
) -> Result<Vec<SearchHit<'s>>> {
    if found.len() > k && k > 0 {
        found.select_nth_unstable_by(k - 1, |a, b| b.0.total_cmp(&a.0));
        let kth = found[k - 1].0;
        found.retain(|x| x.0 >= kth);
    }
    let mut keyed = found
        .into_iter()
        .map(|(s, item)| Ok((s, item.id()?, item)))
        .collect::<Result<Vec<_>>>()?;
    keyed.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    keyed.truncate(k);
    Ok(keyed
        .into_iter()
        .map(|(s, _, item)| SearchHit {
            item,
            distance: -(s as f32),
            score: s as f32,
            element: None,
        })
        .collect())
}

/// How a part that scores every passing row applied the filter.
pub(crate) fn filter_mode(filtered: bool) -> FilterMode {
    match filtered {
        true => FilterMode::ExactOverPassing,
        false => FilterMode::None,
    }
}
