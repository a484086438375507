//! simsimd's kernels behind the same conventions as the [scalar references](super::scalar).
//!
//! simsimd picks its kernel at run time (AVX2 "haswell", AVX-512 "skylake", NEON, SVE,
//! ...), computes in `f32` (exact integers for `i8`) and returns an `f64`. These
//! wrappers turn that into the scalar references' `f32` distances, and fix the places
//! where simsimd's conventions differ:
//!
//! - Dot: simsimd returns the product; the distance is its negation.
//! - Cosine: simsimd says two zero vectors are at distance **0** (the scalar
//!   reference: 1, as for any zero vector), and it clamps results below 0 to exactly 0.
//!   A result of exactly 0 is therefore recomputed by the scalar reference. That happens
//!   only for (nearly) identical directions and zero vectors, so it costs nothing in
//!   practice, and it makes the zero-vector convention identical.
//! - Lengths: simsimd refuses slices of different lengths; like the scalar references,
//!   these compare the common prefix.
//!
//! simsimd fills its dispatch table when it first probes the CPU; [`accelerated`] (and
//! so [`distance_fn`](super::distance_fn)) does that probe, so take kernels from there
//! before sharing them between threads.
//!
//! This module holds Quiver's one `unsafe` block outside storage: viewing `half::f16`
//! slices as simsimd's own `f16` type.
#![allow(unsafe_code)]

use half::f16;
use quiver_storage::Metric;
use simsimd::{SpatialSimilarity, capabilities as caps};

use super::{DistanceFn, scalar};

/// Whether simsimd has a SIMD kernel for `f32` on this CPU (its `f32` dispatch list:
/// SVE, NEON, Skylake, Haswell). Without one it would run its own serial loop, which
/// is no faster than the scalar reference and less accurate (approximate square roots).
pub fn accelerated() -> bool {
    caps::uses_sve() || caps::uses_neon() || caps::uses_skylake() || caps::uses_haswell()
}

/// The most capable instruction-set family simsimd detected, by simsimd's names.
pub(super) fn detect() -> &'static str {
    type Probe = fn() -> bool;
    let families: [(&str, Probe); 9] = [
        ("turin", caps::uses_turin),
        ("sapphire", caps::uses_sapphire),
        ("genoa", caps::uses_genoa),
        ("ice", caps::uses_ice),
        ("skylake", caps::uses_skylake),
        ("sierra", caps::uses_sierra),
        ("haswell", caps::uses_haswell),
        ("sve", caps::uses_sve),
        ("neon", caps::uses_neon),
    ];
    families
        .into_iter()
        .find(|(_, uses)| uses())
        .map_or("serial", |(name, _)| name)
}

/// Whether simsimd's `f16` kernels on this CPU accumulate in half precision.
static HALF_PRECISION_SUMS: std::sync::LazyLock<bool> =
    std::sync::LazyLock::new(|| detect() == "sapphire");

type Kernel<T> = fn(&[T], &[T]) -> Option<f64>;

/// Runs a simsimd kernel over the common prefix (so it always returns `Some`).
fn run<T>(kernel: Kernel<T>, a: &[T], b: &[T]) -> f32 {
    let n = a.len().min(b.len());
    kernel(&a[..n], &b[..n]).map_or(f32::NAN, |d| d as f32)
}

/// simsimd's cosine distance, or the scalar reference's where simsimd returned exactly 0
/// (two zero vectors, or a result clamped up to 0).
fn zero_from_scalar(d: f32, reference: impl FnOnce() -> f32) -> f32 {
    if d == 0.0 { reference() } else { d }
}

/// Squared Euclidean distance.
pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    run(f32::l2sq, a, b)
}

/// Inner product.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    run(<f32 as SpatialSimilarity>::dot, a, b)
}

/// The dot metric's distance: the negated inner product.
pub fn dot_distance(a: &[f32], b: &[f32]) -> f32 {
    -dot(a, b)
}

/// Cosine distance, `1 - cos(a, b)`; a zero vector is at distance 1 from everything.
pub fn cosine_distance(a: &[f32], b: &[f32]) -> f32 {
    zero_from_scalar(run(<f32 as SpatialSimilarity>::cos, a, b), || {
        scalar::cosine_distance(a, b)
    })
}

/// The simsimd kernel for a metric.
pub fn distance_fn(metric: Metric) -> DistanceFn {
    match metric {
        Metric::L2 => l2_squared,
        Metric::Dot => dot_distance,
        Metric::Cosine => cosine_distance,
    }
}

/// simsimd's view of a `half::f16` slice.
fn as_simsimd_f16(x: &[f16]) -> &[simsimd::f16] {
    // SAFETY: `half::f16` and `simsimd::f16` are both `#[repr(transparent)]` wrappers
    // of a `u16`, so they have the same size and alignment and every bit pattern is
    // valid for both; the new slice covers the same `x.len()` elements and borrows `x`.
    unsafe { std::slice::from_raw_parts(x.as_ptr().cast::<simsimd::f16>(), x.len()) }
}

/// Distance between half-precision vectors (simsimd widens to `f32` and accumulates in
/// `f32`). Not on its "sapphire" family (AVX512-FP16): there its kernels subtract,
/// multiply and accumulate in half precision (measured: an L2 of 6.2412 came back as
/// 6.2422, the nearest f16), so those CPUs run the scalar reference instead.
pub fn distance_f16(metric: Metric, a: &[f16], b: &[f16]) -> f32 {
    if *HALF_PRECISION_SUMS {
        return scalar::distance_f16(metric, a, b);
    }
    let (sa, sb) = (as_simsimd_f16(a), as_simsimd_f16(b));
    match metric {
        Metric::L2 => run(simsimd::f16::l2sq, sa, sb),
        Metric::Dot => -run(<simsimd::f16 as SpatialSimilarity>::dot, sa, sb),
        Metric::Cosine => zero_from_scalar(run(simsimd::f16::cos, sa, sb), || {
            scalar::distance_f16(metric, a, b)
        }),
    }
}

/// Inner product of `i8` vectors (exact).
pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    run(<i8 as SpatialSimilarity>::dot, a, b) as i32
}

/// Distance between `i8` vectors (L2 and dot are exact integer sums; cosine goes
/// through simsimd's approximate reciprocal square root).
pub fn distance_i8(metric: Metric, a: &[i8], b: &[i8]) -> f32 {
    match metric {
        Metric::L2 => run(i8::l2sq, a, b),
        Metric::Dot => -run(<i8 as SpatialSimilarity>::dot, a, b),
        Metric::Cosine => {
            zero_from_scalar(run(i8::cos, a, b), || scalar::distance_i8(metric, a, b))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conventions_match_the_scalar_references() {
        let zero = [0.0f32; 17];
        let ones = [1.0f32; 17];
        // simsimd alone says 0 for two zero vectors; the wrapper says 1.
        assert_eq!(<f32 as SpatialSimilarity>::cos(&zero, &zero), Some(0.0));
        assert_eq!(cosine_distance(&zero, &zero), 1.0);
        assert_eq!(cosine_distance(&zero, &ones), 1.0);
        assert_eq!(cosine_distance(&ones, &zero), 1.0);
        assert!(cosine_distance(&ones, &ones).abs() < 1e-6);
        assert_eq!(dot_distance(&[1.0, 2.0], &[3.0, 4.0]), -11.0);
        assert_eq!(l2_squared(&[0.0, 3.0], &[4.0, 0.0]), 25.0);
        // Different lengths: the common prefix, as the scalar references.
        assert_eq!(l2_squared(&[1.0, 2.0, 3.0], &[1.0, 2.0]), 0.0);
        assert_eq!(dot(&[], &[]), 0.0);

        let hz = [f16::ZERO; 9];
        assert_eq!(distance_f16(Metric::Cosine, &hz, &hz), 1.0);
        assert_eq!(distance_i8(Metric::Cosine, &[0; 9], &[0; 9]), 1.0);
        assert_eq!(distance_i8(Metric::Dot, &[1, -2], &[3, 4]), 5.0);
    }
}
