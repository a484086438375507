//! Sparse vector search (`terms <-> {12: 0.5, ...}` on a SPARSE column): rows ranked by
//! descending dot product with the query, exactly. Each sealed segment answers from
//! its postings (`quiver_index::sparse`, derived in memory from the segment's cells on
//! first use and kept for its life), reading only the lists of the query's indices;
//! the memtable's rows are scored directly, so a row is found as soon as its commit
//! returns. Every live row sharing an index with the query is scored (deleted rows
//! skipped), a row sharing none is never returned, the best `k` win, ties by id. The
//! score is the dot product (summed in f64 in index order, the same bits on every
//! path), the distance −score.

use std::time::Instant;

use quiver_index::Strategy;
use quiver_storage::{Column, Error, Result, RowId, SparseVector, Value};

use crate::search::{PartStats, SearchHit, SearchStats, best_scored, filter_mode};
use crate::snapshot::{CollectionSnapshot, ItemRef};

impl CollectionSnapshot {
    /// The `k` items of SPARSE column `column` with the highest dot product with
    /// `query`, among items `filter` accepts. Errors: not a SPARSE column, an empty
    /// query.
    pub fn search_sparse<'s>(
        &'s self,
        column: &str,
        query: &SparseVector,
        k: usize,
        filter: Option<&dyn Fn(&ItemRef<'_>) -> bool>,
    ) -> Result<(Vec<SearchHit<'s>>, SearchStats)> {
        SparseQuery::new(self, column, query)?.top(k, filter)
    }
}

/// A sparse term prepared on a snapshot: ranks the column ([`SparseQuery::top`]) or
/// scores any one item ([`SparseQuery::score_of`], a fused query's re-scoring).
pub(crate) struct SparseQuery<'s> {
    snap: &'s CollectionSnapshot,
    column: &'s Column,
    /// The column's place in a row's cells.
    pos: usize,
    query: SparseVector,
}

impl<'s> SparseQuery<'s> {
    pub(crate) fn new(
        snap: &'s CollectionSnapshot,
        column: &str,
        query: &SparseVector,
    ) -> Result<Self> {
        let (pos, col) = snap.schema().column(column)?;
        col.expect_sparse()?;
        if query.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "{column} <-> {{}}: the sparse query has no entries"
            )));
        }
        Ok(SparseQuery {
            snap,
            column: col,
            pos,
            query: query.clone(),
        })
    }

    /// `item`'s dot product with the query (0 when it holds no query index); `None`
    /// when NULL.
    pub(crate) fn score_of(&self, item: &ItemRef<'_>) -> Result<Option<f64>> {
        item.sparse_dot(&self.column.name, &self.query)
    }

    /// The best `k` rows sharing an index with the query, among items `filter` accepts.
    pub(crate) fn top(
        &self,
        k: usize,
        filter: Option<&dyn Fn(&ItemRef<'_>) -> bool>,
    ) -> Result<(Vec<SearchHit<'s>>, SearchStats)> {
        let snap = self.snap;
        let mut found: Vec<(f64, ItemRef<'s>)> = Vec::new();
        let mut parts = Vec::new();
        for (i, view) in snap.segments().iter().enumerate() {
            let started = Instant::now();
            let (mut read, mut listed, mut scored) = (0, 0, 0);
            if view.segment.has_column(self.column) {
                let postings = view.sparse_postings(self.column)?;
                let keep = |r: u32| {
                    !view.tombstones.is_deleted(RowId(r))
                        && filter.is_none_or(|f| f(&snap.item_at(view, RowId(r))))
                };
                let top = postings.top(self.query.entries(), k, &keep);
                (read, listed, scored) = (top.read, top.listed, top.scored);
                found.extend(
                    top.best
                        .into_iter()
                        .map(|(r, dot)| (dot, snap.item_at(view, RowId(r)))),
                );
            }
            parts.push(PartStats {
                segment: Some(i),
                strategy: Strategy::SparsePostings { read, listed },
                filter: filter_mode(filter.is_some()),
                rows: view.live_rows() as usize,
                visited: scored,
                rescored: None,
                micros: started.elapsed().as_micros(),
            });
        }
        let started = Instant::now();
        let mut fresh = 0;
        for row in snap.memtable_rows() {
            fresh += 1;
            let item = snap.item_of_row(row);
            if let Value::Sparse(v) = &row.cells[self.pos]
                && let Some(dot) = v.dot(&self.query)
                && filter.is_none_or(|f| f(&item))
            {
                found.push((dot, item));
            }
        }
        parts.push(PartStats {
            segment: None,
            strategy: Strategy::Exact,
            filter: filter_mode(filter.is_some()),
            rows: fresh,
            visited: fresh,
            rescored: None,
            micros: started.elapsed().as_micros(),
        });
        Ok((best_scored(found, k)?, SearchStats { parts }))
    }
}
