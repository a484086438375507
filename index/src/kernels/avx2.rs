//! Quiver's own AVX2 + FMA kernels for `f32`. simsimd's Haswell kernels keep one
//! accumulator, so each fused multiply-add waits for the previous one (latency-bound:
//! about 4 cycles per 8 floats). Four independent accumulators keep both FMA ports
//! busy, which on a 384-d vector makes a distance 3-4x faster when the data is in cache.
//! Same conventions as the [scalar references](super::scalar); compared against them by
//! `index/tests/kernels.rs`.
#![allow(unsafe_code)]

use quiver_storage::Metric;

use super::DistanceFn;

/// Whether this CPU has AVX2 and FMA (checked at run time).
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The kernel for a metric, or `None` when the CPU lacks AVX2/FMA. The returned
/// functions are only sound to call on such a CPU, which is why they are reachable
/// only through here.
pub fn distance_fn(metric: Metric) -> Option<DistanceFn> {
    #[cfg(target_arch = "x86_64")]
    {
        if !available() {
            return None;
        }
        Some(match metric {
            Metric::L2 => x86::l2_squared,
            Metric::Dot => x86::neg_dot,
            Metric::Cosine => x86::cosine_distance,
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = metric;
        None
    }
}

/// Σ w_i · c_i over `u8` codes.
pub fn dot_u8(w: &[f32], c: &[u8]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if available() {
        // SAFETY: AVX2 and FMA were just confirmed.
        return unsafe { x86::codes(w, &[], c, false) };
    }
    w.iter().zip(c).map(|(w, &c)| w * c as f32).sum()
}

/// Σ (r_i - s_i · c_i)² over `u8` codes.
pub fn l2_u8(r: &[f32], s: &[f32], c: &[u8]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if available() {
        // SAFETY: AVX2 and FMA were just confirmed.
        return unsafe { x86::codes(r, s, c, true) };
    }
    r.iter()
        .zip(s)
        .zip(c)
        .map(|((r, s), &c)| (r - s * c as f32) * (r - s * c as f32))
        .sum()
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// Lanes per register and registers per unrolled step.
    const LANES: usize = 8;
    const STEP: usize = 4 * LANES;

    #[inline(always)]
    unsafe fn sum(v: __m256) -> f32 {
        // SAFETY (all intrinsics here): only called from `#[target_feature(avx2,fma)]`
        // functions, which run only after `available()` confirmed the features.
        unsafe {
            let lo = _mm256_castps256_ps128(v);
            let hi = _mm256_extractf128_ps::<1>(v);
            let s = _mm_add_ps(lo, hi);
            let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
            let s = _mm_add_ss(s, _mm_shuffle_ps::<0b01>(s, s));
            _mm_cvtss_f32(s)
        }
    }

    /// Σ a·b, Σ a·a, Σ b·b (the last two only when `norms`), over the common prefix.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn sums(a: &[f32], b: &[f32], mode: Mode) -> (f32, f32, f32) {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut aa = [_mm256_setzero_ps(); 2];
        let mut bb = [_mm256_setzero_ps(); 2];
        let mut i = 0;
        // SAFETY: every load reads 8 floats at `i + j * 8 < n - 7` of both slices.
        unsafe {
            while i + STEP <= n {
                for j in 0..4 {
                    let x = _mm256_loadu_ps(pa.add(i + j * LANES));
                    let y = _mm256_loadu_ps(pb.add(i + j * LANES));
                    match mode {
                        Mode::L2 => {
                            let d = _mm256_sub_ps(x, y);
                            acc[j] = _mm256_fmadd_ps(d, d, acc[j]);
                        }
                        Mode::Dot => acc[j] = _mm256_fmadd_ps(x, y, acc[j]),
                        Mode::Cosine => {
                            acc[j] = _mm256_fmadd_ps(x, y, acc[j]);
                            aa[j % 2] = _mm256_fmadd_ps(x, x, aa[j % 2]);
                            bb[j % 2] = _mm256_fmadd_ps(y, y, bb[j % 2]);
                        }
                    }
                }
                i += STEP;
            }
            while i + LANES <= n {
                let x = _mm256_loadu_ps(pa.add(i));
                let y = _mm256_loadu_ps(pb.add(i));
                match mode {
                    Mode::L2 => {
                        let d = _mm256_sub_ps(x, y);
                        acc[0] = _mm256_fmadd_ps(d, d, acc[0]);
                    }
                    Mode::Dot => acc[0] = _mm256_fmadd_ps(x, y, acc[0]),
                    Mode::Cosine => {
                        acc[0] = _mm256_fmadd_ps(x, y, acc[0]);
                        aa[0] = _mm256_fmadd_ps(x, x, aa[0]);
                        bb[0] = _mm256_fmadd_ps(y, y, bb[0]);
                    }
                }
                i += LANES;
            }
            let total = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
            let (mut s, mut sa, mut sb) = (
                sum(total),
                sum(_mm256_add_ps(aa[0], aa[1])),
                sum(_mm256_add_ps(bb[0], bb[1])),
            );
            for k in i..n {
                let (x, y) = (*pa.add(k), *pb.add(k));
                match mode {
                    Mode::L2 => s += (x - y) * (x - y),
                    Mode::Dot => s += x * y,
                    Mode::Cosine => {
                        s += x * y;
                        sa += x * x;
                        sb += y * y;
                    }
                }
            }
            (s, sa, sb)
        }
    }

    /// Dot (`l2 = false`): Σ a·c. L2: Σ (a - b·c)². Codes widened 8 at a time.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn codes(a: &[f32], b: &[f32], c: &[u8], l2: bool) -> f32 {
        let n = if l2 {
            a.len().min(b.len()).min(c.len())
        } else {
            a.len().min(c.len())
        };
        let mut acc = [_mm256_setzero_ps(); 2];
        let mut i = 0;
        // SAFETY: loads read 8 floats / 8 bytes at i <= n - 8 of each slice.
        unsafe {
            while i + LANES <= n {
                let bytes = _mm_loadl_epi64(c.as_ptr().add(i).cast::<__m128i>());
                let x = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes));
                let lane = (i / LANES) % 2;
                if l2 {
                    let d = _mm256_fnmadd_ps(
                        _mm256_loadu_ps(b.as_ptr().add(i)),
                        x,
                        _mm256_loadu_ps(a.as_ptr().add(i)),
                    );
                    acc[lane] = _mm256_fmadd_ps(d, d, acc[lane]);
                } else {
                    acc[lane] = _mm256_fmadd_ps(_mm256_loadu_ps(a.as_ptr().add(i)), x, acc[lane]);
                }
                i += LANES;
            }
            let mut s = sum(_mm256_add_ps(acc[0], acc[1]));
            for k in i..n {
                let x = c[k] as f32;
                if l2 {
                    let d = a[k] - b[k] * x;
                    s += d * d;
                } else {
                    s += a[k] * x;
                }
            }
            s
        }
    }

    #[derive(Clone, Copy)]
    enum Mode {
        L2,
        Dot,
        Cosine,
    }

    // SAFETY (the three wrappers): `super::distance_fn` hands these out only after
    // `available()` found AVX2 and FMA, the features `sums` is compiled for.
    pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: reachable only through `distance_fn`, after `available()`.
        unsafe { sums(a, b, Mode::L2).0 }
    }

    pub fn neg_dot(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: reachable only through `distance_fn`, after `available()`.
        -unsafe { sums(a, b, Mode::Dot).0 }
    }

    pub fn cosine_distance(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: reachable only through `distance_fn`, after `available()`.
        let (ab, aa, bb) = unsafe { sums(a, b, Mode::Cosine) };
        if aa == 0.0 || bb == 0.0 {
            return 1.0;
        }
        1.0 - ab / (aa.sqrt() * bb.sqrt())
    }
}
