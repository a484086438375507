"""Searches from Python checked against numpy brute force: one column, fused with
per-column scores, filters, EXPLAIN, more-like-this, batches, EVALUATE."""

import numpy as np
import pytest

import quiver

from conftest import N, cosine_distances


def test_single_column_matches_brute_force(catalogue):
    _, products, data = catalogue
    query = data["text_vec"][17] + 0.1
    results = products.search("text_vec", query, k=10, exact=True)
    d = cosine_distances(data["text_vec"], query)
    expected = [data["id"][i] for i in np.argsort(d, kind="stable")[:10]]
    assert results.ids == expected
    np.testing.assert_allclose(results.distances["text_vec"], np.sort(d)[:10], atol=1e-5)
    assert results.columns == ["text_vec"]
    assert len(results) == 10


def test_fused_weighted_matches_brute_force(catalogue):
    _, products, data = catalogue
    qt, qi = data["text_vec"][3], data["image_vec"][3]
    results = products.fused_search({"text_vec": qt, "image_vec": qi}, k=5,
                                    fusion="WEIGHTED(0.3, 0.7)", normalize="none",
                                    exact=True)
    assert results.columns == ["text_vec", "image_vec"]
    dt = results.distances["text_vec"]
    di = results.distances["image_vec"]
    # NORMALIZE NONE: each column scores -distance; weighted sum.
    np.testing.assert_allclose(results.scores, -(0.3 * dt + 0.7 * di), atol=1e-5)
    np.testing.assert_allclose(results.column_scores["text_vec"], -dt, atol=1e-6)
    assert results.ids[0] == "p003"
    for rank, pid in enumerate(results.ids):
        i = data["id"].index(pid)
        assert dt[rank] == pytest.approx(cosine_distances(data["text_vec"], qt)[i], abs=1e-5)
    assert list(results.scores) == sorted(results.scores, reverse=True)
    rows = results.to_dicts()
    assert rows[0]["id"] == "p003" and set(rows[0]) == {
        "id", "category", "price", "score", "text_vec_distance", "text_vec_score",
        "image_vec_distance", "image_vec_score"}
    assert [r["id"] for r in results] == results.ids


def test_fused_rrf_default(catalogue):
    _, products, data = catalogue
    results = products.fused_search({"text_vec": data["text_vec"][9],
                                     "image_vec": data["image_vec"][9]}, k=3)
    assert results.ids[0] == "p009"
    # RRF(k = 60): an item ranked first on both columns scores 2 / 61.
    assert results.scores[0] == pytest.approx(2 / 61, rel=1e-5)


def test_filter_applies_and_is_checked(catalogue):
    _, products, data = catalogue
    query = data["text_vec"][0]
    results = products.search("text_vec", query, k=20, where="category = 'hat' AND price < 150")
    assert len(results) == 20
    for pid in results.ids:
        i = data["id"].index(pid)
        assert data["category"][i] == "hat" and data["price"][i] < 150
    fused = products.fused_search({"text_vec": query, "image_vec": data["image_vec"][0]},
                                  k=10, where="category IN ('shoe')")
    assert all(data["category"][data["id"].index(p)] == "shoe" for p in fused.ids)
    with pytest.raises(quiver.UnknownColumnError):
        products.search("text_vec", query, where="colour = 'red'")
    with pytest.raises(quiver.SqlSyntaxError):
        products.search("text_vec", query, where="price <")
    with pytest.raises(quiver.TypeMismatchError):
        products.search("text_vec", query, where="image_vec = 1")


def test_explain_plan(catalogue):
    _, products, data = catalogue
    plain = products.search("text_vec", data["text_vec"][0], k=3)
    assert plain.plan == []
    results = products.fused_search({"text_vec": data["text_vec"][0],
                                     "image_vec": data["image_vec"][0]},
                                    k=3, fusion="WEIGHTED(0.5, 0.5)", explain=True)
    text = "\n".join(results.plan)
    assert text.startswith("FUSE(WEIGHTED(0.5, 0.5)) top 3 over text_vec, image_vec")
    assert "union:" in text and "result 1:" in text


def test_bad_fusion(catalogue):
    _, products, data = catalogue
    vectors = {"text_vec": data["text_vec"][0], "image_vec": data["image_vec"][0]}
    with pytest.raises(quiver.SqlSyntaxError):
        products.fused_search(vectors, fusion="WEIGHTED(0.5")
    with pytest.raises(quiver.InvalidArgumentError):
        products.fused_search(vectors, fusion="WEIGHTED(1, 2, 3)")
    with pytest.raises(quiver.InvalidArgumentError):
        products.fused_search(vectors, normalize="sideways")
    with pytest.raises(quiver.InvalidArgumentError):
        products.fused_search({})


def test_search_like_leaves_the_item_out(catalogue):
    _, products, data = catalogue
    like = products.search_like("p010", ["text_vec", "image_vec"], k=5,
                                fusion="WEIGHTED(0.5, 0.5)")
    assert len(like) == 5 and "p010" not in like.ids
    direct = products.fused_search({"text_vec": data["text_vec"][10],
                                     "image_vec": data["image_vec"][10]},
                                    k=6, fusion="WEIGHTED(0.5, 0.5)")
    assert direct.ids[0] == "p010" and direct.ids[1:] == like.ids
    assert products.search_like("p010", ["text_vec"], k=3).ids == \
        products.search("text_vec", data["text_vec"][10], k=4).ids[1:]
    with pytest.raises(quiver.NotFoundError):
        products.search_like("nope", ["text_vec"])


def test_search_batch_equals_single_searches(catalogue):
    _, products, data = catalogue
    queries = data["text_vec"][:25]
    batch = products.search_batch("text_vec", queries, k=4, threads=2)
    assert len(batch) == 25
    assert batch.distances.shape == batch.scores.shape == (25, 4)
    assert batch.scores.dtype == np.float32
    for q in range(25):
        single = products.search("text_vec", queries[q], k=4)
        assert batch.ids[q] == single.ids
        # Scores and distances mean what they mean in Results.
        np.testing.assert_allclose(batch.scores[q], single.scores, atol=1e-6)
        np.testing.assert_allclose(batch.distances[q], single.distances["text_vec"], atol=1e-6)
    few = products.search_batch("text_vec", queries[:2], k=N + 5)
    assert len(few.ids[0]) == N and np.isnan(few.distances[0, N:]).all()
    assert np.isnan(few.scores[0, N:]).all()


def test_evaluate_scores_the_ranking(catalogue):
    _, products, data = catalogue
    # Each query item's relevant items: its own category.
    queries = [{"qid": f"q{i}", "query_item": data["id"][i], "label": data["category"][i],
                "qrels": {pid: 1 for j, pid in enumerate(data["id"])
                          if data["category"][j] == data["category"][i] and j != i}}
               for i in range(0, 30, 3)]
    report = products.evaluate(queries, ["text_vec", "image_vec"], k=10,
                               fusion="WEIGHTED(0.5, 0.5)", per_query=True)
    assert isinstance(report, quiver.EvaluationReport)
    assert report.k == 10 and report.overall.queries == 10
    assert set(report.by_label) == {"shoe"}
    # Random vectors: a tenth of the top 10 is the query's category on average, a
    # third of the catalogue being its category.
    assert 0.0 <= report.overall.ndcg <= 1.0
    first = report.per_query[0]
    assert first.qid == "q0" and len(first.answer) == 10 and "p000" not in first.answer
    hits = sum(data["category"][data["id"].index(p)] == "shoe" for p in first.answer)
    assert first.metrics.precision == pytest.approx(hits / 10)
    rows = report.rows()
    assert [r["label"] for r in rows] == ["shoe", "(overall)"]
    assert rows[1]["ndcg"] == report.overall.ndcg and rows[0]["queries"] == 10
    assert products.evaluate(queries, ["text_vec"], k=10).per_query is None
    with pytest.raises(quiver.InvalidArgumentError, match="line 1"):
        products.evaluate([{"qid": "x"}], ["text_vec"])


def test_flat_index_on_rabitq_codes(tmp_path):
    """A FLAT index on 1-bit RaBitQ codes: exact distances for what it returns, recall
    rising with refine, EXPLAIN naming the scan, bad parameters refused."""
    rng = np.random.default_rng(3)
    centres = rng.standard_normal((20, 64)).astype(np.float32)
    rows = centres[np.arange(4000) % 20] + 0.4 * rng.standard_normal((4000, 64)).astype(np.float32)
    db = quiver.connect(tmp_path / "codes.quiver")
    c = db.create_collection("c", {"v": "VECTOR(64) L2"})
    assert c.insert_many({"id": [f"r{i}" for i in range(len(rows))], "v": rows}) == len(rows)
    c.flush()
    c.create_index("v", "flat", quantize="rabitq1", refine=2)
    queries = rows[:40] + 0.05 * rng.standard_normal((40, 64)).astype(np.float32)
    recall = {}
    for refine in (1, 2, 16):
        found = 0
        for q in queries:
            got = c.search("v", q, k=10, refine=refine)
            d = ((rows - q) ** 2).sum(axis=1)
            truth = {f"r{i}" for i in np.argsort(d, kind="stable")[:10]}
            found += len(truth & set(got.ids))
            idx = [int(i[1:]) for i in got.ids]
            np.testing.assert_allclose(got.distances["v"], d[idx], rtol=1e-4)
        recall[refine] = found / 400
    assert recall[16] >= 0.97 and recall[16] >= recall[2] >= recall[1], recall
    plan = "\n".join(c.search("v", queries[0], k=10, explain=True).plan)
    assert "scan of rabitq1 codes, best 20 re-scored" in plan, plan
    with pytest.raises(quiver.InvalidArgumentError, match="quantize"):
        c.create_index("v", "flat", quantize="rabitq3")
