//! Distance kernels. Distances are "lower is closer"; [`score`] turns one into "higher
//! is better", the only place that conversion happens.
//!
//! [`scalar`] holds the plain references, [`simd`] the simsimd kernels with the same
//! conventions (checked against the references by `index/tests/kernels.rs`):
//!
//! - L2 is the **squared** Euclidean distance;
//! - Dot's distance is the **negated** inner product;
//! - Cosine's is `1 - cos(a, b)`, and a zero vector is at distance 1 from everything
//!   (another zero vector included).
//!
//! Hot loops call [`distance_fn`] once and then call the function pointer; it returns
//! simsimd's kernel when simsimd has SIMD code for this CPU and the scalar reference
//! otherwise, decided once per process.

use std::sync::LazyLock;

use quiver_storage::Metric;

pub mod avx2;
pub mod gemm;
pub mod nearest;
pub mod packed;
mod prefetch;
pub mod scalar;
pub mod simd;
pub mod widen;

pub use prefetch::{prefetch, prefetch_bytes, prefetch_u8, prefetch_u32};

/// The half-precision types of the `f16` kernels and of [`widen`] (the `half` crate's).
pub use half::{bf16, f16};
pub use scalar::{cosine_distance, dot, l2_squared};
pub use widen::distance_to_half;

/// A distance kernel: two vectors of the same dimension in, a distance out.
pub type DistanceFn = fn(&[f32], &[f32]) -> f32;

/// Whether [`simd`] is used, decided on first use.
static ACCELERATED: LazyLock<bool> = LazyLock::new(simd::accelerated);

/// The instruction-set family simsimd detected, decided on first use.
static INSTRUCTION_SET: LazyLock<&'static str> = LazyLock::new(simd::detect);

/// Whether Quiver's own AVX2/FMA kernels run here, decided on first use.
static AVX2: LazyLock<bool> = LazyLock::new(avx2::available);

/// The fastest kernel for a metric on this CPU: Quiver's AVX2/FMA kernels where the
/// CPU has them, else simsimd's, else the scalar reference.
pub fn distance_fn(metric: Metric) -> DistanceFn {
    if *AVX2 && let Some(kernel) = avx2::distance_fn(metric) {
        return kernel;
    }
    if *ACCELERATED {
        simd::distance_fn(metric)
    } else {
        scalar::distance_fn(metric)
    }
}

/// Distances from an `f32` query to stored rows under one metric, whatever the rows'
/// element type: the fastest `f32` kernel for `f32` rows, [`distance_to_half`] for
/// half-precision ones. Made once per search, like [`distance_fn`].
#[derive(Clone, Copy, Debug)]
pub struct RowDistance {
    metric: Metric,
    f32: DistanceFn,
}

impl RowDistance {
    pub fn new(metric: Metric) -> Self {
        RowDistance {
            metric,
            f32: distance_fn(metric),
        }
    }

    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// The distance from `query` to `row`. The `f32` case stays as small as a plain
    /// kernel call (it sits in every search's inner loop); half precision is an
    /// out-of-line call.
    #[inline(always)]
    pub fn to(&self, query: &[f32], row: quiver_storage::Vectors<'_>) -> f32 {
        match row {
            quiver_storage::Vectors::F32(x) => (self.f32)(query, x),
            half => self.half_precision(query, half),
        }
    }

    #[inline(never)]
    #[cold]
    fn half_precision(&self, query: &[f32], row: quiver_storage::Vectors<'_>) -> f32 {
        use quiver_storage::Vectors;
        match row {
            Vectors::F32(x) => (self.f32)(query, x),
            Vectors::F16(x) => distance_to_half(self.metric, query, x),
            Vectors::Bf16(x) => distance_to_half(self.metric, query, x),
        }
    }
}

/// Distance under a metric (lower is closer), with the fastest kernel. In a loop, call
/// [`distance_fn`] once instead.
pub fn distance(metric: Metric, a: &[f32], b: &[f32]) -> f32 {
    distance_fn(metric)(a, b)
}

/// Distance between half-precision vectors, with the fastest kernel.
pub fn distance_f16(metric: Metric, a: &[f16], b: &[f16]) -> f32 {
    if *ACCELERATED {
        simd::distance_f16(metric, a, b)
    } else {
        scalar::distance_f16(metric, a, b)
    }
}

/// Distance between `i8` vectors, with the fastest kernel.
pub fn distance_i8(metric: Metric, a: &[i8], b: &[i8]) -> f32 {
    if *ACCELERATED {
        simd::distance_i8(metric, a, b)
    } else {
        scalar::distance_i8(metric, a, b)
    }
}

/// The instruction set the `f32` kernels of [`distance_fn`] use here: `"avx2+fma"` for
/// Quiver's own kernels, otherwise the family simsimd detected, by simsimd's names:
/// `"turin"`, `"sapphire"`, `"genoa"`, `"ice"`, `"skylake"`, `"sierra"`, `"haswell"`
/// (x86, most capable first), `"sve"`, `"neon"` (Arm), or `"serial"` when it found none
/// (then the scalar references run).
pub fn instruction_set() -> &'static str {
    if *AVX2 { "avx2+fma" } else { *INSTRUCTION_SET }
}

/// The family simsimd detected (what the `f16`/`i8` kernels use).
pub fn simsimd_instruction_set() -> &'static str {
    *INSTRUCTION_SET
}

/// Score (higher is better) from a distance: negation keeps the order for every metric.
pub fn score(distance: f32) -> f32 {
    -distance
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        for metric in [Metric::L2, Metric::Dot, Metric::Cosine] {
            let d = distance_fn(metric);
            assert_eq!(
                d(&[0.0, 0.0], &[0.0, 0.0]),
                distance(metric, &[0.0; 2], &[0.0; 2])
            );
        }
        assert_eq!(l2_squared(&[0.0, 3.0], &[4.0, 0.0]), 25.0);
        assert_eq!(distance(Metric::L2, &[0.0, 3.0], &[4.0, 0.0]), 25.0);
        assert_eq!(distance(Metric::Dot, &[1.0, 2.0], &[3.0, 4.0]), -11.0);
        assert!(cosine_distance(&[1.0, 0.0], &[2.0, 0.0]).abs() < 1e-6);
        assert!(distance(Metric::Cosine, &[1.0, 0.0], &[2.0, 0.0]).abs() < 1e-6);
        assert!((cosine_distance(&[1.0, 0.0], &[0.0, 5.0]) - 1.0).abs() < 1e-6);
        assert_eq!(cosine_distance(&[0.0, 0.0], &[1.0, 1.0]), 1.0);
        assert_eq!(distance(Metric::Cosine, &[0.0, 0.0], &[0.0, 0.0]), 1.0);
        assert_eq!(
            distance_f16(Metric::Dot, &[f16::ONE; 3], &[f16::ONE; 3]),
            -3.0
        );
        assert_eq!(distance_i8(Metric::L2, &[1, 2], &[4, -2]), 25.0);
        assert!(score(1.0) < score(0.5));
    }

    #[test]
    fn names_an_instruction_set() {
        let set = simsimd_instruction_set();
        assert!(!set.is_empty());
        assert_eq!(*ACCELERATED, set != "serial" && set != "sierra");
        assert_eq!(instruction_set() == "avx2+fma", avx2::available());
    }
}
