"""Quiver: an embedded multimodal vector database.

    import quiver
    db = quiver.connect("products.quiver")
    db.sql("CREATE COLLECTION products (title TEXT, text_vec VECTOR(3) COSINE)")
    products = db.collection("products")
    products.insert("p1", title="red shoe", text_vec=[1, 0, 0])
    hits = products.search("text_vec", [1, 0, 0], k=5)
    hits.ids                     # ["p1"]
    hits.attributes["title"]     # ["red shoe"]
    hits.to_pandas()             # id, title, score, text_vec_distance, text_vec_score

Everything here is implemented in the native module ``quiver._quiver``, but for
EVALUATE's report (``quiver._report``, dataclasses).
"""

from ._quiver import (
    BatchResults,
    CacheFullError,
    ClosedError,
    Collection,
    ConflictError,
    CorruptedError,
    Database,
    DimensionMismatchError,
    DuplicateIdError,
    EncoderError,
    InvalidArgumentError,
    IoError,
    LockedError,
    NonFiniteVectorError,
    NotFoundError,
    OutOfRangeError,
    QuiverError,
    ReadOnlyError,
    Results,
    SqlSyntaxError,
    TypeMismatchError,
    UnknownCollectionError,
    UnknownColumnError,
    UnsupportedVersionError,
    __version__,
    connect,
    repair,
    verify,
)
from ._report import EvaluationReport, Metrics, QueryOutcome, Summary, TunedLine, TuningReport

__all__ = [
    "BatchResults",
    "CacheFullError",
    "ClosedError",
    "Collection",
    "ConflictError",
    "CorruptedError",
    "Database",
    "DimensionMismatchError",
    "DuplicateIdError",
    "EncoderError",
    "EvaluationReport",
    "InvalidArgumentError",
    "IoError",
    "LockedError",
    "Metrics",
    "NonFiniteVectorError",
    "NotFoundError",
    "OutOfRangeError",
    "QueryOutcome",
    "QuiverError",
    "ReadOnlyError",
    "Results",
    "SqlSyntaxError",
    "Summary",
    "TunedLine",
    "TuningReport",
    "TypeMismatchError",
    "UnknownCollectionError",
    "UnknownColumnError",
    "UnsupportedVersionError",
    "__version__",
    "connect",
    "repair",
    "verify",
]
