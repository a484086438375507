//! BM25's bytes in a segment (FORMAT.md §5): `Bm25Meta` (terms, rows, analyzer,
//! version), the term offsets and bytes, posting offsets, rows and term frequencies,
//! and the row lengths. Viewed in place, checked on load so a damaged file gives
//! `Corrupted`, never a bad read.

use quiver_storage::segment::RegionKind;
use quiver_storage::{Analyzer, Column, Result, Segment};

use super::postings::{Bm25View, BuiltBm25};
use crate::stored::{Regions, damaged};

/// The layout version written in `Bm25Meta`.
const VERSION: u32 = 1;

const ARRAY_KINDS: [RegionKind; 6] = [
    RegionKind::Bm25TermOffsets,
    RegionKind::Bm25TermBytes,
    RegionKind::Bm25PostingOffsets,
    RegionKind::Bm25PostingRows,
    RegionKind::Bm25PostingTfs,
    RegionKind::Bm25DocLengths,
];

fn analyzer_code(a: Analyzer) -> u32 {
    match a {
        Analyzer::Simple => 0,
        Analyzer::English => 1,
    }
}

/// Words of `Bm25Meta`: terms, rows, analyzer, version, rows with a term, and the
/// total number of terms (low and high words).
const META_WORDS: usize = 7;

/// A built BM25 index with its meta words, ready to be written.
#[derive(Debug)]
pub struct StoredBm25 {
    index: BuiltBm25,
    meta: [u32; META_WORDS],
}

impl StoredBm25 {
    /// The index of `texts` (row `i` is segment row `i`; `None` for NULL).
    pub fn build<'t>(analyzer: Analyzer, texts: impl Iterator<Item = Option<&'t str>>) -> Self {
        let index = BuiltBm25::build(analyzer, texts);
        let docs = index.lengths.iter().filter(|&&l| l > 0).count() as u32;
        let total: u64 = index.lengths.iter().map(|&l| u64::from(l)).sum();
        let meta = [
            index.term_offsets.len() as u32 - 1,
            index.lengths.len() as u32,
            analyzer_code(analyzer),
            VERSION,
            docs,
            total as u32,
            (total >> 32) as u32,
        ];
        StoredBm25 { index, meta }
    }

    pub(crate) fn regions<'a>(&'a self, out: &mut Regions<'a>) {
        out.push((RegionKind::Bm25Meta, bytemuck::cast_slice(&self.meta)));
        out.extend(ARRAY_KINDS.into_iter().zip(self.index.view().arrays()));
    }
}

/// A segment's BM25 index for one TEXT column, viewed in place.
#[derive(Clone, Copy, Debug)]
pub struct Bm25Index<'a> {
    pub view: Bm25View<'a>,
    /// The analyzer its terms were cut with.
    pub analyzer: Analyzer,
    /// Rows with at least one term, deleted ones included.
    pub docs: u64,
    /// Their terms, all together.
    pub terms: u64,
}

impl<'a> Bm25Index<'a> {
    /// `column`'s BM25 index in `segment`; `None` if it has none.
    pub fn load(segment: &'a Segment, column: &Column) -> Result<Option<Bm25Index<'a>>> {
        let Some(meta) = segment.u32_region(RegionKind::Bm25Meta, column.id)? else {
            return Ok(None);
        };
        let [terms, rows, analyzer, version, docs, low, high] = <[u32; META_WORDS]>::try_from(meta)
            .map_err(|_| damaged(segment, format!("Bm25Meta is not {META_WORDS} words")))?;
        let analyzer = match (analyzer, version) {
            (0, VERSION) => Analyzer::Simple,
            (1, VERSION) => Analyzer::English,
            _ => {
                return Err(damaged(
                    segment,
                    format!(
                        "BM25 of column {}: analyzer {analyzer}, version {version}",
                        column.name
                    ),
                ));
            }
        };
        let words = |kind| -> Result<&'a [u32]> {
            segment
                .u32_region(kind, column.id)?
                .ok_or_else(|| damaged(segment, format!("{kind:?} region is missing")))
        };
        let term_bytes = segment
            .region_of(RegionKind::Bm25TermBytes, column.id)
            .ok_or_else(|| damaged(segment, "Bm25TermBytes region is missing".into()))?;
        let view = Bm25View::new(
            words(RegionKind::Bm25TermOffsets)?,
            term_bytes,
            words(RegionKind::Bm25PostingOffsets)?,
            words(RegionKind::Bm25PostingRows)?,
            words(RegionKind::Bm25PostingTfs)?,
            words(RegionKind::Bm25DocLengths)?,
        );
        if view.term_count() != terms as usize
            || view.row_count() != rows as usize
            || rows != segment.rows()
            || docs > rows
        {
            return Err(damaged(
                segment,
                format!("BM25 of column {} does not match its meta", column.name),
            ));
        }
        Ok(Some(Bm25Index {
            view,
            analyzer,
            docs: u64::from(docs),
            terms: u64::from(low) | (u64::from(high) << 32),
        }))
    }

    /// VERIFY's check: the arrays fit together and the meta's totals are the rows'.
    pub fn check(&self, segment: &Segment, column: &Column) -> Result<String> {
        let lengths = self.view.lengths();
        let docs = lengths.iter().filter(|&&l| l > 0).count() as u64;
        let terms: u64 = lengths.iter().map(|&l| u64::from(l)).sum();
        let consistent = self.view.check().and_then(|()| match (docs, terms) {
            (d, t) if d == self.docs && t == self.terms => Ok(()),
            _ => Err("the meta's totals are not the rows'".to_string()),
        });
        consistent.map_err(|reason| {
            damaged(segment, format!("BM25 of column {}: {reason}", column.name))
        })?;
        Ok(format!(
            "BM25 ({}), {} terms over {} rows",
            self.analyzer.name(),
            self.view.term_count(),
            self.view.row_count()
        ))
    }
}
