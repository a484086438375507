//! How an index reads vectors without owning them.

use quiver_storage::RowId;

/// Row-addressed vectors of one dimension.
pub trait VectorSource {
    fn dim(&self) -> usize;
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The vector of a row, or `None` when the row has no value (NULL).
    fn get(&self, row: RowId) -> Option<&[f32]>;
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
    fn get(&self, row: RowId) -> Option<&[f32]> {
        let i = row.0 as usize;
        self.data.get(i * self.dim..(i + 1) * self.dim)
    }
}
