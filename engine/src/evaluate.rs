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
//! image-only and fused rankings alike.

pub(crate) mod plot;
mod queries;
pub(crate) mod recall;
pub(crate) mod report;
pub(crate) mod sweep;

use std::collections::BTreeMap;
use std::time::Instant;

use quiver_encode::Modality;
use quiver_query::eval::{Metrics, Summary, rank as rank_ids, score_query, summarize};
use quiver_query::sql::{Order, QueryVector};
use quiver_storage::{Error, Result};

use crate::database::Database;
use crate::embedding::encode_error;
use crate::ranking::{rank, terms};
use crate::search::SearchOptions;
use crate::snapshot::CollectionSnapshot;
use crate::statements::query_vector;

pub use queries::{LabelledQuery, QueryInput, apply_trec_qrels, parse_queries, read_queries};
pub use recall::RecallPoint;

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

impl Database {
    /// Runs `queries` through `order` on `collection` and scores each answer at `k`.
    pub fn evaluate(
        &self,
        collection: &str,
        queries: &[LabelledQuery],
        order: &Order,
        k: usize,
    ) -> Result<Evaluation> {
        if k == 0 {
            return Err(Error::InvalidArgument("EVALUATE needs K ≥ 1".into()));
        }
        let snap = self.collection(collection)?.snapshot()?;
        let terms = terms(order);
        // vectors[t][q]: term t's vector for query q (None: not applicable).
        let mut vectors = Vec::with_capacity(terms.len());
        for term in &terms {
            vectors.push(match &term.query {
                QueryVector::Query => self.query_vectors(&snap, &term.column, queries)?,
                fixed => {
                    let v = query_vector(self, &snap, &term.column, fixed)?;
                    vec![Some(v); queries.len()]
                }
            });
        }
        let mut outcomes = Vec::new();
        let mut not_applicable: BTreeMap<String, usize> = BTreeMap::new();
        let mut ranking = std::time::Duration::ZERO;
        for (q, query) in queries.iter().enumerate() {
            let Some(qv) = vectors
                .iter()
                .map(|v| v[q].clone())
                .collect::<Option<Vec<_>>>()
            else {
                *not_applicable.entry(query.label.clone()).or_default() += 1;
                continue;
            };
            let own = match &query.input {
                QueryInput::Item(id) => Some(id.as_str()),
                QueryInput::Text(_) => None,
            };
            let started = Instant::now();
            let qv: Vec<&[f32]> = qv.iter().map(Vec::as_slice).collect();
            let ranked = rank(
                &snap,
                order,
                &qv,
                k + usize::from(own.is_some()),
                None,
                &SearchOptions::default(),
                false,
            )?;
            ranking += started.elapsed();
            // Re-ranked by (score, id) so ties never depend on the visiting order.
            let scored = ranked
                .items
                .iter()
                .map(|r| Ok((r.item.id()?, f64::from(r.score))))
                .collect::<Result<Vec<_>>>()?;
            let answer: Vec<String> = rank_ids(&scored)
                .into_iter()
                .filter(|id| Some(*id) != own)
                .take(k)
                .map(str::to_string)
                .collect();
            let ranked: Vec<&str> = answer.iter().map(String::as_str).collect();
            outcomes.push(QueryOutcome {
                qid: query.qid.clone(),
                label: query.label.clone(),
                metrics: score_query(&ranked, &query.qrels, k),
                answer,
            });
        }
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
        Ok(Evaluation {
            k,
            outcomes,
            overall,
            by_label,
            not_applicable,
            qps,
        })
    }

    /// Each query's vector for `column`: texts embedded by the column's encoder (in
    /// chunks, with progress), query items' own vectors; `None` where that cannot be had.
    fn query_vectors(
        &self,
        snap: &CollectionSnapshot,
        column: &str,
        queries: &[LabelledQuery],
    ) -> Result<Vec<Option<Vec<f32>>>> {
        let (_, col) = snap.schema().column(column)?;
        col.expect_vector()?;
        let mut out = vec![None; queries.len()];
        let texts: Vec<(usize, String)> = queries
            .iter()
            .enumerate()
            .filter_map(|(i, q)| match &q.input {
                QueryInput::Text(t) => Some((i, t.clone())),
                QueryInput::Item(_) => None,
            })
            .collect();
        let encoder = col
            .encoder
            .as_ref()
            .map(|t| t.name.clone())
            .or_else(|| col.embed.as_ref().map(|r| r.encoder.clone()));
        if !texts.is_empty()
            && let Some(name) = encoder
            && self
                .encoders()
                .get(&name)
                .map_err(encode_error)?
                .info()
                .modality
                .reads(Modality::Text)
        {
            self.embed_in_chunks(
                format!("{}.{column}", snap.name()),
                format!("embedding {} query texts with {name}", texts.len()),
                (snap.schema(), column, &name),
                &texts,
                |chunk, vectors| {
                    for ((i, _), v) in chunk.iter().zip(vectors) {
                        out[*i] = Some(v);
                    }
                    Ok(())
                },
            )?;
        }
        for (i, q) in queries.iter().enumerate() {
            if let QueryInput::Item(id) = &q.input
                && let Some(item) = snap.get(id)?
            {
                out[i] = item.vector(column)?.map(<[f32]>::to_vec);
            }
        }
        Ok(out)
    }
}
