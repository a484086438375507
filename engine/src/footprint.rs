//! What a collection takes: bytes per column in its segment files (the rows, the
//! indexes derived from them, and of those the quantized codes a search reads per
//! candidate), ids, and the memtable. DESCRIBE's and `quiver info`'s figures.

use crate::snapshot::CollectionSnapshot;

/// One column's bytes over a collection's segments (deleted rows included until a
/// compaction drops them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ColumnFootprint {
    /// The column's name.
    pub column: String,
    /// The rows' own bytes: vectors, validity, attribute values.
    pub rows: u64,
    /// The column's indexes (graph, codes, lists, postings, calibration).
    pub index: u64,
    /// Of `index`, the quantized codes (HNSW's 8-bit codes, IVF-PQ's codes).
    pub codes: u64,
}

/// A collection's bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Footprint {
    /// Item ids in the segment files.
    pub ids: u64,
    /// Every column of the schema, in schema order.
    pub columns: Vec<ColumnFootprint>,
    /// The memtable's rows (approximate: their encoded size).
    pub memtable: u64,
}

impl Footprint {
    /// All the segment files' bytes counted here.
    pub fn segment_bytes(&self) -> u64 {
        self.ids + self.columns.iter().map(|c| c.rows + c.index).sum::<u64>()
    }
}

impl CollectionSnapshot {
    /// The bytes this collection takes, by column.
    pub fn footprint(&self) -> Footprint {
        let mut out = Footprint {
            memtable: self.memtable_bytes() as u64,
            columns: (self.schema().columns().iter())
                .map(|c| ColumnFootprint {
                    column: c.name.clone(),
                    ..ColumnFootprint::default()
                })
                .collect(),
            ..Footprint::default()
        };
        for view in self.segments() {
            let (ids, by) = view.segment.bytes_by_column();
            out.ids += ids;
            for (column, total) in self.schema().columns().iter().zip(&mut out.columns) {
                if let Some(b) = by.get(&column.id) {
                    total.rows += b.rows;
                    total.index += b.index;
                    total.codes += b.codes;
                }
            }
        }
        out
    }
}
