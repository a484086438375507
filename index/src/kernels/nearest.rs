//! Nearest centroid for low-dimensional points (PQ sub-vectors: `dim` of 1..=32):
//! the distances to all centroids are accumulated dimension by dimension over a
//! dimension-major centroid matrix (`dim x k`), which vectorizes 8 centroids per
//! instruction; a matrix product with an inner dimension of 8 spends its time packing
//! and writing the `points x k` result instead. Compiled twice: with AVX2 + FMA
//! (picked at run time) and for the baseline target.
#![allow(unsafe_code)]

/// Lanes of the arg-min scan (one AVX register of f32).
const LANES: usize = 8;
/// Centroids whose running sums stay in registers together (8 AVX registers).
const BLOCK: usize = 64;

/// `argmin_j (norms[j] - 2 * products[j])` and that minimum (the first index on ties).
/// Eight independent lane-wise minima, so the compiler turns the loop into vector
/// compares and blends.
#[inline(always)]
pub fn argmin_offset(products: &[f32], norms: &[f32]) -> (u32, f32) {
    let mut best = [f32::INFINITY; LANES];
    let mut at = [0u32; LANES];
    let mut chunk_start = 0u32;
    for (p, n) in products.chunks_exact(LANES).zip(norms.chunks_exact(LANES)) {
        for l in 0..LANES {
            let d = n[l] - 2.0 * p[l];
            let better = d < best[l];
            best[l] = if better { d } else { best[l] };
            at[l] = if better {
                chunk_start + l as u32
            } else {
                at[l]
            };
        }
        chunk_start += LANES as u32;
    }
    let tail = products.len() / LANES * LANES;
    let mut result = (0u32, f32::INFINITY);
    for l in 0..LANES {
        if best[l] < result.1 || (best[l] == result.1 && at[l] < result.0) {
            result = (at[l], best[l]);
        }
    }
    for j in tail..products.len() {
        let d = norms[j] - 2.0 * products[j];
        if d < result.1 {
            result = (j as u32, d);
        }
    }
    result
}

/// For each point of `points` (`n x dim`): its nearest centroid and `|x - c|²`, with
/// `centroids_t` the `dim x k` transpose of the centroids and `norms` their squared
/// norms. Panics if the shapes disagree (a caller bug).
pub fn nearest_small(
    points: &[f32],
    dim: usize,
    centroids_t: &[f32],
    norms: &[f32],
) -> Vec<(u32, f32)> {
    assert!(dim > 0 && centroids_t.len() == dim * norms.len());
    #[cfg(target_arch = "x86_64")]
    if super::avx2::available() {
        // SAFETY: AVX2 and FMA were just confirmed, the only requirement of a
        // `target_feature` function; the body is safe Rust.
        return unsafe { nearest_avx2(points, dim, centroids_t, norms) };
    }
    nearest_body::<false>(points, dim, centroids_t, norms)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn nearest_avx2(points: &[f32], dim: usize, centroids_t: &[f32], norms: &[f32]) -> Vec<(u32, f32)> {
    nearest_body::<true>(points, dim, centroids_t, norms)
}

/// `out[c] = <x, centroid c>` for the `dim x k` transposed centroids `centroids_t`
/// (`k = out.len()`): a query's PQ lookup table row. Panics on mismatched shapes.
pub fn column_products(x: &[f32], centroids_t: &[f32], out: &mut [f32]) {
    assert_eq!(centroids_t.len(), x.len() * out.len());
    #[cfg(target_arch = "x86_64")]
    if super::avx2::available() {
        // SAFETY: AVX2 and FMA were just confirmed (see `nearest_small`).
        return unsafe { products_avx2(x, centroids_t, out) };
    }
    products_body::<false>(x, centroids_t, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn products_avx2(x: &[f32], centroids_t: &[f32], out: &mut [f32]) {
    products_body::<true>(x, centroids_t, out);
}

/// Blocks of BLOCK centroids accumulate in registers across all dimensions (one load
/// per centroid and dimension, no store until the block is done).
#[inline(always)]
fn products_body<const FMA: bool>(x: &[f32], centroids_t: &[f32], out: &mut [f32]) {
    let k = out.len();
    let blocks = k / BLOCK;
    for b in 0..blocks {
        let mut acc = [0f32; BLOCK];
        for (d, &w) in x.iter().enumerate() {
            let column = &centroids_t[d * k + b * BLOCK..d * k + (b + 1) * BLOCK];
            for i in 0..BLOCK {
                acc[i] = if FMA {
                    w.mul_add(column[i], acc[i])
                } else {
                    acc[i] + w * column[i]
                };
            }
        }
        out[b * BLOCK..(b + 1) * BLOCK].copy_from_slice(&acc);
    }
    for c in blocks * BLOCK..k {
        let mut sum = 0f32;
        for (d, &w) in x.iter().enumerate() {
            sum += w * centroids_t[d * k + c];
        }
        out[c] = sum;
    }
}

/// Plain loops, no closures: a closure is a function of its own and would not get the
/// caller's `target_feature`s (its `mul_add` would become a library call).
#[inline(always)]
fn nearest_body<const FMA: bool>(
    points: &[f32],
    dim: usize,
    centroids_t: &[f32],
    norms: &[f32],
) -> Vec<(u32, f32)> {
    let k = norms.len();
    let mut products = vec![0f32; k];
    let mut out = Vec::with_capacity(points.len() / dim);
    for x in points.chunks_exact(dim) {
        for p in products.iter_mut() {
            *p = 0.0;
        }
        let xn: f32 = x.iter().map(|w| w * w).sum();
        products_body::<FMA>(x, centroids_t, &mut products);
        let (j, best) = argmin_offset(&products, norms);
        out.push((j, (best + xn).max(0.0)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_brute_force_in_both_builds() {
        let (dim, k) = (3, 37);
        let cents: Vec<f32> = (0..k * dim)
            .map(|i| ((i * 7919) % 101) as f32 / 10.0)
            .collect();
        let pts: Vec<f32> = (0..50 * dim)
            .map(|i| ((i * 104_729) % 97) as f32 / 9.0)
            .collect();
        let mut t = vec![0f32; k * dim];
        for c in 0..k {
            for d in 0..dim {
                t[d * k + c] = cents[c * dim + d];
            }
        }
        let norms: Vec<f32> = cents
            .chunks(dim)
            .map(|c| c.iter().map(|x| x * x).sum())
            .collect();
        let fast = nearest_small(&pts, dim, &t, &norms);
        let plain = nearest_body::<false>(&pts, dim, &t, &norms);
        for ((x, a), b) in pts.chunks(dim).zip(&fast).zip(&plain) {
            let best = cents
                .chunks(dim)
                .map(|c| x.iter().zip(c).map(|(p, q)| (p - q) * (p - q)).sum::<f32>())
                .fold(f32::INFINITY, f32::min);
            for (j, d) in [a, b] {
                let c = &cents[*j as usize * dim..][..dim];
                let got: f32 = x.iter().zip(c).map(|(p, q)| (p - q) * (p - q)).sum();
                assert!(got <= best + 1e-3, "{got} vs {best}");
                assert!((d - got).abs() <= 1e-3 * (1.0 + got));
            }
        }
    }
}
