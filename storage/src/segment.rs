//! Immutable segments: one file per sealed memtable or compaction output, rows sorted by
//! item id. Every column is one contiguous, 64-byte-aligned, little-endian region that
//! readers view in place through the memory map (no copy, no deserialization). Opening
//! checks the header and directory checksums and every region's bounds: cost in
//! metadata, not data. Region checksums are checked by [`Segment::verify`].
//!
//! Byte layout: `docs/FORMAT.md`.

mod layout;
mod reader;
mod writer;

pub use layout::{RegionKind, SEGMENT_MAGIC, SEGMENT_VERSION};
pub use reader::Segment;
pub use writer::{RowSource, SegmentWriter};

use crate::ids::SegmentId;

/// File name of a segment.
pub fn segment_file_name(id: SegmentId) -> String {
    format!("seg-{:010}.qseg", id.0)
}
