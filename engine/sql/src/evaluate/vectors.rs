//! The query vectors of the rankings an EVALUATE runs (its query template, or every
//! setting of a SWEEP), found once for all of them: each distinct query text is embedded once
//! per column, and only where some ranking can use the query. A ranking uses a query
//! only if every one of its terms has a vector for it, so a text query is never
//! embedded for a ranking that also searches a column its text cannot reach (an
//! image-only column, a column without an encoder). A `MATCH(column, QUERY)` term takes
//! the query's text as is, or for an item query the item's own text in that column; a
//! `QUERY` term on a SPARSE column takes an item query's own sparse vector (a text
//! query has none there), and on a multi-vector column an item query's own vectors
//! (ranked by MAXSIM) or a text query's embedding (ranked by its nearest vector).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use quiver::encode::Modality;
use quiver::{CollectionSnapshot, Database, Query, Result, Target, Term, encode_error};

use super::{LabelledQuery, QueryInput};

/// One column's `QUERY` vectors.
struct ColumnVectors {
    /// Each query's vector (`None`: not had, or not needed by any ranking): a text
    /// query's embedding, an item query's own vector, or on a multi-vector column its
    /// own vectors (ranked by MAXSIM).
    targets: Vec<Option<Target>>,
    /// The column's encoder, when there are text queries and it reads text.
    text_encoder: Option<String>,
}

/// Every term's vector for every query, for the rankings they were resolved for.
pub(super) struct QueryVectors {
    /// Per vector column that a `QUERY` term searches.
    by_query: BTreeMap<String, ColumnVectors>,
    /// Per TEXT column that `MATCH(column, QUERY)` scores, each query's text; per SPARSE
    /// column that `QUERY` searches, each query item's sparse vector (`None`: none had).
    per_query: BTreeMap<String, Vec<Option<Target>>>,
    /// The other terms' targets, resolved (the same for every query).
    fixed: Vec<(Term, Target)>,
}

impl QueryVectors {
    /// The vectors every term of `templates` needs for `queries` on `snap`.
    pub(super) fn resolve(
        db: &Database,
        snap: &CollectionSnapshot,
        queries: &[LabelledQuery],
        templates: &[Query],
    ) -> Result<QueryVectors> {
        let mut by_query: BTreeMap<String, ColumnVectors> = BTreeMap::new();
        let mut per_query: BTreeMap<String, Vec<Option<Target>>> = BTreeMap::new();
        let mut fixed: Vec<(Term, Target)> = Vec::new();
        for term in templates.iter().flat_map(|t| &t.terms) {
            let labelled = matches!(term.target, Target::Labelled | Target::LabelledText);
            match &term.target {
                _ if labelled && per_query.contains_key(&term.column) => {}
                Target::LabelledText => {
                    let column = column_values(snap, &term.column, queries, true)?;
                    per_query.insert(term.column.clone(), column);
                }
                Target::Labelled if by_query.contains_key(&term.column) => {}
                Target::Labelled if is_sparse(snap, &term.column) => {
                    let column = column_values(snap, &term.column, queries, false)?;
                    per_query.insert(term.column.clone(), column);
                }
                Target::Labelled => {
                    let column = column_vectors(db, snap, &term.column, queries)?;
                    by_query.insert(term.column.clone(), column);
                }
                _ if fixed.iter().any(|(t, _)| t == term) => {}
                _ => fixed.push((term.clone(), db.resolve_term(snap, term)?)),
            }
        }
        // Per column, the text queries that some ranking searching it can use.
        let mut wanted: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
        for (q, query) in queries.iter().enumerate() {
            if !matches!(query.input, QueryInput::Text(_)) {
                continue;
            }
            for template in templates {
                let terms = &template.terms;
                let usable = terms.iter().all(|t| match t.target {
                    Target::Labelled => by_query
                        .get(&t.column)
                        .is_some_and(|c| c.text_encoder.is_some()),
                    _ => true,
                });
                if usable {
                    let embedded = |t: &&Term| {
                        t.target == Target::Labelled && by_query.contains_key(&t.column)
                    };
                    for t in terms.iter().filter(embedded) {
                        wanted.entry(t.column.clone()).or_default().insert(q);
                    }
                }
            }
        }
        for (column, wanted) in wanted {
            let entry = by_query.get_mut(&column).expect("resolved above");
            let name = entry.text_encoder.clone().expect("usable: reads text");
            // Each distinct text once, with the queries that give it.
            let mut todo: Vec<(Vec<usize>, String)> = Vec::new();
            let mut index: HashMap<&str, usize> = HashMap::new();
            for q in wanted {
                let QueryInput::Text(text) = &queries[q].input else {
                    continue;
                };
                match index.get(text.as_str()) {
                    Some(&i) => todo[i].0.push(q),
                    None => {
                        index.insert(text, todo.len());
                        todo.push((vec![q], text.clone()));
                    }
                }
            }
            let out = &mut entry.targets;
            db.embed_in_chunks(
                format!("{}.{column}", snap.name()),
                format!("embedding {} query texts with {name}", todo.len()),
                (snap.schema(), &column, &name),
                &todo,
                |chunk, vectors| {
                    for ((qs, _), v) in chunk.iter().zip(vectors) {
                        for &q in qs {
                            out[q] = Some(Target::Vector(v.clone()));
                        }
                    }
                    Ok(())
                },
            )?;
        }
        Ok(QueryVectors {
            by_query,
            per_query,
            fixed,
        })
    }

    /// `term`'s target for query `q` (a vector, or MATCH's text); `None` where it has
    /// none.
    /// Query `q`'s target for every one of `terms`; `None` when some term has none
    /// (the ranking does not apply to the query).
    pub(super) fn targets(&self, terms: &[Term], q: usize) -> Option<Vec<Target>> {
        terms.iter().map(|t| self.get(t, q)).collect()
    }

    fn get(&self, term: &Term, q: usize) -> Option<Target> {
        match term.target {
            Target::LabelledText => self.per_query.get(&term.column)?[q].clone(),
            Target::Labelled if self.per_query.contains_key(&term.column) => {
                self.per_query[&term.column][q].clone()
            }
            Target::Labelled => self.by_query.get(&term.column)?.targets[q].clone(),
            _ => self
                .fixed
                .iter()
                .find(|(t, _)| t == term)
                .map(|(_, target)| target.clone()),
        }
    }
}

/// Each query's target on a TEXT column (`text`: MATCH's text, a text query's own or
/// an item query's item's text) or a SPARSE column (an item query's item's sparse
/// vector). An item query's item is left out of its answer, as for vectors.
fn column_values(
    snap: &CollectionSnapshot,
    column: &str,
    queries: &[LabelledQuery],
    text: bool,
) -> Result<Vec<Option<Target>>> {
    queries
        .iter()
        .map(|q| match &q.input {
            QueryInput::Text(t) if text => Ok(Some(Target::Match(t.clone()))),
            QueryInput::Text(_) => Ok(None),
            QueryInput::Item(id) => Ok(match snap.get(id)? {
                Some(item) => match item.value(column)? {
                    quiver::Value::Text(t) if text => Some(Target::Match(t)),
                    quiver::Value::Sparse(v) if !text => Some(Target::Sparse(v)),
                    _ => None,
                },
                None => None,
            }),
        })
        .collect()
}

/// Whether `column` is a SPARSE column of `snap`.
fn is_sparse(snap: &CollectionSnapshot, column: &str) -> bool {
    snap.schema()
        .column(column)
        .is_ok_and(|(_, c)| c.is_sparse())
}

/// `column`'s query items' own vectors (texts are embedded later, where needed), and
/// whether its encoder can embed the query texts.
fn column_vectors(
    db: &Database,
    snap: &CollectionSnapshot,
    column: &str,
    queries: &[LabelledQuery],
) -> Result<ColumnVectors> {
    let (_, col) = snap.schema().column(column)?;
    col.expect_vector_shape()?;
    let mut targets = vec![None; queries.len()];
    for (i, q) in queries.iter().enumerate() {
        if let QueryInput::Item(id) = &q.input
            && let Some(item) = snap.get(id)?
        {
            targets[i] = match item.value(column)? {
                quiver::Value::Vector(v) => Some(Target::Vector(v)),
                quiver::Value::Vectors(v) => Some(Target::Vectors(v)),
                _ => None,
            };
        }
    }
    let encoder = col
        .encoder
        .as_ref()
        .map(|t| t.name.clone())
        .or_else(|| col.embed.as_ref().map(|r| r.encoder.clone()));
    let has_texts = queries
        .iter()
        .any(|q| matches!(q.input, QueryInput::Text(_)));
    let text_encoder = match encoder {
        Some(name) if has_texts => {
            let info = db.encoders().get(&name).map_err(encode_error)?;
            info.info().modality.reads(Modality::Text).then_some(name)
        }
        _ => None,
    };
    Ok(ColumnVectors {
        targets,
        text_encoder,
    })
}
