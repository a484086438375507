//! Every simsimd kernel against its scalar reference, on random vectors of random
//! dimensions (1..=1024, and 4096), with negative values, several scales, sparse
//! vectors, zero vectors, and pairs that are equal, opposite or parallel.
//!
//! The tolerance is the worst-case rounding bound of an `f32` sum of `n` products
//! (about `n * u` times the sum of the terms' magnitudes, `u = 2^-24`), the sequential
//! scalar loop's and the lane-wise SIMD loop's added together. It never fails on
//! rounding, and any real bug (a dropped tail element, a wrong sign, another
//! convention) shows up far above it for the dimensions up to 1024.

use proptest::prelude::*;
use quiver_index::kernels::{self, bf16, f16, scalar, simd};
use quiver_storage::Metric;

const METRICS: [Metric; 3] = [Metric::L2, Metric::Dot, Metric::Cosine];
/// The unit roundoff of `f32`.
const U: f64 = f32::EPSILON as f64 / 2.0;

fn dim() -> impl Strategy<Value = usize> {
    prop_oneof![12 => 1usize..=1024, 1 => Just(4096usize), 1 => 4089usize..=4103]
}

fn vector(n: usize) -> impl Strategy<Value = Vec<f32>> {
    let scale = prop_oneof![Just(1.0f32), Just(1e-3), Just(1e3)];
    prop_oneof![
        8 => (prop::collection::vec(-1.0f32..1.0, n), scale)
            .prop_map(|(v, s)| v.into_iter().map(|x| x * s).collect()),
        1 => prop::collection::vec(prop_oneof![3 => Just(0.0f32), 1 => -10.0f32..10.0], n),
        1 => Just(vec![0.0; n]),
    ]
}

fn i8_vector(n: usize) -> impl Strategy<Value = Vec<i8>> {
    prop_oneof![3 => prop::collection::vec(any::<i8>(), n), 1 => Just(vec![0i8; n])]
}

/// Two vectors of one dimension: independent, or the second derived from the first.
fn pair() -> impl Strategy<Value = (Vec<f32>, Vec<f32>)> {
    dim()
        .prop_flat_map(|n| (vector(n), vector(n), 0u8..6))
        .prop_map(|(a, b, relation)| {
            let b = match relation {
                0 => a.clone(),
                1 => a.iter().map(|x| -x).collect(),
                2 => a.iter().map(|x| x * 2.5).collect(),
                3 => vec![0.0; a.len()],
                _ => b,
            };
            (a, b)
        })
}

/// `(sum of |terms|, a·a, b·b)` in `f64`, the scale the rounding error is bounded by.
fn magnitudes(metric: Metric, a: &[f64], b: &[f64]) -> (f64, f64, f64) {
    let sum = |f: &dyn Fn(f64, f64) -> f64| a.iter().zip(b).map(|(&x, &y)| f(x, y)).sum();
    let terms = match metric {
        Metric::L2 => sum(&|x, y| (x - y) * (x - y)),
        Metric::Dot | Metric::Cosine => sum(&|x, y| (x * y).abs()),
    };
    (terms, sum(&|x, _| x * x), sum(&|_, y| y * y))
}

/// The rounding bound for a distance between `n`-dimensional vectors.
fn tolerance(metric: Metric, n: usize, a: &[f64], b: &[f64]) -> f64 {
    let n = n as f64;
    match metric {
        // sum of |terms| <= |a||b|, so the cosine is off by ~n*u per sum, whatever the scale.
        Metric::Cosine => (4.0 * n + 64.0) * U + 2e-6,
        _ => (2.0 * n + 16.0) * U * magnitudes(metric, a, b).0 + f64::from(f32::MIN_POSITIVE),
    }
}

fn check(metric: Metric, got: f32, want: f32, tol: f64) -> Result<(), TestCaseError> {
    let diff = (f64::from(got) - f64::from(want)).abs();
    prop_assert!(
        diff <= tol,
        "{metric:?}: simd {got} vs scalar {want}: off by {diff:e} > {tol:e}"
    );
    Ok(())
}

/// A distance computed in `f64`, with the kernels' conventions.
fn exact(metric: Metric, a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    match metric {
        Metric::L2 => a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum(),
        Metric::Dot => -dot,
        Metric::Cosine => {
            let (aa, bb) = (magnitudes(metric, a, b).1, magnitudes(metric, a, b).2);
            if aa == 0.0 || bb == 0.0 {
                1.0
            } else {
                1.0 - dot / (aa.sqrt() * bb.sqrt())
            }
        }
    }
}

fn widen(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| f64::from(x)).collect()
}

proptest! {
    #[test]
    fn f32_kernels_match_the_scalar_references((a, b) in pair()) {
        let (a64, b64) = (widen(&a), widen(&b));
        for metric in METRICS {
            let want = scalar::distance_fn(metric)(&a, &b);
            let got = simd::distance_fn(metric)(&a, &b);
            check(metric, got, want, tolerance(metric, a.len(), &a64, &b64))?;
            let own = kernels::avx2::distance_fn(metric).map(|k| k(&a, &b));
            if let Some(own) = own {
                check(metric, own, want, tolerance(metric, a.len(), &a64, &b64))?;
            }
            // The dispatched kernel is one of the three.
            let fastest = kernels::distance_fn(metric)(&a, &b);
            prop_assert!(
                fastest.to_bits() == got.to_bits()
                    || fastest.to_bits() == want.to_bits()
                    || own.is_some_and(|o| o.to_bits() == fastest.to_bits())
            );
            prop_assert_eq!(kernels::distance(metric, &a, &b).to_bits(), fastest.to_bits());
        }
        // The product itself, not only the dot distance.
        check(Metric::Dot, simd::dot(&a, &b), scalar::dot(&a, &b), tolerance(Metric::Dot, a.len(), &a64, &b64))?;
        // The conventions, exactly.
        if a.iter().all(|&x| x == 0.0) || b.iter().all(|&x| x == 0.0) {
            prop_assert_eq!(simd::cosine_distance(&a, &b), 1.0);
        }
    }

    #[test]
    fn f16_kernels_match_the_scalar_references((a, b) in pair()) {
        // f16 holds up to 65504: bring every vector into [-2, 2] first.
        let to_f16 = |v: &[f32]| {
            let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
            let s = if max > 0.0 { 2.0 / max } else { 1.0 };
            v.iter().map(|&x| f16::from_f32(x * s)).collect::<Vec<_>>()
        };
        let (a, b) = (to_f16(&a), to_f16(&b));
        let widen16 = |v: &[f16]| v.iter().map(|x| f64::from(x.to_f32())).collect::<Vec<_>>();
        let (a64, b64) = (widen16(&a), widen16(&b));
        for metric in METRICS {
            let want = scalar::distance_f16(metric, &a, &b);
            let got = simd::distance_f16(metric, &a, &b);
            check(metric, got, want, tolerance(metric, a.len(), &a64, &b64))?;
        }
    }

    #[test]
    fn a_query_to_a_half_precision_row_matches_the_f64_distance((a, b) in pair()) {
        // The row rounded once, as stored; the query kept in f32.
        let scaled: Vec<f32> = {
            let max = b.iter().fold(0f32, |m, x| m.max(x.abs()));
            let s = if max > 60_000.0 { 60_000.0 / max } else { 1.0 };
            b.iter().map(|&x| x * s).collect()
        };
        let as_f16: Vec<f16> = scaled.iter().map(|&x| f16::from_f32(x)).collect();
        let as_bf16: Vec<bf16> = b.iter().map(|&x| bf16::from_f32(x)).collect();
        let q64 = widen(&a);
        for metric in METRICS {
            for (row64, got) in [
                (
                    as_f16.iter().map(|x| f64::from(x.to_f32())).collect::<Vec<_>>(),
                    kernels::distance_to_half(metric, &a, &as_f16),
                ),
                (
                    as_bf16.iter().map(|x| f64::from(x.to_f32())).collect::<Vec<_>>(),
                    kernels::distance_to_half(metric, &a, &as_bf16),
                ),
            ] {
                let want = exact(metric, &q64, &row64);
                let diff = (f64::from(got) - want).abs();
                let tol = tolerance(metric, a.len(), &q64, &row64);
                prop_assert!(diff <= tol, "{metric:?}: {got} vs {want}: off by {diff:e} > {tol:e}");
            }
        }
    }

    #[test]
    fn i8_kernels_match_the_scalar_references(
        (a, b) in (1usize..=1024).prop_flat_map(|n| (i8_vector(n), i8_vector(n)))
    ) {
        // L2 and dot are exact integer sums on both sides.
        for metric in [Metric::L2, Metric::Dot] {
            prop_assert_eq!(simd::distance_i8(metric, &a, &b), scalar::distance_i8(metric, &a, &b));
        }
        let want = scalar::distance_i8(Metric::Cosine, &a, &b);
        let got = simd::distance_i8(Metric::Cosine, &a, &b);
        check(Metric::Cosine, got, want, I8_COSINE_TOLERANCE)?;
        prop_assert_eq!(simd::dot_i8(&a, &b), scalar::dot_i8(&a, &b));
    }

    /// The 8-bit code kernel is an exact integer sum: equal to the plain loop for any
    /// length (whole blocks of 32 and a tail), at the largest weights `sq8` uses.
    #[test]
    fn code_kernel_matches_the_plain_sum(
        (c, w) in (1usize..=1100).prop_flat_map(|n| (
            prop::collection::vec(any::<u8>(), n),
            prop::collection::vec(-7000i16..=7000, n),
        ))
    ) {
        let kernel = kernels::avx2::dot_u8_i16_fn();
        prop_assert_eq!(kernel(&c, &w), kernels::avx2::dot_u8_i16_plain(&c, &w));
    }
}

/// simsimd's `i8` cosine uses an approximate reciprocal square root.
const I8_COSINE_TOLERANCE: f64 = 1e-5;

#[test]
fn instruction_set_is_named() {
    let set = kernels::simsimd_instruction_set();
    let known = [
        "turin", "sapphire", "genoa", "ice", "skylake", "sierra", "haswell", "sve", "neon",
        "serial",
    ];
    assert!(known.contains(&set), "{set}");
    let used = kernels::instruction_set();
    assert!(used == "avx2+fma" || used == set, "{used}");
}
