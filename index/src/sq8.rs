//! 8-bit codes of a vector column for graph traversal: a quarter of the bytes per
//! distance, and an integer inner loop. The codes are derived data (the column stays
//! the truth): a search walks the graph on them, then re-ranks its beam with exact
//! `f32` distances from the column.
//!
//! Each dimension `d` is coded affinely, `x̂_d = m_d + s_d · c_d` with `c_d` in
//! `0..=255` over the dimension's range. Where every value of the column is an integer
//! and each dimension spans at most 255 (pixels, counts), `s_d = 1` and the codes are
//! exact. Every metric is then an inner product of the codes with per-query weights
//! `w_d = q_d · s_d`, plus constants:
//!
//! - Dot: `−(q·m + Σ w_d c_d)`;
//! - L2: `|q|² − 2 (q·m + Σ w_d c_d) + |x̂|²`, with `|x̂|²` stored per row;
//! - Cosine: `1 − (q·m + Σ w_d c_d) / (|q| |x̂|)`, with `1/|x̂|` stored per row.
//!
//! The weights are rounded to `i16` with one scale per query, small enough that the
//! sum of `dim` products `i16 × u8` cannot overflow `i32`; the sum is then exact, and
//! the AVX2 kernel is two instructions per 16 dimensions (widen, multiply-add pairs).
//!
//! Row layout (`stride` bytes): the codes, zero-padded to a multiple of 32, then the
//! row's term as a little-endian `f32` (NaN for a NULL row, which is never reached).

use quiver_storage::{Metric, RowId};

use crate::hnsw::search::NodeDistance;
use crate::kernels::{avx2, prefetch_u8};
use crate::source::VectorSource;

/// Codes are padded to a multiple of this many bytes (the kernel's step).
const BLOCK: usize = 32;
/// Bytes of the per-row term after the codes.
const TERM: usize = 4;

/// The codes of every row and how to read them.
#[derive(Clone, Debug, PartialEq)]
pub struct Sq8 {
    metric: Metric,
    dim: usize,
    /// Each dimension's lowest value, then its step.
    ranges: Vec<f32>,
    rows: Vec<u8>,
}

/// Codes borrowed from an [`Sq8`] or from a mapped file.
#[derive(Clone, Copy, Debug)]
pub struct Sq8View<'a> {
    metric: Metric,
    dim: usize,
    mins: &'a [f32],
    scales: &'a [f32],
    /// `rows × stride(dim)` bytes.
    rows: &'a [u8],
}

/// Bytes per row for `dim` dimensions.
pub fn stride(dim: usize) -> usize {
    dim.div_ceil(BLOCK) * BLOCK + TERM
}

impl Sq8 {
    /// Fits the ranges on every non-NULL row of `source` and codes every row.
    pub fn build<S: VectorSource + ?Sized>(source: &S, metric: Metric) -> Sq8 {
        let dim = source.dim();
        let mut lo = vec![f32::INFINITY; dim];
        let mut hi = vec![f32::NEG_INFINITY; dim];
        let mut integral = true;
        for row in (0..source.len() as u32).map(RowId) {
            if let Some(v) = source.get(row) {
                for (d, &x) in v.to_f32().iter().enumerate() {
                    lo[d] = lo[d].min(x);
                    hi[d] = hi[d].max(x);
                    integral &= x.fract() == 0.0;
                }
            }
        }
        let exact = integral && lo.iter().zip(&hi).all(|(l, h)| h - l <= 255.0);
        let mins: Vec<f32> = lo
            .iter()
            .map(|&m| if m.is_finite() { m } else { 0.0 })
            .collect();
        let scales: Vec<f32> = lo
            .iter()
            .zip(&hi)
            .map(|(&l, &h)| match h - l {
                _ if exact => 1.0,
                span if span > 0.0 && span.is_finite() => span / 255.0,
                _ => 1.0,
            })
            .collect();
        let stride = stride(dim);
        let mut rows = vec![0u8; source.len() * stride];
        let mut decoded = vec![0f32; dim];
        for (i, out) in rows.chunks_exact_mut(stride).enumerate() {
            let term = match source.get(RowId(i as u32)).map(|v| v.to_f32()) {
                Some(v) => {
                    for d in 0..dim {
                        let c = ((v[d] - mins[d]) / scales[d]).round().clamp(0.0, 255.0);
                        out[d] = c as u8;
                        decoded[d] = mins[d] + scales[d] * c;
                    }
                    row_term(metric, &decoded)
                }
                None => f32::NAN,
            };
            out[stride - TERM..].copy_from_slice(&term.to_le_bytes());
        }
        Sq8 {
            metric,
            dim,
            ranges: [mins, scales].concat(),
            rows,
        }
    }

    pub fn view(&self) -> Sq8View<'_> {
        let (mins, scales) = self.ranges.split_at(self.dim);
        Sq8View {
            metric: self.metric,
            dim: self.dim,
            mins,
            scales,
            rows: &self.rows,
        }
    }

    /// Each dimension's lowest value then its step (`2 × dim` floats), as stored.
    pub fn ranges(&self) -> &[f32] {
        &self.ranges
    }

    /// The rows' codes (`rows × stride(dim)` bytes), as stored.
    pub fn codes(&self) -> &[u8] {
        &self.rows
    }

    /// Whether the codes reproduce the column exactly (integral values, each
    /// dimension spanning at most 255).
    pub fn is_exact(&self) -> bool {
        self.ranges[self.dim..].iter().all(|&s| s == 1.0)
    }

    pub fn memory_bytes(&self) -> usize {
        self.rows.len() + 4 * self.ranges.len()
    }
}

/// The per-row constant of a metric, from the decoded vector.
fn row_term(metric: Metric, decoded: &[f32]) -> f32 {
    let norm2: f32 = decoded.iter().map(|x| x * x).sum();
    match metric {
        Metric::Dot => 0.0,
        Metric::L2 => norm2,
        Metric::Cosine if norm2 > 0.0 => 1.0 / norm2.sqrt(),
        Metric::Cosine => 0.0,
    }
}

impl<'a> Sq8View<'a> {
    /// Codes stored elsewhere (e.g. a mapped file) for `rows` rows of `dim`
    /// dimensions: [`Sq8::ranges`] and [`Sq8::codes`]' layouts, sizes checked.
    pub fn new(
        metric: Metric,
        dim: usize,
        ranges: &'a [f32],
        codes: &'a [u8],
        rows: usize,
    ) -> Result<Sq8View<'a>, String> {
        if dim == 0 || ranges.len() != 2 * dim || Some(codes.len()) != rows.checked_mul(stride(dim))
        {
            return Err(format!(
                "8-bit codes do not match {rows} rows of {dim} dimensions"
            ));
        }
        let (mins, scales) = ranges.split_at(dim);
        Ok(Sq8View {
            metric,
            dim,
            mins,
            scales,
            rows: codes,
        })
    }

    pub fn metric(&self) -> Metric {
        self.metric
    }

    pub fn rows(&self) -> usize {
        self.rows.len() / stride(self.dim)
    }

    /// The query prepared against the codes; `None` when its dimension differs.
    pub fn query(&self, query: &[f32]) -> Option<Sq8Query<'a>> {
        if query.len() != self.dim {
            return None;
        }
        let weights: Vec<f32> = query.iter().zip(self.scales).map(|(q, s)| q * s).collect();
        let offset: f32 = query.iter().zip(self.mins).map(|(q, m)| q * m).sum();
        // The largest weight such that `dim` products with codes up to 255 sum within i32.
        let limit = ((i32::MAX as usize / (255 * self.dim.max(1))).min(i16::MAX as usize)) as f32;
        let largest = weights.iter().fold(0f32, |a, w| a.max(w.abs()));
        let unit = if largest > 0.0 { largest / limit } else { 1.0 };
        let padded = stride(self.dim) - TERM;
        let mut w16 = vec![0i16; padded];
        for (out, w) in w16.iter_mut().zip(&weights) {
            *out = (w / unit).round() as i16;
        }
        let norm2: f32 = query.iter().map(|q| q * q).sum();
        let (scale, constant) = match self.metric {
            // −(offset + unit·I) + term
            Metric::Dot => (-unit, -offset),
            // norm2 − 2(offset + unit·I) + term
            Metric::L2 => (-2.0 * unit, norm2 - 2.0 * offset),
            // 1 − (offset + unit·I) · inv_q · term
            Metric::Cosine => {
                let inv_q = if norm2 > 0.0 { 1.0 / norm2.sqrt() } else { 0.0 };
                (unit * inv_q, offset * inv_q)
            }
        };
        Some(Sq8Query {
            codes: *self,
            kernel: avx2::dot_u8_i16_fn(),
            weights: w16,
            scale,
            constant,
        })
    }
}

/// A query against the codes: `distance(node)` from one integer inner product.
#[derive(Debug)]
pub struct Sq8Query<'a> {
    codes: Sq8View<'a>,
    kernel: avx2::CodeDotFn,
    weights: Vec<i16>,
    scale: f32,
    constant: f32,
}

impl Sq8Query<'_> {
    #[inline]
    fn row(&self, node: u32) -> Option<&[u8]> {
        let stride = self.weights.len() + TERM;
        self.codes
            .rows
            .get(node as usize * stride..(node as usize + 1) * stride)
    }
}

impl NodeDistance for Sq8Query<'_> {
    #[inline]
    fn distance(&self, node: u32) -> f32 {
        let Some(row) = self.row(node) else {
            return f32::INFINITY;
        };
        let (codes, term) = row.split_at(self.weights.len());
        let term = f32::from_le_bytes([term[0], term[1], term[2], term[3]]);
        let dot = (self.kernel)(codes, &self.weights) as f32;
        let d = match self.codes.metric {
            Metric::Dot | Metric::L2 => self.constant + self.scale * dot + term,
            Metric::Cosine => 1.0 - (self.constant + self.scale * dot) * term,
        };
        if d.is_nan() { f32::INFINITY } else { d }
    }

    #[inline]
    fn prefetch(&self, node: u32) {
        if let Some(row) = self.row(node) {
            prefetch_u8(row);
        }
    }

    /// Every fresh neighbour's code is requested before the first is scored: a row is
    /// a few lines, and the loads then overlap.
    fn prefetch_ahead(&self) -> usize {
        usize::MAX
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::distance;
    use crate::source::SliceSource;

    fn data(rows: usize, dim: usize, integral: bool) -> Vec<f32> {
        (0..rows * dim)
            .map(|i| {
                let x = ((i.wrapping_mul(2_654_435_761) >> 7) % 1000) as f32;
                if integral {
                    (x / 4.0).floor()
                } else {
                    x / 700.0 - 0.6
                }
            })
            .collect()
    }

    #[test]
    fn code_distances_approximate_every_metric() {
        for dim in [1, 16, 45, 384] {
            let v = data(500, dim, false);
            let source = SliceSource::new(&v, dim).unwrap();
            let q: Vec<f32> = (0..dim).map(|d| (d as f32 * 0.37).sin()).collect();
            for metric in [Metric::L2, Metric::Dot, Metric::Cosine] {
                let codes = Sq8::build(&source, metric);
                assert!(!codes.is_exact());
                let view = codes.view();
                let scorer = view.query(&q).unwrap();
                for node in [0u32, 7, 499] {
                    let exact = distance(metric, &q, &source.get(RowId(node)).unwrap().to_vec());
                    let approx = scorer.distance(node);
                    let tolerance = 0.01 * (1.0 + exact.abs()) * (dim as f32).sqrt();
                    assert!(
                        (approx - exact).abs() <= tolerance,
                        "{metric:?} dim {dim} node {node}: {approx} vs {exact}"
                    );
                }
                assert_eq!(scorer.distance(500), f32::INFINITY, "past the last row");
                assert!(view.query(&q[1..]).is_none() || dim == 0);
            }
        }
    }

    #[test]
    fn integral_columns_are_coded_exactly() {
        let dim = 20;
        let v = data(300, dim, true);
        let source = SliceSource::new(&v, dim).unwrap();
        let q: Vec<f32> = (0..dim).map(|d| (d * 13 % 250) as f32).collect();
        for metric in [Metric::L2, Metric::Dot] {
            let codes = Sq8::build(&source, metric);
            assert!(codes.is_exact());
            let scorer = codes.view().query(&q).unwrap();
            for node in 0..300u32 {
                let exact = distance(metric, &q, &source.get(RowId(node)).unwrap().to_vec());
                let approx = scorer.distance(node);
                assert!(
                    (approx - exact).abs() <= 1e-3 * exact.abs().max(1.0),
                    "{metric:?} node {node}: {approx} vs {exact}"
                );
            }
        }
    }

    /// A NULL row, an all-zero row and a zero query keep the metrics' conventions
    /// (a zero vector is at cosine distance 1; NULL is infinitely far).
    #[test]
    fn null_and_zero_rows() {
        let v = [0.5, -0.25, 9.0, 9.0, 0.0, 0.0];
        let source = crate::source::RowOneNull(SliceSource::new(&v, 2).unwrap());
        for metric in [Metric::L2, Metric::Dot, Metric::Cosine] {
            let codes = Sq8::build(&source, metric);
            let scorer = codes.view().query(&[1.0, 2.0]).unwrap();
            assert_eq!(scorer.distance(1), f32::INFINITY, "{metric:?}");
            assert!(scorer.distance(0).is_finite());
            if metric == Metric::Cosine {
                assert!((scorer.distance(2) - 1.0).abs() < 1e-6);
                let zero = codes.view().query(&[0.0, 0.0]).unwrap();
                assert!((zero.distance(0) - 1.0).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn views_check_their_sizes() {
        let v = data(10, 3, false);
        let codes = Sq8::build(&SliceSource::new(&v, 3).unwrap(), Metric::L2);
        let view = |ranges: &[f32], bytes: &[u8], rows| {
            Sq8View::new(Metric::L2, 3, ranges, bytes, rows).map(|v| v.rows())
        };
        assert_eq!(view(codes.ranges(), codes.codes(), 10), Ok(10));
        assert!(view(codes.ranges(), codes.codes(), 11).is_err());
        assert!(view(codes.ranges(), &codes.codes()[1..], 10).is_err());
        assert!(view(&codes.ranges()[1..], codes.codes(), 10).is_err());
        assert!(view(codes.ranges(), codes.codes(), usize::MAX).is_err());
    }
}
