//! Fused multi-column search: per-column ANN candidates (each column searched with
//! its own index, the filter applied inside each search) → union of the candidate
//! items → EXACT distance of every candidate on every queried column, read from the
//! mapped columns → `quiver_query::fuse` → top-k, with what each stage did kept for
//! EXPLAIN.

use std::collections::HashMap;
use std::time::Instant;

use quiver_index::distance;
use quiver_query::{ColumnPart, Fusion, Missing, Normalization, fuse};
use quiver_storage::row::check_vector;
use quiver_storage::{Error, Metric, Result};

use crate::search::{SearchOptions, SearchStats};
use crate::snapshot::{CollectionSnapshot, ItemRef};

/// Candidates asked of each column: at least this many, and `CANDIDATE_FACTOR * k`.
const MIN_CANDIDATES: usize = 40;
const CANDIDATE_FACTOR: usize = 4;

/// A query over several vector columns.
#[derive(Clone, Debug)]
pub struct FusedQuery<'q> {
    /// `(column, query vector)` pairs, at least one.
    pub columns: Vec<(&'q str, &'q [f32])>,
    pub fusion: Fusion,
    /// `None`: [`default_normalization`] for the columns' metrics.
    pub normalization: Option<Normalization>,
    pub missing: Missing,
    /// Candidates taken from each column's index (default `max(40, 4k)`).
    pub candidates: Option<usize>,
    /// ef / nprobe / recall target / exact, for every column's search.
    pub options: SearchOptions,
}

impl<'q> FusedQuery<'q> {
    pub fn new(fusion: Fusion) -> Self {
        FusedQuery {
            columns: Vec::new(),
            fusion,
            normalization: None,
            missing: Missing::Skip,
            candidates: None,
            options: SearchOptions::default(),
        }
    }

    pub fn column(mut self, name: &'q str, query: &'q [f32]) -> Self {
        self.columns.push((name, query));
        self
    }
}

/// The normalization used when a query names none: fixed per column (cosine distance
/// spans [0, 2], so its score is `1 - d/2`), which maps a distance to the same score on
/// every query and so gives a weight the same meaning on every query. Columns under dot
/// or L2 have no fixed span yet (a per-column scale measured at build time is the
/// planned answer); a query with one of them falls back to min-max over the candidates.
pub fn default_normalization(metrics: &[Metric]) -> Normalization {
    if metrics.iter().all(|&m| m == Metric::Cosine) {
        Normalization::Fixed(vec![2.0; metrics.len()])
    } else {
        Normalization::MinMax
    }
}

/// One fused result.
#[derive(Clone, Debug)]
pub struct FusedHit<'a> {
    pub item: ItemRef<'a>,
    /// The fused score (higher is better).
    pub score: f32,
    /// Per queried column: raw distance, normalized score, rank, contribution.
    pub parts: Vec<Option<ColumnPart>>,
}

/// What one column's candidate search did.
#[derive(Clone, Debug)]
pub struct ColumnExplain {
    pub column: String,
    pub stats: SearchStats,
    pub candidates: usize,
    pub micros: u128,
}

/// What a fused search did, stage by stage.
#[derive(Clone, Debug)]
pub struct FusedExplain {
    pub columns: Vec<ColumnExplain>,
    pub normalization: Normalization,
    /// Distinct candidate items after the union.
    pub union: usize,
    pub rescore_micros: u128,
}

impl CollectionSnapshot {
    /// The `k` items best under `query`'s fusion, among items `filter` accepts.
    pub fn fused_search<'s>(
        &'s self,
        query: &FusedQuery<'_>,
        k: usize,
        filter: Option<&dyn Fn(&ItemRef<'_>) -> bool>,
    ) -> Result<(Vec<FusedHit<'s>>, FusedExplain)> {
        let mut metrics = Vec::with_capacity(query.columns.len());
        for &(name, vector) in &query.columns {
            let (_, column) = self.schema().column(name)?;
            let shape = column.expect_vector()?;
            check_vector(name, shape.dim as usize, vector)?;
            metrics.push(shape.metric);
        }
        let normalization = query
            .normalization
            .clone()
            .unwrap_or_else(|| default_normalization(&metrics));
        let per_column = query
            .candidates
            .unwrap_or((CANDIDATE_FACTOR * k).max(MIN_CANDIDATES))
            .max(k);

        // 1. Candidates per column, 2. their union (by id: ids are unique).
        let mut union: Vec<ItemRef<'s>> = Vec::new();
        let mut seen: HashMap<&'s str, u32> = HashMap::new();
        let mut explain_columns = Vec::new();
        for &(name, vector) in &query.columns {
            let started = Instant::now();
            let (hits, stats) =
                self.search_where(name, vector, per_column, &query.options, filter)?;
            for hit in &hits {
                let id = hit.item.id()?;
                if !seen.contains_key(id) {
                    seen.insert(id, union.len() as u32);
                    union.push(hit.item);
                }
            }
            explain_columns.push(ColumnExplain {
                column: name.to_string(),
                stats,
                candidates: hits.len(),
                micros: started.elapsed().as_micros(),
            });
        }

        // 3. Exact distances of every candidate on every column, 4. fusion.
        let started = Instant::now();
        let exact: Vec<Vec<Option<f32>>> = union
            .iter()
            .map(|item| {
                query
                    .columns
                    .iter()
                    .zip(&metrics)
                    .map(|(&(name, q), &metric)| {
                        Ok(item.vector(name)?.map(|v| distance(metric, q, v)))
                    })
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<_>>()?;
        let keys: Vec<u32> = (0..union.len() as u32).collect();
        let lookup = |c: usize, key: u32| exact[key as usize][c];
        let fused = fuse(
            &keys,
            query.columns.len(),
            &lookup,
            &query.fusion,
            &normalization,
            query.missing,
            k,
        )
        .map_err(|e| Error::InvalidArgument(e.0))?;
        let hits = fused
            .into_iter()
            .map(|f| FusedHit {
                item: union[f.key as usize],
                score: f.score,
                parts: f.parts,
            })
            .collect();
        let explain = FusedExplain {
            columns: explain_columns,
            normalization,
            union: union.len(),
            rescore_micros: started.elapsed().as_micros(),
        };
        Ok((hits, explain))
    }
}
