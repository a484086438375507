"""MATCH (BM25) from Python: alone, fused with a vector column, in evaluate."""

import numpy as np
import pytest

import quiver


@pytest.fixture
def shop(tmp_path):
    db = quiver.connect(tmp_path / "shop.quiver")
    items = db.create_collection("items", {"title": "TEXT", "v": "VECTOR(2) L2"})
    items.insert_many([
        {"id": "a", "title": "red running shoe", "v": np.array([1, 0], np.float32)},
        {"id": "b", "title": "blue shoe", "v": np.array([0, 1], np.float32)},
        {"id": "c", "title": "red hat", "v": np.array([0.9, 0.1], np.float32)},
        {"id": "d", "title": "green sock", "v": np.array([0.5, 0.5], np.float32)},
    ])
    items.create_index("title", "bm25", analyzer="english")
    yield db, items
    db.close()


def test_match_alone_ranks_by_bm25(shop):
    _, items = shop
    hits = items.search(match=("title", "Shoes"), k=5)
    assert set(hits.ids) == {"a", "b"}  # 'shoes' stems to 'shoe'; no other row holds it
    assert (hits.scores > 0).all() and hits.attributes["title"][0] in {"red running shoe", "blue shoe"}
    assert items.search(match=("title", "red"), k=5, where="id != 'a'").ids == ["c"]
    with pytest.raises(quiver.InvalidArgumentError, match="no terms"):
        items.search(match=("title", "..."))
    with pytest.raises(quiver.InvalidArgumentError):
        items.search("v")  # a column without a vector
    with pytest.raises(quiver.UnknownColumnError):
        items.search(match=("colour", "red"))


def test_match_fuses_with_a_vector(shop):
    _, items = shop
    hits = items.fused_search({"v": [1, 0]}, k=4, match=("title", "red shoe"),
                              fusion="WEIGHTED(0.5, 0.5)", explain=True)
    assert hits.columns == ["title", "v"]
    assert hits.ids[0] == "a"  # best on both
    assert any("normalization min-max" in line for line in hits.plan)
    assert np.isfinite(hits.distances["title"]).all()


def test_evaluate_matches_query_texts(shop):
    _, items = shop
    queries = [{"qid": "1", "text": "green sock", "qrels": {"d": 1}},
               {"qid": "2", "text": "hat", "qrels": {"c": 1}}]
    report = items.evaluate(queries, match="title", k=2)
    assert report.overall.ndcg == pytest.approx(1.0)
    # Text queries cannot reach v (no encoder): not applicable to the fused ranking;
    # an item query has both its title and its vector.
    fused = items.evaluate(queries + [{"qid": "3", "query_item": "a", "qrels": {"c": 1}}],
                           ["v"], match="title", k=2, fusion="RRF")
    assert fused.overall.queries == 1 and fused.not_applicable == {"": 2}
    assert fused.overall.hit_rate == 1.0  # c: "red" and a vector near a's
