//! Nearest-neighbour search over one vector column of a snapshot: every segment (its
//! HNSW graph when it has one, else an exact scan) plus the memtable (exact), merged.
//!
//! Filtered search: the filter is evaluated on each segment's live rows first. When few
//! rows pass (under [`EXACT_BELOW`] of the segment, or no more than k) the passing rows
//! are scanned exactly; otherwise the graph is searched with the filter applied during
//! traversal, and if that still finds fewer than k passing rows, the segment falls back
//! to the exact scan. So k rows come back whenever k rows pass.

use quiver_index::flat::exact_top_k_parallel;
use quiver_index::hnsw::search_graph;
use quiver_index::{Hit, VectorSource, exact_top_k};
use quiver_storage::row::check_vector;
use quiver_storage::{Result, Row, RowId, Value};

use crate::indexes::{SegmentColumn, segment_graph};
use crate::snapshot::{CollectionSnapshot, ItemRef};

/// Below this fraction of passing rows a segment is scanned exactly.
pub const EXACT_BELOW: f64 = 0.05;

/// How to search.
#[derive(Clone, Copy, Debug, Default)]
pub struct SearchOptions {
    /// Beam width for HNSW (at least k is used); default 64.
    pub ef: Option<usize>,
    /// Scan every row exactly, ignoring indexes.
    pub exact: bool,
}

impl SearchOptions {
    pub fn ef(mut self, ef: usize) -> Self {
        self.ef = Some(ef);
        self
    }

    pub fn exact(mut self, yes: bool) -> Self {
        self.exact = yes;
        self
    }
}

/// One result: the item, its distance under the column's metric (lower is closer) and
/// its score (higher is better).
#[derive(Clone, Copy, Debug)]
pub struct SearchHit<'a> {
    pub item: ItemRef<'a>,
    pub distance: f32,
    pub score: f32,
}

/// How one part of the collection was searched (for EXPLAIN).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    Hnsw { ef: usize },
    Exact,
}

/// What a search did, part by part: `(segment index or None for the memtable, strategy,
/// rows passing the filter)`.
#[derive(Clone, Debug, Default)]
pub struct SearchStats {
    pub parts: Vec<(Option<usize>, Strategy, usize)>,
}

impl CollectionSnapshot {
    /// The `k` items nearest to `query` on vector column `column`.
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
        let shape = col.expect_vector()?;
        check_vector(column, shape.dim as usize, query)?;
        let metric = shape.metric;
        let ef = options.ef.unwrap_or(64).max(k);
        let mut stats = SearchStats::default();
        let mut found: Vec<(f32, ItemRef<'s>)> = Vec::new();

        for (i, view) in self.segments().iter().enumerate() {
            let Some(source) = SegmentColumn::new(&view.segment, col)? else {
                continue;
            };
            let live = |r: RowId| !view.tombstones.is_deleted(r);
            let passing: Option<Vec<bool>> = filter.map(|f| {
                (0..view.segment.rows())
                    .map(RowId)
                    .map(|r| live(r) && source.get(r).is_some() && f(&self.item_at(view, r)))
                    .collect()
            });
            let keep = |r: RowId| match &passing {
                Some(p) => p.get(r.0 as usize).copied().unwrap_or(false),
                None => live(r),
            };
            let candidates = passing.as_ref().map_or(view.live_rows() as usize, |p| {
                p.iter().filter(|&&b| b).count()
            });
            let graph = if options.exact {
                None
            } else {
                segment_graph(&view.segment, col)?
            };
            let few = filter.is_some()
                && (candidates <= k
                    || (candidates as f64) < EXACT_BELOW * view.segment.rows() as f64);
            let mut hits: Vec<Hit> = Vec::new();
            let mut strategy = Strategy::Exact;
            if let (Some(graph), false) = (graph, few) {
                hits = search_graph(&graph, &source, metric, query, k, ef, &keep);
                strategy = Strategy::Hnsw { ef };
            }
            if strategy == Strategy::Exact || hits.len() < k.min(candidates) {
                hits = exact_top_k_parallel(&source, metric, query, k, &keep);
                strategy = Strategy::Exact;
            }
            stats.parts.push((Some(i), strategy, candidates));
            found.extend(
                hits.into_iter()
                    .map(|h| (h.distance, self.item_at(view, h.row))),
            );
        }

        // The memtable: exact over its rows, read in place.
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
        stats.parts.push((None, Strategy::Exact, fresh.len()));

        found.sort_by(|a, b| a.0.total_cmp(&b.0));
        found.truncate(k);
        let hits = found
            .into_iter()
            .map(|(distance, item)| SearchHit {
                item,
                distance,
                score: quiver_index::score(distance),
            })
            .collect();
        Ok((hits, stats))
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
    fn get(&self, row: RowId) -> Option<&[f32]> {
        match &self.rows.get(row.0 as usize)?.cells[self.pos] {
            Value::Vector(v) => Some(v),
            _ => None,
        }
    }
}
