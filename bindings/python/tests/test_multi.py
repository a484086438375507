"""Multi-vector columns from Python: lists of vectors or (n, d) arrays in, (n, d)
float32 arrays out, search by the nearest vector (which one matched) and by MAXSIM
(a 2-D query), fused, search_like, bad input refused with nothing written."""

import numpy as np
import pytest

import quiver


@pytest.fixture
def clips(tmp_path):
    db = quiver.connect(tmp_path / "clips.quiver")
    clips = db.create_collection(
        "clips", {"title": "TEXT", "frames": "VECTOR(2)[] L2 NULL", "v": "VECTOR(2) L2"})
    clips.insert_many([
        {"id": "a", "title": "cats", "frames": [[0, 0], [10, 10]], "v": [1, 0]},
        {"id": "b", "title": "dogs", "frames": np.array([[5, 5]], dtype=np.float32),
         "v": [0, 1]},
        {"id": "c", "title": "none", "v": [1, 1]},
    ])
    yield db, clips
    db.close()


def test_values_round_trip_as_2d_arrays(clips):
    _, clips = clips
    frames = clips.get("a")["frames"]
    assert frames.dtype == np.float32 and frames.shape == (2, 2)
    assert frames.tolist() == [[0, 0], [10, 10]]
    assert clips.get("c")["frames"] is None
    clips.flush()
    assert clips.get("b")["frames"].tolist() == [[5, 5]]


def test_search_by_nearest_vector_and_maxsim(clips):
    _, clips = clips
    hits = clips.search("frames", [9, 9], k=5)
    assert hits.ids == ["a", "b"]  # c has no vectors
    assert hits.elements == [1, 0]  # a matched by its second vector
    assert hits.to_dicts()[0]["element"] == 1
    maxsim = clips.search("frames", np.array([[0, 0], [10, 10]], dtype=np.float32), k=5)
    assert maxsim.ids == ["a", "b"]
    assert maxsim.scores.tolist() == [0.0, -100.0]
    assert maxsim.elements == [None, None]
    fused = clips.fused_search({"frames": [0, 1], "v": [1, 0]}, k=1)
    assert fused.ids == ["a"]
    like = clips.search_like("b", ["frames"], k=1)
    assert like.ids == ["a"]
    table = clips.search("frames", [9, 9], k=2, select=["frames"]).to_pydict()
    assert table["frames"][0] == [[0, 0], [10, 10]] and table["element"] == [1, 0]


def test_bad_multi_vector_input_is_refused_and_writes_nothing(clips):
    _, clips = clips
    with pytest.raises(quiver.InvalidArgumentError, match="vector 1"):
        clips.insert("x", frames=[[1, 2], [1, float("nan")]], v=[0, 0])
    with pytest.raises(quiver.InvalidArgumentError, match="row 1"):
        clips.insert("x", frames=[[1, 2], [1, 2, 3]], v=[0, 0])
    with pytest.raises(quiver.InvalidArgumentError, match="vector 0"):
        clips.insert("x", frames=np.ones((2, 3), dtype=np.float32), v=[0, 0])
    with pytest.raises(quiver.TypeMismatchError):
        clips.insert("x", frames=np.ones((2, 2), dtype=np.float64), v=[0, 0])
    with pytest.raises(quiver.InvalidArgumentError, match="multi-vector"):
        clips.search("v", [[1, 0], [0, 1]])
    with pytest.raises(quiver.DimensionMismatchError):
        clips.search("frames", [1, 0, 0])
    assert clips.count() == 3
