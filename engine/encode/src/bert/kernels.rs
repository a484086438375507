//! The element-wise and attention loops of the BERT forward, each written once as a
//! plain loop and compiled twice: for AVX2+FMA (picked at run time) and for the
//! baseline. The bodies are `#[inline(always)]` functions without closures, so the
//! `target_feature` wrapper's instructions reach every loop (a closure would not
//! inherit them). The only `unsafe` is calling the AVX2 wrapper after the CPU said it
//! has AVX2 and FMA.
#![allow(unsafe_code)]

/// `ln(2)` split so that `n · LN2_HI` is exact for the `n` exp meets.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;

/// `e^x` to about 1 ulp for `x` in [-87, 88] (Cephes' `expf`: `x = n·ln2 + r`,
/// a degree-6 polynomial for `e^r`, `2^n` built in the exponent bits); branch-free so
/// the loops around it vectorize.
#[inline(always)]
fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let n = (x * std::f32::consts::LOG2_E + 0.5).floor();
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let e = p * r * r + r + 1.0;
    e * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// `erf(x)` with an absolute error below 1.5e-7 in exact arithmetic (Abramowitz &
/// Stegun 7.1.26), 6e-7 in f32: in GELU that is far below the matrix products
/// rounding.
#[inline(always)]
fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let mut p = 1.061_405_4;
    p = p * t - 1.453_152_1;
    p = p * t + 1.421_413_7;
    p = p * t - 0.284_496_74;
    p = p * t + 0.254_829_6;
    let y = 1.0 - p * t * exp(-a * a);
    y.copysign(x)
}

/// Every row of `x` (rows × `bias.len()`) becomes `gelu(x + bias)`, GELU with the
/// exact error function (BERT's `gelu`).
#[inline(always)]
fn bias_gelu_body(x: &mut [f32], bias: &[f32]) {
    for row in x.chunks_exact_mut(bias.len()) {
        for (v, b) in row.iter_mut().zip(bias) {
            let z = *v + b;
            *v = 0.5 * z * (1.0 + erf(z * std::f32::consts::FRAC_1_SQRT_2));
        }
    }
}

/// Every row of `x` becomes `LayerNorm(x + bias + residual)` with `gamma`, `beta`;
/// `bias`/`residual` may be empty (not added). Mean and variance in f32 over the row,
/// as PyTorch computes them.
#[inline(always)]
fn layer_norm_body(
    x: &mut [f32],
    residual: &[f32],
    bias: &[f32],
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
) {
    let width = gamma.len();
    for (r, row) in x.chunks_exact_mut(width).enumerate() {
        if !residual.is_empty() {
            let res = &residual[r * width..(r + 1) * width];
            for (v, s) in row.iter_mut().zip(res) {
                *v += s;
            }
        }
        if !bias.is_empty() {
            for (v, b) in row.iter_mut().zip(bias) {
                *v += b;
            }
        }
        let mean = sum(row) / width as f32;
        let mut var = 0.0;
        for v in row.iter_mut() {
            *v -= mean;
            var += *v * *v;
        }
        let scale = 1.0 / (var / width as f32 + eps).sqrt();
        for ((v, g), b) in row.iter_mut().zip(gamma).zip(beta) {
            *v = *v * scale * g + b;
        }
    }
}

/// Eight independent partial sums (one AVX register) so the sum vectorizes.
#[inline(always)]
fn sum(x: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let chunks = x.chunks_exact(8);
    let tail: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for (a, v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Register blocks of the attention products: scores in blocks of 4 queries × 16
/// keys, the context in blocks of 4 queries × 8 dimensions; each block's accumulators
/// stay in registers (8 and 4 of them) while the inner loop streams its operands.
const ROWS: usize = 4;
const KEYS: usize = 16;
const LANES: usize = 8;

/// Floats of scratch [`attention`] needs for a sequence of `len` tokens and heads of
/// `d` dimensions.
pub fn attention_scratch(len: usize, d: usize) -> usize {
    let (rows, keys) = (len.next_multiple_of(ROWS), len.next_multiple_of(KEYS));
    d * rows + d * keys + len * d + rows * keys
}

/// One sequence's self-attention for one head, as two small blocked matrix products
/// around a row softmax.
/// - `qkv`: the sequence's rows of the fused projection, `3·width` wide (query, key,
///   value blocks), biases not yet added; `bias` is the fused bias (`3·width`).
/// - `relative`: empty, or the head's score bias for each key − query offset `o`
///   at `o + len − 1` (MPNet).
/// - `head`: which `d`-wide slice of each block; `d` must be a multiple of 8.
/// - `out`: the sequence's rows of the context (`width` wide); this head's slice is
///   written.
/// - `scratch`: at least [`attention_scratch`] floats.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn attention_body(
    qkv: &[f32],
    bias: &[f32],
    relative: &[f32],
    width: usize,
    head: usize,
    d: usize,
    out: &mut [f32],
    scratch: &mut [f32],
) {
    let len = qkv.len() / (3 * width);
    let (rows, keys) = (len.next_multiple_of(ROWS), len.next_multiple_of(KEYS));
    let scale = 1.0 / (d as f32).sqrt();
    // Scratch: queries and keys transposed (d × rows scaled, d × keys; padding
    // zero), values (len × d), scores (rows × keys).
    let (qt, rest) = scratch.split_at_mut(d * rows);
    let (kt, rest) = rest.split_at_mut(d * keys);
    let (v, rest) = rest.split_at_mut(len * d);
    let scores = &mut rest[..rows * keys];
    qt.fill(0.0);
    kt.fill(0.0);
    let (qo, ko, vo) = (head * d, width + head * d, 2 * width + head * d);
    for t in 0..len {
        let row = &qkv[t * 3 * width..(t + 1) * 3 * width];
        let (q_in, k_in) = (&row[qo..qo + d], &row[ko..ko + d]);
        let (q_bias, k_bias) = (&bias[qo..qo + d], &bias[ko..ko + d]);
        for c in 0..d {
            qt[c * rows + t] = (q_in[c] + q_bias[c]) * scale;
            kt[c * keys + t] = k_in[c] + k_bias[c];
        }
        let values = v[t * d..(t + 1) * d].iter_mut();
        for ((dst, x), b) in values.zip(&row[vo..vo + d]).zip(&bias[vo..vo + d]) {
            *dst = x + b;
        }
    }
    // scores = q · kᵀ, a ROWS × KEYS block at a time.
    for r0 in (0..rows).step_by(ROWS) {
        for j0 in (0..keys).step_by(KEYS) {
            let mut acc = [[0f32; KEYS]; ROWS];
            for c in 0..d {
                let k: &[f32; KEYS] = kt[c * keys + j0..][..KEYS].try_into().unwrap();
                let q: &[f32; ROWS] = qt[c * rows + r0..][..ROWS].try_into().unwrap();
                for (a, x) in acc.iter_mut().zip(q) {
                    for (a, k) in a.iter_mut().zip(k) {
                        *a += x * k;
                    }
                }
            }
            for (r, a) in acc.iter().enumerate() {
                scores[(r0 + r) * keys + j0..][..KEYS].copy_from_slice(a);
            }
        }
    }
    // Softmax over each real row's real keys; padding keys get probability 0.
    for t in 0..len {
        let row = &mut scores[t * keys..(t + 1) * keys];
        let (real, padding) = row.split_at_mut(len);
        padding.fill(0.0);
        if !relative.is_empty() {
            // Key j sits at offset j − t: entries len−1−t .. 2·len−1−t.
            let offsets = &relative[len - 1 - t..2 * len - 1 - t];
            for (s, r) in real.iter_mut().zip(offsets) {
                *s += r;
            }
        }
        let mut max = f32::NEG_INFINITY;
        for s in real.iter() {
            max = max.max(*s);
        }
        for s in real.iter_mut() {
            *s = exp(*s - max);
        }
        let inv = 1.0 / sum(real);
        for s in real.iter_mut() {
            *s *= inv;
        }
    }
    // context = p · v, a ROWS × LANES block at a time (rows past `len` are dropped).
    for r0 in (0..rows).step_by(ROWS) {
        for c0 in (0..d).step_by(LANES) {
            let mut acc = [[0f32; LANES]; ROWS];
            let p = &scores[r0 * keys..(r0 + ROWS) * keys];
            for j in 0..len {
                let vj: &[f32; LANES] = v[j * d + c0..][..LANES].try_into().unwrap();
                for (r, a) in acc.iter_mut().enumerate() {
                    let p = p[r * keys + j];
                    for (a, x) in a.iter_mut().zip(vj) {
                        *a += p * x;
                    }
                }
            }
            for (r, a) in acc.iter().enumerate().take(len.saturating_sub(r0)) {
                let t = r0 + r;
                out[t * width + qo + c0..][..LANES].copy_from_slice(a);
            }
        }
    }
}

macro_rules! dispatched {
    ($(#[$doc:meta])* $name:ident => $body:ident ( $($arg:ident : $ty:ty),* )) => {
        $(#[$doc])*
        #[allow(clippy::too_many_arguments)]
        pub fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                fn avx2($($arg: $ty),*) {
                    $body($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: the CPU has AVX2 and FMA, the only requirement of `avx2`.
                    return unsafe { avx2($($arg),*) };
                }
            }
            $body($($arg),*)
        }
    };
}

dispatched!(
    /// See `bias_gelu_body`.
    bias_gelu => bias_gelu_body(x: &mut [f32], bias: &[f32])
);
dispatched!(
    /// See `layer_norm_body`.
    layer_norm => layer_norm_body(
        x: &mut [f32], residual: &[f32], bias: &[f32], gamma: &[f32], beta: &[f32], eps: f32
    )
);
dispatched!(
    /// See `attention_body`.
    attention => attention_body(
        qkv: &[f32], bias: &[f32], relative: &[f32], width: usize, head: usize, d: usize,
        out: &mut [f32], scratch: &mut [f32]
    )
);

#[cfg(test)]
mod tests {
    use super::*;

    /// erf by its Taylor series in f64 (exact enough for |x| ≤ 3).
    fn erf_reference(x: f64) -> f64 {
        let (mut term, mut total) = (x, x);
        for n in 1..200 {
            term *= -x * x / n as f64;
            total += term / (2 * n + 1) as f64;
        }
        total * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn exp_and_erf_are_accurate() {
        let mut worst_erf = 0f64;
        for i in -3000..=3000 {
            let x = i as f32 / 1000.0;
            let wide = x * 20.0;
            let want = f64::from(wide).exp();
            let e = f64::from(exp(wide));
            assert!(
                ((e - want) / want).abs() < 3e-7,
                "exp({wide}) = {e}, want {want}"
            );
            let error = (f64::from(erf(x)) - erf_reference(f64::from(x))).abs();
            worst_erf = worst_erf.max(error);
        }
        // The formula's 1.5e-7 plus f32 rounding.
        assert!(worst_erf < 6e-7, "erf off by {worst_erf}");
        assert_eq!(erf(10.0), 1.0);
        assert_eq!(erf(-10.0), -1.0);
        assert_eq!(exp(-200.0), exp(-87.0));
    }

    #[test]
    fn layer_norm_matches_the_definition() {
        let (w, rows) = (13, 3);
        let x: Vec<f32> = (0..w * rows)
            .map(|i| (i as f32 * 0.37).sin() * 3.0)
            .collect();
        let res: Vec<f32> = (0..w * rows).map(|i| (i as f32 * 0.11).cos()).collect();
        let bias: Vec<f32> = (0..w).map(|i| i as f32 * 0.01).collect();
        let gamma: Vec<f32> = (0..w).map(|i| 1.0 + i as f32 * 0.1).collect();
        let beta: Vec<f32> = (0..w).map(|i| -(i as f32) * 0.05).collect();
        let mut got = x.clone();
        layer_norm(&mut got, &res, &bias, &gamma, &beta, 1e-12);
        for r in 0..rows {
            let z: Vec<f64> = (0..w)
                .map(|c| f64::from(x[r * w + c] + res[r * w + c] + bias[c]))
                .collect();
            let mean = z.iter().sum::<f64>() / w as f64;
            let var = z.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / w as f64;
            for c in 0..w {
                let want =
                    (z[c] - mean) / (var + 1e-12).sqrt() * f64::from(gamma[c]) + f64::from(beta[c]);
                assert!((f64::from(got[r * w + c]) - want).abs() < 1e-5);
            }
        }
    }

    /// Lengths around the register blocks (4 rows, 8 keys), with and without a
    /// relative bias, against the definition in f64.
    #[test]
    fn attention_matches_the_definition() {
        for len in [1, 3, 4, 5, 8, 9, 13] {
            for with_relative in [false, true] {
                attention_case(len, with_relative);
            }
        }
    }

    fn attention_case(len: usize, with_relative: bool) {
        let (width, d) = (16, 8);
        let qkv: Vec<f32> = (0..len * 3 * width)
            .map(|i| ((i * 7 % 11) as f32 - 5.0) * 0.3)
            .collect();
        let relative: Vec<f32> = match with_relative {
            true => (0..2 * len - 1).map(|i| (i as f32 * 0.9).sin()).collect(),
            false => Vec::new(),
        };
        let bias: Vec<f32> = (0..3 * width).map(|i| i as f32 * 0.01).collect();
        let mut out = vec![0.0; len * width];
        let mut scratch = vec![0.0; attention_scratch(len, d)];
        for head in 0..width / d {
            attention(
                &qkv,
                &bias,
                &relative,
                width,
                head,
                d,
                &mut out,
                &mut scratch,
            );
        }
        let at = |t: usize, block: usize, c: usize| {
            f64::from(qkv[t * 3 * width + block * width + c] + bias[block * width + c])
        };
        for head in 0..width / d {
            for t in 0..len {
                let cols = head * d..(head + 1) * d;
                let s: Vec<f64> = (0..len)
                    .map(|j| {
                        let dot: f64 = cols.clone().map(|c| at(t, 0, c) * at(j, 1, c)).sum();
                        let bias = relative.get(j + len - 1 - t).map_or(0.0, |&r| f64::from(r));
                        dot / (d as f64).sqrt() + bias
                    })
                    .collect();
                let total: f64 = s.iter().map(|v| v.exp()).sum();
                for c in cols.clone() {
                    let want: f64 = (0..len).map(|j| s[j].exp() / total * at(j, 2, c)).sum();
                    let got = f64::from(out[t * width + c]);
                    assert!(
                        (got - want).abs() < 1e-5,
                        "len {len}, t {t}, c {c}: {got} vs {want}"
                    );
                }
            }
        }
    }
}
