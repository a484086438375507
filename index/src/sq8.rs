//! Scalar quantization to 8 bits per dimension (per-dimension min/max), used to
//! traverse an HNSW graph with a quarter of the memory traffic, then re-rank the beam
//! with exact `f32` distances. The codes are a copy derived from the column; the column
//! stays the source of truth.

use quiver_storage::{Metric, RowId};

use crate::hnsw::search::NodeDistance;
use crate::kernels::{avx2, prefetch_u8};
use crate::source::VectorSource;

/// Codes of every row (`rows * dim` bytes) and the per-dimension ranges.
#[derive(Clone, Debug)]
pub struct Sq8 {
    dim: usize,
    mins: Vec<f32>,
    scales: Vec<f32>,
    codes: Vec<u8>,
}

impl Sq8 {
    /// Trains the ranges on every non-NULL row and encodes them (NULL rows: zeros).
    pub fn build<S: VectorSource + ?Sized>(source: &S) -> Sq8 {
        let dim = source.dim();
        let mut mins = vec![f32::INFINITY; dim];
        let mut maxs = vec![f32::NEG_INFINITY; dim];
        for row in (0..source.len() as u32).map(RowId) {
            if let Some(v) = source.get(row) {
                for (d, &x) in v.iter().enumerate() {
                    mins[d] = mins[d].min(x);
                    maxs[d] = maxs[d].max(x);
                }
            }
        }
        let mins: Vec<f32> = mins
            .into_iter()
            .map(|m| if m.is_finite() { m } else { 0.0 })
            .collect();
        let scales: Vec<f32> = maxs
            .iter()
            .zip(&mins)
            .map(|(&hi, &lo)| if hi > lo { (hi - lo) / 255.0 } else { 1.0 })
            .collect();
        let mut codes = vec![0u8; source.len() * dim];
        for row in (0..source.len() as u32).map(RowId) {
            if let Some(v) = source.get(row) {
                let out = &mut codes[row.0 as usize * dim..(row.0 as usize + 1) * dim];
                for d in 0..dim {
                    out[d] = ((v[d] - mins[d]) / scales[d]).round().clamp(0.0, 255.0) as u8;
                }
            }
        }
        Sq8 {
            dim,
            mins,
            scales,
            codes,
        }
    }

    pub fn memory_bytes(&self) -> usize {
        self.codes.len() + 8 * self.dim
    }

    /// Approximate distances from `query` under `metric` (L2 and Dot; `None` for Cosine).
    pub fn query(&self, metric: Metric, query: &[f32]) -> Option<Sq8Query<'_>> {
        if query.len() != self.dim {
            return None;
        }
        match metric {
            Metric::Dot => {
                let w = query.iter().zip(&self.scales).map(|(q, s)| q * s).collect();
                let bias = query.iter().zip(&self.mins).map(|(q, m)| q * m).sum();
                Some(Sq8Query {
                    codes: self,
                    a: w,
                    b: Vec::new(),
                    bias,
                    l2: false,
                })
            }
            Metric::L2 => {
                let r = query.iter().zip(&self.mins).map(|(q, m)| q - m).collect();
                Some(Sq8Query {
                    codes: self,
                    a: r,
                    b: self.scales.clone(),
                    bias: 0.0,
                    l2: true,
                })
            }
            Metric::Cosine => None,
        }
    }
}

/// A query prepared against the codes.
#[derive(Debug)]
pub struct Sq8Query<'a> {
    codes: &'a Sq8,
    /// Dot: query * scale. L2: query - min.
    a: Vec<f32>,
    /// L2: scale.
    b: Vec<f32>,
    bias: f32,
    l2: bool,
}

impl NodeDistance for Sq8Query<'_> {
    #[inline]
    fn distance(&self, node: u32) -> f32 {
        let dim = self.codes.dim;
        let Some(c) = self
            .codes
            .codes
            .get(node as usize * dim..(node as usize + 1) * dim)
        else {
            return f32::INFINITY;
        };
        if self.l2 {
            avx2::l2_u8(&self.a, &self.b, c)
        } else {
            -(self.bias + avx2::dot_u8(&self.a, c))
        }
    }

    #[inline]
    fn prefetch(&self, node: u32) {
        let dim = self.codes.dim;
        if let Some(c) = self
            .codes
            .codes
            .get(node as usize * dim..(node as usize + 1) * dim)
        {
            prefetch_u8(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hnsw::{Hnsw, HnswParams};
    use crate::kernels::distance;
    use crate::source::SliceSource;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn u8_kernels_match_plain_sums(
            w in prop::collection::vec(-4f32..4.0, 1..300),
            seed in any::<u64>(),
        ) {
            let n = w.len();
            let c: Vec<u8> = (0..n).map(|i| (seed.wrapping_mul(i as u64 + 1) >> 7) as u8).collect();
            let s: Vec<f32> = (0..n).map(|i| 0.01 + (i % 5) as f32 * 0.1).collect();
            let dot: f32 = w.iter().zip(&c).map(|(w, &c)| w * c as f32).sum();
            let l2: f32 = w.iter().zip(&s).zip(&c).map(|((r, s), &c)| (r - s * c as f32).powi(2)).sum();
            let tol = |x: f32| 1e-3 * (1.0 + x.abs());
            prop_assert!((avx2::dot_u8(&w, &c) - dot).abs() <= tol(dot));
            prop_assert!((avx2::l2_u8(&w, &s, &c) - l2).abs() <= tol(l2));
        }
    }

    #[test]
    fn codes_approximate_distances_and_reranked_search_is_exact_at_the_top() {
        let dim = 16;
        let data: Vec<f32> = (0..2000 * dim)
            .map(|i| (((i * 2654435761usize) >> 7) % 1000) as f32 / 100.0)
            .collect();
        let source = SliceSource::new(&data, dim).unwrap();
        let sq = Sq8::build(&source);
        let q = &data[..dim];
        for metric in [Metric::L2, Metric::Dot] {
            let scorer = sq.query(metric, q).unwrap();
            for node in [0u32, 7, 1999] {
                let exact = distance(metric, q, source.get(RowId(node)).unwrap());
                let approx = scorer.distance(node);
                assert!(
                    (approx - exact).abs() <= 0.02 * (1.0 + exact.abs()),
                    "{metric:?} {approx} vs {exact}"
                );
            }
        }
        assert!(sq.query(Metric::Cosine, q).is_none());
        let index = Hnsw::build(&source, Metric::L2, &HnswParams::default());
        let hits = index.search_sq8(&source, &sq, q, 5, 64);
        assert_eq!(hits[0].row, RowId(0));
        assert_eq!(hits[0].distance, 0.0, "re-ranked with exact distances");
        assert!(hits.windows(2).all(|w| w[0].distance <= w[1].distance));
    }
}
