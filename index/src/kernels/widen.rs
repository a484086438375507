//! Distances from an `f32` query to a row stored at half precision (`f16` or
//! `bf16`): the row is widened to `f32` a block at a time into a stack buffer, and
//! the fastest `f32` kernels run on each block, their sums added in `f32`. The result
//! is the distance to the stored (rounded) row; the query keeps its full precision.
//! Slices of different lengths are compared over their common prefix, as everywhere.
//! On x86-64 with AVX2 (and F16C for `f16`) the widening runs 8 elements per
//! instruction; elsewhere the `half` crate's conversion does it.
#![allow(unsafe_code)]

use std::sync::LazyLock;

use half::slice::HalfFloatSliceExt;
use half::{bf16, f16};
use quiver_storage::Metric;

use super::scalar::cosine_from_sums;

/// Elements widened at a time (1 KiB of `f32` on the stack).
const BLOCK: usize = 256;

/// A half-precision element type a row can be stored in.
pub trait HalfFloat: Copy {
    /// Widens `src` into `dst` (same length), with the CPU's conversion
    /// instructions where it has them (`half` detects F16C at run time).
    fn widen(src: &[Self], dst: &mut [f32]);
}

/// Whether the CPU has AVX2 and F16C (checked once, at run time).
static X86_WIDEN: LazyLock<bool> = LazyLock::new(|| {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("f16c")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
});

impl HalfFloat for f16 {
    fn widen(src: &[Self], dst: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if *X86_WIDEN {
            // SAFETY: the CPU has AVX2 and F16C (checked above).
            return unsafe { x86::widen_f16(src, dst) };
        }
        src.convert_to_f32_slice(dst);
    }
}

impl HalfFloat for bf16 {
    fn widen(src: &[Self], dst: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if *X86_WIDEN {
            // SAFETY: the CPU has AVX2 (checked above).
            return unsafe { x86::widen_bf16(src, dst) };
        }
        src.convert_to_f32_slice(dst);
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use half::{bf16, f16};

    /// `dst[i] = src[i]` widened, 8 at a time with `vcvtph2ps`.
    #[target_feature(enable = "avx2,f16c")]
    pub unsafe fn widen_f16(src: &[f16], dst: &mut [f32]) {
        let n = src.len().min(dst.len());
        let mut i = 0;
        // SAFETY: each step reads 8 `u16` of `src` and writes 8 `f32` of `dst` at
        // i + 8 <= n; `f16` is a transparent `u16`.
        unsafe {
            while i + 8 <= n {
                let halves = _mm_loadu_si128(src.as_ptr().add(i).cast());
                _mm256_storeu_ps(dst.as_mut_ptr().add(i), _mm256_cvtph_ps(halves));
                i += 8;
            }
        }
        for k in i..n {
            dst[k] = src[k].to_f32();
        }
    }

    /// `dst[i] = src[i]` widened, 8 at a time: a bf16 is the top half of an f32.
    #[target_feature(enable = "avx2")]
    pub unsafe fn widen_bf16(src: &[bf16], dst: &mut [f32]) {
        let n = src.len().min(dst.len());
        let mut i = 0;
        // SAFETY: as `widen_f16`; `bf16` is a transparent `u16`.
        unsafe {
            while i + 8 <= n {
                let halves = _mm_loadu_si128(src.as_ptr().add(i).cast());
                let words = _mm256_slli_epi32::<16>(_mm256_cvtepu16_epi32(halves));
                _mm256_storeu_ps(dst.as_mut_ptr().add(i), _mm256_castsi256_ps(words));
                i += 8;
            }
        }
        for k in i..n {
            dst[k] = src[k].to_f32();
        }
    }
}

/// The distance under `metric` from `query` to the half-precision `row`.
pub fn distance_to_half<H: HalfFloat>(metric: Metric, query: &[f32], row: &[H]) -> f32 {
    let l2 = super::distance_fn(Metric::L2);
    // The dot kernel returns the negated product.
    let neg_dot = super::distance_fn(Metric::Dot);
    let mut buffer = [0f32; BLOCK];
    let (mut sum, mut qq, mut rr) = (0f32, 0f32, 0f32);
    for (q, r) in query.chunks(BLOCK).zip(row.chunks(BLOCK)) {
        let n = q.len().min(r.len());
        let (q, v) = (&q[..n], &mut buffer[..n]);
        H::widen(&r[..n], v);
        match metric {
            Metric::L2 => sum += l2(q, v),
            Metric::Dot => sum += neg_dot(q, v),
            Metric::Cosine => {
                sum -= neg_dot(q, v);
                qq -= neg_dot(q, q);
                rr -= neg_dot(v, v);
            }
        }
    }
    match metric {
        Metric::Cosine => cosine_from_sums(sum, qq, rr),
        _ => sum,
    }
}
