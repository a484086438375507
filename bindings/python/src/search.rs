//! Searches from Python: one column, several fused, "more like this item", and a batch
//! of queries in parallel. Every search runs with the GIL released, through the same
//! ranking step as SQL's `ORDER BY` (`CollectionSnapshot::rank`).

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use quiver::sql::{parse_filter, parse_fusion};
use quiver::{
    Collection, ColumnPart, Error, Filter, FusionChoice, Missing, Normalization,
    NormalizationChoice, Query, SearchOptions, Target, Value,
};
use rayon::prelude::*;

use crate::arrays::{Rows, matrix_out, vector_out};
use crate::convert::{read_target, value_to_py};
use crate::errors::{IntoPy, InvalidArgumentError, SqlSyntaxError};

/// `ef`, `nprobe` and `exact` as the engine's options.
pub fn options(
    ef: Option<usize>,
    nprobe: Option<usize>,
    refine: Option<usize>,
    exact: bool,
) -> SearchOptions {
    SearchOptions {
        ef,
        nprobe,
        refine,
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
    let target = read_target(vector, "the query vector")?;
    Ok(Query::nearest(column, target, k))
}

/// A fused query over `vectors`' columns, after `matched`'s BM25 term when given.
pub fn fused(
    vectors: Option<&Bound<'_, PyDict>>,
    matched: Option<(String, String)>,
    k: usize,
    fusion_text: &str,
    normalize: Option<&str>,
    missing: Option<&str>,
) -> PyResult<Query> {
    let mut query = Query::fused(fusion(fusion_text)?, k);
    if let Some((column, text)) = matched {
        query = query.term(&column, Target::Match(text));
    }
    for (column, vector) in vectors.into_iter().flat_map(|v| v.iter()) {
        let column: String = column.extract()?;
        let target = read_target(&vector, &format!("the query vector for {column}"))?;
        query = query.term(&column, target);
    }
    if query.terms.is_empty() {
        return Err(InvalidArgumentError::new_err(
            "a fused search needs at least one column's query vector or a match",
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

pub fn normalization(text: &str) -> PyResult<NormalizationChoice> {
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
/// is better) are parallel; `attributes[name]` holds each result's value of every
/// selected column; `distances[column]` and `column_scores[column]` give each queried
/// column's raw distance and normalized score per result (NaN where the item has no
/// value on that column); `plan` holds EXPLAIN's lines when asked for.
#[pyclass(name = "Results", module = "quiver", frozen)]
#[derive(Debug)]
pub struct PyResults {
    #[pyo3(get)]
    ids: Vec<String>,
    scores_: Vec<f32>,
    #[pyo3(get)]
    columns: Vec<String>,
    parts: Vec<Vec<Option<ColumnPart>>>,
    /// The selected columns' names, and per result their values.
    selected: Vec<String>,
    values: Vec<Vec<Value>>,
    /// Per result, the matched vector of a multi-vector column searched by `<->`.
    elements_: Vec<Option<u32>>,
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

    /// Selected column `a`'s values, one per result.
    fn attribute<'py>(&self, py: Python<'py>, a: usize) -> PyResult<Bound<'py, PyList>> {
        let values = self
            .values
            .iter()
            .map(|row| value_to_py(py, &row[a]))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, values)
    }

    /// [`Self::attribute`] for a table: a sparse vector as `{"indices": [...],
    /// "values": [...]}` (Arrow's struct, as COPY TO writes Parquet; a dict keyed by
    /// ints has no Arrow type), every other value as `attribute` gives it.
    fn column<'py>(&self, py: Python<'py>, a: usize) -> PyResult<Bound<'py, PyList>> {
        let values = self
            .values
            .iter()
            .map(|row| match &row[a] {
                Value::Sparse(v) => {
                    let dict = PyDict::new(py);
                    dict.set_item("indices", v.indices())?;
                    dict.set_item("values", v.values())?;
                    Ok(dict.into_any())
                }
                // Nested lists: Arrow, pandas and polars take those, not 2-D arrays.
                Value::Vectors(v) => Ok(PyList::new(py, v.to_lists())?.into_any()),
                other => value_to_py(py, other),
            })
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, values)
    }

    /// Whether some result says which of its vectors matched.
    fn has_elements(&self) -> bool {
        self.elements_.iter().any(Option::is_some)
    }

    /// `module.factory(self.to_pydict())`, or an ImportError saying what to install.
    fn convert<'py>(
        &self,
        py: Python<'py>,
        module: &str,
        factory: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let library = py.import(module).map_err(|e| {
            pyo3::exceptions::PyImportError::new_err(format!(
                "Results.to_{module}() needs {module} (pip install {module}): {e}"
            ))
        })?;
        library.getattr(factory)?.call1((self.to_pydict(py)?,))
    }
}

#[pymethods]
impl PyResults {
    /// Per result, the place of the matched vector in the item's list on a
    /// multi-vector column searched by its nearest vector; None otherwise.
    #[getter]
    fn elements(&self) -> Vec<Option<u32>> {
        self.elements_.clone()
    }

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

    /// `{column: [value per result]}` for every selected column.
    #[getter]
    fn attributes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (a, name) in self.selected.iter().enumerate() {
            dict.set_item(name, self.attribute(py, a)?)?;
        }
        Ok(dict)
    }

    /// One dict per result: `id`, the selected columns, `score`, `element` (on a
    /// multi-vector `<->` search: which of the item's vectors matched), then
    /// `<column>_distance` and `<column>_score` for each queried column (None where
    /// the item lacks it).
    fn to_dicts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for (i, id) in self.ids.iter().enumerate() {
            let row = PyDict::new(py);
            row.set_item("id", id)?;
            for (name, value) in self.selected.iter().zip(&self.values[i]) {
                row.set_item(name, value_to_py(py, value)?)?;
            }
            row.set_item("score", self.scores_[i])?;
            if self.has_elements() {
                row.set_item("element", self.elements_[i])?;
            }
            for (c, name) in self.columns.iter().enumerate() {
                let part = self.parts[i].get(c).copied().flatten();
                row.set_item(format!("{name}_distance"), part.map(|p| p.distance))?;
                row.set_item(format!("{name}_score"), part.map(|p| p.normalized))?;
            }
            list.append(row)?;
        }
        Ok(list)
    }

    /// The results as columns, in `to_dicts`' order: `{"id": [...], <selected column>:
    /// [...], "score": array, "<column>_distance": array, "<column>_score": array}`
    /// (NaN where an item lacks a queried column; a sparse vector as `{"indices": [...],
    /// "values": [...]}`, which Arrow, pandas and polars all take).
    fn to_pydict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        dict.set_item("id", self.ids.clone())?;
        for (a, name) in self.selected.iter().enumerate() {
            dict.set_item(name, self.column(py, a)?)?;
        }
        dict.set_item("score", vector_out(py, self.scores_.clone()))?;
        if self.has_elements() {
            dict.set_item("element", self.elements_.clone())?;
        }
        for (c, name) in self.columns.iter().enumerate() {
            let distance = vector_out(py, self.per_result(c, |p| p.distance));
            dict.set_item(format!("{name}_distance"), distance)?;
            let score = vector_out(py, self.per_result(c, |p| p.normalized));
            dict.set_item(format!("{name}_score"), score)?;
        }
        Ok(dict)
    }

    /// A `pyarrow.Table` of `to_pydict()` (needs pyarrow).
    fn to_arrow<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.convert(py, "pyarrow", "table")
    }

    /// A `pandas.DataFrame` of `to_pydict()` (needs pandas).
    fn to_pandas<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.convert(py, "pandas", "DataFrame")
    }

    /// A `polars.DataFrame` of `to_pydict()` (needs polars).
    fn to_polars<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.convert(py, "polars", "DataFrame")
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

/// The results of `search_batch`: per query, the ids (best first) and, as (n, k)
/// float32 arrays, the scores (higher is better, as `Results.scores`) and the raw
/// distances (as `Results.distances`); NaN past a query's last hit.
#[pyclass(name = "BatchResults", module = "quiver", frozen)]
#[derive(Debug)]
pub struct PyBatchResults {
    #[pyo3(get)]
    ids: Vec<Vec<String>>,
    scores_: Vec<f32>,
    distances_: Vec<f32>,
    k: usize,
}

#[pymethods]
impl PyBatchResults {
    #[getter]
    fn scores<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(matrix_out(py, self.scores_.clone(), self.ids.len(), self.k)?.into_any())
    }

    #[getter]
    fn distances<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(matrix_out(py, self.distances_.clone(), self.ids.len(), self.k)?.into_any())
    }

    fn __len__(&self) -> usize {
        self.ids.len()
    }

    fn __repr__(&self) -> String {
        format!("BatchResults({} queries, k={})", self.ids.len(), self.k)
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

/// Runs `query` with the GIL released; `skip` is an id left out of the answer. `select`
/// names the columns each hit carries (`None`: every attribute column).
fn rank(
    py: Python<'_>,
    collection: &Collection,
    mut query: Query,
    select: Option<Vec<String>>,
    skip: Option<&str>,
) -> PyResult<PyResults> {
    if let Some(names) = &select {
        query.attributes = names.clone();
    }
    let k = query.k;
    query.k += usize::from(skip.is_some());
    let ranked = py.detach(|| -> quiver::Result<PyResults> {
        let snapshot = collection.snapshot()?;
        if query.attributes.is_empty() && select.is_none() {
            query.attributes = snapshot
                .schema()
                .columns()
                .iter()
                .filter(|c| c.attr().is_some())
                .map(|c| c.name.clone())
                .collect();
        }
        let hits = collection.database().query(&snapshot, &query)?;
        let mut results = PyResults {
            ids: Vec::new(),
            scores_: Vec::new(),
            columns: hits.columns.clone(),
            parts: Vec::new(),
            selected: hits.attributes.clone(),
            values: Vec::new(),
            elements_: Vec::new(),
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
            results.values.push(h.attributes);
            results.elements_.push(h.element);
        }
        Ok(results)
    });
    ranked.py_err()
}

/// One search (single column or fused), filtered by the WHERE condition `where_`.
#[allow(clippy::too_many_arguments)]
pub fn run(
    py: Python<'_>,
    collection: &Collection,
    query: Query,
    where_: Option<&str>,
    options: SearchOptions,
    explain: bool,
    select: Option<Vec<String>>,
) -> PyResult<PyResults> {
    let mut query = query.options(options).explain(explain);
    query.filter = filter(collection, where_)?;
    rank(py, collection, query, select, None)
}

/// The items most like item `id` by its own vectors on `columns`, itself left out.
#[allow(clippy::too_many_arguments)]
pub fn like(
    py: Python<'_>,
    collection: &Collection,
    id: &str,
    columns: &[String],
    k: usize,
    fusion_text: &str,
    where_: Option<&str>,
    select: Option<Vec<String>>,
) -> PyResult<PyResults> {
    // Each term is the item's own value on its column (a vector, or a sparse vector on
    // a SPARSE column), read by the query from its snapshot.
    py.detach(|| -> quiver::Result<()> {
        let snapshot = collection.snapshot()?;
        snapshot
            .get(id)?
            .map(|_| ())
            .ok_or_else(|| Error::NotFound { id: id.to_string() })
    })
    .py_err()?;
    let own = || Target::Item(id.to_string());
    let mut query = match columns {
        [] => return Err(InvalidArgumentError::new_err("name at least one column")),
        [column] => Query::nearest(column, own(), k),
        _ => columns
            .iter()
            .fold(Query::fused(fusion(fusion_text)?, k), |q, c| {
                q.term(c, own())
            }),
    };
    query.filter = filter(collection, where_)?;
    rank(py, collection, query, select, Some(id))
}

/// One search per row of `queries`, in parallel.
pub fn batch(
    py: Python<'_>,
    collection: &Collection,
    column: &str,
    queries: &Bound<'_, PyAny>,
    k: usize,
    options: &SearchOptions,
    threads: Option<usize>,
) -> PyResult<PyBatchResults> {
    let rows = Rows::read(queries, "queries")?;
    let (n, dim) = (rows.n, rows.dim);
    let data = rows.data().to_vec();
    let found = py.detach(|| -> quiver::Result<Vec<Vec<(String, f32, f32)>>> {
        let snapshot = collection.snapshot()?;
        let one = |q: &[f32]| -> quiver::Result<Vec<(String, f32, f32)>> {
            snapshot
                .search(column, q, k, options)?
                .iter()
                .map(|h| Ok((h.item.id()?.to_string(), h.score, h.distance)))
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
    let mut ids = Vec::with_capacity(n);
    let mut scores = vec![f32::NAN; n * k];
    let mut distances = vec![f32::NAN; n * k];
    for (q, hits) in found.into_iter().enumerate() {
        for (j, (_, score, distance)) in hits.iter().enumerate() {
            scores[q * k + j] = *score;
            distances[q * k + j] = *distance;
        }
        ids.push(hits.into_iter().map(|(id, _, _)| id).collect());
    }
    Ok(PyBatchResults {
        ids,
        scores_: scores,
        distances_: distances,
        k,
    })
}
