//! Fused multi-column search: per-column ANN candidates (each column searched with
//! its own index, the filter applied inside each search) → union of the candidate
//! items → EXACT distance of every candidate on every queried column, read from the
//! mapped columns → `quiver_query::fuse` → top-k, with what each stage did kept for
//! EXPLAIN.

use std::collections::HashMap;
use std::time::Instant;

use quiver_index::kernels::{RowDistance, prefetch_bytes};
use quiver_query::{DistanceSpan, Fusion, Missing, Normalization, fuse_lists, threshold};
use quiver_storage::row::check_vector;
use quiver_storage::{Error, Metric, Result, SparseVector, Vectors};

use rayon::prelude::*;

use crate::hits::{ColumnExplain, FusedExplain, Hit};
use crate::lexical::TextQuery;
use crate::multi::MultiTerm;
use crate::search::{SearchHit, SearchOptions, SearchStats, Strategy};
use crate::snapshot::{CollectionSnapshot, ItemRef};
use crate::sparse::SparseQuery;
use quiver_index::multi::MultiQuery;
use quiver_index::stored::segment_span;

/// Candidates asked of each column: at least this many, and `CANDIDATE_FACTOR * k`.
const MIN_CANDIDATES: usize = 40;
const CANDIDATE_FACTOR: usize = 4;
/// At most this many times the first candidate count after widening.
const MAX_WIDENING: usize = 8;
/// A threshold below this means every item was among the candidates.
const UNBOUNDED: f32 = -1e20;

/// What a fused query compares on one column.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Probe<'q> {
    /// A query vector, compared under the vector column's metric.
    Vector(&'q [f32]),
    /// A text, scored by BM25 against a TEXT column with a BM25 index (`MATCH`); its
    /// distance is −score.
    Text(&'q str),
    /// A sparse vector, scored by dot product against a SPARSE column; its distance is
    /// −dot.
    Sparse(&'q SparseVector),
    /// A multi-vector column's query: its nearest vector's distance, or −MAXSIM.
    Multi(MultiQuery<'q>),
}

/// A query over several columns.
#[derive(Clone, Debug)]
pub struct FusedQuery<'q> {
    /// `(column, what to compare it with)` pairs, at least one.
    pub columns: Vec<(&'q str, Probe<'q>)>,
    /// How the columns' normalized scores combine.
    pub fusion: Fusion,
    /// `None`: [`default_normalization`] for the columns' metrics.
    pub normalization: Option<Normalization>,
    /// Items lacking a queried column: left out, or scored on what they have.
    pub missing: Missing,
    /// Candidates taken from each column's index (default `max(40, 4k)`).
    pub candidates: Option<usize>,
    /// Widen the candidates (doubling, up to 8x) until Fagin's threshold proves the
    /// top k. Off by default: on uncorrelated columns the bound is loose and proving
    /// costs many rounds (measured: 3.9 rounds, 0.06x single-column QPS on minilm with
    /// a re-assigned second column); EXPLAIN reports the bound either way.
    pub widen: bool,
    /// ef / nprobe / recall target / exact, for every column's search.
    pub options: SearchOptions,
}

impl<'q> FusedQuery<'q> {
    /// A query fusing by `fusion`, with no column yet and the defaults.
    pub fn new(fusion: Fusion) -> Self {
        FusedQuery {
            columns: Vec::new(),
            fusion,
            normalization: None,
            missing: Missing::Skip,
            candidates: None,
            widen: false,
            options: SearchOptions::default(),
        }
    }

    /// Adds vector column `name` with its query vector.
    pub fn column(mut self, name: &'q str, query: &'q [f32]) -> Self {
        self.columns.push((name, Probe::Vector(query)));
        self
    }

    /// Adds TEXT column `name` (with a BM25 index), matched against `text`.
    pub fn text(mut self, name: &'q str, text: &'q str) -> Self {
        self.columns.push((name, Probe::Text(text)));
        self
    }

    /// Adds SPARSE column `name`, scored by dot product with `query`.
    pub fn sparse(mut self, name: &'q str, query: &'q SparseVector) -> Self {
        self.columns.push((name, Probe::Sparse(query)));
        self
    }
}

/// The normalization used when a query names none, given each queried column's metric
/// and measured span ([`CollectionSnapshot::distance_span`]):
///
/// 1. every column has a span: [`Normalization::Calibrated`], `(far - d) / (far - near)`.
///    A distance gets the same score on every query, so a weight means the same thing
///    on every query; and a true near neighbour scores about 1 and an unrelated item
///    about 0 on every column, so `WEIGHTED(0.5, 0.5)` weighs a text column whose
///    distances spread over [0.3, 0.9] and an image column spread over [0.05, 0.3]
///    evenly (a fixed `1 - d/2` would let the wider column dominate);
/// 2. else, all cosine: [`Normalization::Fixed`] `1 - d/2` (cosine distance spans
///    [0, 2]): still the same on every query;
/// 3. else min-max over the candidates (dot and L2 have no fixed span; per query).
pub fn default_normalization(metrics: &[Metric], spans: &[Option<DistanceSpan>]) -> Normalization {
    if let Some(spans) = spans.iter().copied().collect::<Option<Vec<_>>>()
        && spans.len() == metrics.len()
    {
        Normalization::Calibrated(spans)
    } else if metrics.iter().all(|&m| m == Metric::Cosine) {
        Normalization::Fixed(vec![2.0; metrics.len()])
    } else {
        Normalization::MinMax
    }
}

/// Whether a strategy's hits carry exact distances (IVF-PQ without refine does not).
fn exact_distances(strategy: Strategy) -> bool {
    match strategy {
        Strategy::IvfPq { refine, .. } => refine > 1,
        Strategy::Hnsw { .. }
        | Strategy::Ivf { .. }
        | Strategy::Scan { .. }
        | Strategy::Bm25
        | Strategy::SparsePostings { .. }
        | Strategy::Exact
        | Strategy::ExactUntrained { .. } => true,
    }
}

/// A round's hits, what ran, and the columns' edge distances.
type Round<'s> = (Vec<Hit<'s>>, FusedExplain, Option<Vec<f32>>);

impl CollectionSnapshot {
    /// A column's typical distances ([`DistanceSpan`]) as measured when its segments'
    /// indexes were built: the segments' spans weighted by their live rows. `None` when
    /// no segment recorded one (no index yet, or segments under 1,000 rows).
    pub fn distance_span(&self, column: &str) -> Result<Option<DistanceSpan>> {
        let (_, col) = self.schema().column(column)?;
        let (mut near, mut far, mut weight) = (0f64, 0f64, 0f64);
        for view in self.segments() {
            if let Some(span) = segment_span(&view.segment, col)? {
                let rows = view.live_rows() as f64;
                near += span.near as f64 * rows;
                far += span.far as f64 * rows;
                weight += rows;
            }
        }
        let span = DistanceSpan {
            near: (near / weight) as f32,
            far: (far / weight) as f32,
        };
        Ok((weight > 0.0 && span.is_valid()).then_some(span))
    }

    /// [`default_normalization`] for vector columns; min-max over the candidates as
    /// soon as a MATCH or sparse term takes part (BM25 scores and dot products have no
    /// fixed scale).
    fn default_normalization(
        &self,
        query: &FusedQuery<'_>,
        scorers: &[Scorer<'_>],
    ) -> Result<Normalization> {
        let mut metrics = Vec::with_capacity(scorers.len());
        for scorer in scorers {
            match scorer {
                Scorer::Metric(m) => metrics.push(m.metric()),
                Scorer::Scored(_) => return Ok(Normalization::MinMax),
            }
        }
        let spans = query
            .columns
            .iter()
            .map(|&(name, _)| self.distance_span(name))
            .collect::<Result<Vec<_>>>()?;
        Ok(default_normalization(&metrics, &spans))
    }

    /// How each queried column is scored: a vector column's metric (the vector checked
    /// against the column), or a prepared MATCH or sparse term.
    fn scorers<'s>(&'s self, query: &FusedQuery<'_>) -> Result<Vec<Scorer<'s>>> {
        let mut scorers = Vec::with_capacity(query.columns.len());
        for &(name, probe) in &query.columns {
            scorers.push(match probe {
                Probe::Vector(vector) => {
                    let (_, column) = self.schema().column(name)?;
                    let shape = column.expect_vector()?;
                    check_vector(name, shape.dim as usize, vector)?;
                    Scorer::Metric(RowDistance::new(shape.metric))
                }
                Probe::Text(text) => Scorer::Scored(Box::new(TextQuery::new(self, name, text)?)),
                Probe::Sparse(query) => {
                    Scorer::Scored(Box::new(SparseQuery::new(self, name, query)?))
                }
                Probe::Multi(multi) => {
                    Scorer::Scored(Box::new(MultiTerm::new(self, name, multi, query.options)?))
                }
            });
        }
        Ok(scorers)
    }

    /// `query`'s normalization: its own, else [`default_normalization`].
    fn normalization(
        &self,
        query: &FusedQuery<'_>,
        metrics: &[Scorer<'_>],
    ) -> Result<Normalization> {
        query
            .normalization
            .clone()
            .map_or_else(|| self.default_normalization(query, metrics), Ok)
    }

    /// The `k` items best under `query`'s fusion, among items `filter` accepts.
    pub fn fused_search<'s>(
        &'s self,
        query: &FusedQuery<'_>,
        k: usize,
        filter: Option<&(dyn Fn(&ItemRef<'_>) -> bool + Sync)>,
    ) -> Result<(Vec<Hit<'s>>, FusedExplain)> {
        let metrics = self.scorers(query)?;
        let normalization = self.normalization(query, &metrics)?;
        let per_column = candidates_per_column(query, k);

        // With `widen`, widen the candidates until Fagin's threshold proves that no
        // item outside them can enter the top k (where a bound exists), up to
        // MAX_WIDENING times the first count; an explicit count is taken as given.
        let cap = (per_column * MAX_WIDENING)
            .min(self.count() as usize)
            .max(per_column);
        let mut per_column = per_column;
        let mut rounds = 0;
        loop {
            rounds += 1;
            let (hits, mut explain, edges) =
                self.fused_round(query, &metrics, &normalization, per_column, k, filter)?;
            let tau =
                edges.and_then(|e| threshold(&e, &query.fusion, &normalization, query.missing));
            let proven = tau.map(|t| {
                t < UNBOUNDED || (hits.len() >= k && hits.last().is_some_and(|h| h.score >= t))
            });
            explain.rounds = rounds;
            explain.threshold = tau;
            explain.proven = proven;
            if !query.widen
                || query.candidates.is_some()
                || proven != Some(false)
                || per_column >= cap
            {
                return Ok((hits, explain));
            }
            per_column = (per_column * 2).min(cap);
        }
    }

    /// The `k` best items under each of `queries`, which search the same columns with
    /// the same vectors and candidate count (the first query's search options apply)
    /// and differ only in fusion, normalization or missing-value policy: the
    /// candidates are searched and re-scored once for all of them (what a SWEEP over
    /// fusion settings shares). Never widens.
    pub fn fused_search_each<'s>(
        &'s self,
        queries: &[FusedQuery<'_>],
        k: usize,
        filter: Option<&(dyn Fn(&ItemRef<'_>) -> bool + Sync)>,
    ) -> Result<Vec<(Vec<Hit<'s>>, FusedExplain)>> {
        let Some(first) = queries.first() else {
            return Ok(Vec::new());
        };
        if queries
            .iter()
            .any(|q| q.columns != first.columns || q.candidates != first.candidates)
        {
            return Err(Error::InvalidArgument(
                "fused searches sharing candidates must query the same columns with the same vectors".into(),
            ));
        }
        let metrics = self.scorers(first)?;
        let gathered = self.gather(first, &metrics, candidates_per_column(first, k), filter)?;
        queries
            .iter()
            .map(|q| fuse_gathered(&gathered, q, &self.normalization(q, &metrics)?, k))
            .collect()
    }

    /// `query`'s candidates for its top `k` (what its fused search re-scores, the same
    /// for every fusion of its columns) and their exact distances on every column.
    pub fn fused_candidates<'s>(
        &'s self,
        query: &FusedQuery<'_>,
        k: usize,
        filter: Option<&(dyn Fn(&ItemRef<'_>) -> bool + Sync)>,
    ) -> Result<FusedCandidates<'s>> {
        let scorers = self.scorers(query)?;
        let default_normalization = self.default_normalization(query, &scorers)?;
        let gathered = self.gather(query, &scorers, candidates_per_column(query, k), filter)?;
        let list_ranks = (0..gathered.union.len() as u32)
            .map(|key| {
                gathered
                    .lists
                    .iter()
                    .map(|l| l.get(&key).copied())
                    .collect()
            })
            .collect();
        Ok(FusedCandidates {
            items: gathered.union,
            distances: gathered.exact,
            list_ranks,
            default_normalization,
        })
    }

    /// One round of the plan with `per_column` candidates per column: the hits, what
    /// ran, and each column's edge distance (`None` when some column's distances were
    /// not exact, so no threshold holds).
    fn fused_round<'s>(
        &'s self,
        query: &FusedQuery<'_>,
        metrics: &[Scorer<'s>],
        normalization: &Normalization,
        per_column: usize,
        k: usize,
        filter: Option<&(dyn Fn(&ItemRef<'_>) -> bool + Sync)>,
    ) -> Result<Round<'s>> {
        let gathered = self.gather(query, metrics, per_column, filter)?;
        let (hits, explain) = fuse_gathered(&gathered, query, normalization, k)?;
        Ok((hits, explain, gathered.edges))
    }

    /// The candidates of `query` with `per_column` from each column, and their exact
    /// distances on every column.
    fn gather<'s>(
        &'s self,
        query: &FusedQuery<'_>,
        metrics: &[Scorer<'s>],
        per_column: usize,
        filter: Option<&(dyn Fn(&ItemRef<'_>) -> bool + Sync)>,
    ) -> Result<Gathered<'s>> {
        // 1. Candidates per column, searched in parallel on the rayon pool (each column
        // is its own index and memory; one query's wall time is then the slowest
        // column's, not their sum). 2. Their union (by id: ids are unique).
        let searched: Vec<Result<(Vec<SearchHit<'s>>, SearchStats, u128)>> = query
            .columns
            .par_iter()
            .zip(metrics)
            .map(|(&(name, probe), scorer)| {
                let started = Instant::now();
                let filter = filter.map(|f| f as &dyn Fn(&ItemRef<'_>) -> bool);
                let (hits, stats) = match (probe, scorer) {
                    (_, Scorer::Scored(term)) => term.top(per_column, filter)?,
                    (Probe::Vector(vector), Scorer::Metric(_)) => {
                        self.search_where(name, vector, per_column, &query.options, filter)?
                    }
                    (_, Scorer::Metric(_)) => {
                        return Err(Error::InvalidArgument(format!(
                            "column {name}: a text or sparse vector for a vector column"
                        )));
                    }
                };
                Ok((hits, stats, started.elapsed().as_micros()))
            })
            .collect();
        let mut union: Vec<ItemRef<'s>> = Vec::new();
        let mut seen: HashMap<&'s str, u32> = HashMap::new();
        // Distances the column searches already computed exactly (HNSW, flat and refined
        // IVF-PQ hits carry exact distances; quantized ones are recomputed below).
        let mut known: HashMap<(u32, usize), f32> = HashMap::new();
        // Each column's own list: where each of its hits stands in it (RRF LISTS).
        let mut lists: Vec<HashMap<u32, usize>> = Vec::with_capacity(query.columns.len());
        let mut explain_columns = Vec::new();
        let mut edges: Option<Vec<f32>> = Some(Vec::with_capacity(query.columns.len()));
        for (c, (&(name, _), result)) in query.columns.iter().zip(searched).enumerate() {
            let (hits, stats, micros) = result?;
            let exact_hits = stats.parts.iter().all(|p| exact_distances(p.strategy));
            // The largest candidate distance bounds every item the column did not
            // return; a column that returned fewer than asked returned every item.
            let edge = match hits.last() {
                Some(last) if hits.len() >= per_column => last.distance,
                _ => f32::INFINITY,
            };
            edges = match (edges, exact_hits) {
                (Some(mut e), true) => {
                    e.push(edge);
                    Some(e)
                }
                _ => None,
            };
            let mut list = HashMap::with_capacity(hits.len());
            for (place, hit) in hits.iter().enumerate() {
                let id = hit.item.id()?;
                let key = *seen.entry(id).or_insert_with(|| {
                    union.push(hit.item);
                    union.len() as u32 - 1
                });
                list.insert(key, place + 1);
                if exact_hits {
                    known.insert((key, c), hit.distance);
                }
            }
            lists.push(list);
            explain_columns.push(ColumnExplain {
                column: name.to_string(),
                stats,
                candidates: hits.len(),
                micros,
            });
        }

        // 3. Exact distances of every candidate on every column (the missing ones read
        // from the map, all prefetched first: they are random rows), 4. fusion.
        let started = Instant::now();
        let mut vectors: Vec<Vec<Option<Vectors<'s>>>> = Vec::with_capacity(union.len());
        for (key, item) in union.iter().enumerate() {
            let mut row = Vec::with_capacity(query.columns.len());
            for (c, &(name, probe)) in query.columns.iter().enumerate() {
                let v = match probe {
                    Probe::Vector(_) if !known.contains_key(&(key as u32, c)) => {
                        let v = item.stored_vector(name)?;
                        if let Some(v) = v {
                            prefetch_bytes(v.bytes(), 32);
                        }
                        v
                    }
                    _ => None,
                };
                row.push(v);
            }
            vectors.push(row);
        }
        let mut term_rescored = 0;
        let mut exact: Vec<Vec<Option<f32>>> = Vec::with_capacity(union.len());
        for (key, (row, item)) in vectors.iter().zip(&union).enumerate() {
            let mut distances = Vec::with_capacity(row.len());
            for (c, ((v, &(_, probe)), scorer)) in
                row.iter().zip(&query.columns).zip(metrics).enumerate()
            {
                let d = match (known.get(&(key as u32, c)), probe, scorer) {
                    (Some(&d), _, _) => Some(d),
                    (None, Probe::Vector(q), Scorer::Metric(kernel)) => v.map(|v| kernel.to(q, v)),
                    (None, _, Scorer::Scored(term)) => {
                        term_rescored += 1;
                        term.score_of(item)?.map(|s| -(s as f32))
                    }
                    (None, _, Scorer::Metric(_)) => None,
                };
                distances.push(d);
            }
            exact.push(distances);
        }
        let rescored = vectors.iter().flatten().filter(|v| v.is_some()).count() + term_rescored;
        Ok(Gathered {
            union,
            exact,
            lists,
            columns: explain_columns,
            rescored,
            rescore_micros: started.elapsed().as_micros(),
            edges,
        })
    }
}

/// A fused query's candidates: what every fusion of its columns ranks
/// ([`CollectionSnapshot::fused_candidates`]).
#[derive(Clone, Debug)]
pub struct FusedCandidates<'s> {
    /// The union of the columns' candidates, in the order fusion breaks ties by.
    pub items: Vec<ItemRef<'s>>,
    /// `[candidate][column]`: the exact distance (`None`: the item has no value).
    pub distances: Vec<Vec<Option<f32>>>,
    /// `[candidate][column]`: the 1-based place in the column's own result list.
    pub list_ranks: Vec<Vec<Option<usize>>>,
    /// The normalization the query gets when it names none.
    pub default_normalization: Normalization,
}

/// How one queried column is scored.
pub(crate) enum Scorer<'s> {
    /// A vector column's metric, with its distance kernels.
    Metric(RowDistance),
    /// A MATCH, sparse or multi-vector term, prepared on the snapshot.
    Scored(Box<dyn ScoredTerm<'s> + 's>),
}

/// A term that ranks its own column and scores any one item exactly, with higher
/// better (its distance is −score): MATCH's BM25, a sparse vector's dot product, a
/// multi-vector column's nearest vector or MAXSIM.
pub(crate) trait ScoredTerm<'s>: Sync {
    /// The best `k` items among those `filter` accepts.
    fn top(
        &self,
        k: usize,
        filter: Option<&dyn Fn(&ItemRef<'_>) -> bool>,
    ) -> Result<(Vec<SearchHit<'s>>, SearchStats)>;
    /// `item`'s score; `None` when it has none (NULL, or nothing in common).
    fn score_of(&self, item: &ItemRef<'_>) -> Result<Option<f64>>;
}

impl<'s> ScoredTerm<'s> for TextQuery<'s> {
    fn top(
        &self,
        k: usize,
        filter: Option<&dyn Fn(&ItemRef<'_>) -> bool>,
    ) -> Result<(Vec<SearchHit<'s>>, SearchStats)> {
        TextQuery::top(self, k, filter)
    }
    fn score_of(&self, item: &ItemRef<'_>) -> Result<Option<f64>> {
        TextQuery::score_of(self, item)
    }
}

impl<'s> ScoredTerm<'s> for SparseQuery<'s> {
    fn top(
        &self,
        k: usize,
        filter: Option<&dyn Fn(&ItemRef<'_>) -> bool>,
    ) -> Result<(Vec<SearchHit<'s>>, SearchStats)> {
        SparseQuery::top(self, k, filter)
    }
    fn score_of(&self, item: &ItemRef<'_>) -> Result<Option<f64>> {
        SparseQuery::score_of(self, item)
    }
}

impl<'s> ScoredTerm<'s> for MultiTerm<'s> {
    fn top(
        &self,
        k: usize,
        filter: Option<&dyn Fn(&ItemRef<'_>) -> bool>,
    ) -> Result<(Vec<SearchHit<'s>>, SearchStats)> {
        MultiTerm::top(self, k, filter)
    }
    fn score_of(&self, item: &ItemRef<'_>) -> Result<Option<f64>> {
        MultiTerm::score_of(self, item)
    }
}

/// Candidates asked of each column for the top `k` under `query`.
fn candidates_per_column(query: &FusedQuery<'_>, k: usize) -> usize {
    query
        .candidates
        .unwrap_or((CANDIDATE_FACTOR * k).max(MIN_CANDIDATES))
        .max(k)
}

/// A fused query's candidates: the union of the columns' hits, each one's exact
/// distance on every column (`None`: no value), what the column searches did, and
/// each column's edge distance (`None` when some column's distances were not exact).
struct Gathered<'s> {
    union: Vec<ItemRef<'s>>,
    exact: Vec<Vec<Option<f32>>>,
    /// Per column, each union key's 1-based place in that column's own hits.
    lists: Vec<HashMap<u32, usize>>,
    columns: Vec<ColumnExplain>,
    rescored: usize,
    rescore_micros: u128,
    edges: Option<Vec<f32>>,
}

/// The top `k` of `gathered` under `query`'s fusion and `normalization`.
fn fuse_gathered<'s>(
    gathered: &Gathered<'s>,
    query: &FusedQuery<'_>,
    normalization: &Normalization,
    k: usize,
) -> Result<(Vec<Hit<'s>>, FusedExplain)> {
    let started = Instant::now();
    let keys: Vec<u32> = (0..gathered.union.len() as u32).collect();
    let lookup = |c: usize, key: u32| gathered.exact[key as usize][c];
    let list_rank = |c: usize, key: u32| gathered.lists[c].get(&key).copied();
    let fused = fuse_lists(
        &keys,
        query.columns.len(),
        &lookup,
        &list_rank,
        &query.fusion,
        normalization,
        query.missing,
        k,
    )
    .map_err(|e| Error::InvalidArgument(e.0))?;
    let hits = fused
        .into_iter()
        .map(|f| Hit {
            item: gathered.union[f.key as usize],
            score: f.score,
            parts: f.parts,
            attributes: Vec::new(),
            element: None,
        })
        .collect();
    let explain = FusedExplain {
        columns: gathered.columns.clone(),
        normalization: normalization.clone(),
        union: gathered.union.len(),
        rescored: gathered.rescored,
        rescore_micros: gathered.rescore_micros,
        fuse_micros: started.elapsed().as_micros(),
        rounds: 1,
        threshold: None,
        proven: None,
    };
    Ok((hits, explain))
}
