"""The encoders from Python (weights installed by scripts/fetch-models, which the
README's test command runs first)."""

import numpy as np
import pytest

import quiver


def test_minilm_texts(tmp_path):
    with quiver.connect(tmp_path / "enc") as db:
        assert {"minilm", "effnet", "clip"} <= set(db.encoders())
        vectors = db.encode("minilm", ["a red running shoe", "a red sneaker", "tax law"])
        assert vectors.shape == (3, 384) and vectors.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
        assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
        # The same model through SQL's EMBED gives the same vector.
        db.sql("CREATE COLLECTION t (title TEXT, v VECTOR(384) COSINE "
               "EMBED FROM title USING 'minilm')")
        t = db.collection("t")
        t.insert("a", title="a red running shoe")
        np.testing.assert_allclose(t.get("a")["v"], vectors[0], atol=1e-6)
        assert t.search("v", vectors[1], k=1).ids == ["a"]


def test_encoder_errors(tmp_path):
    with quiver.connect(tmp_path / "enc") as db:
        with pytest.raises(quiver.EncoderError):
            db.encode("no-such-model", ["x"])
        with pytest.raises(quiver.EncoderError):
            db.encode_images("effnet", [str(tmp_path / "missing.png")])
