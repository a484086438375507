"""Quiver: an embedded multimodal vector database.

    import quiver
    db = quiver.connect("products.quiver")
    db.sql("CREATE COLLECTION products (title TEXT, text_vec VECTOR(3) COSINE)")
    products = db.collection("products")
    products.insert("p1", title="red shoe", text_vec=[1, 0, 0])
    products.search("text_vec", [1, 0, 0], k=5).ids   # ["p1"]

Everything here is implemented in the native module ``quiver._quiver``.
"""

from ._quiver import (
    ClosedError,
    Collection,
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

__all__ = [
    "ClosedError",
    "Collection",
    "CorruptedError",
    "Database",
    "DimensionMismatchError",
    "DuplicateIdError",
    "EncoderError",
    "InvalidArgumentError",
    "IoError",
    "LockedError",
    "NonFiniteVectorError",
    "NotFoundError",
    "QuiverError",
    "ReadOnlyError",
    "Results",
    "SqlSyntaxError",
    "TypeMismatchError",
    "UnknownCollectionError",
    "UnknownColumnError",
    "UnsupportedVersionError",
    "__version__",
    "connect",
    "repair",
    "verify",
]
