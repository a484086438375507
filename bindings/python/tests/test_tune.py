"""Collection.tune (EVALUATE ... TUNE WEIGHTS) and fusion profiles from Python, on
the toy collection of the SQL tests: column a groups the items by i // 3, column b by
i % 4, column c is noise; label "A" queries want the a group, "B" the b group."""

import numpy as np
import pytest

import quiver

ITEMS = 12


@pytest.fixture
def toy(tmp_path):
    db = quiver.connect(tmp_path / "toy.quiver")
    t = db.create_collection("t", {"a": "VECTOR(2) L2", "b": "VECTOR(2) L2", "c": "VECTOR(2) L2"})
    t.insert_many([
        {"id": f"i{i:02}",
         "a": np.array([(i // 3) * 10 + (i % 3) * 0.1, 0], np.float32),
         "b": np.array([(i % 4) * 10 + (i // 4) * 0.1, 0], np.float32),
         "c": np.array([(i * 7) % ITEMS, 1], np.float32)}
        for i in range(ITEMS)
    ])
    queries = []
    for q in range(ITEMS):
        for label, group in (("A", lambda i: i // 3), ("B", lambda i: i % 4)):
            qrels = {f"i{j:02}": 1 for j in range(ITEMS) if j != q and group(j) == group(q)}
            queries.append({"qid": f"{label}{q}", "query_item": f"i{q:02}", "qrels": qrels,
                            "label": label})
    yield db, t, queries
    db.close()


def test_tune_per_label_saves_profiles_that_search_uses(toy, tmp_path):
    _, t, queries = toy
    png = tmp_path / "tuned.png"
    report = t.tune(queries, ["a", "b", "c"], k=2, per_label=True, folds=3,
                    save_as="modes", plot=str(png))
    assert isinstance(report, quiver.TuningReport)
    assert report.columns == ["a", "b", "c"] and report.k == 2
    assert report.saved == ["modes", "modes/A", "modes/B"]
    everything = report.line("*")
    assert everything.queries == 24 and everything.fusion == "per label"
    assert everything.in_sample == 1.0 and everything.held_out == 1.0
    a, b = report.line("A").weights, report.line("B").weights
    assert a[0] == max(a) and b[1] == max(b), (a, b)
    assert report.gather_seconds >= 0 and report.fit_seconds > 0
    assert png.read_bytes()[1:4] == b"PNG"
    assert {"label", "held_out", "weight_a", "weight_c"} <= set(report.to_pandas().columns)

    vectors = {"a": [10.1, 0], "b": [10.1, 0], "c": [3, 1]}
    by_profile = t.fused_search(vectors, k=5, profile="modes", label="B")
    line = report.line("B")
    written = t.fused_search(vectors, k=5, fusion=line.fusion, normalize=line.normalize)
    assert by_profile.ids == written.ids
    assert np.array_equal(by_profile.scores, written.scores)
    # The same profile through evaluate: its NDCG on label B is the tuner's in-sample.
    evaluated = t.evaluate(queries, ["a", "b", "c"], k=2, fusion="PROFILE modes FOR 'B'")
    assert evaluated.by_label["B"].ndcg == pytest.approx(line.in_sample, abs=1e-12)


def test_tune_refuses_bad_requests_and_saves_nothing(toy):
    db, t, queries = toy
    with pytest.raises(quiver.InvalidArgumentError, match="FOLDS 30"):
        t.tune(queries, ["a", "b"], k=2, folds=30, save_as="x")
    with pytest.raises(quiver.InvalidArgumentError, match="two terms"):
        t.tune(queries, ["a"], k=2, save_as="x")
    with pytest.raises(quiver.UnknownColumnError):
        t.tune(queries, ["a", "nowhere"], k=2, save_as="x")
    assert db.sql("SHOW FUSION PROFILES") == []
    with pytest.raises(quiver.InvalidArgumentError, match="no fusion profile x"):
        t.fused_search({"a": [1, 0], "b": [1, 0]}, profile="x")
    with pytest.raises(quiver.InvalidArgumentError, match="give profile"):
        t.fused_search({"a": [1, 0], "b": [1, 0]}, label="A")
