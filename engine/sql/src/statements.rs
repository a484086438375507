//! Running the language's statements against a database. Parsing is `quiver_query`'s;
//! this maps each statement onto the Rust API (collections, batches, indexes, search,
//! fused search) and returns rows or a one-line result. A failing statement changes
//! nothing: writes go through one all-or-nothing batch.

use std::collections::HashMap;

use quiver_query::sql::{ColumnType, Embed, Literal, Projection, Select, Statement};
use quiver_storage::{
    Analyzer, AttrType, ColumnKind, EmbedRule, Error, IndexSpec, Item, Metric, MultiVector,
    Quantize, Result, Schema, Value,
};

use quiver::{CollectionSnapshot, Database, Filter, ItemRef, WriteBatch};

use crate::order::compile;
use crate::tables::ToTable;

/// Rows returned when a SELECT has ORDER BY but no LIMIT.
pub const DEFAULT_LIMIT: u64 = 10;

/// What a statement returns.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// A result table: column names and rows of values.
    Rows {
        columns: Vec<String>,
        rows: Vec<Vec<Value>>,
    },
    /// A statement that returns no rows, in words (`inserted 3 items`).
    Done(String),
}

/// Runs one parsed statement on `db`.
pub fn run(db: &Database, statement: &Statement) -> Result<Output> {
    match statement {
        Statement::CreateCollection { name, columns } => {
            let mut schema = Schema::default();
            for c in columns {
                // Vector columns are NOT NULL unless declared NULL, attributes the
                // other way round.
                let kind = crate::alter::column_kind(c)?;
                let nullable = match kind {
                    ColumnKind::Attr(_) => c.nullable != Some(false),
                    ColumnKind::Vector(_) | ColumnKind::MultiVector(_) => c.nullable == Some(true),
                };
                schema = schema.with_column(&c.name, kind, nullable)?;
            }
            for c in columns {
                if let Some(rule) = &c.embed {
                    db.check_embed_rule(&schema, &c.name, &rule.encoder)?;
                    let rule = EmbedRule {
                        from: rule.from.clone(),
                        encoder: rule.encoder.clone(),
                    };
                    schema = schema.with_embed_rule(&c.name, Some(rule))?;
                }
            }
            db.create_collection(name, schema)?;
            Ok(Output::Done(format!("created collection {name}")))
        }
        Statement::CreateIndex {
            collection,
            column,
            kind,
            with,
        } => {
            let spec = index_spec(kind, with)?;
            db.collection(collection)?.create_index(column, spec)?;
            Ok(Output::Done(format!(
                "built {kind} index on {collection}.{column}"
            )))
        }
        Statement::Insert {
            collection,
            columns,
            rows,
        } => {
            let c = db.collection(collection)?;
            let schema = c.schema()?;
            let id_at = columns
                .iter()
                .position(|n| n == "id")
                .ok_or_else(|| Error::InvalidArgument("INSERT needs an id column".into()))?;
            // EMBED values: one batched encoder call per column (EMBED_IMAGES' files
            // in the same batch, regrouped per row after).
            let mut embedded: HashMap<(usize, usize), Value> = HashMap::new();
            let mut tags = Vec::new();
            for (at, name) in columns.iter().enumerate() {
                let mut calls: Vec<(usize, Embed)> = Vec::new();
                let mut lists: Vec<(usize, usize)> = Vec::new();
                for (r, row) in rows.iter().enumerate() {
                    match row.get(at) {
                        Some(Literal::Embed(e)) => calls.push((r, e.clone())),
                        Some(Literal::EmbedImages { encoder, paths }) => {
                            lists.push((r, paths.len()));
                            calls.extend(paths.iter().map(|p| {
                                let image = Embed {
                                    encoder: encoder.clone(),
                                    input: p.clone(),
                                    image: true,
                                };
                                (r, image)
                            }));
                        }
                        _ => {}
                    }
                }
                if calls.is_empty() {
                    lists.iter().for_each(|&(r, _)| {
                        embedded.insert((r, at), Value::Null);
                    });
                    continue;
                }
                let just: Vec<&Embed> = calls.iter().map(|c| &c.1).collect();
                let (vectors, tag) = db.embed_for_column(&schema, name, &just)?;
                let mut by_row: HashMap<usize, Vec<Vec<f32>>> = HashMap::new();
                for ((r, _), v) in calls.iter().zip(vectors) {
                    by_row.entry(*r).or_default().push(v);
                }
                for (r, vectors) in by_row {
                    let value = match lists.iter().any(|&(row, _)| row == r) {
                        true => Value::Vectors(
                            MultiVector::new(vectors)
                                .map_err(|e| Error::InvalidArgument(format!("{name}: {e}")))?,
                        ),
                        false => vectors
                            .into_iter()
                            .next()
                            .map_or(Value::Null, Value::Vector),
                    };
                    embedded.insert((r, at), value);
                }
                for &(r, _) in &lists {
                    embedded.entry((r, at)).or_insert(Value::Null);
                }
                tags.push((name, tag));
            }
            let mut batch = WriteBatch::new();
            for (r, row) in rows.iter().enumerate() {
                let Literal::Str(id) = &row[id_at] else {
                    return Err(Error::InvalidArgument("id must be text in quotes".into()));
                };
                let mut item = Item::new(id.clone());
                for (at, (name, lit)) in columns.iter().zip(row).enumerate() {
                    if at == id_at {
                        continue;
                    }
                    let value = match lit {
                        Literal::Embed(_) | Literal::EmbedImages { .. } => embedded
                            .remove(&(r, at))
                            .ok_or_else(|| Error::InvalidArgument("EMBED gave no vector".into()))?,
                        lit => to_value(&schema, name, lit)?,
                    };
                    item = item.set(name, value);
                }
                batch.insert(item);
            }
            // The columns record their encoder (the vectors' dimension was checked),
            // then the rows commit as one batch.
            for (name, tag) in &tags {
                db.record_encoder(collection, name, tag)?;
            }
            c.commit(batch)?;
            Ok(Output::Done(format!("inserted {} items", rows.len())))
        }
        Statement::Delete { collection, filter } => {
            let c = db.collection(collection)?;
            let snap = c.snapshot()?;
            let filter = Filter::new(snap.schema(), filter.clone())?;
            let mut batch = WriteBatch::new();
            let mut n = 0;
            for item in snap.scan().filter(|item| filter.matches(item)) {
                batch.delete(item.id()?);
                n += 1;
            }
            if n > 0 {
                c.commit(batch)?;
            }
            Ok(Output::Done(format!("deleted {n} items")))
        }
        Statement::Select(s) => select(db, s, false),
        Statement::Explain(s) => select(db, s, true),
        Statement::Verify => Ok(db.verify()?.table()),
        Statement::Repair {
            drop_damaged_segments,
        } => Ok(db
            .repair(quiver::RepairOptions {
                drop_damaged_segments: *drop_damaged_segments,
            })?
            .table()),
        Statement::ShowCollections => Ok(Output::Rows {
            columns: vec!["collection".into(), "items".into()],
            rows: db
                .collection_names()
                .into_iter()
                .map(|n| {
                    let count = db.collection(&n).and_then(|c| c.count()).unwrap_or(0);
                    vec![Value::Text(n), Value::Int(count as i64)]
                })
                .collect(),
        }),
        Statement::Describe(name) => {
            let snap = db.snapshot().collection(name)?;
            let footprint = snap.footprint();
            Ok(Output::Rows {
                columns: vec![
                    "column".into(),
                    "type".into(),
                    "null".into(),
                    "index".into(),
                    "encoder".into(),
                    "bytes".into(),
                    "index_bytes".into(),
                    "code_bytes".into(),
                ],
                rows: (snap.schema().columns().iter())
                    .zip(&footprint.columns)
                    .map(|(c, bytes)| {
                        vec![
                            Value::Text(c.name.clone()),
                            Value::Text(c.type_name()),
                            Value::Bool(c.nullable),
                            c.index
                                .map_or(Value::Null, |i| Value::Text(format!("{i:?}"))),
                            c.encoder
                                .as_ref()
                                .map_or(Value::Null, |e| Value::Text(e.to_string())),
                            Value::Int(bytes.rows as i64),
                            Value::Int(bytes.index as i64),
                            Value::Int(bytes.codes as i64),
                        ]
                    })
                    .collect(),
            })
        }
        Statement::Flush(name) => {
            db.collection(name)?.flush()?;
            Ok(Output::Done(format!("flushed {name}")))
        }
        Statement::Compact(name) => {
            db.collection(name)?.compact()?;
            Ok(Output::Done(format!("compacted {name}")))
        }
        Statement::DropCollection(name) => {
            db.drop_collection(name)?;
            Ok(Output::Done(format!("dropped collection {name}")))
        }
        Statement::Alter { collection, action } => {
            crate::alter::alter_collection(db, collection, action)
        }
        Statement::Evaluate(e) => {
            use crate::evaluate::{
                apply_trec_qrels, evaluate, evaluate_each, read_queries, report, sweep,
            };
            crate::order::check_maxsim(&db.collection(&e.collection)?.schema()?, &e.order)?;
            let mut queries = read_queries(std::path::Path::new(&e.queries))?;
            if let Some(qrels) = &e.qrels {
                apply_trec_qrels(&mut queries, std::path::Path::new(qrels))?;
            }
            let k = e.k as usize;
            if let Some(how) = &e.tune {
                if e.per_query {
                    return Err(Error::InvalidArgument(
                        "PER QUERY and TUNE WEIGHTS do not combine: evaluate a saved profile per query".into(),
                    ));
                }
                let template = compile(&e.order, k);
                let tuning =
                    crate::evaluate::tune::run(db, &e.collection, &queries, &template, k, how)?;
                if let Some(path) = &e.plot {
                    let title = format!("{}: tuned over {}", e.collection, tuning.terms.join(", "));
                    crate::evaluate::plot::tune(&tuning, &title, std::path::Path::new(path))?;
                }
                return Ok(report::tune(&tuning));
            }
            if let Some(s) = &e.sweep {
                if e.per_query {
                    return Err(Error::InvalidArgument(
                        "PER QUERY and SWEEP do not combine: evaluate one setting per query".into(),
                    ));
                }
                let (settings, orders): (Vec<String>, Vec<_>) =
                    sweep::orders(&e.order, s)?.into_iter().unzip();
                let templates: Vec<_> = orders.iter().map(|o| compile(o, k)).collect();
                let evaluations = evaluate_each(db, &e.collection, &queries, &templates, k)?;
                let mut results: Vec<_> = settings.into_iter().zip(evaluations).collect();
                if e.save_best {
                    let best = sweep::save_best(db, &e.collection, s, &results, &orders)?;
                    results[best].0.push_str(" [saved as default]");
                }
                if let Some(path) = &e.plot {
                    let title = format!("{}: {}", e.collection, e.order);
                    let short: String = title.chars().take(90).collect();
                    crate::evaluate::plot::sweep(&results, &short, std::path::Path::new(path))?;
                }
                return Ok(report::sweep(&results));
            }
            let ev = evaluate(db, &e.collection, &queries, &compile(&e.order, k), k)?;
            Ok(match e.per_query {
                true => report::per_query(&ev),
                false => report::summary(&ev),
            })
        }
        Statement::EvaluateRecall(e) => {
            let k = e.k as usize;
            let points = crate::evaluate::evaluate_recall(
                db,
                &e.collection,
                &e.column,
                k,
                e.sample as usize,
                &e.settings,
            )?;
            Ok(crate::evaluate::recall::report(&points, k))
        }
        Statement::CreateFusionProfile(p) => {
            crate::profiles::create(db, p)?;
            Ok(Output::Done(format!(
                "created fusion profile {} on {}",
                p.name, p.collection
            )))
        }
        Statement::ShowFusionProfiles(on) => crate::profiles::show(db, on.as_deref()),
        Statement::DropFusionProfile { collection, name } => {
            db.collection(collection)?.drop_profile(name)?;
            Ok(Output::Done(format!(
                "dropped fusion profile {name} on {collection}"
            )))
        }
        Statement::Reembed { collection, column } => {
            let r = db.collection(collection)?.reembed(column)?;
            Ok(Output::Done(format!(
                "re-embedded {collection}.{column}: {} filled, {} changed meanwhile (filled by the rule), {} without text",
                r.filled, r.skipped, r.without_text
            )))
        }
        Statement::CopyFrom {
            collection,
            column,
            path,
        } => {
            let c = db.collection(collection)?;
            let path = std::path::Path::new(path);
            let n = crate::copy::copy_from(&c, column.as_deref(), path, &db.progress())?;
            Ok(Output::Done(format!("copied {n} rows into {collection}")))
        }
        Statement::CopyTo { collection, path } => {
            let snap = db.collection(collection)?.snapshot()?;
            let path = std::path::Path::new(path);
            let n = crate::copy::copy_to(&snap, path, &db.progress())?;
            Ok(Output::Done(format!(
                "copied {n} rows from {collection} to {}",
                path.display()
            )))
        }
    }
}

fn select(db: &Database, select: &Select, explain: bool) -> Result<Output> {
    let snap = db.collection(&select.from)?.snapshot()?;
    let filter = match &select.filter {
        Some(expr) => Some(Filter::new(snap.schema(), expr.clone())?),
        None => None,
    };
    let keep = |item: &ItemRef<'_>| filter.as_ref().is_none_or(|f| f.matches(item));
    if select.what == Projection::Count {
        let n = match filter {
            None => snap.count(),
            Some(_) => snap.scan().filter(|i| keep(i)).count() as u64,
        };
        return Ok(Output::Rows {
            columns: vec!["count".into()],
            rows: vec![vec![Value::Int(n as i64)]],
        });
    }
    let columns = projection(&snap, &select.what)?;
    let Some(order) = &select.order else {
        let limit = select.limit.unwrap_or(u64::MAX) as usize;
        let rows = snap
            .scan()
            .filter(|i| keep(i))
            .take(limit)
            .map(|item| row(&item, &columns, None, None))
            .collect::<Result<_>>()?;
        return Ok(Output::Rows { columns, rows });
    };
    let k = select.limit.unwrap_or(DEFAULT_LIMIT) as usize;
    let mut query = compile(order, k).explain(explain);
    query.filter = filter;
    let hits = db.query(&snap, &query)?;
    if explain {
        return Ok(Output::Rows {
            columns: vec!["plan".into()],
            rows: crate::explain::lines(&hits, k)?
                .into_iter()
                .map(|line| vec![Value::Text(line)])
                .collect(),
        });
    }
    let rows = hits
        .hits
        .iter()
        .map(|h| row(&h.item, &columns, Some(h.score), h.element))
        .collect::<Result<_>>()?;
    Ok(Output::Rows { columns, rows })
}

pub(crate) fn parse_metric(name: &str) -> Result<Metric> {
    match name {
        "COSINE" => Ok(Metric::Cosine),
        "DOT" => Ok(Metric::Dot),
        "L2" => Ok(Metric::L2),
        other => Err(Error::InvalidArgument(format!("unknown metric {other}"))),
    }
}

pub(crate) fn attr_type(ty: &ColumnType) -> AttrType {
    match ty {
        ColumnType::Int => AttrType::Int,
        ColumnType::Float => AttrType::Float,
        ColumnType::Bool => AttrType::Bool,
        ColumnType::Tags => AttrType::Tags,
        ColumnType::Sparse => AttrType::Sparse,
        ColumnType::Text | ColumnType::Vector(..) | ColumnType::MultiVector(..) => AttrType::Text,
    }
}

/// The index `CREATE INDEX ... USING kind WITH (...)` declares: `kind` is `HNSW`,
/// `IVF_PQ`, `IVF`, `FLAT` or `BM25`, each parameter a number or a name in quotes.
pub fn index_spec(kind: &str, with: &[(String, Literal)]) -> Result<IndexSpec> {
    let mut spec = match kind {
        "HNSW" => IndexSpec::hnsw(),
        "BM25" => IndexSpec::bm25(),
        "IVF_PQ" => IndexSpec::ivf_pq(),
        "IVF" => IndexSpec::ivf(),
        "FLAT" => IndexSpec::flat(),
        _ => {
            return Err(Error::InvalidArgument(format!(
                "unknown index kind {kind} (HNSW, IVF_PQ, IVF, FLAT or BM25)"
            )));
        }
    };
    for (key, value) in with {
        let key = key.to_ascii_lowercase();
        let text = || match value {
            Literal::Str(name) => Ok(name.as_str()),
            _ => Err(Error::InvalidArgument(format!(
                "{key} must be a name in quotes, got {value}"
            ))),
        };
        let real = || match value {
            Literal::Number(n) => Ok(*n as f32),
            _ => Err(Error::InvalidArgument(format!(
                "{key} must be a number, got {value}"
            ))),
        };
        spec = match (kind, key.as_str()) {
            ("HNSW" | "IVF" | "FLAT", "quantize") => spec.quantize(Quantize::parse(text()?)?),
            ("BM25", "analyzer") => spec.analyzer(Analyzer::parse(text()?)?),
            ("BM25", "k1") => spec.k1(real()?),
            ("BM25", "b") => spec.b(real()?),
            ("HNSW" | "IVF_PQ", "m") => spec.m(whole(&key, value)?),
            ("HNSW", "ef_construction") => spec.ef_construction(whole(&key, value)?),
            ("IVF_PQ" | "IVF", "nlist") => spec.nlist(whole(&key, value)?),
            ("IVF_PQ" | "IVF" | "FLAT", "refine") => spec.refine(whole(&key, value)?),
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "{kind} has no parameter {key}"
                )));
            }
        };
    }
    Ok(spec)
}

/// An index parameter that must be a whole number.
fn whole(key: &str, value: &Literal) -> Result<u32> {
    match value {
        Literal::Number(n) if *n >= 0.0 && n.fract() == 0.0 && *n <= u32::MAX as f64 => {
            Ok(*n as u32)
        }
        _ => Err(Error::InvalidArgument(format!(
            "{key} must be a whole number, got {value}"
        ))),
    }
}

/// A literal as the value of `column`, converted to the column's type.
fn to_value(schema: &Schema, column: &str, lit: &Literal) -> Result<Value> {
    let (_, c) = schema.column(column)?;
    let ty = c.attr().map(|a| a.ty);
    Ok(match (lit, ty) {
        (Literal::Null, _) => Value::Null,
        (Literal::Vector(v), None) => Value::Vector(v.clone()),
        (Literal::Vectors(v), None) => Value::Vectors(v.clone()),
        (Literal::Number(n), Some(AttrType::Int)) if n.fract() == 0.0 => Value::Int(*n as i64),
        (Literal::Number(n), Some(AttrType::Float)) => Value::Float(*n),
        (Literal::Str(s), Some(AttrType::Text)) => Value::Text(s.clone()),
        (Literal::Str(s), Some(AttrType::Tags)) => Value::Tags(
            s.split(',')
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect(),
        ),
        (Literal::Bool(b), Some(AttrType::Bool)) => Value::Bool(*b),
        (Literal::Sparse(v), Some(AttrType::Sparse)) => Value::Sparse(v.clone()),
        _ => {
            return Err(Error::TypeMismatch {
                column: column.to_string(),
                expected: c.type_name(),
                got: lit.to_string(),
            });
        }
    })
}

/// The selected column names (`*`: id then every attribute); `id`, `_score` and
/// `_element` (the matched vector of a multi-vector column) are always allowed.
fn projection(snap: &CollectionSnapshot, what: &Projection) -> Result<Vec<String>> {
    match what {
        Projection::Star | Projection::Count => {
            let mut cols = vec!["id".to_string()];
            cols.extend(
                snap.schema()
                    .columns()
                    .iter()
                    .filter(|c| c.attr().is_some())
                    .map(|c| c.name.clone()),
            );
            Ok(cols)
        }
        Projection::Columns(cols) => {
            for c in cols {
                if !["id", "_score", "_element"].contains(&c.as_str()) {
                    snap.schema().column(c)?;
                }
            }
            Ok(cols.clone())
        }
    }
}

fn row(
    item: &ItemRef<'_>,
    columns: &[String],
    score: Option<f32>,
    element: Option<u32>,
) -> Result<Vec<Value>> {
    columns
        .iter()
        .map(|c| match c.as_str() {
            "id" => Ok(Value::Text(item.id()?.to_string())),
            "_score" => Ok(score.map_or(Value::Null, |s| Value::Float(s as f64))),
            "_element" => Ok(element.map_or(Value::Null, |e| Value::Int(e.into()))),
            name => item.value(name),
        })
        .collect()
}
