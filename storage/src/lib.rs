//! `quiver-storage` owns Quiver's vocabulary (ids, schemas, values, metrics) and every
//! byte Quiver puts on disk: the [`Directory`] abstraction (real files, memory maps and a
//! fault-injecting wrapper for tests), the write-ahead log, immutable segments, the
//! tombstone files and the manifest that names the live segments.
//!
//! It must not know about indexes, queries or the public database facade, and it is the
//! only crate that memory-maps files (`directory::mmap` is its one `unsafe` module).

#[cfg(target_endian = "big")]
compile_error!(
    "quiver stores little-endian data and maps it without conversion; big-endian hosts are not supported"
);

pub mod codec;
pub mod directory;
pub mod elements;
pub mod error;
pub mod exercise;
pub mod ids;
pub mod lock;
pub mod manifest;
pub mod multi;
pub mod row;
pub mod schema;
pub mod segment;
pub mod sparse;
pub mod tombstones;
pub mod value;
pub mod wal;

pub use directory::{
    Directory, FaultKind, FaultyDirectory, FsDirectory, MappedBytes, PowerLossDirectory, WriteFile,
};
pub use elements::Vectors;
pub use error::{Error, Result};
pub use ids::{CollectionId, ColumnId, ItemId, Lsn, RowId, SegmentId};
pub use manifest::{CollectionEntry, Manifest, SegmentEntry};
pub use multi::MultiVector;
pub use row::Row;
pub use schema::{
    Analyzer, AttrColumn, AttrType, Column, ColumnKind, DEFAULT_PROFILE, DType, EmbedRule,
    EncoderTag, FusionProfile, IndexSpec, MAX_PROFILES, Metric, Quantize, Schema, VectorColumn,
};
pub use segment::{Segment, SegmentWriter};
pub use sparse::SparseVector;
pub use tombstones::Tombstones;
pub use value::{Item, Value};
pub use wal::WalWriter;
