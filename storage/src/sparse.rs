//! Sparse vectors (`SPARSE` columns): u32 index → f32 weight, as SPLADE / BGE-M3
//! sparse outputs, TF-IDF rows and co-occurrence counts are. Compared by dot product.

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{Error, Result};

/// The most entries one sparse vector may hold.
pub const MAX_SPARSE_ENTRIES: usize = 65_536;

/// A valid sparse vector. Invariants (checked by every constructor, so every value of
/// this type holds them): indices strictly increasing (no index twice), weights finite
/// and ≥ 0, at most [`MAX_SPARSE_ENTRIES`] entries. Zero weights are kept as given.
#[derive(Clone, PartialEq, Debug, Default, Serialize)]
pub struct SparseVector {
    indices: Vec<u32>,
    values: Vec<f32>,
}

impl SparseVector {
    /// From parallel index and weight lists, in any index order.
    pub fn new(indices: Vec<u32>, values: Vec<f32>) -> Result<SparseVector> {
        if indices.len() != values.len() {
            return Err(invalid(format!(
                "{} indices but {} values",
                indices.len(),
                values.len()
            )));
        }
        if indices.len() > MAX_SPARSE_ENTRIES {
            return Err(invalid(format!(
                "{} entries, at most {MAX_SPARSE_ENTRIES}",
                indices.len()
            )));
        }
        if let Some((&index, &weight)) = indices
            .iter()
            .zip(&values)
            .find(|&(_, w)| !w.is_finite() || *w < 0.0)
        {
            return Err(invalid(format!(
                "index {index} has weight {weight}: weights must be finite and ≥ 0"
            )));
        }
        let (indices, values) = if indices.windows(2).all(|w| w[0] < w[1]) {
            (indices, values)
        } else {
            let mut pairs: Vec<(u32, f32)> = indices.into_iter().zip(values).collect();
            pairs.sort_by_key(|p| p.0);
            if let Some(w) = pairs.windows(2).find(|w| w[0].0 == w[1].0) {
                return Err(invalid(format!("index {} appears twice", w[0].0)));
            }
            pairs.into_iter().unzip()
        };
        Ok(SparseVector { indices, values })
    }

    /// From `(index, weight)` pairs with indices as written (checked to fit in u32).
    pub fn from_pairs(pairs: impl IntoIterator<Item = (i64, f64)>) -> Result<SparseVector> {
        let (mut indices, mut values) = (Vec::new(), Vec::new());
        for (index, weight) in pairs {
            let index = u32::try_from(index)
                .map_err(|_| invalid(format!("index {index} is outside 0..={}", u32::MAX)))?;
            if indices.len() == MAX_SPARSE_ENTRIES {
                return Err(invalid(format!("more than {MAX_SPARSE_ENTRIES} entries")));
            }
            indices.push(index);
            values.push(weight as f32);
        }
        SparseVector::new(indices, values)
    }

    /// Indices, strictly increasing.
    pub fn indices(&self) -> &[u32] {
        &self.indices
    }

    /// Weights, in index order.
    pub fn values(&self) -> &[f32] {
        &self.values
    }

    pub fn len(&self) -> usize {
        self.indices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// `(index, weight)` pairs in index order.
    pub fn entries(&self) -> impl Iterator<Item = (u32, f32)> + '_ {
        self.indices
            .iter()
            .copied()
            .zip(self.values.iter().copied())
    }

    /// Dot product with another sparse vector; `None` when they share no index.
    pub fn dot(&self, other: &SparseVector) -> Option<f64> {
        dot_sorted(&self.indices, &self.values, other.entries())
    }
}

/// Σ a_i·b_i over the indices both hold (`a` strictly increasing; `b` yields its
/// entries in strictly increasing index order), summed in f64 in index order, so
/// every path computes the same bits. `None` when no index is shared.
pub fn dot_sorted(
    a_indices: &[u32],
    a_values: &[f32],
    b: impl Iterator<Item = (u32, f32)>,
) -> Option<f64> {
    let (mut i, mut sum, mut shared) = (0, 0f64, false);
    for (index, weight) in b {
        while i < a_indices.len() && a_indices[i] < index {
            i += 1;
        }
        if i == a_indices.len() {
            break;
        }
        if a_indices[i] == index {
            sum += f64::from(a_values[i]) * f64::from(weight);
            shared = true;
            i += 1;
        }
    }
    shared.then_some(sum)
}

/// A sparse cell read in place from a segment's bytes (no copy, no allocation): what
/// a scan over a SPARSE column compares with its query.
#[derive(Clone, Copy, Debug)]
pub struct SparseCell<'a> {
    indices: &'a [u8],
    values: &'a [u8],
}

impl<'a> SparseCell<'a> {
    /// `n` entries as [`crate::row`] encodes them after the tag and count: `n` u32
    /// indices then `n` f32 weights, little-endian, unaligned. `None` when the bytes
    /// do not hold exactly that or break [`SparseVector`]'s invariants (damage).
    pub fn parse(n: usize, payload: &'a [u8]) -> Option<SparseCell<'a>> {
        if n > MAX_SPARSE_ENTRIES || payload.len() != n * 8 {
            return None;
        }
        let (indices, values) = payload.split_at(n * 4);
        let cell = SparseCell { indices, values };
        let increasing = cell
            .indices()
            .zip(cell.indices().skip(1))
            .all(|(a, b)| a < b);
        let weights_ok = cell.weights().all(|w| w.is_finite() && w >= 0.0);
        (increasing && weights_ok).then_some(cell)
    }

    fn indices(&self) -> impl Iterator<Item = u32> + 'a {
        let bytes: &'a [u8] = self.indices;
        bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
    }

    fn weights(&self) -> impl Iterator<Item = f32> + 'a {
        let bytes: &'a [u8] = self.values;
        bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
    }

    /// `(index, weight)` pairs in index order.
    pub fn entries(&self) -> impl Iterator<Item = (u32, f32)> + 'a {
        self.indices().zip(self.weights())
    }
}

fn invalid(reason: String) -> Error {
    Error::InvalidArgument(format!("sparse vector: {reason}"))
}

/// `{12: 0.5, 99: 1.25}`.
impl std::fmt::Display for SparseVector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("{")?;
        for (n, (i, w)) in self.entries().enumerate() {
            if n > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{i}: {w}")?;
        }
        f.write_str("}")
    }
}

/// Deserialized through [`SparseVector::new`], so a stored or received value that
/// breaks the invariants is refused rather than trusted.
impl<'de> Deserialize<'de> for SparseVector {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            indices: Vec<u32>,
            values: Vec<f32>,
        }
        let raw = Raw::deserialize(d)?;
        SparseVector::new(raw.indices, raw.values).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bad_vectors_are_refused_with_the_reason() {
        let err = |r: Result<SparseVector>| r.unwrap_err().to_string();
        assert!(
            err(SparseVector::new(vec![3, 1, 3], vec![1.0; 3])).contains("index 3 appears twice")
        );
        assert!(err(SparseVector::new(vec![1], vec![-0.5])).contains("weight -0.5"));
        assert!(err(SparseVector::new(vec![1], vec![f32::NAN])).contains("weight NaN"));
        assert!(err(SparseVector::new(vec![1, 2], vec![1.0])).contains("2 indices but 1 values"));
        assert!(err(SparseVector::from_pairs([(1i64 << 32, 1.0)])).contains("outside"));
        assert!(err(SparseVector::from_pairs([(-1, 1.0)])).contains("outside"));
        let too_many = (0..=MAX_SPARSE_ENTRIES as i64).map(|i| (i, 1.0));
        assert!(err(SparseVector::from_pairs(too_many)).contains("more than"));
    }

    #[test]
    fn unsorted_input_is_sorted_and_serde_checks_invariants() {
        let v = SparseVector::new(vec![9, 2, 5], vec![0.5, 1.0, 0.0]).unwrap();
        assert_eq!(v.indices(), &[2, 5, 9]);
        assert_eq!(v.values(), &[1.0, 0.0, 0.5]);
        assert_eq!(v.to_string(), "{2: 1, 5: 0, 9: 0.5}");
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(serde_json::from_str::<SparseVector>(&json).unwrap(), v);
        let bad = r#"{"indices":[1,1],"values":[1,2]}"#;
        assert!(serde_json::from_str::<SparseVector>(bad).is_err());
    }

    proptest! {
        #[test]
        fn dot_equals_the_dense_dot_product(
            a in proptest::collection::btree_map(0u32..64, 0f32..4.0, 0..20),
            b in proptest::collection::btree_map(0u32..64, 0f32..4.0, 0..20),
        ) {
            let x = SparseVector::new(a.keys().copied().collect(), a.values().copied().collect()).unwrap();
            let y = SparseVector::new(b.keys().copied().collect(), b.values().copied().collect()).unwrap();
            let shared: Vec<u32> = a.keys().filter(|k| b.contains_key(k)).copied().collect();
            let expected: f64 = shared.iter().map(|k| f64::from(a[k]) * f64::from(b[k])).sum();
            match x.dot(&y) {
                None => prop_assert!(shared.is_empty()),
                Some(d) => {
                    prop_assert!(!shared.is_empty());
                    prop_assert_eq!(d, expected);
                    prop_assert_eq!(y.dot(&x), Some(d));
                }
            }
        }
    }
}
