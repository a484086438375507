//! `quiver.Collection`: writes (insert, upsert, delete), point reads and nearest-
//! neighbour search on one collection.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use quiver::{Collection, SearchOptions, Value};

use crate::convert::{item_from_kwargs, row_to_dict};
use crate::errors::{IntoPy, TypeMismatchError};

/// A handle on one collection. Each read works from a fresh snapshot, so it sees every
/// write committed before the call.
#[pyclass(name = "Collection", module = "quiver", frozen)]
#[derive(Debug)]
pub struct PyCollection {
    inner: Collection,
}

impl PyCollection {
    pub fn new(inner: Collection) -> Self {
        PyCollection { inner }
    }
}

#[pymethods]
impl PyCollection {
    #[getter]
    fn name(&self) -> String {
        self.inner.name().to_string()
    }

    /// Inserts a new item: `insert("p1", title="red shoe", text_vec=[1, 0, 0])`.
    /// Raises `DuplicateIdError` when the id exists.
    #[pyo3(signature = (id, **values))]
    fn insert(&self, id: String, values: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        let schema = self.inner.schema().py_err()?;
        let item = item_from_kwargs(&schema, id, values)?;
        self.inner.insert(item).py_err().map(drop)
    }

    /// Inserts the item or replaces it whole (columns left out become NULL).
    #[pyo3(signature = (id, **values))]
    fn upsert(&self, id: String, values: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        let schema = self.inner.schema().py_err()?;
        let item = item_from_kwargs(&schema, id, values)?;
        self.inner.upsert(item).py_err().map(drop)
    }

    /// Deletes the item if it exists (a missing id is no error, as in the engine).
    fn delete(&self, id: &str) -> PyResult<()> {
        self.inner.delete(id).py_err().map(drop)
    }

    /// The item as a dict (`id` and every column, NULL as None), or None.
    fn get<'py>(&self, py: Python<'py>, id: &str) -> PyResult<Option<Bound<'py, PyDict>>> {
        let snapshot = self.inner.snapshot().py_err()?;
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
        self.inner.count().py_err()
    }

    /// The `k` nearest items to `vector` in the vector column `column`, nearest
    /// first, as `(id, distance)` pairs. `vector` is any sequence of floats. The GIL is
    /// released while the engine searches.
    #[pyo3(signature = (column, vector, k = 10))]
    fn search(
        &self,
        py: Python<'_>,
        column: &str,
        vector: &Bound<'_, PyAny>,
        k: usize,
    ) -> PyResult<Vec<(String, f32)>> {
        if vector.is_instance_of::<PyString>() {
            return Err(TypeMismatchError::new_err(
                "the query vector must be a sequence of floats, not str",
            ));
        }
        let query: Vec<f32> = vector.extract().map_err(|_| {
            TypeMismatchError::new_err("the query vector must be a sequence of floats")
        })?;
        py.detach(|| -> quiver::Result<Vec<(String, f32)>> {
            let snapshot = self.inner.snapshot()?;
            let hits = snapshot.search(column, &query, k, &SearchOptions::default())?;
            hits.iter()
                .map(|hit| Ok((hit.item.id()?.to_string(), hit.distance)))
                .collect()
        })
        .py_err()
    }

    fn __len__(&self) -> PyResult<usize> {
        let n = self.inner.count().py_err()?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn __repr__(&self) -> String {
        format!("Collection({:?})", self.inner.name())
    }
}
