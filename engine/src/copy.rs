//! `COPY name FROM 'items.jsonl'` (one JSON object per line: `id` plus columns; vectors
//! as arrays, tags as arrays of text) and `COPY name (column) FROM 'file.fvecs' |
//! 'file.npy'` (row i of the file becomes the column's value of the i-th item in id
//! order; the counts must match). Each COPY is one all-or-nothing batch: a bad line or
//! value loads nothing. Parquet and `COPY TO` are not implemented yet.

use std::path::Path;

use quiver_storage::{AttrType, Error, Item, Result, Schema, Value};

use crate::batch::WriteBatch;
use crate::collection::Collection;

fn bad(path: &Path, what: String) -> Error {
    Error::InvalidArgument(format!("{}: {what}", path.display()))
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| bad(path, e.to_string()))
}

/// Loads items from a JSON-lines file; returns how many.
pub(crate) fn items_from_jsonl(c: &Collection, path: &Path) -> Result<usize> {
    let schema = c.schema()?;
    let text = String::from_utf8(read(path)?).map_err(|_| bad(path, "not UTF-8".into()))?;
    let mut batch = WriteBatch::new();
    let mut n = 0;
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let at = |what: String| bad(path, format!("line {}: {what}", i + 1));
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(line).map_err(|e| at(e.to_string()))?;
        let id = object
            .get("id")
            .and_then(|v| v.as_str())
            .ok_or_else(|| at("no text \"id\"".into()))?;
        let mut item = Item::new(id);
        for (key, value) in object.iter().filter(|(k, _)| *k != "id") {
            item = item.set(
                key,
                json_value(&schema, key, value).map_err(|e| at(e.to_string()))?,
            );
        }
        batch.insert(item);
        n += 1;
    }
    c.commit(batch)?;
    Ok(n)
}

fn json_value(schema: &Schema, column: &str, v: &serde_json::Value) -> Result<Value> {
    use serde_json::Value as J;
    let (_, c) = schema.column(column)?;
    let mismatch = || Error::TypeMismatch {
        column: column.to_string(),
        expected: c.type_name(),
        got: v.to_string(),
    };
    Ok(match (v, c.attr().map(|a| a.ty)) {
        (J::Null, _) => Value::Null,
        (J::Array(xs), None) => Value::Vector(
            xs.iter()
                .map(|x| x.as_f64().map(|f| f as f32).ok_or_else(mismatch))
                .collect::<Result<_>>()?,
        ),
        (J::Array(xs), Some(AttrType::Tags)) => Value::Tags(
            xs.iter()
                .map(|x| x.as_str().map(str::to_string).ok_or_else(mismatch))
                .collect::<Result<_>>()?,
        ),
        (J::String(s), Some(AttrType::Text)) => Value::Text(s.clone()),
        (J::Bool(b), Some(AttrType::Bool)) => Value::Bool(*b),
        (J::Number(x), Some(AttrType::Int)) => Value::Int(x.as_i64().ok_or_else(mismatch)?),
        (J::Number(x), Some(AttrType::Float)) => Value::Float(x.as_f64().ok_or_else(mismatch)?),
        _ => return Err(mismatch()),
    })
}

/// Fills `column` of every item (in id order) from an `.fvecs` or `.npy` file.
pub(crate) fn column_from_file(c: &Collection, column: &str, path: &Path) -> Result<usize> {
    let bytes = read(path)?;
    let name = path.to_string_lossy().to_ascii_lowercase();
    let (rows, dim) = if name.ends_with(".fvecs") {
        fvecs(path, &bytes)?
    } else if name.ends_with(".npy") {
        npy(path, &bytes)?
    } else {
        return Err(bad(path, "a column loads from .fvecs or .npy".into()));
    };
    let snap = c.snapshot()?;
    let ids: Vec<String> = snap
        .scan()
        .map(|item| item.id().map(str::to_string))
        .collect::<Result<_>>()?;
    if ids.len() != rows {
        return Err(bad(path, format!("{rows} vectors for {} items", ids.len())));
    }
    let mut batch = WriteBatch::new();
    for (id, v) in ids.iter().zip(bytes_rows(&bytes, path, rows, dim)?) {
        batch.update(Item::new(id.as_str()).set(column, v));
    }
    c.commit(batch)?;
    Ok(rows)
}

/// `(rows, dim)` of an fvecs file (each row: little-endian i32 dim, then dim f32).
fn fvecs(path: &Path, bytes: &[u8]) -> Result<(usize, usize)> {
    let Some(head) = bytes.get(..4) else {
        return Ok((0, 0));
    };
    let dim = i32::from_le_bytes(head.try_into().expect("4 bytes"));
    let row = 4 * (dim.max(0) as usize + 1);
    if dim <= 0 || !bytes.len().is_multiple_of(row) {
        return Err(bad(
            path,
            format!("not fvecs: dim {dim}, {} bytes", bytes.len()),
        ));
    }
    Ok((bytes.len() / row, dim as usize))
}

/// The rows of an fvecs file or of an npy body, as vectors.
fn bytes_rows(bytes: &[u8], path: &Path, rows: usize, dim: usize) -> Result<Vec<Vec<f32>>> {
    let floats = |raw: &[u8]| -> Vec<f32> {
        raw.chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect()
    };
    if path
        .to_string_lossy()
        .to_ascii_lowercase()
        .ends_with(".fvecs")
    {
        let row = 4 * (dim + 1);
        return Ok((0..rows)
            .map(|r| floats(&bytes[r * row + 4..(r + 1) * row]))
            .collect());
    }
    let body = &bytes[bytes.len() - rows * dim * 4..];
    Ok(body.chunks_exact(dim * 4).map(floats).collect())
}

/// `(rows, dim)` of a 2-d little-endian float32 C-order `.npy` file.
fn npy(path: &Path, bytes: &[u8]) -> Result<(usize, usize)> {
    let not = |why: &str| bad(path, format!("not a 2-d float32 npy: {why}"));
    if bytes.get(..6) != Some(b"\x93NUMPY") {
        return Err(not("magic"));
    }
    let major = *bytes.get(6).ok_or_else(|| not("version"))?;
    let (len, start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize,
            12,
        ),
        _ => return Err(not("version")),
    };
    let header = bytes
        .get(start..start + len)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(|| not("header"))?;
    if !header.contains("'<f4'") || header.contains("'fortran_order': True") {
        return Err(not("dtype must be '<f4', C order"));
    }
    let shape = header
        .split("'shape':")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .map(|s| s.trim().trim_start_matches('('))
        .ok_or_else(|| not("shape"))?;
    let dims: Vec<usize> = shape
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| not("shape")))
        .collect::<Result<_>>()?;
    let [rows, dim] = dims[..] else {
        return Err(not("shape must be (rows, dim)"));
    };
    if bytes.len() != start + len + rows * dim * 4 || dim == 0 {
        return Err(not("size"));
    }
    Ok((rows, dim))
}
