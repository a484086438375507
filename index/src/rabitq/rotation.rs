//! The random rotation RaBitQ codes are taken in: a few rounds of random sign flips
//! followed by normalized Walsh–Hadamard transforms. Each step is orthogonal, so the
//! whole is a rotation; a dense random matrix would do the same job at `dim²` floats
//! stored and `dim²` multiply-adds per vector, this costs `rounds · dim` sign bits and
//! `O(dim log dim)` per vector.
//!
//! The rotated space has `padded` dimensions (a multiple of 64 at least `dim`; the
//! extra coordinates start at zero and receive their share of every vector). Where
//! `padded` is not a power of two, each round transforms the leading and the trailing
//! power-of-two windows, which overlap, so every coordinate mixes with every other
//! within two rounds.

use crate::ivf::kmeans::SplitMix;

/// Rounds of signs + transforms: three rounds of sign-flipped Hadamard transforms
/// already spread a vector's mass like a dense Gaussian rotation does (the structured
/// "HD3HD2HD1" construction); the fourth covers the two-window case.
pub const ROUNDS: usize = 4;

/// A rotation of `padded`-dimensional space, stored as its sign bits.
#[derive(Clone, Copy, Debug)]
pub struct Rotation<'a> {
    padded: usize,
    /// `ROUNDS × padded` bits, round-major, bit set = flip.
    signs: &'a [u32],
}

/// Words of sign bits a rotation of `padded` dimensions stores.
pub fn sign_words(padded: usize) -> usize {
    ROUNDS * padded / 32
}

/// Fresh random sign bits for `padded` dimensions (seeded: builds are repeatable).
pub fn random_signs(padded: usize, seed: u64) -> Vec<u32> {
    let mut rng = SplitMix::new(seed);
    (0..sign_words(padded))
        .map(|_| rng.next_u64() as u32)
        .collect()
}

impl<'a> Rotation<'a> {
    /// `None` unless `padded` is a positive multiple of 64 and `signs` has
    /// [`sign_words`] words.
    pub fn new(padded: usize, signs: &'a [u32]) -> Option<Rotation<'a>> {
        (padded > 0 && padded.is_multiple_of(64) && signs.len() == sign_words(padded))
            .then_some(Rotation { padded, signs })
    }

    pub fn padded(&self) -> usize {
        self.padded
    }

    /// Rotates `x` (its first `padded` values) in place.
    pub fn apply(&self, x: &mut [f32]) {
        let x = &mut x[..self.padded];
        let window = 1usize << self.padded.ilog2();
        for round in 0..ROUNDS {
            let bits = &self.signs[round * self.padded / 32..][..self.padded / 32];
            for (chunk, &word) in x.chunks_exact_mut(32).zip(bits) {
                for (j, v) in chunk.iter_mut().enumerate() {
                    if word >> j & 1 == 1 {
                        *v = -*v;
                    }
                }
            }
            hadamard(&mut x[..window]);
            if window < self.padded {
                let start = self.padded - window;
                hadamard(&mut x[start..]);
            }
        }
    }
}

/// The normalized Walsh–Hadamard transform of `x` (length a power of two), in place.
fn hadamard(x: &mut [f32]) {
    let n = x.len();
    let mut h = 1;
    while h < n {
        for block in x.chunks_exact_mut(2 * h) {
            let (a, b) = block.split_at_mut(h);
            for (u, v) in a.iter_mut().zip(b.iter_mut()) {
                let (s, d) = (*u + *v, *u - *v);
                *u = s;
                *v = d;
            }
        }
        h *= 2;
    }
    let scale = 1.0 / (n as f32).sqrt();
    x.iter_mut().for_each(|v| *v *= scale);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dot(a: &[f32], b: &[f32]) -> f64 {
        a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum()
    }

    /// Orthogonal: norms and inner products are kept (in both the power-of-two and
    /// the two-window case), and a basis vector's mass is spread over every coordinate.
    #[test]
    fn keeps_inner_products_and_spreads_mass() {
        for padded in [64usize, 384, 1280] {
            let signs = random_signs(padded, 3);
            let r = Rotation::new(padded, &signs).unwrap();
            let a: Vec<f32> = (0..padded).map(|i| (i as f32 * 0.7).sin()).collect();
            let b: Vec<f32> = (0..padded).map(|i| (i as f32 * 0.3).cos() - 0.2).collect();
            let (mut ra, mut rb) = (a.clone(), b.clone());
            r.apply(&mut ra);
            r.apply(&mut rb);
            for (x, y, rx, ry) in [(&a, &a, &ra, &ra), (&a, &b, &ra, &rb), (&b, &b, &rb, &rb)] {
                let (before, after) = (dot(x, y), dot(rx, ry));
                assert!(
                    (before - after).abs() < 1e-3 * before.abs().max(1.0),
                    "{padded}: {before} vs {after}"
                );
            }
            let mut e = vec![0f32; padded];
            e[padded - 1] = 1.0;
            r.apply(&mut e);
            let largest = e.iter().fold(0f32, |m, v| m.max(v.abs()));
            assert!(
                largest < 8.0 / (padded as f32).sqrt(),
                "{padded}: a coordinate kept {largest}"
            );
            let reached = e
                .iter()
                .filter(|v| v.abs() > 0.1 / (padded as f32).sqrt())
                .count();
            assert!(
                reached > padded / 2,
                "{padded}: only {reached} coordinates got mass"
            );
        }
    }

    #[test]
    fn refuses_bad_shapes() {
        assert!(Rotation::new(0, &[]).is_none());
        assert!(Rotation::new(96, &random_signs(96, 1)).is_none());
        assert!(Rotation::new(128, &random_signs(64, 1)).is_none());
    }
}
