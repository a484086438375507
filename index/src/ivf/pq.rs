//! Product quantizer: a vector of `dim` floats is cut into `m` sub-vectors of
//! `dsub = dim / m` floats, and each sub-vector is replaced by the index (8 bits) of
//! the nearest of 256 centroids trained for that slot. Distances to a query are then
//! sums of `m` table lookups (asymmetric distance computation, ADC).

use rayon::prelude::*;

use super::kmeans::{KMeansParams, train};
use crate::kernels::nearest::{column_products, nearest_small};

/// Centroids per sub-quantizer (8-bit codes).
pub const KSUB: usize = 256;

/// Vectors encoded per parallel block.
const ENCODE_BLOCK: usize = 4096;

/// Trained sub-quantizers: `m x dsub x 256` floats, dimension-major within each
/// sub-quantizer (`codebooks[(j * dsub + d) * 256 + c]` is coordinate `d` of centroid
/// `c` of slot `j`), so that a query's table is built with 256-wide vector loops.
#[derive(Clone, Debug, PartialEq)]
pub struct ProductQuantizer {
    pub dim: usize,
    pub m: usize,
    pub codebooks: Vec<f32>,
}

/// A product quantizer over borrowed codebooks (e.g. a memory-mapped segment region).
#[derive(Clone, Copy, Debug)]
pub struct PqView<'a> {
    dim: usize,
    m: usize,
    dsub: usize,
    codebooks: &'a [f32],
}

impl ProductQuantizer {
    /// Trains `m` sub-quantizers on `data` (`n x dim`), in parallel. `dim` must be a
    /// multiple of `m` (checked by the caller: `IndexSpec::check_for`).
    pub fn train(data: &[f32], dim: usize, m: usize, params: &KMeansParams) -> Self {
        assert!(
            m > 0 && dim.is_multiple_of(m),
            "dim {dim} is not a multiple of m {m}"
        );
        let dsub = dim / m;
        let books: Vec<Vec<f32>> = (0..m)
            .into_par_iter()
            .map(|j| {
                let sub = sub_columns(data, dim, j * dsub, dsub);
                let params = KMeansParams {
                    k: KSUB,
                    seed: params.seed.wrapping_add(j as u64),
                    ..*params
                };
                transpose(&train(&sub, dsub, &params), KSUB, dsub)
            })
            .collect();
        ProductQuantizer {
            dim,
            m,
            codebooks: books.concat(),
        }
    }

    pub fn view(&self) -> PqView<'_> {
        PqView::new(self.dim, self.m, &self.codebooks).expect("shapes checked at train")
    }
}

/// The `cols x rows` transpose of a row-major `rows x cols` matrix.
fn transpose(matrix: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0f32; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = matrix[r * cols + c];
        }
    }
    out
}

/// Columns `start..start + width` of every row.
fn sub_columns(data: &[f32], dim: usize, start: usize, width: usize) -> Vec<f32> {
    data.chunks_exact(dim)
        .flat_map(|row| &row[start..start + width])
        .copied()
        .collect()
}

impl<'a> PqView<'a> {
    /// `None` unless the shapes agree (`dim = m * dsub`, `m * 256 * dsub` floats).
    pub fn new(dim: usize, m: usize, codebooks: &'a [f32]) -> Option<Self> {
        if m == 0 || !dim.is_multiple_of(m) || codebooks.len() != dim * KSUB {
            return None;
        }
        Some(PqView {
            dim,
            m,
            dsub: dim / m,
            codebooks,
        })
    }

    pub fn m(&self) -> usize {
        self.m
    }

    /// Sub-quantizer `j`'s codebook, dimension-major (`dsub x 256`).
    fn book(&self, j: usize) -> &'a [f32] {
        &self.codebooks[j * self.dsub * KSUB..(j + 1) * self.dsub * KSUB]
    }

    /// Codes (`n x m` bytes) of `data` (`n x dim`), in parallel blocks.
    pub fn encode_all(&self, data: &[f32]) -> Vec<u8> {
        let n = data.len() / self.dim;
        let mut codes = vec![0u8; n * self.m];
        codes
            .par_chunks_mut(ENCODE_BLOCK * self.m)
            .zip(data.par_chunks(ENCODE_BLOCK * self.dim))
            .for_each(|(out, block)| self.encode_block(block, out));
        codes
    }

    /// [`PqView::encode_all`] on the current thread.
    pub fn encode_serial(&self, data: &[f32]) -> Vec<u8> {
        let mut codes = vec![0u8; data.len() / self.dim * self.m];
        self.encode_block(data, &mut codes);
        codes
    }

    fn encode_block(&self, block: &[f32], out: &mut [u8]) {
        for j in 0..self.m {
            let sub = sub_columns(block, self.dim, j * self.dsub, self.dsub);
            // The codebook is already the dimension-major matrix the kernel scans.
            let book = self.book(j);
            let mut norms = [0f32; KSUB];
            for column in book.chunks_exact(KSUB) {
                for (n, &x) in norms.iter_mut().zip(column) {
                    *n += x * x;
                }
            }
            for (i, (label, _)) in nearest_small(&sub, self.dsub, book, &norms)
                .into_iter()
                .enumerate()
            {
                out[i * self.m + j] = label as u8;
            }
        }
    }

    /// The vector a code stands for.
    pub fn decode(&self, code: &[u8], out: &mut [f32]) {
        for (j, &c) in code.iter().enumerate().take(self.m) {
            let book = self.book(j);
            for d in 0..self.dsub {
                out[j * self.dsub + d] = book[d * KSUB + c as usize];
            }
        }
    }

    /// `table[j][c] = <query_j, centroid_jc>`: with it, `<query, decode(code)>` is
    /// [`adc`]`(table, code)`.
    pub fn inner_product_table(&self, query: &[f32]) -> Vec<[f32; KSUB]> {
        let mut table = vec![[0f32; KSUB]; self.m];
        for (j, row) in table.iter_mut().enumerate() {
            let q = &query[j * self.dsub..(j + 1) * self.dsub];
            column_products(q, self.book(j), row);
        }
        table
    }
}

/// Sum of one table entry per sub-quantizer (four independent accumulators, so the
/// loads overlap instead of waiting on one add chain). Reading the code 8 bytes per
/// load instead was measured: no change, so the plain form stays.
#[inline]
pub fn adc(table: &[[f32; KSUB]], code: &[u8]) -> f32 {
    let mut acc = [0f32; 4];
    let mut rows = table.chunks_exact(4);
    let mut codes = code.chunks_exact(4);
    for (t, c) in (&mut rows).zip(&mut codes) {
        acc[0] += t[0][c[0] as usize];
        acc[1] += t[1][c[1] as usize];
        acc[2] += t[2][c[2] as usize];
        acc[3] += t[3][c[3] as usize];
    }
    for (t, &c) in rows.remainder().iter().zip(codes.remainder()) {
        acc[0] += t[c as usize];
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ivf::kmeans::SplitMix;
    use crate::kernels::{dot, l2_squared};

    fn random(n: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut rng = SplitMix::new(seed);
        (0..n * dim)
            .map(|_| rng.unit() as f32 * 2.0 - 1.0)
            .collect()
    }

    #[test]
    fn codes_reconstruct_close_and_tables_match_decoded_products() {
        let (dim, m) = (16, 4);
        let data = random(3000, dim, 1);
        let pq = ProductQuantizer::train(&data, dim, m, &KMeansParams::new(KSUB));
        let view = pq.view();
        let codes = view.encode_all(&data);
        assert_eq!(codes.len(), 3000 * m);
        let mut err = 0.0;
        let mut energy = 0.0;
        let mut decoded = vec![0f32; dim];
        for (x, code) in data.chunks_exact(dim).zip(codes.chunks_exact(m)) {
            view.decode(code, &mut decoded);
            err += l2_squared(x, &decoded);
            energy += x.iter().map(|v| v * v).sum::<f32>();
        }
        // 256 centroids for 4-d uniform sub-vectors leave a small error.
        assert!(err / energy < 0.1, "relative error {}", err / energy);
        let q = random(1, dim, 9);
        let table = view.inner_product_table(&q);
        for code in codes.chunks_exact(m).take(50) {
            view.decode(code, &mut decoded);
            assert!((adc(&table, code) - dot(&q, &decoded)).abs() < 1e-4);
        }
    }

    #[test]
    fn each_code_is_the_nearest_centroid() {
        let (dim, m) = (8, 2);
        let data = random(600, dim, 4);
        let pq = ProductQuantizer::train(&data, dim, m, &KMeansParams::new(KSUB));
        let view = pq.view();
        let codes = view.encode_all(&data[..dim * 20]);
        for (x, code) in data.chunks_exact(dim).zip(codes.chunks_exact(m)) {
            let centroid = |j: usize, c: usize| -> Vec<f32> {
                (0..4).map(|d| view.book(j)[d * KSUB + c]).collect()
            };
            for j in 0..m {
                let sub = &x[j * 4..(j + 1) * 4];
                let best = (0..KSUB)
                    .map(|c| l2_squared(sub, &centroid(j, c)))
                    .fold(f32::INFINITY, f32::min);
                let got = l2_squared(sub, &centroid(j, code[j] as usize));
                assert!(got <= best + 1e-5);
            }
        }
    }

    #[test]
    fn adc_sums_one_entry_per_byte_for_any_m() {
        let mut rng = SplitMix::new(11);
        for m in [1, 7, 8, 12, 48, 98] {
            let table: Vec<[f32; KSUB]> = (0..m)
                .map(|_| std::array::from_fn(|_| rng.unit() as f32 - 0.5))
                .collect();
            let code: Vec<u8> = (0..m).map(|_| rng.below(256) as u8).collect();
            let want: f32 = table.iter().zip(&code).map(|(t, &c)| t[c as usize]).sum();
            assert!((adc(&table, &code) - want).abs() < 1e-4, "m = {m}");
        }
    }

    #[test]
    fn views_refuse_wrong_shapes() {
        assert!(PqView::new(16, 3, &[0.0; 16 * KSUB]).is_none());
        assert!(PqView::new(16, 4, &[0.0; 10]).is_none());
        assert!(PqView::new(16, 0, &[]).is_none());
        assert!(PqView::new(16, 4, &[0.0; 16 * KSUB]).is_some());
    }
}
