//! Σ c_i · w_i over codes of 1, 2 or 4 bits packed into bytes and `i8` query weights:
//! the inner loop of RaBitQ codes (`crate::rabitq`).
//!
//! Layout: the codes are read in blocks of [`BLOCK_BYTES`] bytes. Within a block, lane
//! `s` (for `s` in `0..8 / bits`) is every byte's bits `s·bits .. (s+1)·bits`, so a
//! block holds `8 / bits` lanes of 32 codes, codes `32·s .. 32·s + 32` of the block.
//! So the weights stay in plain dimension order, and the AVX2 kernel unpacks a lane with one shift and one mask and multiplies it against
//! 32 contiguous weights (`vpmaddubsw`). Products are at most 15 · 128, and a block's
//! pair sums add up within `i16`; each block's sum is widened to `i32`, exact for any
//! dimension below 2^20.
#![allow(unsafe_code)]

/// Bytes per block of packed codes.
pub const BLOCK_BYTES: usize = 32;

/// Codes per block at `bits` per code.
pub const fn codes_per_block(bits: u32) -> usize {
    BLOCK_BYTES * (8 / bits as usize)
}

/// Where code `i`'s byte is and at which shift: `(byte, shift)`.
#[inline]
pub fn code_position(i: usize, bits: u32) -> (usize, u32) {
    let per_block = codes_per_block(bits);
    let (block, r) = (i / per_block, i % per_block);
    (block * BLOCK_BYTES + r % 32, (r / 32) as u32 * bits)
}

/// Σ c·w over whole blocks; `codes.len()` is a multiple of [`BLOCK_BYTES`] and
/// `weights.len() == codes.len() * 8 / bits`.
pub type PackedDotFn = fn(&[u8], &[i8]) -> i32;

/// The kernel for `bits` (1, 2 or 4) on this CPU: AVX2 where it has it, else the plain
/// loop. Ask once per query.
pub fn packed_dot_fn(bits: u32) -> PackedDotFn {
    #[cfg(target_arch = "x86_64")]
    if super::avx2::available() {
        return match bits {
            1 => x86::dot::<1>,
            2 => x86::dot::<2>,
            _ => x86::dot::<4>,
        };
    }
    match bits {
        1 => packed_dot_plain::<1>,
        2 => packed_dot_plain::<2>,
        _ => packed_dot_plain::<4>,
    }
}

/// The reference for [`packed_dot_fn`]'s kernels.
pub fn packed_dot_plain<const BITS: u32>(codes: &[u8], weights: &[i8]) -> i32 {
    let lanes = 8 / BITS as usize;
    let mask = (1u8 << BITS) - 1;
    let mut sum = 0i32;
    for (b, block) in codes.chunks_exact(BLOCK_BYTES).enumerate() {
        let w = &weights[b * BLOCK_BYTES * lanes..][..BLOCK_BYTES * lanes];
        for s in 0..lanes {
            for (j, &byte) in block.iter().enumerate() {
                let c = (byte >> (s as u32 * BITS)) & mask;
                sum += c as i32 * w[s * 32 + j] as i32;
            }
        }
    }
    sum
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    pub fn dot<const BITS: u32>(codes: &[u8], weights: &[i8]) -> i32 {
        let lanes = 8 / BITS as usize;
        assert!(codes.len().is_multiple_of(super::BLOCK_BYTES));
        assert!(weights.len() >= codes.len() * lanes);
        // SAFETY: `packed_dot_fn` hands this out only after `avx2::available()`; the
        // lengths were just checked.
        unsafe { dot_avx2::<BITS>(codes, weights) }
    }

    #[target_feature(enable = "avx2")]
    unsafe fn dot_avx2<const BITS: u32>(codes: &[u8], weights: &[i8]) -> i32 {
        let lanes = 8 / BITS as usize;
        // SAFETY (all intrinsics): AVX2 is present (see `dot`); each load reads 32
        // bytes inside the slices (block `b` of codes, lane `s` of its weights).
        unsafe {
            let mask = _mm256_set1_epi8(((1u16 << BITS) - 1) as i8);
            let ones = _mm256_set1_epi16(1);
            let mut acc = _mm256_setzero_si256();
            let (pc, pw) = (codes.as_ptr(), weights.as_ptr());
            for b in 0..codes.len() / 32 {
                let block = _mm256_loadu_si256(pc.add(b * 32) as *const __m256i);
                // A block's lanes sum within i16: at most 8 / bits lanes of pairs of
                // (2^bits - 1) · 128, 7,680 at 4 bits; widened once per block.
                let mut block_sum = _mm256_setzero_si256();
                for s in 0..lanes {
                    let shift = _mm_cvtsi32_si128((s as u32 * BITS) as i32);
                    let c = _mm256_and_si256(_mm256_srl_epi16(block, shift), mask);
                    let w = _mm256_loadu_si256(pw.add((b * lanes + s) * 32) as *const __m256i);
                    block_sum = _mm256_add_epi16(block_sum, _mm256_maddubs_epi16(c, w));
                }
                acc = _mm256_add_epi32(acc, _mm256_madd_epi16(block_sum, ones));
            }
            let lo = _mm256_castsi256_si128(acc);
            let hi = _mm256_extracti128_si256::<1>(acc);
            let s = _mm_add_epi32(lo, hi);
            let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
            let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
            _mm_cvtsi128_si32(s)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Packs unpacked codes the way the kernels read them.
    fn pack(codes: &[u8], bits: u32) -> Vec<u8> {
        let mut out = vec![0u8; codes.len() * bits as usize / 8];
        for (i, &c) in codes.iter().enumerate() {
            let (byte, shift) = code_position(i, bits);
            out[byte] |= c << shift;
        }
        out
    }

    proptest! {
        #[test]
        fn kernels_equal_the_plain_sum(
            bits in prop::sample::select(vec![1u32, 2, 4]),
            blocks in 1usize..6,
            seed in any::<u64>(),
        ) {
            let n = blocks * codes_per_block(bits);
            let mut x = seed | 1;
            let mut next = || { x ^= x << 13; x ^= x >> 7; x ^= x << 17; x };
            let codes: Vec<u8> = (0..n).map(|_| (next() % (1 << bits)) as u8).collect();
            let weights: Vec<i8> = (0..n).map(|_| (next() % 255) as i32 - 127).map(|w| w as i8).collect();
            let expected: i32 = codes.iter().zip(&weights).map(|(&c, &w)| c as i32 * w as i32).sum();
            let packed = pack(&codes, bits);
            let plain = match bits { 1 => packed_dot_plain::<1>, 2 => packed_dot_plain::<2>, _ => packed_dot_plain::<4> };
            prop_assert_eq!(plain(&packed, &weights), expected);
            prop_assert_eq!(packed_dot_fn(bits)(&packed, &weights), expected);
        }
    }

    #[test]
    fn extreme_codes_and_weights_do_not_saturate() {
        for bits in [1u32, 2, 4] {
            let n = 4 * codes_per_block(bits);
            let top = (1u8 << bits) - 1;
            let packed = pack(&vec![top; n], bits);
            for w in [127i8, -128] {
                let got = packed_dot_fn(bits)(&packed, &vec![w; n]);
                assert_eq!(got, n as i32 * top as i32 * w as i32, "bits {bits} w {w}");
            }
        }
    }
}
