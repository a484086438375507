//! `quiver.Collection`: writes (one item, or many from numpy arrays and dicts), point
//! reads, indexes and maintenance; the searches are in [`crate::search`].

use pyo3::prelude::*;
use pyo3::types::PyDict;
use quiver::sql::Literal;
use quiver::{Collection, ColumnKind, FusionChoice, IndexSpec, Item, Value, WriteBatch};

use crate::arrays::Rows;
use crate::convert::{item_from_kwargs, item_from_row, py_to_value, row_to_dict};
use crate::database::PyDatabase;
use crate::errors::{IntoPy, InvalidArgumentError, to_py};
use crate::search;

/// A handle on one collection of a database. Each read works from a fresh snapshot,
/// so it sees every write committed before the call.
#[pyclass(name = "Collection", module = "quiver", frozen)]
#[derive(Debug)]
pub struct PyCollection {
    db: Py<PyDatabase>,
    name: String,
}

impl PyCollection {
    /// The collection `name` of `db` (`UnknownCollectionError` when there is none).
    pub fn open(db: &Bound<'_, PyDatabase>, name: &str) -> PyResult<PyCollection> {
        db.get().database()?.collection(name).py_err()?;
        Ok(PyCollection {
            db: db.clone().unbind(),
            name: name.to_string(),
        })
    }

    /// The engine's handle (`ClosedError` once the database is closed).
    pub fn handle(&self) -> PyResult<Collection> {
        self.db.get().database()?.collection(&self.name).py_err()
    }

    /// Commits `batch` with the GIL released.
    fn commit(&self, py: Python<'_>, batch: WriteBatch) -> PyResult<usize> {
        let collection = self.handle()?;
        let n = batch.len();
        py.detach(|| collection.commit(batch)).py_err()?;
        Ok(n)
    }

    /// One item from keyword values, written by `op` (insert, upsert or update).
    fn write_one(
        &self,
        py: Python<'_>,
        id: String,
        values: Option<&Bound<'_, PyDict>>,
        op: fn(&mut WriteBatch, Item) -> &mut WriteBatch,
    ) -> PyResult<()> {
        let item = item_from_kwargs(&self.handle()?.schema().py_err()?, id, values)?;
        let mut batch = WriteBatch::new();
        op(&mut batch, item);
        self.commit(py, batch).map(drop)
    }

    /// `data`'s items, all written by `op` in one commit; returns how many.
    fn write_many(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        op: fn(&mut WriteBatch, Item) -> &mut WriteBatch,
    ) -> PyResult<usize> {
        let mut batch = WriteBatch::new();
        for item in self.items(data)? {
            op(&mut batch, item);
        }
        self.commit(py, batch)
    }

    /// Items from `data`: a list of row dicts, or a dict of columns (`"id"`: a list of
    /// ids; each vector column a 2-D float32 array or list of vectors; each attribute a
    /// list of values), all of one length.
    fn items(&self, data: &Bound<'_, PyAny>) -> PyResult<Vec<Item>> {
        let schema = self.handle()?.schema().py_err()?;
        let Ok(columns) = data.cast::<PyDict>() else {
            return data
                .try_iter()?
                .map(|row| item_from_row(&schema, &row?))
                .collect();
        };
        let ids: Vec<String> = match columns.get_item("id")? {
            Some(ids) => ids.extract().map_err(|_| {
                InvalidArgumentError::new_err("\"id\" must be a list of str, one per item")
            })?,
            None => return Err(InvalidArgumentError::new_err("the columns have no \"id\"")),
        };
        let mut items: Vec<Item> = ids.iter().cloned().map(Item::new).collect();
        for (name, values) in columns.iter() {
            let name: String = name.extract()?;
            if name == "id" {
                continue;
            }
            let (_, column) = schema.column(&name).map_err(to_py)?;
            let wrong_length = |n: usize| {
                InvalidArgumentError::new_err(format!(
                    "column {name} has {n} values for {} ids",
                    ids.len()
                ))
            };
            if let ColumnKind::Vector(_) = column.kind {
                let rows = Rows::read(&values, &format!("column {name}"))?;
                if rows.n != ids.len() {
                    return Err(wrong_length(rows.n));
                }
                for (i, item) in items.iter_mut().enumerate() {
                    let vector = Value::Vector(rows.row(i).to_vec());
                    *item = std::mem::replace(item, Item::new("")).set(name.clone(), vector);
                }
                continue;
            }
            let values: Vec<Bound<'_, PyAny>> = values.try_iter()?.collect::<PyResult<_>>()?;
            if values.len() != ids.len() {
                return Err(wrong_length(values.len()));
            }
            for (item, value) in items.iter_mut().zip(&values) {
                let value = py_to_value(column, value)?;
                *item = std::mem::replace(item, Item::new("")).set(name.clone(), value);
            }
        }
        Ok(items)
    }
}

#[pymethods]
impl PyCollection {
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// The columns' names, in schema order.
    #[getter]
    fn columns(&self) -> PyResult<Vec<String>> {
        let schema = self.handle()?.schema().py_err()?;
        Ok(schema.columns().iter().map(|c| c.name.clone()).collect())
    }

    /// Inserts a new item: `insert("p1", title="red shoe", text_vec=np.array(...))`.
    /// Raises `DuplicateIdError` when the id exists.
    #[pyo3(signature = (id, **values))]
    fn insert(
        &self,
        py: Python<'_>,
        id: String,
        values: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        self.write_one(py, id, values, WriteBatch::insert)
    }

    /// Inserts the item or replaces it whole (columns left out become NULL).
    #[pyo3(signature = (id, **values))]
    fn upsert(
        &self,
        py: Python<'_>,
        id: String,
        values: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        self.write_one(py, id, values, WriteBatch::upsert)
    }

    /// Overwrites the given columns of an existing item (`NotFoundError` when there is
    /// none); the others keep their values.
    #[pyo3(signature = (id, **values))]
    fn update(
        &self,
        py: Python<'_>,
        id: String,
        values: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        self.write_one(py, id, values, WriteBatch::update)
    }

    /// Inserts many items in one atomic commit and returns how many. `data` is a dict
    /// of columns (`{"id": ids, "text_vec": float32 array (n, d), "title": [...]}`) or
    /// a list of row dicts. Nothing is written when any item is refused.
    fn insert_many(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<usize> {
        self.write_many(py, data, WriteBatch::insert)
    }

    /// As `insert_many`, replacing items that exist.
    fn upsert_many(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<usize> {
        self.write_many(py, data, WriteBatch::upsert)
    }

    /// Deletes the item if it exists (a missing id is no error, as in the engine).
    fn delete(&self, py: Python<'_>, id: String) -> PyResult<()> {
        let mut batch = WriteBatch::new();
        batch.delete(id);
        self.commit(py, batch).map(drop)
    }

    /// The item as a dict (`id` and every column, NULL as None, vectors as float32
    /// arrays), or None.
    fn get<'py>(&self, py: Python<'py>, id: &str) -> PyResult<Option<Bound<'py, PyDict>>> {
        let snapshot = self.handle()?.snapshot().py_err()?;
        let Some(item) = snapshot.get(id).py_err()? else {
            return Ok(None);
        };
        let mut names = vec!["id".to_string()];
        let mut values = vec![Value::Text(item.id().py_err()?.to_string())];
        for column in snapshot.schema().columns() {
            values.push(item.value(&column.name).py_err()?);
            names.push(column.name.clone());
        }
        row_to_dict(py, &names, &values).map(Some)
    }

    /// The number of live items.
    fn count(&self) -> PyResult<u64> {
        self.handle()?.count().py_err()
    }

    /// Builds an index on a vector column, with the GIL released: `kind` "hnsw"
    /// (parameters `m`, `ef_construction`, `quantize` = "sq8" (default), "rabitq4",
    /// "rabitq2", "rabitq1" or "none"), "ivfpq" (`nlist`, `m`, `refine`), "ivf"
    /// (`nlist`, `quantize` = "rabitq4" (default), "rabitq2" or "rabitq1", `refine`) or
    /// "flat" (`quantize`, default "none": an exact scan; `refine`).
    #[pyo3(signature = (column, kind = "hnsw", **params))]
    fn create_index(
        &self,
        py: Python<'_>,
        column: &str,
        kind: &str,
        params: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let spec = index_spec(kind, params)?;
        let collection = self.handle()?;
        py.detach(|| collection.create_index(column, spec)).py_err()
    }

    /// Drops the column's index (searches scan it exactly).
    fn drop_index(&self, py: Python<'_>, column: &str) -> PyResult<()> {
        let collection = self.handle()?;
        py.detach(|| collection.drop_index(column)).py_err()
    }

    /// Seals the collection's in-memory writes into a segment.
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        let collection = self.handle()?;
        py.detach(|| collection.flush()).py_err()
    }

    /// Merges the collection's segments into one, dropping deleted rows.
    fn compact(&self, py: Python<'_>) -> PyResult<()> {
        let collection = self.handle()?;
        py.detach(|| collection.compact()).py_err()
    }

    /// `search(column, vector, k=10, *, where=None, select=None, ef=None, nprobe=None, refine=None,
    /// exact=False, explain=False)`: the `k` nearest items on one vector column; or
    /// `search(match=("title", "red shoe"), k=10, ...)`: the `k` best by BM25 on a TEXT
    /// column with a BM25 index. Returns `Results`, each hit with the values of the
    /// `select`ed columns (default: every attribute column).
    #[pyo3(signature = (column = None, vector = None, k = 10, *, r#match = None, r#where = None, select = None, ef = None, nprobe = None, refine = None, exact = false, explain = false))]
    #[allow(clippy::too_many_arguments)]
    fn search(
        &self,
        py: Python<'_>,
        column: Option<&str>,
        vector: Option<&Bound<'_, PyAny>>,
        k: usize,
        r#match: Option<(String, String)>,
        r#where: Option<&str>,
        select: Option<Vec<String>>,
        ef: Option<usize>,
        nprobe: Option<usize>,
        refine: Option<usize>,
        exact: bool,
        explain: bool,
    ) -> PyResult<search::PyResults> {
        let options = search::options(ef, nprobe, refine, exact);
        let query = match (column, vector, r#match) {
            (Some(column), Some(vector), None) => search::single(column, vector, k)?,
            (None, None, Some((column, text))) => {
                quiver::Query::nearest(&column, quiver::Target::Match(text), k)
            }
            _ => {
                return Err(crate::errors::InvalidArgumentError::new_err(
                    "search takes a column and a vector, or match=(column, text)",
                ));
            }
        };
        search::run(
            py,
            &self.handle()?,
            query,
            r#where,
            options,
            explain,
            select,
        )
    }

    /// `fused_search({"text_vec": q1, "image_vec": q2}, k=10, *, match=None, fusion="RRF",
    /// normalize=None, missing=None, where=None, select=None, ...)`: one ranking over
    /// several columns; `match=("title", "red shoe")` adds a BM25 term on a TEXT column
    /// (first among the terms). `fusion` is written as in SQL's FUSE: `"WEIGHTED(0.3,
    /// 0.7)"`, `"RRF"`, `"RRF(k = 20)"`, `"MIN"`, `"MAX"`, `"AVG"`, `"DEFAULT"` (the
    /// collection's saved one), `"PROFILE name"`; or `profile="name"` (with
    /// `label="..."` for a per-label profile) names a fusion profile instead of
    /// `fusion`. Returns `Results` with every column's distance and score and the
    /// `select`ed columns' values.
    #[pyo3(signature = (vectors = None, k = 10, *, r#match = None, fusion = "RRF", profile = None, label = None, normalize = None, missing = None, r#where = None, select = None, ef = None, nprobe = None, refine = None, exact = false, explain = false))]
    #[allow(clippy::too_many_arguments)]
    fn fused_search(
        &self,
        py: Python<'_>,
        vectors: Option<&Bound<'_, PyDict>>,
        k: usize,
        r#match: Option<(String, String)>,
        fusion: &str,
        profile: Option<String>,
        label: Option<String>,
        normalize: Option<&str>,
        missing: Option<&str>,
        r#where: Option<&str>,
        select: Option<Vec<String>>,
        ef: Option<usize>,
        nprobe: Option<usize>,
        refine: Option<usize>,
        exact: bool,
        explain: bool,
    ) -> PyResult<search::PyResults> {
        let options = search::options(ef, nprobe, refine, exact);
        let mut query = search::fused(vectors, r#match, k, fusion, normalize, missing)?;
        match (profile, label) {
            (Some(name), label) => query.fusion = Some(FusionChoice::Profile { name, label }),
            (None, Some(_)) => {
                return Err(InvalidArgumentError::new_err(
                    "label picks a per-label fusion profile: give profile= too",
                ));
            }
            (None, None) => {}
        }
        search::run(
            py,
            &self.handle()?,
            query,
            r#where,
            options,
            explain,
            select,
        )
    }

    /// `search_like(id, columns, k=10, *, fusion="RRF", where=None, select=None)`: the
    /// items most like item `id` by its own vectors on `columns` (one or several,
    /// fused), the item itself left out.
    #[pyo3(signature = (id, columns, k = 10, *, fusion = "RRF", r#where = None, select = None))]
    #[allow(clippy::too_many_arguments)]
    fn search_like(
        &self,
        py: Python<'_>,
        id: &str,
        columns: Vec<String>,
        k: usize,
        fusion: &str,
        r#where: Option<&str>,
        select: Option<Vec<String>>,
    ) -> PyResult<search::PyResults> {
        let handle = self.handle()?;
        search::like(py, &handle, id, &columns, k, fusion, r#where, select)
    }

    /// `search_batch(column, queries, k=10, *, ef=None, nprobe=None, refine=None, exact=False,
    /// threads=None)`: one search per row of `queries` (n x d), in parallel on
    /// `threads` threads (default: all cores), GIL released. Returns `BatchResults`:
    /// `ids` (n lists), `scores` and `distances` ((n, k) float32, as `Results`' scores
    /// and distances), NaN past a query's last hit.
    #[pyo3(signature = (column, queries, k = 10, *, ef = None, nprobe = None, refine = None, exact = false, threads = None))]
    #[allow(clippy::too_many_arguments)]
    fn search_batch(
        &self,
        py: Python<'_>,
        column: &str,
        queries: &Bound<'_, PyAny>,
        k: usize,
        ef: Option<usize>,
        nprobe: Option<usize>,
        refine: Option<usize>,
        exact: bool,
        threads: Option<usize>,
    ) -> PyResult<search::PyBatchResults> {
        let options = search::options(ef, nprobe, refine, exact);
        search::batch(py, &self.handle()?, column, queries, k, &options, threads)
    }

    /// `evaluate(queries, columns, k=10, *, match=None, fusion="RRF", per_query=False)`:
    /// scores the ranking over `columns` (one, or several fused by `fusion`; with
    /// `match="title"`, BM25 of each query's text on that TEXT column too) on labelled
    /// queries, as SQL's EVALUATE does. `queries` is a list of dicts as in EVALUATE's queries
    /// file: `{"qid": ..., "text": ... | "query_item": id, "qrels": {id: grade},
    /// "label": ...}`. Returns an `EvaluationReport` (`quiver.EvaluationReport`):
    /// `overall` and `by_label` summaries (recall, precision, ndcg, mrr, map, hit_rate,
    /// queries, without_relevant), `not_applicable`, `qps`, and with `per_query` each
    /// query's metrics and answer; `.to_pandas()` gives one row per label.
    #[pyo3(signature = (queries, columns = Vec::new(), k = 10, *, r#match = None, fusion = "RRF", per_query = false))]
    #[allow(clippy::too_many_arguments)]
    fn evaluate<'py>(
        &self,
        py: Python<'py>,
        queries: &Bound<'py, PyAny>,
        columns: Vec<String>,
        k: usize,
        r#match: Option<&str>,
        fusion: &str,
        per_query: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let db = self.db.get().database()?;
        let terms = (columns.as_slice(), r#match);
        crate::evaluate::run(py, &db, &self.name, queries, terms, k, fusion, per_query)
    }

    /// `tune(queries, columns, k=10, *, match=None, fusion="RRF", normalize=None,
    /// per_label=False, folds=5, save_as=None, plot=None)`: SQL's EVALUATE ... TUNE
    /// WEIGHTS: the fusion of `columns` (and `match`'s BM25 on a TEXT column, first)
    /// fitted to the labelled queries by NDCG@k, once for all queries or once per
    /// label, with its in-sample and cross-validated (`folds`-fold) NDCG beside the
    /// ranking as `fusion` writes it. `normalize` fixes the normalization (else it is
    /// chosen too); `save_as` saves fusion profiles (`name`, per label `name/label`)
    /// that `fused_search(profile=...)` and SQL's `FUSE(PROFILE ...)` use; `plot`
    /// draws the weights and NDCG per label to a PNG. Returns a `TuningReport`.
    #[pyo3(signature = (queries, columns, k = 10, *, r#match = None, fusion = "RRF", normalize = None, per_label = false, folds = 5, save_as = None, plot = None))]
    #[allow(clippy::too_many_arguments)]
    fn tune<'py>(
        &self,
        py: Python<'py>,
        queries: &Bound<'py, PyAny>,
        columns: Vec<String>,
        k: usize,
        r#match: Option<&str>,
        fusion: &str,
        normalize: Option<&str>,
        per_label: bool,
        folds: u64,
        save_as: Option<String>,
        plot: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let db = self.db.get().database()?;
        let mut template = crate::evaluate::template(&columns, r#match, fusion, k)?;
        template.normalization = normalize.map(search::normalization).transpose()?;
        let how = quiver::sql::Tune {
            per_label,
            folds,
            save_as,
        };
        crate::evaluate::tune(py, &db, &self.name, queries, template, k, how, plot)
    }

    fn __len__(&self) -> PyResult<usize> {
        let n = self.handle()?.count().py_err()?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn __contains__(&self, id: &str) -> PyResult<bool> {
        let snapshot = self.handle()?.snapshot().py_err()?;
        Ok(snapshot.get(id).py_err()?.is_some())
    }

    fn __repr__(&self) -> String {
        format!("Collection({:?})", self.name)
    }
}

/// The index `kind` with the parameters given (the engine's defaults for the rest).
/// `create_index`'s kind and keyword parameters as SQL's `CREATE INDEX ... USING kind
/// WITH (...)` reads them (one set of rules: `quiver_sql::index_spec`).
fn index_spec(kind: &str, params: Option<&Bound<'_, PyDict>>) -> PyResult<IndexSpec> {
    let kind = match kind.to_ascii_lowercase().as_str() {
        "hnsw" => "HNSW",
        "ivfpq" | "ivf_pq" | "ivf-pq" => "IVF_PQ",
        "bm25" => "BM25",
        "ivf" => "IVF",
        "flat" => "FLAT",
        other => {
            return Err(InvalidArgumentError::new_err(format!(
                "unknown index kind {other:?} (hnsw, ivfpq, ivf, flat or bm25)"
            )));
        }
    };
    let mut with = Vec::new();
    for (name, value) in params.into_iter().flat_map(|p| p.iter()) {
        let name: String = name.extract()?;
        let value = if let Ok(text) = value.extract::<String>() {
            Literal::Str(text)
        } else if let Ok(number) = value.extract::<f64>() {
            Literal::Number(number)
        } else {
            return Err(InvalidArgumentError::new_err(format!(
                "index parameter {name} must be a number or a str"
            )));
        };
        with.push((name, value));
    }
    quiver_sql::index_spec(kind, &with).py_err()
}
