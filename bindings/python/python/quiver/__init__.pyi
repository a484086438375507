"""Type stubs for the `quiver` package (the native module `quiver._quiver`)."""

from __future__ import annotations

import os
import pathlib
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

__version__: str

Sparse = Union[Mapping[int, float], Any]
"""A SPARSE column's value or query: a `{index: weight}` dict (indices 0..2**32-1, weights
finite and >= 0) or a one-row scipy.sparse matrix or array (duplicates summed)."""
Matrix = Union[npt.NDArray[np.float32], Sequence[Sequence[float]]]
"""A 2-D float32 array (n, d) or a sequence of vectors; a multi-vector column's
(`VECTOR(d)[]`) value."""
Vector = Union[npt.NDArray[np.float32], Sequence[float], Sparse, Matrix]
"""A 1-D float32 array (read in place when contiguous) or a sequence of numbers; for a
SPARSE column, a `Sparse`; against a multi-vector column, a `Matrix` ranks by MAXSIM
(a 1-D vector by the item's nearest vector)."""
Value = Union[None, bool, int, float, str, List[str], npt.NDArray[np.float32], Dict[int, float]]
Row = Dict[str, Value]
PathLike = Union[str, os.PathLike[str]]

from ._report import EvaluationReport as EvaluationReport
from ._report import TunedLine as TunedLine
from ._report import TuningReport as TuningReport
from ._report import Metrics as Metrics
from ._report import QueryOutcome as QueryOutcome
from ._report import Summary as Summary

def connect(
    path: PathLike,
    *,
    read_only: bool = False,
    durability: Union[str, float, None] = None,
    cache_dir: Optional[PathLike] = None,
    cache_bytes: Optional[int] = None,
    s3: Optional[Mapping[str, str]] = None,
    poll_every: Optional[float] = 10.0,
) -> Database:
    """Opens (or, for writing, creates) the database folder; LockedError if another
    handle writes to it. read_only=True takes no lock and follows the folder's writer
    (another process or connection): searches see its commits within 0.1 s, without
    reopening. durability: "sync" (default:
    fsync before each commit returns), "never" (commits survive a killed process, not
    a power cut), or seconds between background fsyncs.

    path may be "s3://bucket/prefix": the database published there (Database.publish,
    `quiver publish`), read-only, its files cached in cache_dir (default under
    $QUIVER_CACHE_DIR or ~/.cache/quiver/remote), at most cache_bytes there
    (CacheFullError), with s3 settings (object_store keys: aws_endpoint,
    aws_access_key_id, ...) over the AWS_* environment variables; newer published
    versions are picked up every poll_every seconds (None: only on refresh())."""

def verify(path: PathLike) -> List[Row]:
    """VERIFY on a database folder without opening it: one dict per check
    (collection, file, check, status "ok" | "PROBLEM", detail), problems first."""

def repair(path: PathLike, drop_damaged_segments: bool = False) -> List[Row]:
    """REPAIR on a database folder that is not open (also one that no longer opens):
    rebuilds damaged indexes from the column data; drops segments whose rows are
    damaged only when drop_damaged_segments. One dict per damaged segment: collection,
    file, problem, action ("rebuilt" | "dropped" | "needs_drop"), lost (ids),
    lost_exact, lost_count."""

class Database:
    @property
    def path(self) -> pathlib.Path: ...
    @property
    def closed(self) -> bool: ...
    @property
    def read_only(self) -> bool: ...
    @property
    def refresh_error(self) -> Optional[str]:
        """Why this read-only connection's last refresh failed (it serves what it had)."""
    def refresh(self) -> bool:
        """A read-only connection: picks up the writer's commits (or the newest
        published version) now; whether anything changed."""
    def publish(self, url: str, *, s3: Optional[Mapping[str, str]] = None) -> Dict[str, int]:
        """Uploads the database (flushed; only new files) to s3://bucket/prefix and makes
        it the newest published version: {"version", "uploaded", "bytes"}.
        ConflictError after losing the race for a version 5 times."""
    def sql(self, text: str) -> Union[List[Row], str]:
        """Runs the statements in order; returns the last one's rows (a list of dicts)
        or its message."""
    def create_collection(self, name: str, schema: Union[str, Mapping[str, str]]) -> Collection:
        """`schema`: CREATE COLLECTION's column list as a str, or {column: type}."""
    def drop_collection(self, name: str) -> None: ...
    def collection(self, name: str) -> Collection: ...
    def collection_names(self) -> List[str]: ...
    def flush(self) -> None: ...
    def encoders(self) -> List[str]: ...
    def encode(self, encoder: str, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """One row per text (n, dim)."""
    def encode_images(self, encoder: str, paths: Sequence[PathLike]) -> npt.NDArray[np.float32]:
        """One row per image file (n, dim)."""
    def verify(self) -> List[Row]:
        """VERIFY: every checksum and structural invariant; one dict per check."""
    def repair(self, drop_damaged_segments: bool = False) -> List[Row]:
        """REPAIR on the open database; one dict per damaged segment (see repair)."""
    def close(self) -> None:
        """Later calls raise ClosedError; the writer lock is released."""
    def __enter__(self) -> Database: ...
    def __exit__(self, *exc: Any) -> bool: ...

class Results:
    """One search's results, best first, each with the selected columns' values."""
    @property
    def ids(self) -> List[str]: ...
    @property
    def scores(self) -> npt.NDArray[np.float32]:
        """The score ranked by (higher is better): fused, or the column's similarity."""
    @property
    def columns(self) -> List[str]: ...
    @property
    def distances(self) -> Dict[str, npt.NDArray[np.float32]]:
        """Per queried column, each result's raw distance (NaN where it has no value)."""
    @property
    def column_scores(self) -> Dict[str, npt.NDArray[np.float32]]:
        """Per queried column, each result's normalized score (NaN where missing)."""
    @property
    def attributes(self) -> Dict[str, List[Value]]:
        """Per selected column (default: every attribute column), each result's value."""
    @property
    def plan(self) -> List[str]:
        """EXPLAIN's lines (with explain=True), else empty."""
    @property
    def elements(self) -> List[Optional[int]]:
        """Searching a multi-vector column by one vector: which of each item's vectors
        matched (its place in the list); None otherwise."""
    def to_dicts(self) -> List[Dict[str, Any]]:
        """id, the selected columns, score, element (when `elements` has one),
        <column>_distance, <column>_score per result."""
    def to_pydict(self) -> Dict[str, Any]:
        """The same as columns: lists for id and the selected columns, float32 arrays
        for score and each queried column's distance and score (NaN where missing)."""
    def to_arrow(self) -> Any:
        """A pyarrow.Table of to_pydict() (needs pyarrow)."""
    def to_pandas(self) -> Any:
        """A pandas.DataFrame of to_pydict() (needs pandas)."""
    def to_polars(self) -> Any:
        """A polars.DataFrame of to_pydict() (needs polars)."""
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[Dict[str, Any]]: ...

class BatchResults:
    """search_batch's results: per query the ids, and (n, k) scores (higher is better,
    as Results.scores) and distances (as Results.distances); NaN past a query's last
    hit."""
    @property
    def ids(self) -> List[List[str]]: ...
    @property
    def scores(self) -> npt.NDArray[np.float32]: ...
    @property
    def distances(self) -> npt.NDArray[np.float32]: ...
    def __len__(self) -> int: ...

class Collection:
    @property
    def name(self) -> str: ...
    @property
    def columns(self) -> List[str]: ...
    def insert(self, id: str, **values: Any) -> None: ...
    def upsert(self, id: str, **values: Any) -> None: ...
    def update(self, id: str, **values: Any) -> None: ...
    def insert_many(self, data: Union[Mapping[str, Any], Sequence[Mapping[str, Any]]]) -> int:
        """A dict of columns ({"id": [...], "v": (n, d) float32, ...}) or row dicts;
        one atomic commit."""
    def upsert_many(self, data: Union[Mapping[str, Any], Sequence[Mapping[str, Any]]]) -> int: ...
    def delete(self, id: str) -> None: ...
    def get(self, id: str) -> Optional[Row]: ...
    def count(self) -> int: ...
    def create_index(self, column: str, kind: str = "hnsw", **params: Union[int, float, str]) -> None:
        """hnsw: m, ef_construction, quantize ("sq8", the default, "rabitq4", "rabitq2",
        "rabitq1" or "none"); ivfpq: nlist, m, refine; ivf: nlist, quantize ("rabitq4", the
        default, "rabitq2" or "rabitq1"), refine; flat: quantize (default "none": an exact
        scan), refine; bm25 (a TEXT column): k1, b, analyzer ("simple" or "english")."""
    def drop_index(self, column: str) -> None: ...
    def flush(self) -> None: ...
    def compact(self) -> None: ...
    def search(
        self, column: Optional[str] = None, vector: Optional[Vector] = None, k: int = 10, *,
        match: Optional[Tuple[str, str]] = None, where: Optional[str] = None,
        select: Optional[Sequence[str]] = None, ef: Optional[int] = None,
        nprobe: Optional[int] = None, refine: Optional[int] = None, exact: bool = False, explain: bool = False,
    ) -> Results:
        """A column and a vector, or match=(TEXT column, text) for BM25 (the column needs a
        bm25 index). select: the columns each hit carries (default: every attribute
        column)."""
    def fused_search(
        self, vectors: Optional[Mapping[str, Vector]] = None, k: int = 10, *,
        match: Optional[Tuple[str, str]] = None, fusion: str = "RRF",
        profile: Optional[str] = None, label: Optional[str] = None,
        normalize: Optional[str] = None, missing: Optional[str] = None,
        where: Optional[str] = None, select: Optional[Sequence[str]] = None,
        ef: Optional[int] = None, nprobe: Optional[int] = None, refine: Optional[int] = None,
        exact: bool = False, explain: bool = False,
    ) -> Results:
        """fusion as in SQL's FUSE: "WEIGHTED(0.3, 0.7)", "RRF", "RRF(k = 20)", "MIN",
        "MAX", "AVG", "DEFAULT", "PROFILE name"; or profile="name" (label="..." for a
        per-label one) names a saved fusion profile instead; normalize: none | minmax |
        zscore | calibrated; missing: skip | partial; match=(TEXT column, text) adds a
        BM25 term, first."""
    def search_like(
        self, id: str, columns: Sequence[str], k: int = 10, *, fusion: str = "RRF",
        where: Optional[str] = None, select: Optional[Sequence[str]] = None,
    ) -> Results:
        """Items most like item `id` by its own vectors, itself left out."""
    def search_batch(
        self, column: str, queries: Matrix, k: int = 10, *, ef: Optional[int] = None,
        nprobe: Optional[int] = None, refine: Optional[int] = None, exact: bool = False, threads: Optional[int] = None,
    ) -> BatchResults: ...
    def evaluate(
        self, queries: Sequence[Mapping[str, Any]], columns: Sequence[str] = (), k: int = 10, *,
        match: Optional[str] = None, fusion: str = "RRF", per_query: bool = False,
    ) -> EvaluationReport:
        """SQL's EVALUATE on labelled queries ({"qid", "text" | "query_item", "qrels",
        "label"}): overall and by_label summaries (recall, precision, ndcg, mrr, map,
        hit_rate), qps, and per_query when asked; .to_pandas() one row per label."""
    def tune(
        self, queries: Sequence[Mapping[str, Any]], columns: Sequence[str], k: int = 10, *,
        match: Optional[str] = None, fusion: str = "RRF", normalize: Optional[str] = None,
        per_label: bool = False, folds: int = 5, save_as: Optional[str] = None,
        plot: Optional[str] = None,
    ) -> TuningReport:
        """SQL's EVALUATE ... TUNE WEIGHTS: the fusion of columns (and match's BM25)
        fitted to the labelled queries by NDCG@k, for all queries or per label, with
        in-sample and cross-validated NDCG; save_as saves fusion profiles; plot draws
        the weights and NDCG per label to a PNG."""
    def __len__(self) -> int: ...
    def __contains__(self, id: str) -> bool: ...

class QuiverError(Exception): ...
class IoError(QuiverError): ...
class CorruptedError(QuiverError): ...
class UnsupportedVersionError(QuiverError): ...
class LockedError(QuiverError): ...
class ConflictError(QuiverError): ...
class CacheFullError(QuiverError): ...
class ReadOnlyError(QuiverError): ...
class InvalidArgumentError(QuiverError): ...
class DimensionMismatchError(InvalidArgumentError): ...
class NonFiniteVectorError(InvalidArgumentError): ...
class OutOfRangeError(InvalidArgumentError): ...
class TypeMismatchError(InvalidArgumentError): ...
class UnknownColumnError(QuiverError): ...
class UnknownCollectionError(QuiverError): ...
class DuplicateIdError(QuiverError): ...
class NotFoundError(QuiverError): ...
class EncoderError(QuiverError): ...
class SqlSyntaxError(QuiverError): ...
class ClosedError(QuiverError): ...
