//! The storage error type. Every variant says what the caller can do about it.

use std::path::PathBuf;

/// Result alias used throughout the storage crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong below the public API.
///
/// Bytes from disk never panic: they become [`Error::Corrupted`] (bad content) or
/// [`Error::UnsupportedVersion`] (a file from another format version), always separate
/// from [`Error::Io`] (the operating system refused).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("I/O error on {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("corrupted file {path} at byte {offset}: {reason}")]
    Corrupted {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
    #[error("{path} has format version {found}; this build reads version {supported}")]
    UnsupportedVersion {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("database {path} is locked by another writer")]
    Locked { path: PathBuf },
    /// A local cache of object-storage files would outgrow its bound; raise the bound,
    /// or point the cache elsewhere.
    #[error("cache {cache}: {what} needs {needed} bytes there, over its bound of {limit}")]
    CacheFull {
        cache: PathBuf,
        what: String,
        needed: u64,
        limit: u64,
    },
    /// Another writer changed what this one meant to replace (e.g. a published version
    /// taken by a racing publisher); try again.
    #[error("conflict: {what}")]
    Conflict { what: String },
    #[error("the database was opened read-only")]
    ReadOnly,
    #[error("an earlier write failed ({reason}); reopen the database to continue writing")]
    Poisoned { reason: String },
    #[error("column {column}: expected dimension {expected}, got {got}")]
    DimensionMismatch {
        column: String,
        expected: usize,
        got: usize,
    },
    #[error("column {column}: component {index} is {value}, beyond {dtype}'s range (±{max})")]
    OutOfRange {
        column: String,
        index: usize,
        value: f32,
        dtype: &'static str,
        max: f32,
    },
    #[error("column {column}: component {index} is {value}, only finite values are stored")]
    NonFiniteVector {
        column: String,
        index: usize,
        value: f32,
    },
    #[error("column {column}, item {id:?}, vector {element}: {reason}")]
    BadElement {
        column: String,
        /// The item's id (empty where the value is checked before it has one).
        id: String,
        /// The vector's place in the item's list, 0-based.
        element: usize,
        reason: String,
    },
    #[error("unknown column {column}")]
    UnknownColumn { column: String },
    #[error("column {column} is given more than once")]
    DuplicateColumn { column: String },
    #[error("column {column} is NOT NULL but has no value for item {id:?}")]
    MissingValue { column: String, id: String },
    #[error("column {column} holds {expected}, got {got}")]
    TypeMismatch {
        column: String,
        expected: String,
        got: String,
    },
    #[error("unknown collection {name}")]
    UnknownCollection { name: String },
    #[error("collection {name} already exists")]
    CollectionExists { name: String },
    #[error("item {id:?} already exists")]
    DuplicateId { id: String },
    #[error("item {id:?} not found")]
    NotFound { id: String },
    #[error("invalid item id: {reason}")]
    InvalidId { reason: String },
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// An encoder (EMBED, EMBED_IMAGE, an EMBED FROM rule, EVALUATE's query texts)
    /// failed: missing weights, an unknown encoder, a file that is no image, the wrong
    /// modality. The message says which and what to do.
    #[error("encoder: {0}")]
    Encoder(String),
}

impl Error {
    /// An [`Error::Io`] naming the file involved.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// An [`Error::Corrupted`] naming the file and byte offset.
    pub fn corrupted(path: impl Into<PathBuf>, offset: u64, reason: impl Into<String>) -> Self {
        Error::Corrupted {
            path: path.into(),
            offset,
            reason: reason.into(),
        }
    }

    /// True for errors that say the bytes on disk are damaged.
    pub fn is_corruption(&self) -> bool {
        matches!(self, Error::Corrupted { .. })
    }
}
