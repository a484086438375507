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

/// A kernel for Σ c_i · w_i over `u8` codes and `i16` weights, exact in `i32` as long
/// as the caller keeps `len · 255 · max|w|` within it (`sq8` does).
pub type CodeDotFn = fn(&[u8], &[i16]) -> i32;

/// The code kernel for this CPU: AVX2 (whole blocks of 32, a shorter tail summed
/// plainly) where it has it, else the plain loop. Ask once per search.
pub fn dot_u8_i16_fn() -> CodeDotFn {
    #[cfg(target_arch = "x86_64")]
    if available() {
        return x86::dot_u8_i16;
    }
    dot_u8_i16_plain
}

/// The reference for [`dot_u8_i16_fn`]'s kernels.
pub fn dot_u8_i16_plain(c: &[u8], w: &[i16]) -> i32 {
    c.iter().zip(w).map(|(&c, &w)| c as i32 * w as i32).sum()
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

    /// Σ c·w: 16 codes widened to `i16` at a time, multiplied and summed in pairs
    /// into `i32` (`vpmaddwd`), two accumulators.
    pub(super) fn dot_u8_i16(c: &[u8], w: &[i16]) -> i32 {
        // SAFETY: handed out by `dot_u8_i16_fn` only after `available()`.
        unsafe { dot_u8_i16_avx2(c, w) }
    }

    #[target_feature(enable = "avx2")]
    unsafe fn dot_u8_i16_avx2(c: &[u8], w: &[i16]) -> i32 {
        let n = c.len().min(w.len());
        let mut acc = [_mm256_setzero_si256(); 2];
        let mut i = 0;
        // SAFETY: loads read 16 bytes of `c` and 16 `i16` of `w` at i + 32 <= n.
        unsafe {
            while i + 32 <= n {
                for (half, a) in acc.iter_mut().enumerate() {
                    let at = i + 16 * half;
                    let codes = _mm256_cvtepu8_epi16(_mm_loadu_si128(c.as_ptr().add(at).cast()));
                    let weights = _mm256_loadu_si256(w.as_ptr().add(at).cast());
                    *a = _mm256_add_epi32(*a, _mm256_madd_epi16(codes, weights));
                }
                i += 32;
            }
            let v = _mm256_add_epi32(acc[0], acc[1]);
            let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
            let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
            let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
            let mut total = _mm_cvtsi128_si32(s);
            for k in i..n {
                total += c[k] as i32 * w[k] as i32;
            }
            total
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
