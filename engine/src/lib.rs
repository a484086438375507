//! `quiver` is the core of the Quiver embedded vector database: [`Database`] (open,
//! lock, recover), collections with named vector and attribute columns, atomic write
//! batches behind a group-committed WAL, point-in-time [`Snapshot`]s, flush,
//! compaction and index builds, search, and the one query type ([`Query`] →
//! [`Hits`]: one column or several fused, filtered, explained), VERIFY and REPAIR with
//! typed reports.
//!
//! It owns the in-memory state and the order of operations on disk; the bytes
//! themselves are `quiver-storage`'s (WAL, segments, manifest) and `quiver-index`'s
//! (index regions). It parses no file format and runs no statement: the language's
//! execution, COPY, EVALUATE and EXPLAIN's text are `quiver-sql`'s, above it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod batch;
mod collection;
mod commit;
mod compaction;
mod database;
mod embedding;
pub mod exercise;
mod filter;
mod flush;
mod follow;
mod footprint;
mod fused;
mod hits;
mod index_build;
mod indexes;
mod lexical;
mod lookup;
mod memtable;
mod multi;
mod options;
mod query;
mod recovery;
mod reembed;
mod remote;
mod repair;
mod search;
mod shared;
mod snapshot;
mod sparse;
mod state;
mod verify;
mod writer;

#[cfg(test)]
mod module_graph;

pub use batch::{CommitInfo, WriteBatch};
pub use collection::Collection;
pub use database::{Database, DatabaseInfo};
pub use embedding::encode_error;
pub use filter::Filter;
pub use footprint::{ColumnFootprint, Footprint};
pub use fused::{FusedCandidates, FusedQuery, Probe, default_normalization};
pub use hits::{ColumnExplain, FusedExplain, Hit, Hits, Plan};
pub use options::{Durability, OpenOptions, RemoteOptions};
pub use query::{FusionChoice, NormalizationChoice, Query, Target, Term};
/// The encoder module (`quiver-encode`).
pub use quiver_encode as encode;
pub use quiver_index::multi::MultiQuery;
pub use quiver_index::{Progress, ProgressNow};
pub use quiver_query::eval;
pub use quiver_query::sql;
pub use quiver_query::{ColumnPart, DistanceSpan, Fusion, Missing, Normalization};
pub use quiver_storage::multi::MAX_MULTI_VECTORS;
pub use reembed::ReembedReport;
pub use remote::Published;
pub use repair::{
    LostItems, Repair, RepairOptions, RepairOutcome, RepairReport, repair, repair_path,
};
pub use search::{FilterMode, PartStats, SearchHit, SearchOptions, SearchStats, Strategy, ms};
pub use snapshot::{CollectionSnapshot, ItemRef, Snapshot};
pub use verify::{Check, VerifyReport, verify, verify_path};

pub use quiver_storage::{
    Analyzer, AttrColumn, AttrType, Column, ColumnKind, DType, Directory, EmbedRule, EncoderTag,
    Error, FaultKind, FaultyDirectory, FsDirectory, IndexSpec, Item, MappedBytes, Metric,
    MultiVector, PowerLossDirectory, Quantize, Result, Schema, SparseVector, Value, VectorColumn,
    WriteFile,
};
