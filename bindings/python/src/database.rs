//! `quiver.Database`: an open database folder, and `Database.sql` for any statement of
//! the language.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyList;
use quiver::sql::parse_script;
use quiver::{Database, Output};

use crate::collection::PyCollection;
use crate::convert::row_to_dict;
use crate::errors::{IntoPy, SqlSyntaxError};

/// An open database. Cheap to share between threads: every method takes `&self` and
/// the engine serializes writers itself.
#[pyclass(name = "Database", module = "quiver", frozen)]
#[derive(Debug)]
pub struct PyDatabase {
    db: Database,
    path: PathBuf,
}

/// What `sql` computed with the GIL released, before it is turned into Python objects.
enum SqlResult {
    Parsed(quiver::Result<Option<Output>>),
    Syntax(String),
}

impl PyDatabase {
    pub fn open(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let db = py.detach(|| Database::open(&path)).py_err()?;
        Ok(PyDatabase { db, path })
    }
}

#[pymethods]
impl PyDatabase {
    /// Runs a script of one or more `;`-separated statements, in order, and returns
    /// the LAST statement's result: a list of dicts for a statement that returns rows,
    /// otherwise its message (`"inserted 3 items"`). Stops at the first error.
    fn sql<'py>(&self, py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
        let result = py.detach(|| match parse_script(text) {
            Err(e) => SqlResult::Syntax(e.render(text)),
            Ok(statements) => SqlResult::Parsed((|| {
                let mut last = None;
                for statement in &statements {
                    last = Some(self.db.run(statement)?);
                }
                Ok(last)
            })()),
        });
        let output = match result {
            SqlResult::Syntax(message) => return Err(SqlSyntaxError::new_err(message)),
            SqlResult::Parsed(output) => output.py_err()?,
        };
        match output {
            None => Ok(PyList::empty(py).into_any()),
            Some(Output::Done(message)) => Ok(message.into_pyobject(py)?.into_any()),
            Some(Output::Rows { columns, rows }) => {
                let list = PyList::empty(py);
                for row in &rows {
                    list.append(row_to_dict(py, &columns, row)?)?;
                }
                Ok(list.into_any())
            }
        }
    }

    /// The collection `name`; raises `UnknownCollectionError` when there is none.
    fn collection(&self, name: &str) -> PyResult<PyCollection> {
        let collection = self.db.collection(name).py_err()?;
        Ok(PyCollection::new(collection))
    }

    /// The names of the collections, sorted.
    fn collection_names(&self) -> Vec<String> {
        self.db.collection_names()
    }

    /// Seals the in-memory writes of every collection into segments.
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.db.flush()).py_err()
    }

    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }

    fn __repr__(&self) -> String {
        format!("Database({:?})", self.path.display().to_string())
    }
}
