//! The element-wise and attention loops of the packed transformer layers, each written once as a
//! plain loop and compiled three times: for AVX-512, for AVX2+FMA (picked at run time)
//! and for the baseline. The bodies are `#[inline(always)]` functions without
//! closures, so the `target_feature` wrapper's instructions reach every loop (a
//! closure would not inherit them). Their const parameters say what the target has:
//! `FMA` (a fused multiply-add instruction: without one `mul_add` is a library call)
//! and `ROWS` (how many rows of accumulators a register block holds). The only
//! `unsafe` is calling a wrapper after the CPU said it has the wrapper's features.
#![allow(unsafe_code)]

/// `a·b + c`, fused where the target has the instruction.
#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// `ln(2)` split so that `n · LN2_HI` is exact for the `n` exp meets.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;

/// Adding 1.5·2²³ to a float of magnitude below 2²² rounds it to an integer that
/// the sum's low mantissa bits hold in two's complement.
const ROUNDER: f32 = 12_582_912.0;

/// `e^x` to about 1 ulp for `x` in [-87, 88] (Cephes' `expf`: `x = n·ln2 + r`,
/// a degree-6 polynomial for `e^r`, `2^n` built in the exponent bits). Branch-free and
/// without float-to-int casts (Rust's saturating `as` does not vectorize), so the
/// loops around it vectorize.
#[inline(always)]
fn exp<const FMA: bool>(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let rounded = madd::<FMA>(x, std::f32::consts::LOG2_E, ROUNDER);
    let n = rounded - ROUNDER;
    let r = madd::<FMA>(-n, LN2_LO, madd::<FMA>(-n, LN2_HI, x));
    let mut p = 1.987_569_1e-4;
    p = madd::<FMA>(p, r, 1.398_199_9e-3);
    p = madd::<FMA>(p, r, 8.333_452e-3);
    p = madd::<FMA>(p, r, 4.166_579_6e-2);
    p = madd::<FMA>(p, r, 1.666_666_5e-1);
    p = madd::<FMA>(p, r, 0.5);
    let e = madd::<FMA>(p, r * r, r + 1.0);
    // n ∈ [-126, 127]: 2^n is a normal float.
    let n_bits = rounded.to_bits().wrapping_sub(ROUNDER.to_bits());
    e * f32::from_bits(n_bits.wrapping_add(127) << 23)
}

/// `erf(x)` with an absolute error below 1.5e-7 in exact arithmetic (Abramowitz &
/// Stegun 7.1.26), 6e-7 in f32: in GELU that is far below the matrix products
/// rounding.
#[inline(always)]
fn erf<const FMA: bool>(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / madd::<FMA>(0.327_591_1, a, 1.0);
    let mut p = 1.061_405_4;
    p = madd::<FMA>(p, t, -1.453_152_1);
    p = madd::<FMA>(p, t, 1.421_413_7);
    p = madd::<FMA>(p, t, -0.284_496_74);
    p = madd::<FMA>(p, t, 0.254_829_6);
    let y = madd::<FMA>(-p * t, exp::<FMA>(-a * a), 1.0);
    y.copysign(x)
}

/// Every row of `x` (rows × `bias.len()`) becomes `gelu(x + bias)`, GELU with the
/// exact error function (BERT's `gelu`).
#[inline(always)]
fn bias_gelu_body<const FMA: bool>(x: &mut [f32], bias: &[f32]) {
    for row in x.chunks_exact_mut(bias.len()) {
        for (v, b) in row.iter_mut().zip(bias) {
            let z = *v + b;
            let half = 0.5 * z;
            *v = madd::<FMA>(half, erf::<FMA>(z * std::f32::consts::FRAC_1_SQRT_2), half);
        }
    }
}

/// Every row of `x` (rows × `bias.len()`) becomes `quick_gelu(x + bias)`,
/// `z · σ(1.702·z)` (CLIP's activation).
#[inline(always)]
fn bias_quick_gelu_body<const FMA: bool>(x: &mut [f32], bias: &[f32]) {
    for row in x.chunks_exact_mut(bias.len()) {
        for (v, b) in row.iter_mut().zip(bias) {
            let z = *v + b;
            *v = z / (1.0 + exp::<FMA>(-1.702 * z));
        }
    }
}

/// Every row of `x` becomes `LayerNorm(x + bias + residual)` with `gamma`, `beta`;
/// `bias`/`residual` may be empty (not added). Mean and variance in f32 over the row,
/// as PyTorch computes them.
#[inline(always)]
fn layer_norm_body<const FMA: bool>(
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
        let mut var = [0.0f32; LANES];
        for chunk in row.chunks_mut(LANES) {
            for (v, s) in chunk.iter_mut().zip(var.iter_mut()) {
                *v -= mean;
                *s = madd::<FMA>(*v, *v, *s);
            }
        }
        let scale = 1.0 / (var.iter().sum::<f32>() / width as f32 + eps).sqrt();
        for ((v, g), b) in row.iter_mut().zip(gamma).zip(beta) {
            *v = madd::<FMA>(*v * scale, *g, *b);
        }
    }
}

/// Lanes of the partial sums and maxima: one AVX-512 register, two AVX2 ones, so the
/// reductions vectorize.
const LANES: usize = 16;

#[inline(always)]
fn sum(x: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for (a, v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[inline(always)]
fn max(x: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks
        .remainder()
        .iter()
        .fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a = if v > *a { v } else { *a };
        }
    }
    acc.iter().fold(tail, |m, &v| m.max(v))
}

/// Keys per block of the score product (one AVX-512 register, two AVX2 ones), and the
/// most query rows a block holds (`ROWS` ≤ this).
const KEYS: usize = 16;
const MAX_ROWS: usize = 8;

/// Floats of scratch [`attention`] needs for a sequence of `len` tokens and heads of
/// `d` dimensions.
pub fn attention_scratch(len: usize, d: usize) -> usize {
    let (rows, keys) = (len.next_multiple_of(MAX_ROWS), len.next_multiple_of(KEYS));
    d * rows + d * keys + len * d + rows * keys
}

/// One sequence's self-attention for one head, as two small blocked matrix products
/// around a row softmax.
/// - `qkv`: the sequence's rows of the fused projection, `3·width` wide (query, key,
///   value blocks), biases not yet added; `bias` is the fused bias (`3·width`).
/// - `relative`: empty, or the head's score bias for each key − query offset `o`
///   at `o + len − 1` (MPNet).
/// - `causal`: a query attends only to itself and the keys before it.
/// - `head`: which `d`-wide slice of each block; `d` must be a multiple of 8.
/// - `out`: the sequence's rows of the context (`width` wide); this head's slice is
///   written.
/// - `scratch`: at least [`attention_scratch`] floats.
///
/// Scores are blocks of `ROWS` queries × [`KEYS`] keys, the context blocks of `ROWS`
/// queries × 16 (or 8) dimensions: each block's accumulators stay in registers while
/// the inner loop streams one key (or value) vector and broadcasts one float per row.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn attention_body<const FMA: bool, const ROWS: usize>(
    qkv: &[f32],
    bias: &[f32],
    relative: &[f32],
    causal: bool,
    width: usize,
    head: usize,
    d: usize,
    out: &mut [f32],
    scratch: &mut [f32],
) {
    let len = qkv.len() / (3 * width);
    let (rows, keys) = (len.next_multiple_of(ROWS), len.next_multiple_of(KEYS));
    let scale = 1.0 / (d as f32).sqrt();
    // Scratch: queries (rows × d, scaled), keys transposed (d × keys), values
    // (len × d), scores (rows × keys); padding rows and keys are zero.
    let (q, rest) = scratch.split_at_mut(rows * d);
    let (kt, rest) = rest.split_at_mut(d * keys);
    let (v, rest) = rest.split_at_mut(len * d);
    let scores = &mut rest[..rows * keys];
    let (qo, ko, vo) = (head * d, width + head * d, 2 * width + head * d);
    let stride = 3 * width;
    for t in 0..len {
        let row = &qkv[t * stride..(t + 1) * stride];
        let q_in = row[qo..qo + d].iter().zip(&bias[qo..qo + d]);
        for (dst, (x, b)) in q[t * d..(t + 1) * d].iter_mut().zip(q_in) {
            *dst = (x + b) * scale;
        }
        let v_in = row[vo..vo + d].iter().zip(&bias[vo..vo + d]);
        for (dst, (x, b)) in v[t * d..(t + 1) * d].iter_mut().zip(v_in) {
            *dst = x + b;
        }
    }
    q[len * d..].fill(0.0);
    // Keys transposed one dimension at a time: the writes are contiguous (scattered
    // writes stalled this loop), the strided reads stay within 2·len cache lines.
    for c in 0..d {
        let column = &mut kt[c * keys..(c + 1) * keys];
        let (real, padding) = column.split_at_mut(len);
        let b = bias[ko + c];
        for (t, dst) in real.iter_mut().enumerate() {
            *dst = qkv[t * stride + ko + c] + b;
        }
        padding.fill(0.0);
    }
    // scores = q · kᵀ
    for r0 in (0..rows).step_by(ROWS) {
        let block = &q[r0 * d..(r0 + ROWS) * d];
        for j0 in (0..keys).step_by(KEYS) {
            let mut acc = [[0f32; KEYS]; ROWS];
            for c in 0..d {
                let k: &[f32; KEYS] = kt[c * keys + j0..][..KEYS].try_into().unwrap();
                for (r, a) in acc.iter_mut().enumerate() {
                    let x = block[r * d + c];
                    for (a, k) in a.iter_mut().zip(k) {
                        *a = madd::<FMA>(x, *k, *a);
                    }
                }
            }
            for (r, a) in acc.iter().enumerate() {
                scores[(r0 + r) * keys + j0..][..KEYS].copy_from_slice(a);
            }
        }
    }
    // Softmax over each real row's visible keys. The other keys' scores (padding,
    // and under a causal mask the keys after the query) are set to -∞ first so that
    // every loop runs over whole vectors (no scalar tail); their `exp` is then
    // e^-87 ≈ 1.6e-38 (the clamp), nothing beside a visible key's share, and masked
    // real keys are set to exactly 0 before the context reads them.
    for t in 0..len {
        let row = &mut scores[t * keys..(t + 1) * keys];
        let visible = if causal { t + 1 } else { len };
        let (real, padding) = row.split_at_mut(visible);
        padding.fill(f32::NEG_INFINITY);
        if !relative.is_empty() {
            // Key j sits at offset j − t: entries len−1−t .. 2·len−1−t.
            let offsets = &relative[len - 1 - t..2 * len - 1 - t][..visible];
            for (s, r) in real.iter_mut().zip(offsets) {
                *s += r;
            }
        }
        let top = max(row);
        for s in row.iter_mut() {
            *s = exp::<FMA>(*s - top);
        }
        let inv = 1.0 / sum(row);
        for s in row.iter_mut() {
            *s *= inv;
        }
        row[visible..len].fill(0.0);
    }
    // context = p · v (rows past `len` are dropped).
    let wide = d - d % 16;
    for r0 in (0..rows).step_by(ROWS) {
        let p = &scores[r0 * keys..(r0 + ROWS) * keys];
        let real = len.saturating_sub(r0).min(ROWS);
        for c0 in (0..wide).step_by(16) {
            context_block::<FMA, ROWS, 16>(
                p,
                keys,
                v,
                d,
                c0,
                &mut out[r0 * width..],
                width,
                qo,
                real,
            );
        }
        if wide < d {
            context_block::<FMA, ROWS, 8>(
                p,
                keys,
                v,
                d,
                wide,
                &mut out[r0 * width..],
                width,
                qo,
                real,
            );
        }
    }
}

/// `ROWS` rows of the context, dimensions `c0..c0 + W`: `p` holds the rows'
/// probabilities (`keys` apart), `v` the values (`d` apart); the first `real` rows are
/// written to `out` (`width` apart) at column `offset + c0`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn context_block<const FMA: bool, const ROWS: usize, const W: usize>(
    p: &[f32],
    keys: usize,
    v: &[f32],
    d: usize,
    c0: usize,
    out: &mut [f32],
    width: usize,
    offset: usize,
    real: usize,
) {
    let mut acc = [[0f32; W]; ROWS];
    for (j, vj) in v.chunks_exact(d).enumerate() {
        let vj: &[f32; W] = vj[c0..c0 + W].try_into().unwrap();
        for (r, a) in acc.iter_mut().enumerate() {
            let p = p[r * keys + j];
            for (a, x) in a.iter_mut().zip(vj) {
                *a = madd::<FMA>(p, *x, *a);
            }
        }
    }
    for (r, a) in acc.iter().enumerate().take(real) {
        out[r * width + offset + c0..][..W].copy_from_slice(a);
    }
}

/// The compiled copies, in order of the features they need.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Baseline,
    Avx2,
    Avx512,
}

/// The best level this CPU runs.
pub fn level() -> Level {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx512f") && has!("avx2") && has!("fma") {
            return Level::Avx512;
        }
        if has!("avx2") && has!("fma") {
            return Level::Avx2;
        }
    }
    Level::Baseline
}

/// `$name` runs `$body` compiled for the best level the CPU has; each level names the
/// body's const parameters.
macro_rules! dispatched {
    (
        $(#[$doc:meta])* $name:ident, $at:ident => $body:ident ( $($arg:ident : $ty:ty),* )
        avx512 <$($v4:tt),*>, avx2 <$($v3:tt),*>, baseline <$($v1:tt),*>
    ) => {
        $(#[$doc])*
        #[allow(clippy::too_many_arguments)]
        pub fn $name($($arg: $ty),*) {
            $at(level(), $($arg),*)
        }

        /// `$name` compiled for `level`, or for the CPU's best if that is lower
        /// (tests compare the levels).
        #[allow(clippy::too_many_arguments, dead_code)]
        pub fn $at(level: Level, $($arg: $ty),*) {
            let level = level.min(self::level());
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                fn avx512($($arg: $ty),*) {
                    $body::<$($v4),*>($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                fn avx2($($arg: $ty),*) {
                    $body::<$($v3),*>($($arg),*)
                }
                match level {
                    // SAFETY: `level()` found AVX-512F, AVX2 and FMA, all `avx512` needs.
                    Level::Avx512 => return unsafe { avx512($($arg),*) },
                    // SAFETY: `level()` found AVX2 and FMA, all `avx2` needs.
                    Level::Avx2 => return unsafe { avx2($($arg),*) },
                    Level::Baseline => {}
                }
            }
            $body::<$($v1),*>($($arg),*)
        }
    };
}

dispatched!(
    /// See `bias_gelu_body`.
    bias_gelu, bias_gelu_at => bias_gelu_body(x: &mut [f32], bias: &[f32])
    avx512<true>, avx2<true>, baseline<false>
);
dispatched!(
    /// See `bias_quick_gelu_body`.
    bias_quick_gelu, bias_quick_gelu_at => bias_quick_gelu_body(x: &mut [f32], bias: &[f32])
    avx512<true>, avx2<true>, baseline<false>
);
dispatched!(
    /// See `layer_norm_body`.
    layer_norm, layer_norm_at => layer_norm_body(
        x: &mut [f32], residual: &[f32], bias: &[f32], gamma: &[f32], beta: &[f32], eps: f32
    )
    avx512<true>, avx2<true>, baseline<false>
);
dispatched!(
    /// See `attention_body`.
    attention, attention_at => attention_body(
        qkv: &[f32], bias: &[f32], relative: &[f32], causal: bool, width: usize, head: usize,
        d: usize, out: &mut [f32], scratch: &mut [f32]
    )
    avx512<true, 8>, avx2<true, 4>, baseline<false, 4>
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

    const LEVELS: [Level; 3] = [Level::Baseline, Level::Avx2, Level::Avx512];

    #[test]
    fn exp_and_erf_are_accurate() {
        exp_and_erf_case::<false>();
        exp_and_erf_case::<true>();
    }

    fn exp_and_erf_case<const FMA: bool>() {
        let (exp, erf) = (exp::<FMA>, erf::<FMA>);
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

    /// Every level on a row long enough for the vector loops and their tails.
    #[test]
    fn bias_gelu_matches_the_definition() {
        let bias: Vec<f32> = (0..37).map(|i| (i as f32 * 0.3).sin()).collect();
        let x: Vec<f32> = (0..37 * 3).map(|i| (i as f32 * 0.71).cos() * 4.0).collect();
        for level in LEVELS {
            let mut got = x.clone();
            bias_gelu_at(level, &mut got, &bias);
            for (i, (g, v)) in got.iter().zip(&x).enumerate() {
                let z = f64::from(v + bias[i % 37]);
                let want = 0.5 * z * (1.0 + erf_reference(z / 2f64.sqrt()));
                assert!(
                    (f64::from(*g) - want).abs() < 2e-6,
                    "{level:?} {z}: {g} vs {want}"
                );
            }
        }
    }

    #[test]
    fn bias_quick_gelu_matches_the_definition() {
        let bias: Vec<f32> = (0..37).map(|i| (i as f32 * 0.3).sin()).collect();
        let x: Vec<f32> = (0..37 * 3).map(|i| (i as f32 * 0.71).cos() * 9.0).collect();
        for level in LEVELS {
            let mut got = x.clone();
            bias_quick_gelu_at(level, &mut got, &bias);
            for (i, (g, v)) in got.iter().zip(&x).enumerate() {
                let z = f64::from(v + bias[i % 37]);
                let want = z / (1.0 + (-1.702 * z).exp());
                assert!(
                    (f64::from(*g) - want).abs() < 2e-6,
                    "{level:?} {z}: {g} vs {want}"
                );
            }
        }
    }

    #[test]
    fn layer_norm_matches_the_definition() {
        for level in LEVELS {
            layer_norm_case(level);
        }
    }

    fn layer_norm_case(level: Level) {
        let (w, rows) = (37, 3);
        let x: Vec<f32> = (0..w * rows)
            .map(|i| (i as f32 * 0.37).sin() * 3.0)
            .collect();
        let res: Vec<f32> = (0..w * rows).map(|i| (i as f32 * 0.11).cos()).collect();
        let bias: Vec<f32> = (0..w).map(|i| i as f32 * 0.01).collect();
        let gamma: Vec<f32> = (0..w).map(|i| 1.0 + i as f32 * 0.1).collect();
        let beta: Vec<f32> = (0..w).map(|i| -(i as f32) * 0.05).collect();
        let mut got = x.clone();
        layer_norm_at(level, &mut got, &res, &bias, &gamma, &beta, 1e-12);
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

    /// Every level, lengths around the register blocks (4 or 8 rows, 16 keys), heads
    /// of 8, 16 and 24 dimensions (context blocks of 16, of 8, and both), with and
    /// without a relative bias, with and without a causal mask, against the
    /// definition in f64.
    #[test]
    fn attention_matches_the_definition() {
        for level in LEVELS {
            for len in [1, 3, 4, 5, 8, 9, 13, 16, 17, 33] {
                for d in [8, 16, 24] {
                    attention_case(level, len, d, len % 2 == 1, d != 16);
                }
            }
        }
    }

    fn attention_case(level: Level, len: usize, d: usize, with_relative: bool, causal: bool) {
        let width = 2 * d;
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
            attention_at(
                level,
                &qkv,
                &bias,
                &relative,
                causal,
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
                let visible = if causal { t + 1 } else { len };
                let s: Vec<f64> = (0..visible)
                    .map(|j| {
                        let dot: f64 = cols.clone().map(|c| at(t, 0, c) * at(j, 1, c)).sum();
                        let bias = relative.get(j + len - 1 - t).map_or(0.0, |&r| f64::from(r));
                        dot / (d as f64).sqrt() + bias
                    })
                    .collect();
                let total: f64 = s.iter().map(|v| v.exp()).sum();
                for c in cols.clone() {
                    let want: f64 = (0..visible).map(|j| s[j].exp() / total * at(j, 2, c)).sum();
                    let got = f64::from(out[t * width + c]);
                    assert!(
                        (got - want).abs() < 1e-5,
                        "{level:?} len {len} d {d} causal {causal}, t {t}, c {c}: {got} vs {want}"
                    );
                }
            }
        }
    }
}
