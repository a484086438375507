//! Searches from Python: one column, several fused, "more like this item", and a batch
//! of queries in parallel. Every search runs with the GIL released, through the same
//! ranking step as SQL's `ORDER BY` (`CollectionSnapshot::rank`).

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use quiver::sql::{parse_filter, parse_fusion};
use quiver::{
    Collection, ColumnPart, Error, Filter, FusionChoice, Missing, Normalization,
    NormalizationChoice, Query, SearchOptions, Target,
};
use rayon::prelude::*;

use crate::arrays::{Rows, matrix_out, read_vector, vector_out};
use crate::errors::{IntoPy, InvalidArgumentError, SqlSyntaxError};

/// `ef`, `nprobe` and `exact` as the engine's options.
pub fn options(ef: Option<usize>, nprobe: Option<usize>, exact: bool) -> SearchOptions {
    SearchOptions {
        ef,
        nprobe,
        exact,
        ..SearchOptions::default()
    }
}

/// A fusion written as in SQL's FUSE (`"WEIGHTED(0.3, 0.7)"`, `"RRF"`, `"DEFAULT"`).
pub fn fusion(text: &str) -> PyResult<FusionChoice> {
    let spec = parse_fusion(text)
        .map_err(|e| SqlSyntaxError::new_err(format!("fusion: {}", e.render(text))))?;
    Ok(quiver_sql::fusion(&spec))
}

/// A one-column query (the vector copied out of Python before the GIL is released).
pub fn single(column: &str, vector: &Bound<'_, PyAny>, k: usize) -> PyResult<Query> {
    let vector = read_vector(vector, "the query vector")?;
    Ok(Query::nearest(column, Target::Vector(vector), k))
}

/// A fused query over `vectors`' columns.
pub fn fused(
    vectors: &Bound<'_, PyDict>,
    k: usize,
    fusion_text: &str,
    normalize: Option<&str>,
    missing: Option<&str>,
) -> PyResult<Query> {
    let mut query = Query::fused(fusion(fusion_text)?, k);
    for (column, vector) in vectors.iter() {
        let column: String = column.extract()?;
        let vector = read_vector(&vector, &format!("the query vector for {column}"))?;
        query = query.term(&column, Target::Vector(vector));
    }
    if query.terms.is_empty() {
        return Err(InvalidArgumentError::new_err(
            "a fused search needs at least one column's query vector",
        ));
    }
    query.normalization = normalize.map(normalization).transpose()?;
    query.missing = match missing.map(str::to_ascii_lowercase).as_deref() {
        None | Some("skip") => Missing::Skip,
        Some("partial") => Missing::ScorePresent,
        Some(other) => {
            return Err(InvalidArgumentError::new_err(format!(
                "missing must be skip or partial, not {other:?}"
            )));
        }
    };
    Ok(query)
}

fn normalization(text: &str) -> PyResult<NormalizationChoice> {
    Ok(match text.to_ascii_lowercase().as_str() {
        "none" => NormalizationChoice::Given(Normalization::None),
        "minmax" => NormalizationChoice::Given(Normalization::MinMax),
        "zscore" => NormalizationChoice::Given(Normalization::ZScore),
        "calibrated" => NormalizationChoice::Calibrated,
        _ => {
            return Err(InvalidArgumentError::new_err(format!(
                "normalize must be none, minmax, zscore or calibrated, not {text:?}"
            )));
        }
    })
}

/// The results of one search, best first. `ids` and `scores` (float32 array, higher
/// is better) are parallel; `distances[column]` and `column_scores[column]` give each
/// queried column's raw distance and normalized score per result (NaN where the item
/// has no value on that column); `plan` holds EXPLAIN's lines when asked for.
#[pyclass(name = "Results", module = "quiver", frozen)]
#[derive(Debug)]
pub struct PyResults {
    #[pyo3(get)]
    ids: Vec<String>,
    scores_: Vec<f32>,
    #[pyo3(get)]
    columns: Vec<String>,
    parts: Vec<Vec<Option<ColumnPart>>>,
    #[pyo3(get)]
    plan: Vec<String>,
}

impl PyResults {
    /// Column `c`'s field `f` per result, NaN where missing.
    fn per_result(&self, c: usize, f: fn(&ColumnPart) -> f32) -> Vec<f32> {
        self.parts
            .iter()
            .map(|parts| parts.get(c).copied().flatten().map_or(f32::NAN, |p| f(&p)))
            .collect()
    }

    fn by_column<'py>(
        &self,
        py: Python<'py>,
        f: fn(&ColumnPart) -> f32,
    ) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (c, name) in self.columns.iter().enumerate() {
            dict.set_item(name, vector_out(py, self.per_result(c, f)))?;
        }
        Ok(dict)
    }
}

#[pymethods]
impl PyResults {
    #[getter]
    fn scores<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        vector_out(py, self.scores_.clone()).into_any()
    }

    #[getter]
    fn distances<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.by_column(py, |p| p.distance)
    }

    #[getter]
    fn column_scores<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.by_column(py, |p| p.normalized)
    }

    /// One dict per result: `id`, `score`, then `<column>_distance` and
    /// `<column>_score` for each queried column (None where the item lacks it).
    fn to_dicts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for (i, id) in self.ids.iter().enumerate() {
            let row = PyDict::new(py);
            row.set_item("id", id)?;
            row.set_item("score", self.scores_[i])?;
            for (c, name) in self.columns.iter().enumerate() {
                let part = self.parts[i].get(c).copied().flatten();
                row.set_item(format!("{name}_distance"), part.map(|p| p.distance))?;
                row.set_item(format!("{name}_score"), part.map(|p| p.normalized))?;
            }
            list.append(row)?;
        }
        Ok(list)
    }

    fn __len__(&self) -> usize {
        self.ids.len()
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.to_dicts(py)?.as_any().try_iter().map(Bound::into_any)
    }

    fn __repr__(&self) -> String {
        let shown: Vec<String> = self
            .ids
            .iter()
            .zip(&self.scores_)
            .take(5)
            .map(|(id, s)| format!("{id}: {s:.4}"))
            .collect();
        let more = if self.ids.len() > 5 { ", ..." } else { "" };
        format!("Results([{}{more}])", shown.join(", "))
    }
}

/// The filter `text` (a WHERE condition) for the collection's current schema.
fn filter(collection: &Collection, text: Option<&str>) -> PyResult<Option<Filter>> {
    let Some(text) = text else {
        return Ok(None);
    };
    let expr = parse_filter(text)
        .map_err(|e| SqlSyntaxError::new_err(format!("where: {}", e.render(text))))?;
    let schema = collection.schema().py_err()?;
    Filter::new(&schema, expr).map(Some).py_err()
}

/// Runs `query` with the GIL released; `skip` is an id left out of the answer.
fn rank(
    py: Python<'_>,
    collection: &Collection,
    mut query: Query,
    skip: Option<&str>,
) -> PyResult<PyResults> {
    let k = query.k;
    query.k += usize::from(skip.is_some());
    let ranked = py.detach(|| -> quiver::Result<PyResults> {
        let snapshot = collection.snapshot()?;
        let hits = collection.database().query(&snapshot, &query)?;
        let mut results = PyResults {
            ids: Vec::new(),
            scores_: Vec::new(),
            columns: hits.columns.clone(),
            parts: Vec::new(),
            plan: quiver_sql::plan_lines(&hits, k)?,
        };
        for h in hits.hits {
            let id = h.item.id()?;
            if Some(id) == skip || results.ids.len() == k {
                continue;
            }
            results.ids.push(id.to_string());
            results.scores_.push(h.score);
            results.parts.push(h.parts);
        }
        Ok(results)
    });
    ranked.py_err()
}

/// One search (single column or fused), filtered by the WHERE condition `where_`.
pub fn run(
    py: Python<'_>,
    collection: &Collection,
    query: Query,
    where_: Option<&str>,
    options: SearchOptions,
    explain: bool,
) -> PyResult<PyResults> {
    let mut query = query.options(options).explain(explain);
    query.filter = filter(collection, where_)?;
    rank(py, collection, query, None)
}

/// The items most like item `id` by its own vectors on `columns`, itself left out.
pub fn like(
    py: Python<'_>,
    collection: &Collection,
    id: &str,
    columns: &[String],
    k: usize,
    fusion_text: &str,
    where_: Option<&str>,
) -> PyResult<PyResults> {
    let vectors = py
        .detach(|| -> quiver::Result<Vec<Vec<f32>>> {
            let snapshot = collection.snapshot()?;
            let item = snapshot
                .get(id)?
                .ok_or_else(|| Error::NotFound { id: id.to_string() })?;
            columns
                .iter()
                .map(|c| {
                    item.vector(c)?.map(<[f32]>::to_vec).ok_or_else(|| {
                        Error::InvalidArgument(format!("item {id} has no value on column {c}"))
                    })
                })
                .collect()
        })
        .py_err()?;
    let mut query = match columns {
        [] => return Err(InvalidArgumentError::new_err("name at least one column")),
        [column] => Query::nearest(column, Target::Vector(vectors[0].clone()), k),
        _ => columns
            .iter()
            .zip(vectors)
            .fold(Query::fused(fusion(fusion_text)?, k), |q, (c, v)| {
                q.term(c, Target::Vector(v))
            }),
    };
    query.filter = filter(collection, where_)?;
    rank(py, collection, query, Some(id))
}

/// One search per row of `queries`, in parallel: (ids per query, distances n x k).
pub fn batch<'py>(
    py: Python<'py>,
    collection: &Collection,
    column: &str,
    queries: &Bound<'py, PyAny>,
    k: usize,
    options: &SearchOptions,
    threads: Option<usize>,
) -> PyResult<(Bound<'py, PyList>, Bound<'py, PyAny>)> {
    let rows = Rows::read(queries, "queries")?;
    let (n, dim) = (rows.n, rows.dim);
    let data = rows.data().to_vec();
    let found = py.detach(|| -> quiver::Result<Vec<Vec<(String, f32)>>> {
        let snapshot = collection.snapshot()?;
        let one = |q: &[f32]| -> quiver::Result<Vec<(String, f32)>> {
            snapshot
                .search(column, q, k, options)?
                .iter()
                .map(|h| Ok((h.item.id()?.to_string(), h.distance)))
                .collect()
        };
        let all = || -> quiver::Result<Vec<_>> {
            if dim == 0 {
                return (0..n).map(|_| one(&[])).collect();
            }
            data.par_chunks(dim).map(one).collect()
        };
        match threads {
            None => all(),
            Some(t) => rayon::ThreadPoolBuilder::new()
                .num_threads(t.max(1))
                .build()
                .map_err(|e| Error::InvalidArgument(format!("threads: {e}")))?
                .install(all),
        }
    });
    let found = found.py_err()?;
    let ids = PyList::empty(py);
    let mut distances = vec![f32::NAN; n * k];
    for (q, hits) in found.iter().enumerate() {
        ids.append(hits.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>())?;
        for (j, (_, d)) in hits.iter().enumerate() {
            distances[q * k + j] = *d;
        }
    }
    Ok((ids, matrix_out(py, distances, n, k)?.into_any()))
}
