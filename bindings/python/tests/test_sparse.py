"""SPARSE columns from Python: dicts and scipy.sparse rows in, dicts out, search by dot
product alone and fused, bad input refused with nothing written."""

import numpy as np
import pytest
import scipy.sparse

import quiver


@pytest.fixture
def docs(tmp_path):
    db = quiver.connect(tmp_path / "docs.quiver")
    docs = db.create_collection("docs", {"terms": "SPARSE", "v": "VECTOR(2) L2"})
    docs.insert_many([
        {"id": "a", "terms": {12: 0.5, 99: 1.25}, "v": [1, 0]},
        {"id": "b", "terms": scipy.sparse.csr_matrix(([2.0], ([0], [12])), shape=(1, 100)),
         "v": [0, 1]},
        {"id": "c", "terms": scipy.sparse.coo_array(([1.0, 3.0], ([7, 7],)), shape=(100,)),
         "v": [1, 1]},
        {"id": "d", "v": [0, 0]},
    ])
    yield db, docs
    db.close()


def test_sparse_values_round_trip_as_dicts(docs):
    _, docs = docs
    assert docs.get("a")["terms"] == {12: 0.5, 99: 1.25}
    assert docs.get("b")["terms"] == {12: 2.0}
    assert docs.get("c")["terms"] == {7: 4.0}  # scipy's duplicate entries are summed
    assert docs.get("d")["terms"] is None


def test_search_ranks_by_dot_product(docs):
    _, docs = docs
    hits = docs.search("terms", {12: 1.0, 99: 2.0}, k=5, select=["terms"])
    assert hits.ids == ["a", "b"]  # c shares no index, d has no terms
    assert hits.scores.tolist() == [3.0, 2.0]
    assert hits.attributes["terms"][0] == {12: 0.5, 99: 1.25}
    row = scipy.sparse.csr_matrix(([1.0], ([0], [7])), shape=(1, 100))
    assert docs.search("terms", row, k=5).ids == ["c"]
    fused = docs.fused_search({"terms": {12: 1.0}, "v": [0, 1]}, k=2,
                              fusion="WEIGHTED(0.5, 0.5)", explain=True)
    assert fused.ids[0] == "b"  # best on both
    assert any("normalization min-max" in line for line in fused.plan)


def test_bad_sparse_input_is_refused_and_writes_nothing(docs):
    _, docs = docs
    for bad in ({1: -1.0}, {1: float("nan")}, {2**32: 1.0}, {-1: 1.0}, {"x": 1.0}):
        with pytest.raises(quiver.InvalidArgumentError):
            docs.insert("x", terms=bad, v=[0, 0])
    with pytest.raises(quiver.InvalidArgumentError, match="one row"):
        docs.insert("x", terms=scipy.sparse.csr_matrix(np.ones((2, 3))), v=[0, 0])
    with pytest.raises(quiver.TypeMismatchError):
        docs.insert("x", terms=[1.0, 2.0], v=[0, 0])
    with pytest.raises(quiver.TypeMismatchError):
        docs.search("v", {1: 1.0})
    with pytest.raises(quiver.TypeMismatchError):
        docs.search("terms", [1.0, 0.0])
    with pytest.raises(quiver.InvalidArgumentError, match="no entries"):
        docs.search("terms", {})
    assert len(docs) == 4


def test_search_like_uses_the_items_own_sparse_vector(docs):
    _, docs = docs
    hits = docs.search_like("a", ["terms"], k=5)
    assert hits.ids == ["b"]  # shares index 12 with a; a itself left out
    fused = docs.search_like("a", ["terms", "v"], k=3)
    assert "a" not in fused.ids and "b" in fused.ids and "d" not in fused.ids  # d: no terms


def test_results_with_a_sparse_column_convert_to_tables(docs):
    pa = pytest.importorskip("pyarrow")
    _, docs = docs
    hits = docs.search("terms", {12: 1.0}, k=5, select=["terms"])
    assert hits.attributes["terms"][0] == {12: 2.0}  # dicts, as get() gives
    table = hits.to_arrow()
    assert table.column("terms").type == pa.struct(
        [("indices", pa.list_(pa.int64())), ("values", pa.list_(pa.float64()))])
    assert table.column("terms")[0].as_py() == {"indices": [12], "values": [2.0]}
    assert len(hits.to_pandas()) == 2 and len(hits.to_polars()) == 2
