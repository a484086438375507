//! `quiver.Database`: an open database folder: collections, `Database.sql` for any
//! statement of the language, the encoders, and `close` (also as a context manager).

use std::path::PathBuf;

use parking_lot::RwLock;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use quiver::encode::{Encoder, Result as EncodeResult};
use quiver::sql::{parse_script, parse_statement};
use quiver::{Database, Durability, Error, OpenOptions};
use quiver_sql::{Output, ToTable};

use crate::arrays::matrix_out;
use crate::collection::PyCollection;
use crate::convert::row_to_dict;
use crate::errors::{ClosedError, IntoPy, InvalidArgumentError, SqlSyntaxError, to_py};

/// An open database. Cheap to share between threads: every method takes `&self` and
/// the engine serializes writers itself.
#[pyclass(name = "Database", module = "quiver", frozen)]
#[derive(Debug)]
pub struct PyDatabase {
    /// `None` once closed. Calls in flight keep their own handle (a clone), so the
    /// writer lock is released when the last of them returns.
    db: RwLock<Option<Database>>,
    path: PathBuf,
}

/// What `sql` computed with the GIL released, before it is turned into Python objects.
enum SqlResult {
    Parsed(quiver::Result<Option<Output>>),
    Syntax(String),
}

impl PyDatabase {
    pub fn open(py: Python<'_>, path: PathBuf, options: OpenOptions) -> PyResult<Self> {
        let db = py.detach(|| options.open(&path)).py_err()?;
        Ok(PyDatabase {
            db: RwLock::new(Some(db)),
            path,
        })
    }

    /// The engine handle, or `ClosedError`.
    pub fn database(&self) -> PyResult<Database> {
        self.db.read().clone().ok_or_else(|| {
            ClosedError::new_err(format!("the database {} is closed", self.path.display()))
        })
    }

    /// Runs one statement given as text (built by this module, so a syntax error is
    /// this module's bug, reported as such).
    fn run_text(&self, py: Python<'_>, text: &str) -> PyResult<Output> {
        let db = self.database()?;
        let statement =
            parse_statement(text).map_err(|e| SqlSyntaxError::new_err(e.render(text)))?;
        py.detach(|| quiver_sql::run(&db, &statement)).py_err()
    }
}

impl PyDatabase {
    /// Runs `call` on the encoder named `name` with the GIL released; its rows as an
    /// `n x dim` array.
    fn run_encoder<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        call: impl FnOnce(&dyn Encoder) -> EncodeResult<Vec<Vec<f32>>> + Send,
    ) -> PyResult<Bound<'py, PyAny>> {
        let db = self.database()?;
        let rows = py.detach(|| {
            let encoder = db.encoders().get(name)?;
            call(encoder.as_ref())
        });
        rows_out(py, rows.map_err(|e| to_py(Error::Encoder(e.to_string())))?)
    }
}

/// `connect`'s `durability`: `"sync"`, `"never"`, or seconds between fsyncs.
pub fn durability(value: &Bound<'_, PyAny>) -> PyResult<Durability> {
    if let Ok(text) = value.extract::<String>() {
        return match text.to_ascii_lowercase().as_str() {
            "sync" => Ok(Durability::SyncEveryCommit),
            "never" => Ok(Durability::Never),
            _ => Err(InvalidArgumentError::new_err(format!(
                "durability must be \"sync\", \"never\" or seconds between fsyncs, not {text:?}"
            ))),
        };
    }
    let seconds: f64 = value.extract().map_err(|_| {
        InvalidArgumentError::new_err(
            "durability must be \"sync\", \"never\" or a number of seconds",
        )
    })?;
    if !(seconds.is_finite() && seconds > 0.0 && seconds <= 86_400.0) {
        return Err(InvalidArgumentError::new_err(format!(
            "a durability interval must be in (0, 86400] seconds, not {seconds}"
        )));
    }
    Ok(Durability::Periodic(std::time::Duration::from_secs_f64(
        seconds,
    )))
}

/// `name` as a quoted SQL name.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The column list of `CREATE COLLECTION` from a str (`"title TEXT, v VECTOR(3) COSINE"`)
/// or a dict (`{"title": "TEXT", "v": "VECTOR(3) COSINE"}`).
fn schema_text(schema: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(text) = schema.cast::<PyString>() {
        return Ok(text.to_string());
    }
    let dict = schema.cast::<PyDict>().map_err(|_| {
        to_py(Error::InvalidArgument(
            "a schema is a str of column definitions or a dict {name: type}".into(),
        ))
    })?;
    let mut columns = Vec::new();
    for (name, ty) in dict.iter() {
        let (name, ty): (String, String) = (name.extract()?, ty.extract()?);
        columns.push(format!("{} {ty}", quote(&name)));
    }
    Ok(columns.join(", "))
}

#[pymethods]
impl PyDatabase {
    /// Runs a script of one or more `;`-separated statements, in order, and returns
    /// the LAST statement's result: a list of dicts for a statement that returns rows,
    /// otherwise its message (`"inserted 3 items"`). Stops at the first error.
    fn sql<'py>(&self, py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
        let db = self.database()?;
        let result = py.detach(|| match parse_script(text) {
            Err(e) => SqlResult::Syntax(e.render(text)),
            Ok(statements) => SqlResult::Parsed((|| {
                let mut last = None;
                for statement in &statements {
                    last = Some(quiver_sql::run(&db, statement)?);
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
            Some(output) => output_to_py(py, output),
        }
    }

    /// Creates the collection `name` and returns it. `schema` is the column list of
    /// `CREATE COLLECTION` as a str, or a dict `{column: type}`, e.g.
    /// `{"title": "TEXT", "text_vec": "VECTOR(384) COSINE EMBED FROM title USING 'minilm'"}`.
    fn create_collection(
        slf: &Bound<'_, Self>,
        name: &str,
        schema: &Bound<'_, PyAny>,
    ) -> PyResult<PyCollection> {
        let text = format!(
            "CREATE COLLECTION {} ({})",
            quote(name),
            schema_text(schema)?
        );
        slf.get().run_text(slf.py(), &text)?;
        PyCollection::open(slf, name)
    }

    /// Drops the collection `name` and its data.
    fn drop_collection(&self, py: Python<'_>, name: &str) -> PyResult<()> {
        let db = self.database()?;
        py.detach(|| db.drop_collection(name)).py_err()
    }

    /// The collection `name`; raises `UnknownCollectionError` when there is none.
    fn collection(slf: &Bound<'_, Self>, name: &str) -> PyResult<PyCollection> {
        PyCollection::open(slf, name)
    }

    /// The names of the collections, sorted.
    fn collection_names(&self) -> PyResult<Vec<String>> {
        Ok(self.database()?.collection_names())
    }

    /// Seals the in-memory writes of every collection into segments.
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        let db = self.database()?;
        py.detach(|| db.flush()).py_err()
    }

    /// The encoders' registry names (`EMBED('minilm', ...)`).
    fn encoders(&self) -> PyResult<Vec<String>> {
        Ok(self.database()?.encoders().names())
    }

    /// Embeds `texts` with the encoder `encoder`: a float32 array, one row per text.
    fn encode<'py>(
        &self,
        py: Python<'py>,
        encoder: &str,
        texts: Vec<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        self.run_encoder(py, encoder, |e| e.encode_texts(&texts))
    }

    /// Embeds the image files `paths` with the encoder `encoder`: a float32 array, one
    /// row per image.
    fn encode_images<'py>(
        &self,
        py: Python<'py>,
        encoder: &str,
        paths: Vec<PathBuf>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let paths: Vec<&std::path::Path> = paths.iter().map(PathBuf::as_path).collect();
        self.run_encoder(py, encoder, |e| e.encode_images(&paths))
    }

    /// VERIFY: checks every checksum and structural invariant of the database's files;
    /// one dict per check (`collection`, `file`, `check`, `status` "ok" or
    /// "PROBLEM", `detail`), problems first. Reads only; the GIL is released.
    fn verify<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let db = self.database()?;
        let report = py.detach(|| db.verify()).py_err()?;
        output_to_py(py, report.table())
    }

    /// REPAIR: rebuilds damaged indexes from the column data and, only when
    /// `drop_damaged_segments`, drops segments whose rows are damaged; one dict per
    /// damaged segment (see `quiver.repair`). The GIL is released.
    #[pyo3(signature = (drop_damaged_segments = false))]
    fn repair<'py>(
        &self,
        py: Python<'py>,
        drop_damaged_segments: bool,
    ) -> PyResult<Bound<'py, pyo3::types::PyList>> {
        let db = self.database()?;
        let options = quiver::RepairOptions {
            drop_damaged_segments,
        };
        let report = py.detach(|| db.repair(options)).py_err()?;
        crate::repair_report::report_to_py(py, &report)
    }

    /// A read-only connection: picks up the writer's commits now (one served from
    /// object storage first fetches the newest published version). Returns whether
    /// anything changed. The GIL is released.
    fn refresh(&self, py: Python<'_>) -> PyResult<bool> {
        let db = self.database()?;
        py.detach(|| db.refresh()).py_err()
    }

    /// Why this read-only connection's last refresh failed (it serves what it had),
    /// or None.
    #[getter]
    fn refresh_error(&self) -> PyResult<Option<String>> {
        Ok(self.database()?.info().refresh_error)
    }

    /// Publishes the database to object storage at `url` (`s3://bucket/prefix`):
    /// flushes, uploads the files not there yet, then the manifest as the next
    /// version (never overwriting one: `ConflictError` after losing 5 races). `s3`:
    /// settings beside the `AWS_*` environment variables. Returns `{"version",
    /// "uploaded", "bytes"}`. The GIL is released.
    #[pyo3(signature = (url, *, s3 = None))]
    fn publish<'py>(
        &self,
        py: Python<'py>,
        url: &str,
        s3: Option<std::collections::HashMap<String, String>>,
    ) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        let db = self.database()?;
        let settings: Vec<(String, String)> = s3.unwrap_or_default().into_iter().collect();
        let refs: Vec<(&str, &str)> = settings
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let done = py.detach(|| db.publish_with(url, &refs)).py_err()?;
        let out = pyo3::types::PyDict::new(py);
        out.set_item("version", done.version)?;
        out.set_item("uploaded", done.uploaded)?;
        out.set_item("bytes", done.bytes)?;
        Ok(out)
    }

    /// Closes the database: later calls on it or its collections raise `ClosedError`,
    /// and the folder's writer lock is released (once calls in flight return).
    /// Closing twice is no error.
    fn close(&self) {
        self.db.write().take();
    }

    #[getter]
    fn closed(&self) -> bool {
        self.db.read().is_none()
    }

    /// Whether this handle was opened read-only (`connect(..., read_only=True)`).
    #[getter]
    fn read_only(&self) -> PyResult<bool> {
        Ok(self.database()?.info().read_only)
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(
        &self,
        _kind: Option<&Bound<'_, PyAny>>,
        _value: Option<&Bound<'_, PyAny>>,
        _traceback: Option<&Bound<'_, PyAny>>,
    ) -> bool {
        self.close();
        false
    }

    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }

    fn __repr__(&self) -> String {
        let state = if self.closed() { ", closed" } else { "" };
        format!("Database({:?}{state})", self.path.display().to_string())
    }
}

/// A statement's output: its rows as a list of dicts, or its message.
pub fn output_to_py(py: Python<'_>, output: Output) -> PyResult<Bound<'_, PyAny>> {
    match output {
        Output::Done(message) => Ok(message.into_pyobject(py)?.into_any()),
        Output::Rows { columns, rows } => {
            let list = PyList::empty(py);
            for row in &rows {
                list.append(row_to_dict(py, &columns, row)?)?;
            }
            Ok(list.into_any())
        }
    }
}

/// Encoder output as an `n x dim` array.
fn rows_out(py: Python<'_>, rows: Vec<Vec<f32>>) -> PyResult<Bound<'_, PyAny>> {
    let n = rows.len();
    let dim = rows.first().map_or(0, Vec::len);
    let flat: Vec<f32> = rows.into_iter().flatten().collect();
    Ok(matrix_out(py, flat, n, dim)?.into_any())
}
