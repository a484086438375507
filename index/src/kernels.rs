//! Distance kernels. These are the plain scalar references that every faster kernel is
//! tested against. Distances are "lower is closer"; [`score`] turns one into "higher is
//! better", the only place that conversion happens.

use quiver_storage::Metric;

/// Squared Euclidean distance.
pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Inner product.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Cosine distance, `1 - cos(a, b)`; a zero vector is at distance 1 from everything.
pub fn cosine_distance(a: &[f32], b: &[f32]) -> f32 {
    let (ab, aa, bb) = a
        .iter()
        .zip(b)
        .fold((0f32, 0f32, 0f32), |(ab, aa, bb), (x, y)| {
            (ab + x * y, aa + x * x, bb + y * y)
        });
    if aa == 0.0 || bb == 0.0 {
        return 1.0;
    }
    1.0 - ab / (aa.sqrt() * bb.sqrt())
}

/// Distance under a metric (lower is closer). Dot's distance is the negated product.
pub fn distance(metric: Metric, a: &[f32], b: &[f32]) -> f32 {
    match metric {
        Metric::L2 => l2_squared(a, b),
        Metric::Dot => -dot(a, b),
        Metric::Cosine => cosine_distance(a, b),
    }
}

/// A distance kernel for hot loops: pick it once with [`distance_fn`], then call it.
pub type DistanceFn = fn(&[f32], &[f32]) -> f32;

fn neg_dot(a: &[f32], b: &[f32]) -> f32 {
    -dot(a, b)
}

/// The kernel for a metric (same conventions as [`distance`]).
pub fn distance_fn(metric: Metric) -> DistanceFn {
    match metric {
        Metric::L2 => l2_squared,
        Metric::Dot => neg_dot,
        Metric::Cosine => cosine_distance,
    }
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
        assert_eq!(l2_squared(&[0.0, 3.0], &[4.0, 0.0]), 25.0);
        assert_eq!(distance(Metric::Dot, &[1.0, 2.0], &[3.0, 4.0]), -11.0);
        assert!(cosine_distance(&[1.0, 0.0], &[2.0, 0.0]).abs() < 1e-6);
        assert!((cosine_distance(&[1.0, 0.0], &[0.0, 5.0]) - 1.0).abs() < 1e-6);
        assert_eq!(cosine_distance(&[0.0, 0.0], &[1.0, 1.0]), 1.0);
        assert!(score(1.0) < score(0.5));
    }
}
