//! How an index reads vectors without owning them.

use quiver_storage::{RowId, Vectors};

/// Row-addressed vectors of one dimension.
pub trait VectorSource {
    fn dim(&self) -> usize;
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The vector of a row as stored (`f32`, or half precision for an `F16`/`BF16`
    /// column), or `None` when the row has no value (NULL). Distances to it go
    /// through [`crate::kernels::RowDistance`], which takes every element type.
    fn get(&self, row: RowId) -> Option<Vectors<'_>>;
}

/// A row-major slice of `len * dim` floats (e.g. a segment's mapped column).
#[derive(Clone, Copy, Debug)]
pub struct SliceSource<'a> {
    data: &'a [f32],
    dim: usize,
}

impl<'a> SliceSource<'a> {
    /// `None` unless `data.len()` is a multiple of a non-zero `dim`.
    pub fn new(data: &'a [f32], dim: usize) -> Option<Self> {
        (dim > 0 && data.len().is_multiple_of(dim)).then_some(SliceSource { data, dim })
    }
}

impl VectorSource for SliceSource<'_> {
    fn dim(&self) -> usize {
        self.dim
    }
    fn len(&self) -> usize {
        self.data.len() / self.dim
    }
    #[inline]
    fn get(&self, row: RowId) -> Option<Vectors<'_>> {
        let i = row.0 as usize;
        self.data
            .get(i * self.dim..(i + 1) * self.dim)
            .map(Vectors::F32)
    }
}

/// A source's rows widened to `f32` once, NULLs kept. A build reads each row many
/// times; widening half-precision rows at every read would dominate it.
#[derive(Clone, Debug)]
pub struct Widened {
    data: Vec<f32>,
    present: Vec<bool>,
    dim: usize,
}

impl Widened {
    /// `None` when `source` already holds `f32` rows (its first non-NULL row tells).
    pub fn of<S: VectorSource + ?Sized>(source: &S) -> Option<Widened> {
        let rows = (0..source.len() as u32).map(RowId);
        let first = rows.clone().find_map(|r| source.get(r))?;
        if first.as_f32().is_some() {
            return None;
        }
        let dim = source.dim();
        let mut data = Vec::with_capacity(source.len() * dim);
        let mut present = Vec::with_capacity(source.len());
        for row in rows {
            match source.get(row) {
                Some(v) => data.extend_from_slice(&v.to_f32()),
                None => data.resize(data.len() + dim, 0.0),
            }
            present.push(source.get(row).is_some());
        }
        Some(Widened { data, present, dim })
    }
}

impl VectorSource for Widened {
    fn dim(&self) -> usize {
        self.dim
    }
    fn len(&self) -> usize {
        self.present.len()
    }
    fn get(&self, row: RowId) -> Option<Vectors<'_>> {
        let i = row.0 as usize;
        if !*self.present.get(i)? {
            return None;
        }
        self.data
            .get(i * self.dim..(i + 1) * self.dim)
            .map(Vectors::F32)
    }
}

/// Tests' source whose row 1 is NULL (the rest as the wrapped slice's).
#[cfg(test)]
pub(crate) struct RowOneNull<'a>(pub SliceSource<'a>);

#[cfg(test)]
impl VectorSource for RowOneNull<'_> {
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn get(&self, row: RowId) -> Option<Vectors<'_>> {
        (row.0 != 1).then(|| self.0.get(row)).flatten()
    }
}
