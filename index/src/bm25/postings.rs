//! A segment's BM25 inverted index: its distinct terms in ascending byte order, each
//! with its postings (segment rows ascending, and the term's frequency in each), and
//! every row's length in terms. Built from the rows being sealed ([`BuiltBm25`]) or
//! viewed in place from the segment's regions ([`Bm25View`]).

use std::collections::BTreeMap;

use quiver_storage::Analyzer;

use super::analyzer::terms;

/// The index as built, owning its arrays.
#[derive(Debug, Default)]
pub struct BuiltBm25 {
    pub term_offsets: Vec<u32>,
    pub term_bytes: Vec<u8>,
    pub posting_offsets: Vec<u32>,
    pub rows: Vec<u32>,
    pub tfs: Vec<u32>,
    pub lengths: Vec<u32>,
}

impl BuiltBm25 {
    /// The index of `texts` (row `i` is segment row `i`; `None` for NULL).
    pub fn build<'t>(analyzer: Analyzer, texts: impl Iterator<Item = Option<&'t str>>) -> Self {
        let mut by_term: BTreeMap<String, Vec<(u32, u32)>> = BTreeMap::new();
        let mut lengths = Vec::new();
        for (row, text) in texts.enumerate() {
            let row = row as u32;
            let mut counts: BTreeMap<String, u32> = BTreeMap::new();
            let found = text.map(|t| terms(analyzer, t)).unwrap_or_default();
            lengths.push(found.len() as u32);
            for term in found {
                *counts.entry(term).or_default() += 1;
            }
            for (term, tf) in counts {
                by_term.entry(term).or_default().push((row, tf));
            }
        }
        let mut built = BuiltBm25 {
            term_offsets: vec![0],
            posting_offsets: vec![0],
            lengths,
            ..BuiltBm25::default()
        };
        for (term, postings) in by_term {
            built.term_bytes.extend_from_slice(term.as_bytes());
            built.term_offsets.push(built.term_bytes.len() as u32);
            for (row, tf) in postings {
                built.rows.push(row);
                built.tfs.push(tf);
            }
            built.posting_offsets.push(built.rows.len() as u32);
        }
        built
    }

    /// The same index, borrowed.
    pub fn view(&self) -> Bm25View<'_> {
        Bm25View {
            term_offsets: &self.term_offsets,
            term_bytes: &self.term_bytes,
            posting_offsets: &self.posting_offsets,
            rows: &self.rows,
            tfs: &self.tfs,
            lengths: &self.lengths,
        }
    }
}

/// The index over borrowed arrays (a segment's mapped regions). Opening it costs
/// nothing: every lookup is bounds-checked and a damaged array gives empty postings,
/// never a bad read; [`Bm25View::check`] (VERIFY) proves the arrays consistent.
#[derive(Clone, Copy, Debug)]
pub struct Bm25View<'a> {
    term_offsets: &'a [u32],
    term_bytes: &'a [u8],
    posting_offsets: &'a [u32],
    rows: &'a [u32],
    tfs: &'a [u32],
    lengths: &'a [u32],
}

impl<'a> Bm25View<'a> {
    /// The view over the six arrays (see [`Bm25View::check`] for what they must hold).
    pub fn new(
        term_offsets: &'a [u32],
        term_bytes: &'a [u8],
        posting_offsets: &'a [u32],
        rows: &'a [u32],
        tfs: &'a [u32],
        lengths: &'a [u32],
    ) -> Self {
        Bm25View {
            term_offsets,
            term_bytes,
            posting_offsets,
            rows,
            tfs,
            lengths,
        }
    }

    /// Whether the arrays fit together, or what does not: offsets start at 0, never
    /// decrease and end at their array's length, every posting row is below the rows,
    /// every frequency at least 1, the terms are UTF-8 in strictly ascending order.
    pub fn check(&self) -> Result<(), String> {
        let monotone = |offsets: &[u32], end: usize| {
            offsets.first() == Some(&0)
                && offsets.windows(2).all(|w| w[0] <= w[1])
                && offsets.last().is_some_and(|&l| l as usize == end)
        };
        if self.term_offsets.len() != self.posting_offsets.len() {
            return Err("term and posting offsets differ in length".into());
        }
        if !monotone(self.term_offsets, self.term_bytes.len())
            || !monotone(self.posting_offsets, self.rows.len())
        {
            return Err("offsets out of order or past their arrays".into());
        }
        if self.tfs.len() != self.rows.len()
            || self.rows.iter().any(|&r| r as usize >= self.lengths.len())
            || self.tfs.contains(&0)
        {
            return Err("postings do not match the rows".into());
        }
        let mut previous: Option<&str> = None;
        for t in 0..self.term_count() {
            let term = std::str::from_utf8(self.term_bytes_of(t).unwrap_or_default())
                .map_err(|_| format!("term {t} is not UTF-8"))?;
            if previous.is_some_and(|p| p >= term) {
                return Err(format!("term {t} is out of order"));
            }
            previous = Some(term);
        }
        Ok(())
    }

    /// Distinct terms.
    pub fn term_count(&self) -> usize {
        self.term_offsets.len().saturating_sub(1)
    }

    /// Rows it covers.
    pub fn row_count(&self) -> usize {
        self.lengths.len()
    }

    /// Term `t`'s bytes (`None` where the offsets are damaged).
    fn term_bytes_of(&self, t: usize) -> Option<&'a [u8]> {
        let (start, end) = (*self.term_offsets.get(t)?, *self.term_offsets.get(t + 1)?);
        self.term_bytes.get(start as usize..end as usize)
    }

    /// `term`'s postings: (rows ascending, term frequencies); empty when absent (or
    /// where damaged arrays do not hold them).
    pub fn postings(&self, term: &str) -> (&'a [u32], &'a [u32]) {
        let (mut lo, mut hi) = (0, self.term_count());
        while lo < hi {
            let mid = (lo + hi) / 2;
            let Some(bytes) = self.term_bytes_of(mid) else {
                return (&[], &[]);
            };
            match bytes.cmp(term.as_bytes()) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => {
                    let range = || -> Option<(&'a [u32], &'a [u32])> {
                        let (start, end) = (
                            *self.posting_offsets.get(mid)? as usize,
                            *self.posting_offsets.get(mid + 1)? as usize,
                        );
                        Some((self.rows.get(start..end)?, self.tfs.get(start..end)?))
                    };
                    return range().unwrap_or((&[], &[]));
                }
            }
        }
        (&[], &[])
    }

    /// Row `row`'s length in terms (0 past the rows).
    pub fn length(&self, row: u32) -> u32 {
        self.lengths.get(row as usize).copied().unwrap_or(0)
    }

    /// The row lengths.
    pub fn lengths(&self) -> &'a [u32] {
        self.lengths
    }

    pub(crate) fn arrays(&self) -> [&'a [u8]; 6] {
        [
            bytemuck::cast_slice(self.term_offsets),
            self.term_bytes,
            bytemuck::cast_slice(self.posting_offsets),
            bytemuck::cast_slice(self.rows),
            bytemuck::cast_slice(self.tfs),
            bytemuck::cast_slice(self.lengths),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postings_hold_rows_frequencies_and_lengths() {
        let texts = [Some("red shoe red"), None, Some("blue shoe"), Some("")];
        let built = BuiltBm25::build(Analyzer::Simple, texts.into_iter());
        let view = built.view();
        assert_eq!(view.term_count(), 3);
        assert_eq!(view.postings("red"), (&[0u32][..], &[2u32][..]));
        assert_eq!(view.postings("shoe"), (&[0u32, 2][..], &[1u32, 1][..]));
        assert_eq!(view.postings("green"), (&[][..], &[][..]));
        assert_eq!(view.lengths(), [3, 0, 2, 0]);
        let [a, b, c, d, e, f] = view.arrays();
        let again = Bm25View::new(
            bytemuck::cast_slice(a),
            b,
            bytemuck::cast_slice(c),
            bytemuck::cast_slice(d),
            bytemuck::cast_slice(e),
            bytemuck::cast_slice(f),
        );
        assert_eq!(again.check(), Ok(()));
        assert_eq!(again.postings("blue"), (&[2u32][..], &[1u32][..]));
    }

    #[test]
    fn damaged_arrays_fail_the_check_and_read_nothing_wrong() {
        let built = BuiltBm25::build(Analyzer::Simple, [Some("b a"), Some("c")].into_iter());
        let b = &built;
        let view = |to: &[u32], bytes: &[u8], po: &[u32], rows: &[u32]| {
            Bm25View::new(to, bytes, po, rows, &b.tfs, &b.lengths).check()
        };
        assert!(view(&b.term_offsets, &b.term_bytes, &b.posting_offsets, &b.rows).is_ok());
        assert!(
            view(
                &b.term_offsets,
                &b.term_bytes,
                &b.posting_offsets,
                &[0, 7, 1]
            )
            .is_err()
        );
        assert!(view(&[0, 1], &b.term_bytes, &b.posting_offsets, &b.rows).is_err());
        assert!(view(&b.term_offsets, b"bac", &b.posting_offsets, &b.rows).is_err());
        assert!(view(&b.term_offsets, &b.term_bytes, &[0, 9, 2, 3], &b.rows).is_err());
        // Offsets past the arrays: lookups give nothing instead of reading past them.
        let far = [0u32, 1, 99, 100];
        let damaged = Bm25View::new(&far, &b.term_bytes, &far, &b.rows, &b.tfs, &b.lengths);
        assert_eq!(damaged.postings("c"), (&[][..], &[][..]));
        assert_eq!(damaged.length(9), 0);
    }
}
