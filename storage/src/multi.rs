//! Multi-vector values: an item's list of vectors in one column (a video's keyframes,
//! a product's photos, a document's token vectors), ranked by the best of them (`<->`)
//! or by late interaction (`MAXSIM`).
//!
//! A [`MultiVector`] is flat: `len * dim` floats, vector `j` at `j * dim`, the layout
//! segments store (`RegionKind::MultiVectors`) and the kernels read. Its invariants
//! hold for every value that exists: every vector has the same dimension, at most
//! [`MAX_MULTI_VECTORS`] of them, and an empty list has dimension 0.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Most vectors one item holds in one column: element offsets within an item fit a
/// `u16`, and a list this long already costs a scan of 65,535 distances per query.
pub const MAX_MULTI_VECTORS: usize = 65_535;

/// Why a list of vectors is not a [`MultiVector`]. `element` is the vector's place in
/// the list (0-based).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum MultiError {
    #[error("vector {element} has {got} values, vector 0 has {expected}")]
    Ragged {
        element: usize,
        expected: usize,
        got: usize,
    },
    #[error("{count} vectors; at most {MAX_MULTI_VECTORS} are stored per item")]
    TooMany { count: usize },
    #[error("vector {element} is empty")]
    EmptyVector { element: usize },
}

/// An item's vectors in a multi-vector column, stored flat.
#[derive(Clone, PartialEq, Debug, Default)]
pub struct MultiVector {
    dim: usize,
    data: Vec<f32>,
}

impl MultiVector {
    /// The list, checked: equal non-zero lengths, at most [`MAX_MULTI_VECTORS`].
    pub fn new(vectors: Vec<Vec<f32>>) -> Result<MultiVector, MultiError> {
        if vectors.len() > MAX_MULTI_VECTORS {
            return Err(MultiError::TooMany {
                count: vectors.len(),
            });
        }
        let dim = vectors.first().map_or(0, Vec::len);
        let mut data = Vec::with_capacity(dim * vectors.len());
        for (element, v) in vectors.into_iter().enumerate() {
            if v.is_empty() {
                return Err(MultiError::EmptyVector { element });
            }
            if v.len() != dim {
                return Err(MultiError::Ragged {
                    element,
                    expected: dim,
                    got: v.len(),
                });
            }
            data.extend_from_slice(&v);
        }
        Ok(MultiVector { dim, data })
    }

    /// `data.len() / dim` vectors of `dim` floats; `None` unless that divides evenly
    /// (an empty list for any `dim`) within [`MAX_MULTI_VECTORS`].
    pub fn from_flat(dim: usize, data: Vec<f32>) -> Option<MultiVector> {
        if data.is_empty() {
            return Some(MultiVector::default());
        }
        let fits =
            dim > 0 && data.len().is_multiple_of(dim) && data.len() / dim <= MAX_MULTI_VECTORS;
        fits.then_some(MultiVector { dim, data })
    }

    /// Each vector's length (0 for an empty list).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// How many vectors.
    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.dim).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// All vectors, back to back.
    pub fn as_flat(&self) -> &[f32] {
        &self.data
    }

    /// The vectors in order.
    pub fn vectors(&self) -> impl ExactSizeIterator<Item = &[f32]> {
        self.data.chunks_exact(self.dim.max(1))
    }

    /// The vectors, copied out.
    pub fn to_lists(&self) -> Vec<Vec<f32>> {
        self.vectors().map(<[f32]>::to_vec).collect()
    }
}

impl TryFrom<Vec<Vec<f32>>> for MultiVector {
    type Error = MultiError;
    fn try_from(vectors: Vec<Vec<f32>>) -> Result<Self, MultiError> {
        MultiVector::new(vectors)
    }
}

/// `[[0.1, 0.2], [0.3, 0.4]]`.
impl std::fmt::Display for MultiVector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[")?;
        for (i, v) in self.vectors().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            let parts: Vec<String> = v.iter().map(|x| x.to_string()).collect();
            write!(f, "[{}]", parts.join(", "))?;
        }
        f.write_str("]")
    }
}

/// An array of arrays.
impl Serialize for MultiVector {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.vectors())
    }
}

impl<'de> Deserialize<'de> for MultiVector {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        MultiVector::new(Vec::<Vec<f32>>::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_checked_and_stored_flat() {
        let m = MultiVector::new(vec![vec![1.0, 2.0], vec![3.0, 4.0], vec![5.0, 6.0]]).unwrap();
        assert_eq!((m.len(), m.dim()), (3, 2));
        assert_eq!(m.as_flat(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(m.to_string(), "[[1, 2], [3, 4], [5, 6]]");
        assert_eq!(
            MultiVector::new(vec![vec![1.0, 2.0], vec![3.0]]),
            Err(MultiError::Ragged {
                element: 1,
                expected: 2,
                got: 1
            })
        );
        assert_eq!(
            MultiVector::new(vec![vec![]]),
            Err(MultiError::EmptyVector { element: 0 })
        );
        let too_many = vec![vec![0.0]; MAX_MULTI_VECTORS + 1];
        assert!(matches!(
            MultiVector::new(too_many),
            Err(MultiError::TooMany { .. })
        ));
        let empty = MultiVector::new(Vec::new()).unwrap();
        assert!(empty.is_empty() && empty.vectors().len() == 0);
        assert_eq!(empty.len(), 0);
        assert_eq!(MultiVector::from_flat(2, vec![1.0, 2.0, 3.0]), None);
        assert_eq!(MultiVector::from_flat(0, vec![1.0]), None);
        assert_eq!(MultiVector::from_flat(3, Vec::new()), Some(empty));
    }

    #[test]
    fn serde_is_an_array_of_arrays_and_checks_the_shape() {
        let m = MultiVector::new(vec![vec![1.0, 2.0], vec![3.0, 4.5]]).unwrap();
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, "[[1.0,2.0],[3.0,4.5]]");
        assert_eq!(serde_json::from_str::<MultiVector>(&json).unwrap(), m);
        let err = serde_json::from_str::<MultiVector>("[[1.0],[2.0,3.0]]").unwrap_err();
        assert!(err.to_string().contains("vector 1 has 2 values"), "{err}");
    }
}
