"""EVALUATE's report as dataclasses: what ``Collection.evaluate`` returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional


@dataclass(frozen=True)
class Metrics:
    """One query's (or the mean) retrieval quality at the cut-off K."""

    recall: float
    precision: float
    ndcg: float
    mrr: float
    map: float
    hit_rate: float

    @classmethod
    def _from_fields(cls, f: Mapping[str, Any]) -> "Metrics":
        return cls(**{name: float(f[name]) for name in METRIC_NAMES})


METRIC_NAMES = ("recall", "precision", "ndcg", "mrr", "map", "hit_rate")


@dataclass(frozen=True)
class Summary(Metrics):
    """Means over ``queries`` queries; ``without_relevant`` had nothing relevant and
    are left out of the means."""

    queries: int = 0
    without_relevant: int = 0

    @classmethod
    def _from_fields(cls, f: Mapping[str, Any]) -> "Summary":
        means = {name: float(f[name]) for name in METRIC_NAMES}
        return cls(**means, queries=int(f["queries"]), without_relevant=int(f["without_relevant"]))


@dataclass(frozen=True)
class QueryOutcome:
    """One query: its metrics (``None`` when nothing is relevant to it) and answer."""

    qid: str
    label: str
    metrics: Optional[Metrics]
    answer: List[str]


@dataclass(frozen=True)
class EvaluationReport:
    """What EVALUATE measured: means overall and per label, the queries that could not
    run per label, the ranking rate, and (with ``per_query=True``) every query."""

    k: int
    overall: Summary
    by_label: Dict[str, Summary]
    not_applicable: Dict[str, int]
    qps: float
    per_query: Optional[List[QueryOutcome]] = field(default=None)

    @classmethod
    def _from_fields(cls, f: Mapping[str, Any]) -> "EvaluationReport":
        per_query = f.get("per_query")
        return cls(
            k=int(f["k"]),
            overall=Summary._from_fields(f["overall"]),
            by_label={label: Summary._from_fields(s) for label, s in f["by_label"].items()},
            not_applicable=dict(f["not_applicable"]),
            qps=float(f["qps"]),
            per_query=None
            if per_query is None
            else [
                QueryOutcome(
                    qid=q["qid"],
                    label=q["label"],
                    metrics=None if q["metrics"] is None else Metrics._from_fields(q["metrics"]),
                    answer=list(q["answer"]),
                )
                for q in per_query
            ],
        )

    def rows(self) -> List[Dict[str, Any]]:
        """One dict per label, then ``"(overall)"``: label, queries, without_relevant,
        not_applicable and every metric."""
        out = []
        labels = list(self.by_label.items()) + [("(overall)", self.overall)]
        for label, s in labels:
            row: Dict[str, Any] = {"label": label, "queries": s.queries,
                                   "without_relevant": s.without_relevant}
            row["not_applicable"] = (sum(self.not_applicable.values()) if label == "(overall)"
                                     else self.not_applicable.get(label, 0))
            row.update({name: getattr(s, name) for name in METRIC_NAMES})
            out.append(row)
        return out

    def to_pandas(self) -> Any:
        """A ``pandas.DataFrame`` of ``rows()`` (needs pandas)."""
        try:
            import pandas
        except ImportError as e:
            raise ImportError(f"EvaluationReport.to_pandas() needs pandas (pip install pandas): {e}") from e
        return pandas.DataFrame(self.rows())


@dataclass(frozen=True)
class TunedLine:
    """One line of a tuning report: all queries (``label == "*"``) or one label.

    ``fusion``/``normalize``/``weights`` are the setting fitted for this scope
    (``fusion == "per label"`` on the ``*`` line of a per-label run); the NDCG@k of
    the ranking as written, of the tuned setting(s) on the queries they were fitted
    on (``in_sample``), and of settings fitted without each query (``held_out``,
    cross-validated)."""

    label: str
    queries: int
    skipped: int
    fusion: str
    normalize: Optional[str]
    weights: Optional[List[float]]
    as_written: float
    in_sample: float
    held_out: float


@dataclass(frozen=True)
class TuningReport:
    """What ``Collection.tune`` (SQL's EVALUATE ... TUNE WEIGHTS) found: ``lines``
    (``*`` first, then each label), the profiles ``saved`` (full names), and the
    seconds spent gathering candidates and fitting (cross-validation included)."""

    k: int
    columns: List[str]
    lines: List[TunedLine]
    saved: List[str]
    gather_seconds: float
    fit_seconds: float

    @classmethod
    def _from_fields(cls, f: Mapping[str, Any]) -> "TuningReport":
        return cls(
            k=int(f["k"]),
            columns=list(f["columns"]),
            lines=[
                TunedLine(
                    label=l["label"],
                    queries=int(l["queries"]),
                    skipped=int(l["skipped"]),
                    fusion=l["fusion"],
                    normalize=l["normalize"],
                    weights=None if l["weights"] is None else [float(w) for w in l["weights"]],
                    as_written=float(l["as_written"]),
                    in_sample=float(l["in_sample"]),
                    held_out=float(l["held_out"]),
                )
                for l in f["lines"]
            ],
            saved=list(f["saved"]),
            gather_seconds=float(f["gather_seconds"]),
            fit_seconds=float(f["fit_seconds"]),
        )

    def line(self, label: str = "*") -> TunedLine:
        """The line of ``label`` (``"*"``: all queries)."""
        for l in self.lines:
            if l.label == label:
                return l
        raise KeyError(label)

    def rows(self) -> List[Dict[str, Any]]:
        """One dict per line, with one ``weight_<column>`` entry per column."""
        out = []
        for l in self.lines:
            row: Dict[str, Any] = {
                "label": l.label, "queries": l.queries, "skipped": l.skipped,
                "fusion": l.fusion, "normalize": l.normalize,
                "as_written": l.as_written, "in_sample": l.in_sample, "held_out": l.held_out,
            }
            for i, column in enumerate(self.columns):
                row[f"weight_{column}"] = None if l.weights is None else l.weights[i]
            out.append(row)
        return out

    def to_pandas(self) -> Any:
        """A ``pandas.DataFrame`` of ``rows()`` (needs pandas)."""
        try:
            import pandas
        except ImportError as e:
            raise ImportError(f"TuningReport.to_pandas() needs pandas (pip install pandas): {e}") from e
        return pandas.DataFrame(self.rows())
