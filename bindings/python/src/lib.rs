//! `quiver-python`: the native half of the `quiver` Python package (`quiver._quiver`).
//!
//! It owns the translation between Python objects and the engine's types (values,
//! items, query results, errors) and nothing else: every rule about storage, schemas
//! and search stays in the `quiver` crate. Bad input from Python never panics; it
//! becomes a typed exception from the hierarchy in [`errors`]. Calls that may run long
//! (SQL statements, searches, index builds, encoders, EVALUATE) release the GIL.

mod arrays;
mod collection;
mod convert;
mod database;
mod errors;
mod evaluate;
mod repair_report;
mod search;

use pyo3::prelude::*;
use quiver_sql::ToTable;

/// `quiver.connect(path, *, read_only=False, durability="sync", cache_dir=None,
/// cache_bytes=None, s3=None, poll_every=10.0)`: opens (or, for writing, creates)
/// the database folder `path`. Writing raises `LockedError` when another handle
/// already writes to it; `read_only=True` takes no lock (and needs the folder to
/// exist). `durability`: `"sync"` (fsync before each commit returns), `"never"` (no
/// WAL fsync while open: commits survive a killed process, not a power cut), or a
/// number of seconds (fsync at that interval).
///
/// `path` may be `s3://bucket/prefix`: the database published there, read-only,
/// cached in `cache_dir` (default under `$QUIVER_CACHE_DIR` or
/// `~/.cache/quiver/remote`), at most `cache_bytes` there (`CacheFullError`), with
/// `s3` settings beside the `AWS_*` environment variables, looking for newer
/// versions every `poll_every` seconds (None: only on `refresh()`).
#[pyfunction]
#[pyo3(signature = (
    path, *, read_only = false, durability = None, cache_dir = None, cache_bytes = None,
    s3 = None, poll_every = Some(10.0)
))]
#[allow(clippy::too_many_arguments)]
fn connect(
    py: Python<'_>,
    path: std::path::PathBuf,
    read_only: bool,
    durability: Option<&Bound<'_, PyAny>>,
    cache_dir: Option<std::path::PathBuf>,
    cache_bytes: Option<u64>,
    s3: Option<std::collections::HashMap<String, String>>,
    poll_every: Option<f64>,
) -> PyResult<database::PyDatabase> {
    let durability = durability.map(database::durability).transpose()?;
    let mut options = quiver::OpenOptions::new().read_only(read_only);
    if let Some(d) = durability {
        options = options.durability(d);
    }
    if let Some(dir) = cache_dir {
        options = options.cache_dir(dir);
    }
    if let Some(bytes) = cache_bytes {
        options = options.cache_bytes(bytes);
    }
    for (key, value) in s3.unwrap_or_default() {
        options = options.s3_setting(key, value);
    }
    let poll = match poll_every {
        Some(s) if s.is_finite() && s > 0.0 => Some(std::time::Duration::from_secs_f64(s)),
        Some(s) => {
            return Err(errors::InvalidArgumentError::new_err(format!(
                "poll_every must be a positive number of seconds or None, not {s}"
            )));
        }
        None => None,
    };
    options = options.poll_remote_every(poll);
    database::PyDatabase::open(py, path, options)
}

/// `quiver.verify(path)`: VERIFY on a database folder without opening it (so also on
/// one that no longer opens, or that another process writes); as `Database.verify`.
#[pyfunction]
fn verify(py: Python<'_>, path: std::path::PathBuf) -> PyResult<Bound<'_, PyAny>> {
    let report = py
        .detach(|| quiver::verify_path(&path))
        .map_err(errors::to_py)?;
    database::output_to_py(py, report.table())
}

/// `quiver.repair(path, drop_damaged_segments=False)`: REPAIR on a database folder
/// that is not open (also one that no longer opens); as `Database.repair`. Raises
/// `LockedError` while the database is open elsewhere.
#[pyfunction]
#[pyo3(signature = (path, drop_damaged_segments = false))]
fn repair(
    py: Python<'_>,
    path: std::path::PathBuf,
    drop_damaged_segments: bool,
) -> PyResult<Bound<'_, pyo3::types::PyList>> {
    let options = quiver::RepairOptions {
        drop_damaged_segments,
    };
    let report = py
        .detach(|| quiver::repair_path(&path, options))
        .map_err(errors::to_py)?;
    repair_report::report_to_py(py, &report)
}

#[pymodule]
fn _quiver(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(connect, m)?)?;
    m.add_function(wrap_pyfunction!(verify, m)?)?;
    m.add_function(wrap_pyfunction!(repair, m)?)?;
    m.add_class::<database::PyDatabase>()?;
    m.add_class::<collection::PyCollection>()?;
    m.add_class::<search::PyResults>()?;
    m.add_class::<search::PyBatchResults>()?;
    errors::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
