//! `Collection.evaluate`: SQL's EVALUATE from Python, with the labelled queries given
//! as a list of dicts (the queries file's JSON objects) instead of a file; the report
//! is `quiver._report.EvaluationReport` (dataclasses) built from the fields here.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use quiver::{Database, Query, Target};
use quiver_sql::{Evaluation, parse_queries};

use crate::errors::{IntoPy, InvalidArgumentError};
use crate::search::fusion as parse_fusion;

/// The query EVALUATE fills with each labelled query's vectors and text: `matched`'s
/// BM25 (first) and `columns`' distances, one term alone or several fused.
pub fn template(
    columns: &[String],
    matched: Option<&str>,
    fusion: &str,
    k: usize,
) -> PyResult<Query> {
    let terms: Vec<(&str, Target)> = matched
        .map(|c| (c, Target::LabelledText))
        .into_iter()
        .chain(columns.iter().map(|c| (c.as_str(), Target::Labelled)))
        .collect();
    match terms.as_slice() {
        [] => Err(InvalidArgumentError::new_err(
            "name at least one column or a match",
        )),
        [(column, target)] => Ok(Query::nearest(column, target.clone(), k)),
        _ => Ok(terms
            .into_iter()
            .fold(Query::fused(parse_fusion(fusion)?, k), |q, (c, t)| {
                q.term(c, t)
            })),
    }
}

/// The queries as JSON lines (each dict through Python's `json.dumps`).
fn json_lines(queries: &Bound<'_, PyAny>) -> PyResult<String> {
    let dumps = queries.py().import("json")?.getattr("dumps")?;
    let mut lines = Vec::new();
    for query in queries.try_iter()? {
        let query = query?;
        if !query.is_instance_of::<PyDict>() {
            return Err(InvalidArgumentError::new_err(
                "each query must be a dict: {\"qid\", \"text\" | \"query_item\", \"qrels\", \"label\"}",
            ));
        }
        lines.push(dumps.call1((query,))?.extract::<String>()?);
    }
    Ok(lines.join("\n"))
}

fn metrics_dict<'py>(py: Python<'py>, m: &quiver::eval::Metrics) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("recall", m.recall)?;
    dict.set_item("precision", m.precision)?;
    dict.set_item("ndcg", m.ndcg)?;
    dict.set_item("mrr", m.rr)?;
    dict.set_item("map", m.ap)?;
    dict.set_item("hit_rate", m.hit)?;
    Ok(dict)
}

fn summary_dict<'py>(py: Python<'py>, s: &quiver::eval::Summary) -> PyResult<Bound<'py, PyDict>> {
    let dict = metrics_dict(py, &s.mean)?;
    dict.set_item("queries", s.queries)?;
    dict.set_item("without_relevant", s.without_relevant)?;
    Ok(dict)
}

fn evaluation_dict<'py>(
    py: Python<'py>,
    ev: &Evaluation,
    per_query: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("k", ev.k)?;
    dict.set_item("overall", summary_dict(py, &ev.overall)?)?;
    let by_label = PyDict::new(py);
    for (label, summary) in &ev.by_label {
        by_label.set_item(label, summary_dict(py, summary)?)?;
    }
    dict.set_item("by_label", by_label)?;
    dict.set_item("not_applicable", ev.not_applicable.clone())?;
    dict.set_item("qps", ev.qps)?;
    if per_query {
        let list = PyList::empty(py);
        for o in &ev.outcomes {
            let q = PyDict::new(py);
            q.set_item("qid", &o.qid)?;
            q.set_item("label", &o.label)?;
            match &o.metrics {
                Some(m) => q.set_item("metrics", metrics_dict(py, m)?)?,
                None => q.set_item("metrics", py.None())?,
            }
            q.set_item("answer", &o.answer)?;
            list.append(q)?;
        }
        dict.set_item("per_query", list)?;
    }
    Ok(dict)
}

/// Scores the ranking over `columns` of collection `name` on `queries`, GIL released.
#[allow(clippy::too_many_arguments)]
pub fn run<'py>(
    py: Python<'py>,
    db: &Database,
    name: &str,
    queries: &Bound<'py, PyAny>,
    (columns, matched): (&[String], Option<&str>),
    k: usize,
    fusion: &str,
    per_query: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let template = template(columns, matched, fusion, k)?;
    let text = json_lines(queries)?;
    let evaluation = py
        .detach(|| -> quiver::Result<Evaluation> {
            let queries = parse_queries(&text, "queries")?;
            quiver_sql::evaluate(db, name, &queries, &template, k)
        })
        .py_err()?;
    let fields = evaluation_dict(py, &evaluation, per_query)?;
    py.import("quiver._report")?
        .getattr("EvaluationReport")?
        .call_method1("_from_fields", (fields,))
}

/// `Collection.tune`: EVALUATE ... TUNE WEIGHTS from Python (GIL released), the
/// report as `quiver._report.TuningReport`; with `plot`, its chart drawn there too.
#[allow(clippy::too_many_arguments)]
pub fn tune<'py>(
    py: Python<'py>,
    db: &Database,
    name: &str,
    queries: &Bound<'py, PyAny>,
    mut template: Query,
    k: usize,
    how: quiver::sql::Tune,
    plot: Option<String>,
) -> PyResult<Bound<'py, PyAny>> {
    template.k = k;
    let text = json_lines(queries)?;
    let tuning = py
        .detach(|| -> quiver::Result<quiver_sql::Tuning> {
            let queries = parse_queries(&text, "queries")?;
            let tuning = quiver_sql::tune(db, name, &queries, &template, k, &how)?;
            if let Some(path) = &plot {
                let title = format!("{name}: tuned over {}", tuning.terms.join(", "));
                quiver_sql::plot_tuning(&tuning, &title, std::path::Path::new(path))?;
            }
            Ok(tuning)
        })
        .py_err()?;
    let fields = PyDict::new(py);
    fields.set_item("k", tuning.k)?;
    fields.set_item("columns", &tuning.columns)?;
    fields.set_item("saved", &tuning.saved)?;
    fields.set_item("gather_seconds", tuning.gather.as_secs_f64())?;
    fields.set_item("fit_seconds", tuning.fit.as_secs_f64())?;
    let lines = PyList::empty(py);
    for line in &tuning.report.lines {
        let d = PyDict::new(py);
        d.set_item("label", &line.label)?;
        d.set_item("queries", line.queries)?;
        let skipped = match line.label.as_str() {
            "*" => tuning.skipped.values().sum(),
            l => tuning.skipped.get(l).copied().unwrap_or(0),
        };
        d.set_item("skipped", skipped)?;
        match &line.setting {
            Some(setting) => {
                let (fusion, normalize) = tuning.describe(setting);
                d.set_item("fusion", fusion)?;
                d.set_item("normalize", normalize)?;
                let weights = match &setting.fusion {
                    quiver::Fusion::Weighted(w) => Some(w.clone()),
                    _ => None,
                };
                d.set_item("weights", weights)?;
            }
            None => {
                d.set_item("fusion", "per label")?;
                d.set_item("normalize", py.None())?;
                d.set_item("weights", py.None())?;
            }
        }
        d.set_item("as_written", line.as_written)?;
        d.set_item("in_sample", line.in_sample)?;
        d.set_item("held_out", line.held_out)?;
        lines.append(d)?;
    }
    fields.set_item("lines", lines)?;
    py.import("quiver._report")?
        .getattr("TuningReport")?
        .call_method1("_from_fields", (fields,))
}
