//! Searches from Python: one column, several fused, "more like this item", and a batch
//! of queries in parallel. Every search runs with the GIL released, through the same
//! ranking step as SQL's `ORDER BY` (`CollectionSnapshot::rank`).

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use quiver::sql::{
    FuseOptions, MissingSpec, Nearest, NormalizeSpec, Order, QueryVector, parse_filter,
    parse_fusion,
};
use quiver::{Collection, ColumnPart, Error, Filter, SearchOptions};
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

/// An ORDER BY and its query vectors (copied out of Python before the GIL is released).
pub struct Query {
    order: Order,
    vectors: Vec<Vec<f32>>,
}

fn nearest(column: &str) -> Nearest {
    Nearest {
        column: column.to_string(),
        query: QueryVector::Query,
    }
}

/// A fusion written as in SQL's FUSE (`"WEIGHTED(0.3, 0.7)"`, `"RRF"`).
fn fusion_spec(text: &str) -> PyResult<quiver::sql::FusionSpec> {
    parse_fusion(text).map_err(|e| SqlSyntaxError::new_err(format!("fusion: {}", e.render(text))))
}

impl Query {
    pub fn single(column: &str, vector: &Bound<'_, PyAny>) -> PyResult<Query> {
        Ok(Query {
            order: Order::Distance(nearest(column)),
            vectors: vec![read_vector(vector, "the query vector")?],
        })
    }

    pub fn fused(
        vectors: &Bound<'_, PyDict>,
        fusion: &str,
        normalize: Option<&str>,
        missing: Option<&str>,
    ) -> PyResult<Query> {
        let mut terms = Vec::new();
        let mut values = Vec::new();
        for (column, vector) in vectors.iter() {
            let column: String = column.extract()?;
            values.push(read_vector(
                &vector,
                &format!("the query vector for {column}"),
            )?);
            terms.push(nearest(&column));
        }
        if terms.is_empty() {
            return Err(InvalidArgumentError::new_err(
                "a fused search needs at least one column's query vector",
            ));
        }
        let options = FuseOptions {
            normalize: normalize.map(normalize_spec).transpose()?,
            missing: missing.map(missing_spec).transpose()?,
        };
        Ok(Query {
            order: Order::Fuse(fusion_spec(fusion)?, terms, options),
            vectors: values,
        })
    }

    /// Query by `columns`' own vectors: filled in by [`like`].
    fn like(columns: &[String], fusion: &str) -> PyResult<Query> {
        let terms: Vec<Nearest> = columns.iter().map(|c| nearest(c)).collect();
        let order = match terms.len() {
            0 => return Err(InvalidArgumentError::new_err("name at least one column")),
            1 => Order::Distance(terms.into_iter().next().expect("one term")),
            _ => Order::Fuse(fusion_spec(fusion)?, terms, FuseOptions::default()),
        };
        Ok(Query {
            order,
            vectors: Vec::new(),
        })
    }
}

fn normalize_spec(text: &str) -> PyResult<NormalizeSpec> {
    Ok(match text.to_ascii_lowercase().as_str() {
        "none" => NormalizeSpec::None,
        "minmax" => NormalizeSpec::MinMax,
        "zscore" => NormalizeSpec::ZScore,
        "calibrated" => NormalizeSpec::Calibrated,
        _ => {
            return Err(InvalidArgumentError::new_err(format!(
                "normalize must be none, minmax, zscore or calibrated, not {text:?}"
            )));
        }
    })
}

fn missing_spec(text: &str) -> PyResult<MissingSpec> {
    Ok(match text.to_ascii_lowercase().as_str() {
        "skip" => MissingSpec::Skip,
        "partial" => MissingSpec::Partial,
        _ => {
            return Err(InvalidArgumentError::new_err(format!(
                "missing must be skip or partial, not {text:?}"
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

/// Ranks `query` with the GIL released; `skip` is an id left out of the answer.
#[allow(clippy::too_many_arguments)]
fn rank(
    py: Python<'_>,
    collection: &Collection,
    query: &Query,
    k: usize,
    filter: Option<&Filter>,
    options: &SearchOptions,
    explain: bool,
    skip: Option<&str>,
) -> PyResult<PyResults> {
    let columns: Vec<String> = match &query.order {
        Order::Distance(n) => vec![n.column.clone()],
        Order::Fuse(_, ns, _) => ns.iter().map(|n| n.column.clone()).collect(),
    };
    let ranked = py.detach(|| -> quiver::Result<PyResults> {
        let snapshot = collection.snapshot()?;
        let vectors: Vec<&[f32]> = query.vectors.iter().map(Vec::as_slice).collect();
        let wanted = k + usize::from(skip.is_some());
        let ranking = snapshot.rank(&query.order, &vectors, wanted, filter, options, explain)?;
        let mut results = PyResults {
            ids: Vec::new(),
            scores_: Vec::new(),
            columns,
            parts: Vec::new(),
            plan: ranking.plan,
        };
        for r in ranking.items {
            let id = r.item.id()?;
            if Some(id) == skip || results.ids.len() == k {
                continue;
            }
            results.ids.push(id.to_string());
            results.scores_.push(r.score);
            results.parts.push(r.parts);
        }
        Ok(results)
    });
    ranked.py_err()
}

/// One search (single column or fused), filtered by the WHERE condition `where_`.
pub fn run(
    py: Python<'_>,
    collection: &Collection,
    query: &Query,
    k: usize,
    where_: Option<&str>,
    options: &SearchOptions,
    explain: bool,
) -> PyResult<PyResults> {
    let filter = filter(collection, where_)?;
    rank(
        py,
        collection,
        query,
        k,
        filter.as_ref(),
        options,
        explain,
        None,
    )
}

/// The items most like item `id` by its own vectors on `columns`, itself left out.
pub fn like(
    py: Python<'_>,
    collection: &Collection,
    id: &str,
    columns: &[String],
    k: usize,
    fusion: &str,
    where_: Option<&str>,
) -> PyResult<PyResults> {
    let mut query = Query::like(columns, fusion)?;
    let filter = filter(collection, where_)?;
    query.vectors = py
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
    let options = SearchOptions::default();
    rank(
        py,
        collection,
        &query,
        k,
        filter.as_ref(),
        &options,
        false,
        Some(id),
    )
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
