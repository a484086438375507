//! `COPY name (column) FROM 'file.fvecs' | 'file.npy'`: row i of the file becomes the
//! column's value of the i-th item in id order; the counts must match.

use std::path::Path;

use quiver_storage::{Item, Result};

use quiver::Collection;
use quiver::WriteBatch;

use super::{bad, read};

/// Fills `column` of every item (in id order) from an `.fvecs` or `.npy` file.
pub(super) fn column_from_file(c: &Collection, column: &str, path: &Path) -> Result<usize> {
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
