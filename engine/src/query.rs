//! The one query type: a [`Query`] (terms, fusion, normalization, filter, k, search
//! options, EXPLAIN, attributes to return) runs on a collection snapshot and gives
//! [`Hits`]. Rust programs build it directly, the SQL layer compiles its ORDER BY
//! into it, Python builds it from keyword arguments, and EVALUATE runs one per query
//! and setting.
//!
//! One term without a fusion is a nearest-neighbour search on that column (the hit's
//! score is the column's similarity score); with a fusion, every term's column is
//! searched for candidates, the union re-scored exactly and fused (`fused.rs`).

use std::time::Instant;

use quiver_index::multi::MultiQuery;
use quiver_query::sql::Embed;
use quiver_query::{ColumnPart, Fusion, Missing, Normalization};
use quiver_storage::{Error, MultiVector, Result, SparseVector, Value};

use crate::database::Database;
use crate::filter::Filter;
use crate::fused::{FusedCandidates, FusedQuery, Probe};
use crate::hits::{Hit, Hits, Plan};
use crate::search::{SearchHit, SearchOptions, SearchStats};
use crate::snapshot::{CollectionSnapshot, ItemRef};

/// What one term's query vector is.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// A vector of the column's dimension.
    Vector(Vec<f32>),
    /// A sparse vector against a SPARSE column (`terms <-> {12: 0.5}`): alone, the
    /// hit's score is the dot product; fused, the term's distance is −dot and the
    /// default normalization is min-max.
    Sparse(SparseVector),
    /// Vectors against a multi-vector column, ranked by late interaction
    /// (`MAXSIM(frames, [[...], ...])`): the hit's score is MAXSIM, its distance
    /// −MAXSIM.
    Vectors(MultiVector),
    /// The column's vector (or sparse vector) of the item with this id (`VECTOR OF
    /// 'id'`); on a multi-vector column, the item's vectors, ranked by MAXSIM.
    Item(String),
    /// `MAXSIM(frames, VECTOR OF 'id')`: the item's vectors, on a multi-vector column
    /// only.
    ItemVectors(String),
    /// An encoder's vector for a text or an image file (`EMBED(...)`), embedded when
    /// the query runs.
    Embed(Embed),
    /// Each labelled query's vector (EVALUATE's `QUERY`): its text embedded by the
    /// column's encoder, or its query item's own vector (on a SPARSE column, only item
    /// queries have one). EVALUATE replaces it before
    /// the query runs; a query run as is refuses it.
    Labelled,
    /// Each labelled query's text (EVALUATE's `MATCH(column, QUERY)`): its own text, or
    /// its query item's text in the column. EVALUATE replaces it with
    /// [`Target::Match`]; a query run as is refuses it.
    LabelledText,
    /// BM25 of this text against a TEXT column with a BM25 index (`MATCH(column,
    /// 'text')`): alone, the hit's score is the BM25 score; fused, the term's distance
    /// is −score and the default normalization is min-max.
    Match(String),
}

/// One ranked column: `column <-> target`.
#[derive(Clone, Debug, PartialEq)]
pub struct Term {
    /// A vector column of the collection.
    pub column: String,
    /// Its query vector.
    pub target: Target,
}

/// How the terms' scores combine.
#[derive(Clone, Debug, PartialEq)]
pub enum FusionChoice {
    /// This fusion.
    Given(Fusion),
    /// A fusion profile of the collection (`FUSE(PROFILE name [FOR 'label'], ...)`;
    /// `FUSE(DEFAULT, ...)` is the profile `default`, saved by EVALUATE's `SAVE BEST`),
    /// which must be for exactly these columns in this order. Its normalization
    /// applies unless the query names the same one.
    Profile {
        /// The profile's name.
        name: String,
        /// A per-label profile's label.
        label: Option<String>,
    },
}

/// How each term's distances become scores before fusion.
#[derive(Clone, Debug, PartialEq)]
pub enum NormalizationChoice {
    /// This normalization.
    Given(Normalization),
    /// Every column's measured distance span (`NORMALIZE CALIBRATED`); an error names
    /// a column that has none.
    Calibrated,
}

/// A query on one collection.
#[derive(Clone, Debug)]
pub struct Query {
    /// At least one.
    pub terms: Vec<Term>,
    /// `None`: one term, ranked by its own score. `Some`: a fused search.
    pub fusion: Option<FusionChoice>,
    /// `None`: [`default_normalization`](crate::default_normalization).
    pub normalization: Option<NormalizationChoice>,
    /// Items lacking a term's column: left out, or scored on the columns they have.
    pub missing: Missing,
    /// Only items the filter accepts are ranked.
    pub filter: Option<Filter>,
    /// How many items to return.
    pub k: usize,
    /// ef / nprobe / recall target / exact, for every term's search.
    pub options: SearchOptions,
    /// Keep what each stage did in [`Hits::plan`].
    pub explain: bool,
    /// Attribute columns each hit carries ([`Hit::attributes`], in this order).
    pub attributes: Vec<String>,
}

impl Query {
    /// The `k` items nearest to `target` on `column`.
    pub fn nearest(column: &str, target: Target, k: usize) -> Query {
        Query {
            terms: vec![Term {
                column: column.to_string(),
                target,
            }],
            fusion: None,
            normalization: None,
            missing: Missing::Skip,
            filter: None,
            k,
            options: SearchOptions::default(),
            explain: false,
            attributes: Vec::new(),
        }
    }

    /// The `k` items best under `fusion` of the terms added with [`Query::term`].
    pub fn fused(fusion: FusionChoice, k: usize) -> Query {
        Query {
            terms: Vec::new(),
            fusion: Some(fusion),
            ..Query::nearest("", Target::Vector(Vec::new()), k)
        }
    }

    /// Adds the term `column <-> target`.
    pub fn term(mut self, column: &str, target: Target) -> Query {
        self.terms.push(Term {
            column: column.to_string(),
            target,
        });
        self
    }

    /// Ranks only items `filter` accepts.
    pub fn filter(mut self, filter: Filter) -> Query {
        self.filter = Some(filter);
        self
    }

    /// Searches every term's column with `options`.
    pub fn options(mut self, options: SearchOptions) -> Query {
        self.options = options;
        self
    }

    /// Keeps the plan in [`Hits::plan`](crate::Hits::plan).
    pub fn explain(mut self, yes: bool) -> Query {
        self.explain = yes;
        self
    }

    /// Each hit carries these columns' values (`id` allowed).
    pub fn attributes<S: AsRef<str>>(mut self, names: &[S]) -> Query {
        self.attributes = names.iter().map(|n| n.as_ref().to_string()).collect();
        self
    }
}

impl Database {
    /// Runs `query` on `snap`: `EMBED` targets are embedded with their encoder (checked
    /// against the column's recorded encoder), item targets read from `snap`.
    pub fn query<'s>(&self, snap: &'s CollectionSnapshot, query: &Query) -> Result<Hits<'s>> {
        let resolved = self.resolve(snap, &query.terms)?;
        run(snap, query, &probes(snap, &query.terms, &resolved)?)
    }

    /// [`Database::query`] for each of `queries` on one snapshot. Fused queries over
    /// the same terms (differing in fusion, normalization or missing-value policy, as a
    /// sweep over fusion settings does) search and re-score their candidates once for
    /// all; they run without filter and EXPLAIN.
    pub fn query_each<'s>(
        &self,
        snap: &'s CollectionSnapshot,
        queries: &[Query],
    ) -> Result<Vec<Hits<'s>>> {
        let Some(first) = queries.first() else {
            return Ok(Vec::new());
        };
        let shared = queries.len() > 1
            && queries.iter().all(|q| {
                q.fusion.is_some()
                    && q.terms == first.terms
                    && q.k == first.k
                    && q.filter.is_none()
                    && !q.explain
            });
        if !shared {
            return queries.iter().map(|q| self.query(snap, q)).collect();
        }
        let resolved = self.resolve(snap, &first.terms)?;
        let probes = probes(snap, &first.terms, &resolved)?;
        let started = Instant::now();
        let fused = queries
            .iter()
            .map(|q| Ok(fused_query(snap, q, &probes)?.1))
            .collect::<Result<Vec<_>>>()?;
        let answers = snap.fused_search_each(&fused, first.k, None)?;
        let share = started.elapsed().as_micros() / queries.len() as u128;
        queries
            .iter()
            .zip(answers)
            .map(|(q, (hits, _))| {
                let hits = hits
                    .into_iter()
                    .map(|h| hit(q, h.item, h.score, h.parts))
                    .collect::<Result<_>>()?;
                Ok(answer(q, hits, None, share))
            })
            .collect()
    }

    /// The candidates of fused `query` (with `query.k`) and their exact distances on
    /// every column: what any fusion of its terms ranks, gathered once (EVALUATE ...
    /// TUNE WEIGHTS re-fuses them under many settings).
    pub fn fused_candidates<'s>(
        &self,
        snap: &'s CollectionSnapshot,
        query: &Query,
    ) -> Result<FusedCandidates<'s>> {
        let resolved = self.resolve(snap, &query.terms)?;
        let probes = probes(snap, &query.terms, &resolved)?;
        let (_, fused) = fused_query(snap, query, &probes)?;
        let keep = |item: &ItemRef<'_>| query.filter.as_ref().is_none_or(|f| f.matches(item));
        let keep: &(dyn Fn(&ItemRef<'_>) -> bool + Sync) = &keep;
        snap.fused_candidates(&fused, query.k, query.filter.as_ref().map(|_| keep))
    }

    /// What each term compares its column with: a query vector, a sparse vector or
    /// MATCH's text.
    fn resolve(&self, snap: &CollectionSnapshot, terms: &[Term]) -> Result<Vec<Target>> {
        terms.iter().map(|t| self.resolve_term(snap, t)).collect()
    }

    /// `term`'s target made concrete on `snap`: a [`Target::Vector`] (given, an item's
    /// or an encoder's), a [`Target::Sparse`] (given or an item's) or a
    /// [`Target::Match`].
    pub fn resolve_term(&self, snap: &CollectionSnapshot, term: &Term) -> Result<Target> {
        let (_, column) = snap.schema().column(&term.column)?;
        let sparse_column = || column.is_sparse();
        let maxsim_needs_multi = || {
            column.expect_multi().map_err(|_| {
                Error::InvalidArgument(format!(
                    "MAXSIM ranks a multi-vector column (VECTOR(n)[]); {} is {}: query it with one vector",
                    term.column,
                    column.type_name()
                ))
            })
        };
        match &term.target {
            Target::Match(_) | Target::Sparse(_) => Ok(term.target.clone()),
            Target::Vectors(_) => {
                maxsim_needs_multi()?;
                Ok(term.target.clone())
            }
            Target::ItemVectors(id) | Target::Item(id) if column.multi().is_some() => {
                match item_of(snap, id)?.value(&term.column)? {
                    Value::Vectors(v) => Ok(Target::Vectors(v)),
                    _ => Err(Error::InvalidArgument(format!(
                        "item '{id}' has no {}",
                        term.column
                    ))),
                }
            }
            Target::ItemVectors(_) => Err(maxsim_needs_multi().unwrap_err()),
            Target::LabelledText => Err(Error::InvalidArgument(
                "MATCH(column, QUERY) takes each labelled query's text: it belongs in EVALUATE"
                    .into(),
            )),
            Target::Item(id) if sparse_column() => match item_of(snap, id)?.value(&term.column)? {
                Value::Sparse(v) => Ok(Target::Sparse(v)),
                _ => Err(Error::InvalidArgument(format!(
                    "item '{id}' has no {}",
                    term.column
                ))),
            },
            _ => Ok(Target::Vector(self.term_vector(snap, term)?)),
        }
    }

    /// `term`'s query vector on `snap`: its own vector, the item's, or the encoder's
    /// (checked against the column's recorded encoder).
    pub fn term_vector(&self, snap: &CollectionSnapshot, term: &Term) -> Result<Vec<f32>> {
        match &term.target {
            Target::Vector(v) => Ok(v.clone()),
            Target::Item(id) => item_of(snap, id)?
                .vector(&term.column)?
                .map(|v| v.to_vec())
                .ok_or_else(|| {
                    Error::InvalidArgument(format!("item '{id}' has no {}", term.column))
                }),
            Target::Embed(call) => {
                let (mut vectors, _) =
                    self.embed_for_column(snap.schema(), &term.column, &[call])?;
                vectors
                    .pop()
                    .ok_or_else(|| Error::InvalidArgument("the encoder returned nothing".into()))
            }
            Target::Labelled => Err(Error::InvalidArgument(
                "QUERY stands for each labelled query's vector: it belongs in EVALUATE".into(),
            )),
            Target::Match(_) | Target::LabelledText => Err(Error::InvalidArgument(format!(
                "MATCH({}, ...) scores a text column: it has no query vector",
                term.column
            ))),
            Target::Sparse(_) => Err(Error::InvalidArgument(format!(
                "{}: a sparse vector is not a dense query vector",
                term.column
            ))),
            Target::Vectors(_) | Target::ItemVectors(_) => Err(Error::InvalidArgument(format!(
                "{}: MAXSIM's vectors are not one query vector",
                term.column
            ))),
        }
    }
}

/// The live item `id` (for `VECTOR OF`).
fn item_of<'s>(snap: &'s CollectionSnapshot, id: &str) -> Result<ItemRef<'s>> {
    snap.get(id)?
        .ok_or_else(|| Error::InvalidArgument(format!("no item '{id}' for VECTOR OF")))
}

/// Resolved terms ([`Database::resolve_term`]) as the fused search's probes: on a
/// multi-vector column a vector ranks by its nearest element, vectors by MAXSIM.
fn probes<'r>(
    snap: &CollectionSnapshot,
    terms: &[Term],
    resolved: &'r [Target],
) -> Result<Vec<Probe<'r>>> {
    let multi = |c: &str| {
        snap.schema()
            .column(c)
            .is_ok_and(|(_, col)| col.multi().is_some())
    };
    resolved
        .iter()
        .zip(terms)
        .map(|(r, term)| match r {
            Target::Sparse(v) => Ok(Probe::Sparse(v)),
            Target::Match(t) => Ok(Probe::Text(t)),
            Target::Vector(v) if multi(&term.column) => Ok(Probe::Multi(MultiQuery::Nearest(v))),
            Target::Vectors(v) => Ok(Probe::Multi(MultiQuery::MaxSim(v.as_flat()))),
            Target::Vector(v) => Ok(Probe::Vector(v)),
            other => Err(Error::InvalidArgument(format!(
                "{other:?} must be resolved before the query runs"
            ))),
        })
        .collect()
}

/// A one-column search's answer: each hit's score is the column's score, its only
/// part the column's distance, score and rank.
fn one_column<'s>(
    query: &Query,
    column: &str,
    found: Vec<SearchHit<'s>>,
    stats: SearchStats,
    started: Instant,
) -> Result<Hits<'s>> {
    let micros = started.elapsed().as_micros();
    let hits = found
        .into_iter()
        .enumerate()
        .map(|(i, h)| {
            let part = ColumnPart {
                distance: h.distance,
                normalized: h.score,
                rank: i + 1,
                contribution: h.score,
            };
            let mut hit = hit(query, h.item, h.score, vec![Some(part)])?;
            hit.element = h.element;
            Ok(hit)
        })
        .collect::<Result<_>>()?;
    let plan = query.explain.then(|| Plan::Nearest {
        column: column.to_string(),
        stats,
    });
    Ok(answer(query, hits, plan, micros))
}

/// The requested attributes exist (`id` always does).
fn check_attributes(snap: &CollectionSnapshot, query: &Query) -> Result<()> {
    for name in &query.attributes {
        if name != "id" {
            snap.schema().column(name)?;
        }
    }
    Ok(())
}

/// `query` on `snap` with `probes[i]` as what term `i` compares its column with.
pub(crate) fn run<'s>(
    snap: &'s CollectionSnapshot,
    query: &Query,
    probes: &[Probe<'_>],
) -> Result<Hits<'s>> {
    if query.terms.is_empty() {
        return Err(Error::InvalidArgument(
            "a query needs at least one term".into(),
        ));
    }
    check_attributes(snap, query)?;
    let keep = |item: &ItemRef<'_>| query.filter.as_ref().is_none_or(|f| f.matches(item));
    let keep: &(dyn Fn(&ItemRef<'_>) -> bool + Sync) = &keep;
    let filter = query.filter.as_ref().map(|_| keep);
    let started = Instant::now();
    match (&query.fusion, query.terms.as_slice()) {
        (None, [term]) => {
            let filter = filter.map(|f| f as &dyn Fn(&ItemRef<'_>) -> bool);
            let (found, stats) = match probes.first() {
                Some(Probe::Vector(v)) => {
                    snap.search_where(&term.column, v, query.k, &query.options, filter)?
                }
                Some(Probe::Text(t)) => snap.search_text(&term.column, t, query.k, filter)?,
                Some(Probe::Sparse(v)) => snap.search_sparse(&term.column, v, query.k, filter)?,
                Some(Probe::Multi(m)) => {
                    snap.search_multi(&term.column, *m, query.k, &query.options, filter)?
                }
                None => return Err(Error::InvalidArgument("no query vector".into())),
            };
            one_column(query, &term.column, found, stats, started)
        }
        (None, _) => Err(Error::InvalidArgument(format!(
            "{} terms need a fusion",
            query.terms.len()
        ))),
        (Some(_), _) => {
            let (fusion, fused) = fused_query(snap, query, probes)?;
            let (found, explain) = snap.fused_search(&fused, query.k, filter)?;
            let micros = started.elapsed().as_micros();
            let hits = found
                .into_iter()
                .map(|h| hit(query, h.item, h.score, h.parts))
                .collect::<Result<_>>()?;
            let profile = match &query.fusion {
                Some(FusionChoice::Profile { name, label }) => Some(match label {
                    Some(l) => format!("{name}/{l}"),
                    None => name.clone(),
                }),
                _ => None,
            };
            let plan = query.explain.then(|| Plan::Fused {
                fusion,
                profile,
                columns: query.terms.iter().map(|t| t.column.clone()).collect(),
                explain,
            });
            Ok(answer(query, hits, plan, micros))
        }
    }
}

fn hit<'s>(
    query: &Query,
    item: ItemRef<'s>,
    score: f32,
    parts: Vec<Option<ColumnPart>>,
) -> Result<Hit<'s>> {
    let attributes = query
        .attributes
        .iter()
        .map(|name| match name.as_str() {
            "id" => Ok(Value::Text(item.id()?.to_string())),
            name => item.value(name),
        })
        .collect::<Result<_>>()?;
    Ok(Hit {
        item,
        score,
        parts,
        attributes,
        element: None,
    })
}

fn answer<'s>(query: &Query, hits: Vec<Hit<'s>>, plan: Option<Plan>, micros: u128) -> Hits<'s> {
    Hits {
        hits,
        columns: query.terms.iter().map(|t| t.column.clone()).collect(),
        attributes: query.attributes.clone(),
        plan,
        micros,
    }
}

/// A fused `query` as the fused search's query with `probes[i]` for term `i`, and
/// its fusion with `DEFAULT` resolved.
fn fused_query<'q>(
    snap: &CollectionSnapshot,
    query: &'q Query,
    probes: &[Probe<'q>],
) -> Result<(Fusion, FusedQuery<'q>)> {
    if probes.len() != query.terms.len() {
        return Err(Error::InvalidArgument(format!(
            "{} query vectors for {} terms",
            probes.len(),
            query.terms.len()
        )));
    }
    let (fusion, normalization) = match &query.fusion {
        Some(FusionChoice::Given(f)) => (f.clone(), query.normalization.clone()),
        Some(FusionChoice::Profile { name, label }) => {
            profile(snap, name, label.as_deref(), query)?
        }
        None => return Err(Error::InvalidArgument("expected a fused query".into())),
    };
    let mut fused = FusedQuery::new(fusion.clone());
    fused.options = query.options;
    fused.missing = query.missing;
    for (term, probe) in query.terms.iter().zip(probes) {
        fused.columns.push((&term.column, *probe));
    }
    fused.normalization = match normalization {
        None => None,
        Some(NormalizationChoice::Given(n)) => Some(n),
        Some(NormalizationChoice::Calibrated) => Some(calibrated(snap, &query.terms)?),
    };
    Ok((fusion, fused))
}

/// `NORMALIZE CALIBRATED`: every queried column's measured span, or an error naming a
/// column that has none.
fn calibrated(snap: &CollectionSnapshot, terms: &[Term]) -> Result<Normalization> {
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

/// Fusion profile `name` (for `label`) of the collection: its fusion, and the
/// normalization `query` runs under (the profile's, else the query's; both, only if
/// they agree). The profile must be for exactly the query's columns, in order.
fn profile(
    snap: &CollectionSnapshot,
    name: &str,
    label: Option<&str>,
    query: &Query,
) -> Result<(Fusion, Option<NormalizationChoice>)> {
    let saved = snap.schema().profile(name, label)?;
    let full = saved.full_name();
    let columns: Vec<&str> = query.terms.iter().map(|t| t.column.as_str()).collect();
    if saved.columns.len() != columns.len() {
        return Err(Error::InvalidArgument(format!(
            "fusion profile {full} fuses {} terms ({}); this query has {} ({})",
            saved.columns.len(),
            saved.columns.join(", "),
            columns.len(),
            columns.join(", ")
        )));
    }
    if saved.columns != columns {
        return Err(Error::InvalidArgument(format!(
            "fusion profile {full} is for columns ({}); this query fuses ({})",
            saved.columns.join(", "),
            columns.join(", ")
        )));
    }
    let spec = quiver_query::sql::parse_fusion(&saved.fusion).map_err(|e| {
        Error::InvalidArgument(format!("fusion profile {full}: {}: {e}", saved.fusion))
    })?;
    let fusion = spec.to_fusion().map_err(|(other, _)| {
        Error::InvalidArgument(format!(
            "fusion profile {full} names another profile ({other})"
        ))
    })?;
    let own = saved
        .normalize
        .as_deref()
        .map(|n| normalization_named(n, &full))
        .transpose()?;
    let normalization = match (own, &query.normalization) {
        (Some(own), Some(asked)) if &own != asked => {
            return Err(Error::InvalidArgument(format!(
                "fusion profile {full} was saved with NORMALIZE {}: a query using it cannot normalize otherwise",
                saved.normalize.as_deref().unwrap_or_default()
            )));
        }
        (Some(own), _) => Some(own),
        (None, asked) => asked.clone(),
    };
    Ok((fusion, normalization))
}

/// A profile's NORMALIZE keyword as the query's choice.
fn normalization_named(keyword: &str, profile: &str) -> Result<NormalizationChoice> {
    Ok(match keyword.to_ascii_uppercase().as_str() {
        "NONE" => NormalizationChoice::Given(Normalization::None),
        "MINMAX" => NormalizationChoice::Given(Normalization::MinMax),
        "ZSCORE" => NormalizationChoice::Given(Normalization::ZScore),
        "CALIBRATED" => NormalizationChoice::Calibrated,
        other => {
            return Err(Error::InvalidArgument(format!(
                "fusion profile {profile}: unknown normalization {other}"
            )));
        }
    })
}
