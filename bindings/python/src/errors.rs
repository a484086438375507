//! The exception hierarchy: `QuiverError` is the base, and each engine error the
//! caller can act on differently gets its own subclass (a corrupt file, a dimension
//! mismatch and a locked database are distinguishable). Engine variants without a
//! subclass of their own raise `QuiverError` itself.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use quiver::Error;

/// Declares each exception class (name, base, docstring) and `register`, which adds
/// them all to the module: one list, so a class cannot be declared and left out.
macro_rules! exceptions {
    ($($name:ident($base:ty): $doc:literal;)*) => {
        $(create_exception!(quiver, $name, $base, $doc);)*

        /// Adds every exception class to the module.
        pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
            let py = m.py();
            $(m.add(stringify!($name), py.get_type::<$name>())?;)*
            Ok(())
        }
    };
}

exceptions! {
    QuiverError(PyException): "Base class of every Quiver error.";
    IoError(QuiverError): "The operating system refused a file operation.";
    CorruptedError(QuiverError): "A file of the database is damaged.";
    UnsupportedVersionError(QuiverError): "A file was written by another format version.";
    LockedError(QuiverError): "Another handle writes to this database.";
    ConflictError(QuiverError): "Another writer got there first (a published version); try again.";
    CacheFullError(QuiverError): "An object-storage cache folder would outgrow its bound.";
    ReadOnlyError(QuiverError): "The database was opened read-only.";
    InvalidArgumentError(QuiverError): "An argument the engine cannot accept.";
    DimensionMismatchError(InvalidArgumentError):
        "A vector has the wrong number of components for its column.";
    NonFiniteVectorError(InvalidArgumentError): "A vector holds NaN or an infinity.";
    OutOfRangeError(InvalidArgumentError):
        "A vector component beyond its column's element type (F16: ±65,504).";
    TypeMismatchError(InvalidArgumentError): "A value of the wrong type for its column.";
    UnknownColumnError(QuiverError): "No column of that name.";
    UnknownCollectionError(QuiverError): "No collection of that name.";
    DuplicateIdError(QuiverError): "An item with that id already exists.";
    NotFoundError(QuiverError): "No item with that id.";
    EncoderError(QuiverError): "An encoder failed (weights, input, modality).";
    SqlSyntaxError(QuiverError): "A statement that does not parse.";
    ClosedError(QuiverError): "The database was closed.";
}

/// The Python exception for an engine error; the message is the engine's own text
/// followed by its causes (`I/O error on …/wal-….log: No space left on device (os
/// error 28)`).
pub fn to_py(err: Error) -> PyErr {
    let mut msg = err.to_string();
    let mut cause = std::error::Error::source(&err);
    while let Some(c) = cause {
        msg.push_str(": ");
        msg.push_str(&c.to_string());
        cause = c.source();
    }
    match err {
        Error::Io { .. } => IoError::new_err(msg),
        Error::Corrupted { .. } => CorruptedError::new_err(msg),
        Error::UnsupportedVersion { .. } => UnsupportedVersionError::new_err(msg),
        Error::Locked { .. } => LockedError::new_err(msg),
        Error::Conflict { .. } => ConflictError::new_err(msg),
        Error::CacheFull { .. } => CacheFullError::new_err(msg),
        Error::ReadOnly => ReadOnlyError::new_err(msg),
        Error::DimensionMismatch { .. } => DimensionMismatchError::new_err(msg),
        Error::NonFiniteVector { .. } => NonFiniteVectorError::new_err(msg),
        Error::OutOfRange { .. } => OutOfRangeError::new_err(msg),
        Error::TypeMismatch { .. } => TypeMismatchError::new_err(msg),
        Error::UnknownColumn { .. } => UnknownColumnError::new_err(msg),
        Error::UnknownCollection { .. } => UnknownCollectionError::new_err(msg),
        Error::DuplicateId { .. } => DuplicateIdError::new_err(msg),
        Error::NotFound { .. } => NotFoundError::new_err(msg),
        Error::InvalidArgument(_) | Error::InvalidId { .. } | Error::BadElement { .. } => {
            InvalidArgumentError::new_err(msg)
        }
        Error::Encoder(_) => EncoderError::new_err(msg),
        // Poisoned, DuplicateColumn, MissingValue, CollectionExists and any variant
        // added later (the enum is non-exhaustive).
        _ => QuiverError::new_err(msg),
    }
}

/// `.map_err(errors::to_py)` in one word for `?` chains.
pub trait IntoPy<T> {
    fn py_err(self) -> PyResult<T>;
}

impl<T> IntoPy<T> for Result<T, Error> {
    fn py_err(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}
