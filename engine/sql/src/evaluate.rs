//! EVALUATE: retrieval quality measured inside the engine. Labelled queries (JSON lines
//! `{"qid", "text" | "query_item", "qrels": {item id: grade}, "label" | "kind"}`, the
//! format `bench/mmdata/build_fonts.py` writes) run through an ORDER BY whose `QUERY`
//! terms take each query's vector for their column: a text query embedded by the
//! column's encoder, a query item's own vector (the item itself is then left out of
//! its answer). Each answer is scored with `quiver_query::eval` at a cut-off K; means
//! overall and per label, and the search rate.
//!
//! A query that cannot form a vector for every term (text against a column whose
//! encoder reads only images, a query item missing or without that column) is "not
//! applicable" to that ranking and counted apart, so one query file serves text-only,
//! image-only and fused rankings alike. Such a query's text is never embedded, and a
//! SWEEP's settings share their query vectors: each distinct text is embedded once per
//! column (`vectors.rs`).

pub(crate) mod plot;
mod queries;
pub(crate) mod recall;
pub(crate) mod report;
pub(crate) mod sweep;
pub(crate) mod tune;
mod vectors;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use quiver::eval::{Metrics, Summary, rank as rank_ids, score_query, summarize};
use quiver::{CollectionSnapshot, Database, Error, Hit, Query, Result, Target};

pub use queries::{LabelledQuery, QueryInput, apply_trec_qrels, parse_queries, read_queries};
pub use recall::{RecallPoint, evaluate_recall};
use vectors::QueryVectors;

/// One query's outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryOutcome {
    pub qid: String,
    pub label: String,
    /// `None` when nothing is relevant to the query (left out of the means).
    pub metrics: Option<Metrics>,
    /// The answer's ids, best first (at most K).
    pub answer: Vec<String>,
}

/// What EVALUATE measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    pub k: usize,
    /// The queries that could run, in file order.
    pub outcomes: Vec<QueryOutcome>,
    pub overall: Summary,
    pub by_label: BTreeMap<String, Summary>,
    /// Queries that could not form a vector for every term, by label.
    pub not_applicable: BTreeMap<String, usize>,
    /// Queries answered per second of ranking (encoding the query texts excluded).
    pub qps: f64,
}

/// Runs `queries` through `template` on `collection` and scores each answer at `k`:
/// every [`Target::Labelled`] term takes each query's vector (the template's own `k` is
/// replaced, its filter kept).
pub fn evaluate(
    db: &Database,
    collection: &str,
    queries: &[LabelledQuery],
    template: &Query,
    k: usize,
) -> Result<Evaluation> {
    let mut one = evaluate_each(db, collection, queries, std::slice::from_ref(template), k)?;
    Ok(one.remove(0))
}

/// [`evaluate`] for each of `templates` (a SWEEP's settings) on one snapshot of
/// `collection`, the query vectors found once for all of them: each distinct query text
/// embedded once per column, and only where some template can use it. Fused templates
/// over the same terms share each query's candidate search and re-scoring.
pub fn evaluate_each(
    db: &Database,
    collection: &str,
    queries: &[LabelledQuery],
    templates: &[Query],
    k: usize,
) -> Result<Vec<Evaluation>> {
    if k == 0 {
        return Err(Error::InvalidArgument("EVALUATE needs K ≥ 1".into()));
    }
    let snap = db.collection(collection)?.snapshot()?;
    let vectors = QueryVectors::resolve(db, &snap, queries, templates)?;
    let shared = match templates {
        [first, rest @ ..] => {
            !rest.is_empty()
                && templates
                    .iter()
                    .all(|t| t.fusion.is_some() && t.terms == first.terms)
        }
        [] => false,
    };
    if shared {
        return score(db, &snap, queries, templates, &vectors, k);
    }
    let mut out = Vec::with_capacity(templates.len());
    for t in templates {
        out.extend(score(
            db,
            &snap,
            queries,
            std::slice::from_ref(t),
            &vectors,
            k,
        )?);
    }
    Ok(out)
}

/// Ranks every query the templates (all over the same terms) can use by each of them,
/// through [`Database::query_each`], and scores the answers at `k`. Each template's
/// rate counts its share of the ranking time.
fn score(
    db: &Database,
    snap: &CollectionSnapshot,
    queries: &[LabelledQuery],
    templates: &[Query],
    vectors: &QueryVectors,
    k: usize,
) -> Result<Vec<Evaluation>> {
    let terms = &templates[0].terms;
    let mut outcomes = vec![Vec::new(); templates.len()];
    let mut not_applicable: BTreeMap<String, usize> = BTreeMap::new();
    let mut ranking = Duration::ZERO;
    for (q, query) in queries.iter().enumerate() {
        let Some(qv) = vectors.targets(terms, q) else {
            *not_applicable.entry(query.label.clone()).or_default() += 1;
            continue;
        };
        let filled: Vec<Query> = templates.iter().map(|t| filled(t, &qv, query, k)).collect();
        let started = Instant::now();
        let answers = db.query_each(snap, &filled)?;
        ranking += started.elapsed();
        for (out, hits) in outcomes.iter_mut().zip(&answers) {
            out.push(outcome(query, &hits.hits, k)?);
        }
    }
    let share = ranking / templates.len() as u32;
    Ok(outcomes
        .into_iter()
        .map(|o| evaluation(k, o, not_applicable.clone(), share))
        .collect())
}

/// `template` with query `query`'s targets `qv`, asking for its top `k` (one more for
/// an item query, whose own item is left out of the answer).
fn filled(template: &Query, qv: &[Target], query: &LabelledQuery, k: usize) -> Query {
    let mut filled = template.clone();
    filled.k = k + usize::from(own_id(query).is_some());
    for (term, target) in filled.terms.iter_mut().zip(qv) {
        term.target = target.clone();
    }
    filled
}

/// The query item's own id (left out of its answer), for an item query.
fn own_id(query: &LabelledQuery) -> Option<&str> {
    match &query.input {
        QueryInput::Item(id) => Some(id.as_str()),
        QueryInput::Text(_) => None,
    }
}

/// `query`'s answer from `ranked` (re-ranked by (score, id) so ties never depend on
/// the visiting order, the query item left out), scored at `k`.
fn outcome(query: &LabelledQuery, ranked: &[Hit<'_>], k: usize) -> Result<QueryOutcome> {
    let own = own_id(query);
    let scored = ranked
        .iter()
        .map(|r| Ok((r.item.id()?, f64::from(r.score))))
        .collect::<Result<Vec<_>>>()?;
    let answer: Vec<String> = rank_ids(&scored)
        .into_iter()
        .filter(|id| Some(*id) != own)
        .take(k)
        .map(str::to_string)
        .collect();
    let ids: Vec<&str> = answer.iter().map(String::as_str).collect();
    Ok(QueryOutcome {
        qid: query.qid.clone(),
        label: query.label.clone(),
        metrics: score_query(&ids, &query.qrels, k),
        answer,
    })
}

/// The means over `outcomes`, overall and per label, and the rate of `ranking` time.
fn evaluation(
    k: usize,
    outcomes: Vec<QueryOutcome>,
    not_applicable: BTreeMap<String, usize>,
    ranking: Duration,
) -> Evaluation {
    let overall = summarize(&outcomes.iter().map(|o| o.metrics).collect::<Vec<_>>());
    let mut grouped: BTreeMap<String, Vec<Option<Metrics>>> = BTreeMap::new();
    for o in &outcomes {
        grouped.entry(o.label.clone()).or_default().push(o.metrics);
    }
    let by_label = grouped
        .into_iter()
        .map(|(label, m)| (label, summarize(&m)))
        .collect();
    let qps = match ranking.as_secs_f64() {
        s if s > 0.0 => outcomes.len() as f64 / s,
        _ => 0.0,
    };
    Evaluation {
        k,
        outcomes,
        overall,
        by_label,
        not_applicable,
        qps,
    }
}
