//! RaBitQ codes of a vector column (Gao & Long, SIGMOD 2024; with several bits per
//! dimension, Gao et al., SIGMOD 2025): 1, 2 or 4 bits per dimension plus two floats
//! per row, searched by an integer inner product, then re-scored exactly from the
//! column (the codes are derived data; the column stays the truth).
//!
//! Coding a row `x` (normalized first under cosine): its residual `x − c` from the
//! column's mean `c` is rotated by a random rotation `R` ([`rotation`]), which spreads
//! its mass evenly over the coordinates, and the rotated unit vector `o` gets the code
//! `y` closest to it in direction on a `2^bits`-level grid ([`coder`]). For any vector
//! `w`, `⟨x − c, w⟩ ≈ |x − c| · ⟨y, R w⟩ / ⟨y, o⟩`; the error falls as `1/√dim` and
//! with every extra bit, and the rotation makes it independent of how the column's
//! values are spread over its dimensions.
//!
//! With `q` the query (normalized under cosine) and `w = q − c`, every metric is that
//! estimate plus terms known exactly:
//!
//! - L2: `|x − q|² = |x − c|² + |q − c|² − 2 ⟨x − c, q − c⟩`;
//! - Dot: `−⟨x, q⟩ = −⟨x − c, q − c⟩ − ⟨x − c, c⟩ − ⟨c, q⟩`;
//! - Cosine: `1 − ⟨x, q⟩` in the same way.
//!
//! So a row stores its code, its scale `f = |x − c| / ⟨y, o⟩` and its term `g`
//! (`|x − c|²` for L2, `−⟨x − c, c⟩` otherwise). The query's rotated `R (q − c)` is
//! rounded to `i8` with one step per query (relative error below 1/254 per coordinate,
//! far below the codes'), and a distance is one [`packed`](crate::kernels::packed)
//! inner product: `constant + scale · f · (Σ c_i w_i − half · Σ w_i) + g`.
//!
//! Row layout (`stride` bytes): the packed codes of the `padded` rotated coordinates,
//! then `f` and `g` as little-endian `f32` (`f` NaN for a NULL row, never reached).

mod coder;
pub mod rotation;

use quiver_storage::{Metric, RowId};
use rayon::prelude::*;

use crate::hnsw::search::NodeDistance;
use crate::ivf::prepared;
use crate::kernels::packed::{PackedDotFn, code_position, codes_per_block, packed_dot_fn};
use crate::kernels::prefetch_u8;
use crate::source::VectorSource;
use rotation::{Rotation, random_signs};

/// Bytes after each row's codes: its scale and its term.
const TERMS: usize = 8;
/// Words of the stored meta before the rotation's sign bits: bits, dim, padded, rounds.
const META_WORDS: usize = 4;

/// Bits per dimension a code may have.
pub const BITS: [u32; 3] = [1, 2, 4];

/// Coordinates in the rotated space: `dim` rounded up to whole kernel blocks.
pub fn padded_dim(dim: usize, bits: u32) -> usize {
    dim.max(1).div_ceil(codes_per_block(bits)) * codes_per_block(bits)
}

/// Bytes per row.
pub fn stride(dim: usize, bits: u32) -> usize {
    padded_dim(dim, bits) * bits as usize / 8 + TERMS
}

/// The codes of every row and how to read them.
#[derive(Clone, Debug, PartialEq)]
pub struct Rabitq {
    metric: Metric,
    dim: usize,
    /// `[bits, dim, padded, rounds]`, then the rotation's sign bits: as stored.
    meta: Vec<u32>,
    centroid: Vec<f32>,
    rows: Vec<u8>,
}

/// Codes borrowed from a [`Rabitq`] or from a mapped file.
#[derive(Clone, Copy, Debug)]
pub struct RabitqView<'a> {
    metric: Metric,
    dim: usize,
    bits: u32,
    rotation: Rotation<'a>,
    centroid: &'a [f32],
    /// `rows × stride(dim, bits)` bytes.
    rows: &'a [u8],
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

impl Rabitq {
    /// Codes every row of `source` at `bits` (1, 2 or 4) per dimension, on the rayon
    /// pool. `seed` draws the rotation, so rebuilding gives the same codes.
    pub fn build<S: VectorSource + Sync + ?Sized>(
        source: &S,
        metric: Metric,
        bits: u32,
        seed: u64,
    ) -> Rabitq {
        let mean = column_mean(source, metric);
        let centers = Centers {
            vectors: &mean,
            of: &|_| 0,
            folded: false,
        };
        Rabitq::build_with(
            source,
            metric,
            bits,
            seed,
            source.len(),
            &|e| e as u32,
            centers,
        )
    }

    /// Codes for an inverted file's entries: entry `e` is row `rows[e]` of `source`,
    /// coded as its residual from its list's centroid (`centroids`' row `lists[e]`).
    /// Each entry's term also holds its list's share of the estimate, so the codes are
    /// read as if taken from the origin: one query scores every list, given the list's
    /// constant ([`RabitqQuery::set_constant`], `crate::ivf::rabitq`).
    pub fn build_entries<S: VectorSource + Sync + ?Sized>(
        source: &S,
        metric: Metric,
        bits: u32,
        seed: u64,
        rows: &[u32],
        lists: &[u32],
        centroids: &[f32],
    ) -> Rabitq {
        let centers = Centers {
            vectors: centroids,
            of: &|e| lists[e] as usize,
            folded: true,
        };
        Rabitq::build_with(
            source,
            metric,
            bits,
            seed,
            rows.len(),
            &|e| rows[e],
            centers,
        )
    }

    fn build_with<S: VectorSource + Sync + ?Sized>(
        source: &S,
        metric: Metric,
        bits: u32,
        seed: u64,
        entries: usize,
        row_of: &(dyn Fn(usize) -> u32 + Sync),
        centers: Centers<'_>,
    ) -> Rabitq {
        assert!(BITS.contains(&bits), "RaBitQ codes have 1, 2 or 4 bits");
        let dim = source.dim();
        let padded = padded_dim(dim, bits);
        let mut meta = vec![bits, dim as u32, padded as u32, rotation::ROUNDS as u32];
        meta.extend(random_signs(padded, seed));
        let stride = stride(dim, bits);
        let mut rows = vec![0u8; entries * stride];
        let rotation = Rotation::new(padded, &meta[META_WORDS..]).expect("signs sized above");
        let rotated_centers = centers.folded.then(|| {
            let mut all = vec![0f32; centers.vectors.len() / dim.max(1) * padded];
            for (out, c) in all
                .chunks_exact_mut(padded)
                .zip(centers.vectors.chunks_exact(dim))
            {
                out[..dim].copy_from_slice(c);
                rotation.apply(out);
            }
            all
        });
        // The estimate's factor in each metric's distance (see the module docs).
        let scale = if metric == Metric::L2 { -2.0 } else { -1.0 };
        let half = ((1u32 << bits) - 1) as f32 / 2.0;
        rows.par_chunks_mut(stride).enumerate().for_each_init(
            || (vec![0f32; padded], vec![0u8; padded], Vec::new()),
            |(rotated, codes, events), (e, out)| {
                let list = (centers.of)(e);
                let center = &centers.vectors[list * dim..][..dim];
                let (f, g) = match source.get(RowId(row_of(e))) {
                    Some(v) => {
                        let x = prepared(metric, &v.to_f32());
                        let (f, g) =
                            code_row(&x, center, metric, rotation, bits, rotated, codes, events);
                        match &rotated_centers {
                            // ⟨y, R(q − c)⟩ = ⟨y, Rq⟩ − ⟨y, Rc⟩: the second part is the
                            // entry's own, so it joins the term.
                            Some(all) => {
                                let rc = &all[list * padded..][..padded];
                                let y_rc: f32 = codes
                                    .iter()
                                    .zip(rc)
                                    .map(|(&c, r)| (c as f32 - half) * r)
                                    .sum();
                                (f, g - scale * f * y_rc)
                            }
                            None => (f, g),
                        }
                    }
                    None => {
                        codes.fill(0);
                        (f32::NAN, 0.0)
                    }
                };
                let (packed, terms) = out.split_at_mut(stride - TERMS);
                for (j, &c) in codes.iter().enumerate() {
                    let (byte, shift) = code_position(j, bits);
                    packed[byte] |= c << shift;
                }
                terms[..4].copy_from_slice(&f.to_le_bytes());
                terms[4..].copy_from_slice(&g.to_le_bytes());
            },
        );
        let centroid = if centers.folded {
            vec![0.0; dim]
        } else {
            centers.vectors.to_vec()
        };
        Rabitq {
            metric,
            dim,
            meta,
            centroid,
            rows,
        }
    }

    pub fn view(&self) -> RabitqView<'_> {
        RabitqView::new(
            self.metric,
            self.dim,
            &self.meta,
            &self.centroid,
            &self.rows,
        )
        .expect("built consistent")
    }

    /// `[bits, dim, padded, rounds]` then the rotation's sign bits, as stored.
    pub fn meta(&self) -> &[u32] {
        &self.meta
    }

    /// The column's mean (of unit vectors under cosine), as stored.
    pub fn centroid(&self) -> &[f32] {
        &self.centroid
    }

    /// The rows' codes (`rows × stride(dim, bits)` bytes), as stored.
    pub fn codes(&self) -> &[u8] {
        &self.rows
    }

    pub fn memory_bytes(&self) -> usize {
        self.rows.len() + 4 * (self.meta.len() + self.centroid.len())
    }
}

/// Where each entry's residual is taken from: row `of(e)` of `vectors` (`dim` floats
/// each); `folded`: the center's part of the estimate goes into the entry's term, and
/// the codes are stored as taken from the origin.
#[derive(Clone, Copy)]
struct Centers<'a> {
    vectors: &'a [f32],
    of: &'a (dyn Fn(usize) -> usize + Sync),
    folded: bool,
}

/// The mean of the column's prepared rows (zero for an empty column).
fn column_mean<S: VectorSource + ?Sized>(source: &S, metric: Metric) -> Vec<f32> {
    let dim = source.dim();
    let mut sum = vec![0f64; dim];
    let mut count = 0usize;
    for row in (0..source.len() as u32).map(RowId) {
        if let Some(v) = source.get(row) {
            for (s, x) in sum.iter_mut().zip(prepared(metric, &v.to_f32())) {
                *s += x as f64;
            }
            count += 1;
        }
    }
    sum.iter()
        .map(|s| (s / count.max(1) as f64) as f32)
        .collect()
}

/// Codes `x` into `codes` (unpacked), returning its scale and term.
#[allow(clippy::too_many_arguments)]
fn code_row(
    x: &[f32],
    centroid: &[f32],
    metric: Metric,
    rotation: Rotation<'_>,
    bits: u32,
    rotated: &mut [f32],
    codes: &mut [u8],
    events: &mut Vec<(f32, u32)>,
) -> (f32, f32) {
    rotated.fill(0.0);
    for ((r, a), c) in rotated.iter_mut().zip(x).zip(centroid) {
        *r = a - c;
    }
    let norm = rotated.iter().map(|v| v * v).sum::<f32>().sqrt();
    let term = match metric {
        Metric::L2 => norm * norm,
        Metric::Dot | Metric::Cosine => -(dot(x, centroid) - dot(centroid, centroid)),
    };
    if norm == 0.0 {
        // The row is the mean: any code, and a zero scale makes the estimate exact.
        codes.fill(0);
        return (0.0, term);
    }
    rotation.apply(rotated);
    rotated.iter_mut().for_each(|v| *v /= norm);
    let ip = coder::choose_codes(rotated, bits, codes, events);
    (norm / ip, term)
}

impl<'a> RabitqView<'a> {
    /// Codes stored elsewhere (e.g. a mapped file) for the `rows` of a `dim`-wide
    /// column: [`Rabitq::meta`], [`Rabitq::centroid`] and [`Rabitq::codes`]' layouts,
    /// every size checked.
    pub fn new(
        metric: Metric,
        dim: usize,
        meta: &'a [u32],
        centroid: &'a [f32],
        codes: &'a [u8],
    ) -> Result<RabitqView<'a>, String> {
        let bad = |what: &str| Err(format!("RaBitQ codes: {what}"));
        let Some(&[bits, stored_dim, padded, rounds]) = meta.get(..META_WORDS) else {
            return bad("meta is too short");
        };
        if !BITS.contains(&bits) || stored_dim as usize != dim || dim == 0 {
            return bad(&format!("{bits} bits for {stored_dim} dimensions"));
        }
        if padded as usize != padded_dim(dim, bits) || rounds as usize != rotation::ROUNDS {
            return bad("rotation shape does not match the column");
        }
        let Some(rotation) = Rotation::new(padded as usize, &meta[META_WORDS..]) else {
            return bad("rotation signs are the wrong size");
        };
        if centroid.len() != dim || !codes.len().is_multiple_of(stride(dim, bits)) {
            return bad("centroid or codes are the wrong size");
        }
        Ok(RabitqView {
            metric,
            dim,
            bits,
            rotation,
            centroid,
            rows: codes,
        })
    }

    pub fn metric(&self) -> Metric {
        self.metric
    }

    pub fn bits(&self) -> u32 {
        self.bits
    }

    pub fn rows(&self) -> usize {
        self.rows.len() / stride(self.dim, self.bits)
    }

    /// The query prepared against the codes; `None` when its dimension differs.
    pub fn query(&self, query: &[f32]) -> Option<RabitqQuery<'a>> {
        if query.len() != self.dim {
            return None;
        }
        let q = prepared(self.metric, query);
        let mut rotated = vec![0f32; self.rotation.padded()];
        for ((r, a), c) in rotated.iter_mut().zip(&q).zip(self.centroid) {
            *r = a - c;
        }
        let residual2: f32 = rotated.iter().map(|v| v * v).sum();
        self.rotation.apply(&mut rotated);
        let largest = rotated.iter().fold(0f32, |m, v| m.max(v.abs()));
        let step = if largest > 0.0 { largest / 127.0 } else { 1.0 };
        let weights: Vec<i8> = rotated.iter().map(|v| (v / step).round() as i8).collect();
        let sum: i32 = weights.iter().map(|&w| w as i32).sum();
        let half = ((1u32 << self.bits) - 1) as f32 / 2.0;
        let (scale, constant) = match self.metric {
            Metric::L2 => (-2.0, residual2),
            Metric::Dot => (-1.0, -dot(self.centroid, &q)),
            Metric::Cosine => (-1.0, 1.0 - dot(self.centroid, &q)),
        };
        Some(RabitqQuery {
            rows: self.rows,
            code_bytes: stride(self.dim, self.bits) - TERMS,
            kernel: packed_dot_fn(self.bits),
            weights,
            scale: scale * step,
            offset: half * sum as f32,
            constant,
        })
    }
}

/// A query against the codes: `distance(node)` from one integer inner product.
#[derive(Debug)]
pub struct RabitqQuery<'a> {
    rows: &'a [u8],
    code_bytes: usize,
    kernel: PackedDotFn,
    weights: Vec<i8>,
    scale: f32,
    offset: f32,
    constant: f32,
}

impl RabitqQuery<'_> {
    /// Replaces the metric's constant (for codes stored as taken from the origin, each
    /// inverted list's own: `|q − c|²` for L2, `−⟨c, q⟩` for Dot, `1 − ⟨c, q⟩` for
    /// Cosine).
    pub fn set_constant(&mut self, constant: f32) {
        self.constant = constant;
    }

    #[inline]
    fn row(&self, node: u32) -> Option<&[u8]> {
        let stride = self.code_bytes + TERMS;
        self.rows
            .get(node as usize * stride..(node as usize + 1) * stride)
    }
}

impl NodeDistance for RabitqQuery<'_> {
    #[inline]
    fn distance(&self, node: u32) -> f32 {
        let Some(row) = self.row(node) else {
            return f32::INFINITY;
        };
        let (codes, terms) = row.split_at(self.code_bytes);
        let f = f32::from_le_bytes([terms[0], terms[1], terms[2], terms[3]]);
        let g = f32::from_le_bytes([terms[4], terms[5], terms[6], terms[7]]);
        let dot = (self.kernel)(codes, &self.weights) as f32;
        let d = self.constant + self.scale * f * (dot - self.offset) + g;
        if d.is_nan() { f32::INFINITY } else { d }
    }

    #[inline]
    fn prefetch(&self, node: u32) {
        if let Some(row) = self.row(node) {
            prefetch_u8(row);
        }
    }

    fn prefetch_ahead(&self) -> usize {
        usize::MAX
    }
}

#[cfg(test)]
mod tests;
