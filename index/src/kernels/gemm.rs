//! Matrix products for training (k-means, product quantizers): many points against
//! many centroids at once, through the `matrixmultiply` crate's blocked SIMD GEMM.
#![allow(unsafe_code)]

/// `out[i * b_rows + j] = <a_i, b_j>` for row-major `a` (`a_rows x dim`) and `b`
/// (`b_rows x dim`): `A · Bᵀ`.
///
/// Panics if a slice length does not match the shapes (a caller bug, never input).
pub fn inner_products(a: &[f32], b: &[f32], dim: usize, out: &mut [f32]) {
    assert!(dim > 0 && a.len().is_multiple_of(dim) && b.len().is_multiple_of(dim));
    let (a_rows, b_rows) = (a.len() / dim, b.len() / dim);
    assert_eq!(out.len(), a_rows * b_rows, "output shape");
    if out.is_empty() {
        return;
    }
    let (dim_i, b_rows_i) = (dim as isize, b_rows as isize);
    // SAFETY: the asserts above make every index the strides can form stay inside its
    // slice: A is a_rows x dim with row stride dim, B is read as the dim x b_rows matrix
    // Bᵀ (row stride 1, column stride dim), C is a_rows x b_rows with row stride
    // b_rows. `out` is borrowed mutably, so it aliases neither input; beta = 0 means
    // its previous contents are never read.
    unsafe {
        matrixmultiply::sgemm(
            a_rows,
            dim,
            b_rows,
            1.0,
            a.as_ptr(),
            dim_i,
            1,
            b.as_ptr(),
            1,
            dim_i,
            0.0,
            out.as_mut_ptr(),
            b_rows_i,
            1,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_plain_dot_products() {
        let dim = 5;
        let a: Vec<f32> = (0..3 * dim).map(|i| i as f32 * 0.5 - 3.0).collect();
        let b: Vec<f32> = (0..4 * dim).map(|i| (i % 7) as f32 - 2.0).collect();
        let mut out = vec![f32::NAN; 12];
        inner_products(&a, &b, dim, &mut out);
        for i in 0..3 {
            for j in 0..4 {
                let want: f32 = (0..dim).map(|d| a[i * dim + d] * b[j * dim + d]).sum();
                assert!((out[i * 4 + j] - want).abs() < 1e-4);
            }
        }
    }
}
