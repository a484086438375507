//! The ranking step of a query: the snapshot's best `k` items for an ORDER BY (one
//! column's distance, or several fused) once the query vectors are known, with the
//! EXPLAIN plan when asked. SELECT and EVALUATE both rank through here.

use std::time::Instant;

use quiver_query::sql::{FusionSpec, MissingSpec, Nearest, NormalizeSpec, Order};
use quiver_query::{ColumnPart, Fusion, Missing, Normalization};
use quiver_storage::{Error, Result};

use crate::fused::{FusedHit, FusedQuery};
use crate::search::SearchOptions;
use crate::snapshot::{CollectionSnapshot, ItemRef};
use crate::sql_filter::Filter;

/// A filter on items, shareable across the fused search's threads.
pub(crate) type ItemFilter<'f> = &'f (dyn Fn(&ItemRef<'_>) -> bool + Sync);

/// One ranked item.
#[derive(Clone, Debug)]
pub struct RankedItem<'s> {
    pub item: ItemRef<'s>,
    /// The score it was ranked by (higher is better): the fused score, or one column's
    /// similarity score.
    pub score: f32,
    /// Per ORDER BY term: raw distance, normalized score, rank among the candidates,
    /// contribution to `score`; `None` where the item has no value for that column.
    /// One column's search fills `normalized` and `contribution` with `score`.
    pub parts: Vec<Option<ColumnPart>>,
}

/// Ranked items, best first; and the plan's lines (EXPLAIN), empty unless asked.
#[derive(Clone, Debug)]
pub struct Ranking<'s> {
    pub items: Vec<RankedItem<'s>>,
    pub plan: Vec<String>,
}

impl CollectionSnapshot {
    /// The best `k` items by `order` (one column's distance, or several fused: what
    /// SELECT's ORDER BY ranks by) among those `filter` accepts, `vectors[i]` being
    /// term `i`'s query vector (each term's own query is ignored), with each column's
    /// part of the score, and the EXPLAIN plan's lines when `explain`. `options` (ef,
    /// nprobe, exact, ...) apply to every column's search.
    pub fn rank(
        &self,
        order: &Order,
        vectors: &[&[f32]],
        k: usize,
        filter: Option<&Filter>,
        options: &SearchOptions,
        explain: bool,
    ) -> Result<Ranking<'_>> {
        let keep = |item: &ItemRef<'_>| filter.is_none_or(|f| f.matches(item));
        let keep: ItemFilter<'_> = &keep;
        rank(
            self,
            order,
            vectors,
            k,
            filter.map(|_| keep),
            options,
            explain,
        )
    }
}

/// The terms of an ORDER BY: one `column <-> vector`, or each of FUSE's.
pub(crate) fn terms(order: &Order) -> Vec<&Nearest> {
    match order {
        Order::Distance(n) => vec![n],
        Order::Fuse(_, ns, _) => ns.iter().collect(),
    }
}

/// The best `k` items of `snap` by `order` (`vectors[i]` is the query vector of term
/// `i`) that pass `filter`, best first, with their scores; and the plan's lines when
/// `explain`.
pub(crate) fn rank<'s>(
    snap: &'s CollectionSnapshot,
    order: &Order,
    vectors: &[&[f32]],
    k: usize,
    filter: Option<ItemFilter<'_>>,
    search: &SearchOptions,
    explain: bool,
) -> Result<Ranking<'s>> {
    let terms = terms(order);
    if terms.len() != vectors.len() {
        return Err(Error::InvalidArgument(format!(
            "{} query vectors for {} terms",
            vectors.len(),
            terms.len()
        )));
    }
    let started = Instant::now();
    let (items, plan): (Vec<RankedItem<'_>>, Vec<String>) = match order {
        Order::Distance(n) => {
            let (hits, stats) = snap.search_where(
                &n.column,
                vectors[0],
                k,
                search,
                filter.map(|f| f as &dyn Fn(&ItemRef<'_>) -> bool),
            )?;
            let micros = started.elapsed().as_micros();
            let plan = match explain {
                true => crate::explain::single(&n.column, k, &stats, &hits, micros)?,
                false => Vec::new(),
            };
            let items = hits
                .into_iter()
                .enumerate()
                .map(|(i, h)| RankedItem {
                    item: h.item,
                    score: h.score,
                    parts: vec![Some(ColumnPart {
                        distance: h.distance,
                        normalized: h.score,
                        rank: i + 1,
                        contribution: h.score,
                    })],
                })
                .collect();
            (items, plan)
        }
        Order::Fuse(..) => {
            let (spec, query) = fused_query(snap, order, vectors, search)?;
            let (hits, fused) = snap.fused_search(&query, k, filter)?;
            let micros = started.elapsed().as_micros();
            let plan = match explain {
                true => {
                    let names: Vec<&str> = terms.iter().map(|t| t.column.as_str()).collect();
                    crate::explain::fused(&spec.to_string(), &names, k, &fused, &hits, micros)?
                }
                false => Vec::new(),
            };
            (ranked(hits), plan)
        }
    };
    Ok(Ranking { items, plan })
}

/// A FUSE order as a fused query with `vectors[i]` for term `i`, and its fusion with
/// `DEFAULT` resolved.
fn fused_query<'q>(
    snap: &CollectionSnapshot,
    order: &'q Order,
    vectors: &[&'q [f32]],
    search: &SearchOptions,
) -> Result<(FusionSpec, FusedQuery<'q>)> {
    let Order::Fuse(spec, terms, options) = order else {
        return Err(Error::InvalidArgument("expected ORDER BY FUSE(...)".into()));
    };
    let terms: Vec<&Nearest> = terms.iter().collect();
    let spec = resolve_default(snap, spec, &terms)?;
    let mut query = FusedQuery::new(fusion(&spec)?);
    query.options = *search;
    query.missing = match options.missing {
        None | Some(MissingSpec::Skip) => Missing::Skip,
        Some(MissingSpec::Partial) => Missing::ScorePresent,
    };
    for (term, v) in terms.iter().zip(vectors) {
        query = query.column(&term.column, v);
    }
    query.normalization = match options.normalize {
        None => None,
        Some(NormalizeSpec::None) => Some(Normalization::None),
        Some(NormalizeSpec::MinMax) => Some(Normalization::MinMax),
        Some(NormalizeSpec::ZScore) => Some(Normalization::ZScore),
        Some(NormalizeSpec::Calibrated) => Some(calibrated(snap, &terms)?),
    };
    Ok((spec, query))
}

/// The best `k` items of `snap` by each of `orders`: FUSE orders over the same terms,
/// `vectors[i]` being term `i`'s query vector, ranked from one candidate search and
/// re-scoring (`CollectionSnapshot::fused_search_each`): what a SWEEP over fusion
/// settings shares.
pub(crate) fn rank_fusions<'s>(
    snap: &'s CollectionSnapshot,
    orders: &[&Order],
    vectors: &[&[f32]],
    k: usize,
) -> Result<Vec<Vec<RankedItem<'s>>>> {
    let search = SearchOptions::default();
    let queries = orders
        .iter()
        .map(|order| Ok(fused_query(snap, order, vectors, &search)?.1))
        .collect::<Result<Vec<_>>>()?;
    let answers = snap.fused_search_each(&queries, k, None)?;
    Ok(answers.into_iter().map(|(hits, _)| ranked(hits)).collect())
}

fn ranked(hits: Vec<FusedHit<'_>>) -> Vec<RankedItem<'_>> {
    hits.into_iter()
        .map(|h| RankedItem {
            item: h.item,
            score: h.score,
            parts: h.parts,
        })
        .collect()
}

/// `NORMALIZE CALIBRATED`: every queried column's measured span, or an error naming a
/// column that has none.
fn calibrated(snap: &CollectionSnapshot, terms: &[&Nearest]) -> Result<Normalization> {
    let mut spans = Vec::with_capacity(terms.len());
    for term in terms {
        spans.push(snap.distance_span(&term.column)?.ok_or_else(|| {
            Error::InvalidArgument(format!(
                "column {} has no measured distance span for NORMALIZE CALIBRATED \
                 (spans are measured when an index is built on a segment of 1,000 rows or more)",
                term.column
            ))
        })?);
    }
    Ok(Normalization::Calibrated(spans))
}

/// `spec`, with `DEFAULT` replaced by the collection's saved default fusion, which must
/// be for exactly these columns in this order.
fn resolve_default(
    snap: &CollectionSnapshot,
    spec: &FusionSpec,
    terms: &[&Nearest],
) -> Result<FusionSpec> {
    if *spec != FusionSpec::Default {
        return Ok(spec.clone());
    }
    let saved = snap.schema().default_fusion().ok_or_else(|| {
        Error::InvalidArgument(
            "FUSE(DEFAULT, ...): no default fusion saved (EVALUATE ... SWEEP ... SAVE BEST saves one)"
                .into(),
        )
    })?;
    let columns: Vec<&str> = terms.iter().map(|t| t.column.as_str()).collect();
    if saved.columns != columns {
        return Err(Error::InvalidArgument(format!(
            "the default fusion {} is for columns ({}); this query fuses ({})",
            saved.fusion,
            saved.columns.join(", "),
            columns.join(", ")
        )));
    }
    quiver_query::sql::parse_fusion(&saved.fusion)
        .map_err(|e| Error::InvalidArgument(format!("saved default fusion {}: {e}", saved.fusion)))
}

fn fusion(spec: &FusionSpec) -> Result<Fusion> {
    Ok(match spec {
        FusionSpec::Weighted(w) => Fusion::Weighted(w.iter().map(|&x| x as f32).collect()),
        FusionSpec::Rrf(k) => Fusion::Rrf { k: *k as f32 },
        FusionSpec::Min => Fusion::Min,
        FusionSpec::Max => Fusion::Max,
        FusionSpec::Avg => Fusion::Avg,
        FusionSpec::Default => {
            return Err(Error::InvalidArgument(
                "a saved default fusion cannot itself be DEFAULT".into(),
            ));
        }
    })
}
