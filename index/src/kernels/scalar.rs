//! The plain scalar references: one element at a time, accumulated in order in `f32`
//! (`i32` for `i8`). Every faster kernel is tested against these, and they are what
//! [`distance_fn`](super::distance_fn) falls back to on a CPU simsimd does not
//! accelerate. Slices of different lengths are compared over their common prefix.

use half::f16;
use quiver_storage::Metric;

use super::DistanceFn;

/// Squared Euclidean distance.
pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Inner product.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The dot metric's distance: the negated inner product.
pub fn dot_distance(a: &[f32], b: &[f32]) -> f32 {
    -dot(a, b)
}

/// Cosine distance, `1 - cos(a, b)`; a zero vector is at distance 1 from everything.
pub fn cosine_distance(a: &[f32], b: &[f32]) -> f32 {
    let (ab, aa, bb) = a
        .iter()
        .zip(b)
        .fold((0f32, 0f32, 0f32), |(ab, aa, bb), (x, y)| {
            (ab + x * y, aa + x * x, bb + y * y)
        });
    cosine_from_sums(ab, aa, bb)
}

/// `1 - ab / (|a| |b|)`, or 1 when either norm is zero.
pub(crate) fn cosine_from_sums(ab: f32, aa: f32, bb: f32) -> f32 {
    if aa == 0.0 || bb == 0.0 {
        return 1.0;
    }
    1.0 - ab / (aa.sqrt() * bb.sqrt())
}

/// The scalar kernel for a metric.
pub fn distance_fn(metric: Metric) -> DistanceFn {
    match metric {
        Metric::L2 => l2_squared,
        Metric::Dot => dot_distance,
        Metric::Cosine => cosine_distance,
    }
}

/// Distance between half-precision vectors, each element widened to `f32` and
/// accumulated in `f32`.
pub fn distance_f16(metric: Metric, a: &[f16], b: &[f16]) -> f32 {
    let pairs = a.iter().zip(b).map(|(x, y)| (x.to_f32(), y.to_f32()));
    match metric {
        Metric::L2 => pairs.map(|(x, y)| (x - y) * (x - y)).sum(),
        Metric::Dot => -pairs.map(|(x, y)| x * y).sum::<f32>(),
        Metric::Cosine => {
            let (ab, aa, bb) = pairs.fold((0f32, 0f32, 0f32), |(ab, aa, bb), (x, y)| {
                (ab + x * y, aa + x * x, bb + y * y)
            });
            cosine_from_sums(ab, aa, bb)
        }
    }
}

/// Inner product of `i8` vectors, exact in `i32` (up to 2^17 elements).
pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum()
}

/// Squared Euclidean distance of `i8` vectors, exact in `i32` (up to 2^15 elements).
pub fn l2_squared_i8(a: &[i8], b: &[i8]) -> i32 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (i32::from(x) - i32::from(y)).pow(2))
        .sum()
}

/// Distance between `i8` vectors: sums exact in `i32`, the result in `f32`.
pub fn distance_i8(metric: Metric, a: &[i8], b: &[i8]) -> f32 {
    match metric {
        Metric::L2 => l2_squared_i8(a, b) as f32,
        Metric::Dot => -(dot_i8(a, b) as f32),
        Metric::Cosine => {
            let n = a.len().min(b.len());
            let (a, b) = (&a[..n], &b[..n]);
            let aa = dot_i8(a, a) as f32;
            let bb = dot_i8(b, b) as f32;
            cosine_from_sums(dot_i8(a, b) as f32, aa, bb)
        }
    }
}
