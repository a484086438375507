//! BM25 over a TEXT column (Lucene's formula), exactly:
//!
//! `score(d, q) = Σ_{t ∈ q} idf(t) · tf(t,d)·(k1 + 1) / (tf(t,d) + k1·(1 − b + b·|d|/avgdl))`,
//! `idf(t) = ln(1 + (N − df(t) + 0.5) / (df(t) + 0.5))`,
//!
//! a query term counted once per occurrence in the query. N (rows with at least one
//! term), df and avgdl are the caller's: over the whole collection, never one segment.
//!
//! - `analyzer`: text into terms.
//! - `postings`: a segment's inverted index (sorted terms, postings with term
//!   frequencies, row lengths), built from the rows being sealed or viewed in place.
//! - `storage`: its regions in a segment.

pub mod analyzer;
pub mod postings;
pub mod storage;

pub use analyzer::terms;
pub use postings::{Bm25View, BuiltBm25};

/// The collection-wide statistics a BM25 score needs for one query.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Stats {
    /// Live rows with at least one term.
    pub docs: u64,
    /// Their terms, all together.
    pub terms: u64,
}

impl Stats {
    /// Mean row length in terms (1 when there are no rows, so nothing divides by 0).
    pub fn avgdl(&self) -> f64 {
        if self.docs == 0 {
            1.0
        } else {
            self.terms as f64 / self.docs as f64
        }
    }
}

/// `idf(t)` for a term found in `df` of `docs` rows.
pub fn idf(docs: u64, df: u64) -> f64 {
    let (n, df) = (docs as f64, df as f64);
    (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
}

/// One query term's contribution to a row's score: the term occurs `tf` times in a row
/// of `len` terms.
pub fn term_score(idf: f64, tf: u32, len: u32, avgdl: f64, k1: f32, b: f32) -> f64 {
    saturated(idf, tf, length_norm(len, avgdl, k1, b), k1)
}

/// The length part of the denominator, `k1·(1 − b + b·len/avgdl)`: the same for every
/// term of one row, so a search computes it once per row.
pub fn length_norm(len: u32, avgdl: f64, k1: f32, b: f32) -> f64 {
    let (k1, b) = (f64::from(k1), f64::from(b));
    k1 * (1.0 - b + b * f64::from(len) / avgdl)
}

/// [`term_score`] given the row's [`length_norm`] (the same arithmetic, so the same
/// bits).
pub fn saturated(idf: f64, tf: u32, norm: f64, k1: f32) -> f64 {
    let (tf, k1) = (f64::from(tf), f64::from(k1));
    idf * tf * (k1 + 1.0) / (tf + norm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lucene_formula_by_hand() {
        // N = 4 rows, the term in 1: idf = ln(1 + 3.5 / 1.5).
        let idf = idf(4, 1);
        assert!((idf - (1.0f64 + 3.5 / 1.5).ln()).abs() < 1e-12);
        // tf 2 in a row of 3 terms, avgdl 4, k1 1.2, b 0.75 (k1 and b are f32, so
        // within 1e-6 of the decimal arithmetic):
        // 2 · 2.2 / (2 + 1.2 · (0.25 + 0.75 · 0.75)) = 4.4 / 2.975.
        let s = term_score(idf, 2, 3, 4.0, 1.2, 0.75);
        assert!((s - idf * 4.4 / 2.975).abs() < 1e-6, "{s}");
        // b = 0: no length normalization; k1 = 0: tf saturates at once.
        assert!((term_score(1.0, 3, 100, 4.0, 1.2, 0.0) - 3.0 * 2.2 / 4.2).abs() < 1e-6);
        assert!((term_score(1.0, 3, 100, 4.0, 0.0, 0.75) - 1.0).abs() < 1e-12);
        assert_eq!(Stats::default().avgdl(), 1.0);
    }
}
