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

/// The index over borrowed arrays (a segment's mapped regions); [`Bm25View::new`]
/// checks that they fit together, so lookups never index out of bounds.
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
    /// The view, or what does not fit: offsets must start at 0, never decrease and end
    /// at their array's length, every posting row must be below `rows`, the terms must
    /// be UTF-8 in strictly ascending order.
    pub fn new(
        term_offsets: &'a [u32],
        term_bytes: &'a [u8],
        posting_offsets: &'a [u32],
        rows: &'a [u32],
        tfs: &'a [u32],
        lengths: &'a [u32],
    ) -> Result<Self, String> {
        let monotone = |offsets: &[u32], end: usize| {
            offsets.first() == Some(&0)
                && offsets.windows(2).all(|w| w[0] <= w[1])
                && offsets.last().is_some_and(|&l| l as usize == end)
        };
        if term_offsets.len() != posting_offsets.len() {
            return Err("term and posting offsets differ in length".into());
        }
        if !monotone(term_offsets, term_bytes.len()) || !monotone(posting_offsets, rows.len()) {
            return Err("offsets out of order or past their arrays".into());
        }
        if tfs.len() != rows.len() || rows.iter().any(|&r| r as usize >= lengths.len()) {
            return Err("postings do not match the rows".into());
        }
        let view = Bm25View {
            term_offsets,
            term_bytes,
            posting_offsets,
            rows,
            tfs,
            lengths,
        };
        let mut previous: Option<&str> = None;
        for t in 0..view.term_count() {
            let term = std::str::from_utf8(view.term_bytes_of(t))
                .map_err(|_| format!("term {t} is not UTF-8"))?;
            if previous.is_some_and(|p| p >= term) {
                return Err(format!("term {t} is out of order"));
            }
            previous = Some(term);
        }
        Ok(view)
    }

    /// Distinct terms.
    pub fn term_count(&self) -> usize {
        self.term_offsets.len().saturating_sub(1)
    }

    /// Rows it covers.
    pub fn row_count(&self) -> usize {
        self.lengths.len()
    }

    fn term_bytes_of(&self, t: usize) -> &'a [u8] {
        &self.term_bytes[self.term_offsets[t] as usize..self.term_offsets[t + 1] as usize]
    }

    /// `term`'s postings: (rows ascending, term frequencies); empty when absent.
    pub fn postings(&self, term: &str) -> (&'a [u32], &'a [u32]) {
        let (mut lo, mut hi) = (0, self.term_count());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.term_bytes_of(mid).cmp(term.as_bytes()) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => {
                    let range =
                        self.posting_offsets[mid] as usize..self.posting_offsets[mid + 1] as usize;
                    return (&self.rows[range.clone()], &self.tfs[range]);
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
        )
        .unwrap();
        assert_eq!(again.postings("blue"), (&[2u32][..], &[1u32][..]));
    }

    #[test]
    fn inconsistent_arrays_are_refused() {
        let built = BuiltBm25::build(Analyzer::Simple, [Some("b a"), Some("c")].into_iter());
        let v = built.view();
        let bad_row = [0u32, 7, 1];
        assert!(
            Bm25View::new(
                &built.term_offsets,
                &built.term_bytes,
                &built.posting_offsets,
                &bad_row,
                &built.tfs,
                &built.lengths
            )
            .is_err()
        );
        let short = [0u32, 1];
        assert!(
            Bm25View::new(
                &short,
                &built.term_bytes,
                &built.posting_offsets,
                &built.rows,
                &built.tfs,
                &built.lengths
            )
            .is_err()
        );
        let unordered = b"bac".to_vec();
        assert!(
            Bm25View::new(
                &built.term_offsets,
                &unordered,
                &built.posting_offsets,
                &built.rows,
                &built.tfs,
                &built.lengths
            )
            .is_err()
        );
        assert_eq!(v.term_count(), 3);
    }
}
