//! COPY: items in from files, a collection out to a file. The format follows the
//! file's extension:
//!
//! - `COPY name FROM 'items.jsonl'` / `'items.parquet'`: whole items (`id` plus
//!   columns); [`jsonl`], [`parquet`].
//! - `COPY name (column) FROM 'v.fvecs'` / `'v.npy'`: one vector column, row i to the
//!   i-th item in id order; [`arrays`].
//! - `COPY name TO 'out.jsonl'` / `'out.parquet'`: every item, every column.
//!
//! A COPY FROM is one all-or-nothing batch: a bad line or value loads nothing. A COPY
//! TO writes a temporary sibling file and renames it into place, so a failed export
//! leaves no partial file and never truncates an existing one.

mod arrays;
mod jsonl;
mod parquet;

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use quiver_index::Progress;
use quiver_storage::{Error, Result};

use quiver::Collection;
use quiver::CollectionSnapshot;

/// Items (or one column's values) handed to a single commit while loading.
pub(crate) fn copy_from(
    c: &Collection,
    column: Option<&str>,
    path: &Path,
    progress: &Progress,
) -> Result<usize> {
    progress.set_context(format!("COPY {}", c.name()));
    let loaded = match (column, extension(path).as_str()) {
        (None, "jsonl" | "json" | "ndjson") => jsonl::items_from_jsonl(c, path, progress),
        (None, "parquet") => parquet::items_from_parquet(c, path, progress),
        (Some(column), "fvecs" | "npy") => arrays::column_from_file(c, column, path),
        (None, _) => Err(bad(
            path,
            "items load from .jsonl or .parquet (a column from .fvecs or .npy)".into(),
        )),
        (Some(_), _) => Err(bad(path, "a column loads from .fvecs or .npy".into())),
    };
    progress.end();
    progress.set_context("");
    loaded
}

/// Writes every item of `snap` to `path`; returns how many.
pub(crate) fn copy_to(
    snap: &CollectionSnapshot,
    path: &Path,
    progress: &Progress,
) -> Result<usize> {
    progress.set_context(format!("COPY {}", snap.name()));
    progress.begin("exporting items", snap.count());
    let written = match extension(path).as_str() {
        "jsonl" | "json" | "ndjson" => {
            write_atomically(path, |out| jsonl::items_to_jsonl(snap, out, path, progress))
        }
        "parquet" => write_atomically(path, |out| parquet::items_to_parquet(snap, out, progress)),
        _ => Err(bad(
            path,
            "a collection exports to .jsonl or .parquet".into(),
        )),
    };
    progress.end();
    progress.set_context("");
    written
}

fn extension(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

fn bad(path: &Path, what: String) -> Error {
    Error::InvalidArgument(format!("{}: {what}", path.display()))
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| bad(path, e.to_string()))
}

/// Runs `write` on a buffered temporary file beside `path`, then renames it to `path`;
/// on any error the temporary file is removed and `path` is untouched.
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> Result<usize>,
) -> Result<usize> {
    let mut tmp = PathBuf::from(path);
    tmp.set_file_name(format!(
        ".{}.quiver-tmp",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    let io = |e| Error::io(path, e);
    let result = (|| {
        let mut out = BufWriter::new(File::create(&tmp).map_err(io)?);
        let n = write(&mut out)?;
        let file = out.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)?;
        Ok(n)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
