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
    fn get(&self, row: RowId) -> Option<Vectors<'_>> {
        let i = row.0 as usize;
        self.data
            .get(i * self.dim..(i + 1) * self.dim)
            .map(Vectors::F32)
    }
}
