"""numpy arrays in and out: batch inserts, dtypes, shapes, strides, NaN."""

import numpy as np
import pytest

import quiver

from conftest import IMAGE_DIM, N, TEXT_DIM


def test_columnar_insert_stores_every_row(catalogue):
    _, products, data = catalogue
    assert products.count() == N
    item = products.get("p042")
    assert item["category"] == data["category"][42]
    assert item["price"] == 42.0
    np.testing.assert_array_equal(item["text_vec"], data["text_vec"][42])
    np.testing.assert_array_equal(item["image_vec"], data["image_vec"][42])


def test_row_dicts_insert_and_upsert(catalogue):
    _, products, _ = catalogue
    rows = [
        {"id": "r1", "category": "hat", "text_vec": np.ones(TEXT_DIM, np.float32),
         "image_vec": [0.5] * IMAGE_DIM},
        {"id": "r2", "text_vec": np.arange(TEXT_DIM, dtype=np.float32) + 1,
         "image_vec": np.ones(IMAGE_DIM, np.float32)},
    ]
    assert products.insert_many(rows) == 2
    assert products.get("r2")["category"] is None
    rows[1]["category"] = "shoe"
    assert products.upsert_many(rows) == 2
    assert products.get("r2")["category"] == "shoe"
    assert products.count() == N + 2


def test_strided_arrays_read_like_contiguous_ones(catalogue):
    _, products, data = catalogue
    wide = np.zeros((3, TEXT_DIM * 2), np.float32)
    wide[:, ::2] = data["text_vec"][:3]
    view = wide[:, ::2]  # every other column: not contiguous
    assert not view.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(view, data["text_vec"][:3])
    assert not view[1].flags["C_CONTIGUOUS"]
    contiguous = products.search("text_vec", data["text_vec"][1], k=5)
    strided = products.search("text_vec", view[1], k=5)
    assert strided.ids == contiguous.ids and strided.ids[0] == "p001"
    fortran = np.asfortranarray(data["text_vec"][:10])
    ids = products.search_batch("text_vec", fortran, k=3).ids
    expected = products.search_batch("text_vec", data["text_vec"][:10], k=3).ids
    assert ids == expected
    products.insert_many({"id": ["s1", "s2", "s3"], "text_vec": view,
                          "image_vec": np.ones((3, IMAGE_DIM), np.float32)})
    np.testing.assert_array_equal(products.get("s2")["text_vec"], data["text_vec"][1])


def test_wrong_dtype_is_refused(catalogue):
    _, products, data = catalogue
    with pytest.raises(quiver.TypeMismatchError, match="float32"):
        products.search("text_vec", data["text_vec"][0].astype(np.float64))
    with pytest.raises(quiver.TypeMismatchError, match="float32"):
        products.insert("x", text_vec=np.ones(TEXT_DIM, np.int64),
                        image_vec=np.ones(IMAGE_DIM, np.float32))
    with pytest.raises(quiver.TypeMismatchError):
        products.insert_many({"id": ["a"], "text_vec": np.ones((1, TEXT_DIM)),
                              "image_vec": np.ones((1, IMAGE_DIM), np.float32)})
    assert products.count() == N


def test_wrong_shape_is_refused(catalogue):
    _, products, _ = catalogue
    # A 2-D query ranks a multi-vector column by MAXSIM; text_vec holds one vector.
    with pytest.raises(quiver.InvalidArgumentError, match="query it with one vector"):
        products.search("text_vec", np.ones((1, TEXT_DIM), np.float32))
    with pytest.raises(quiver.InvalidArgumentError, match="2-D"):
        products.search_batch("text_vec", np.ones(TEXT_DIM, np.float32))
    with pytest.raises(quiver.DimensionMismatchError):
        products.search_batch("text_vec", np.ones((4, TEXT_DIM + 1), np.float32))
    with pytest.raises(quiver.InvalidArgumentError, match="values for 2 ids"):
        products.insert_many({"id": ["a", "b"], "text_vec": np.ones((3, TEXT_DIM), np.float32),
                              "image_vec": np.ones((2, IMAGE_DIM), np.float32)})
    with pytest.raises(quiver.InvalidArgumentError, match="row 1"):
        products.search_batch("text_vec", [[1.0] * TEXT_DIM, [1.0] * 3])
    assert products.count() == N


def test_nan_in_a_batch_writes_nothing(catalogue):
    _, products, _ = catalogue
    vectors = np.ones((3, TEXT_DIM), np.float32)
    vectors[2, 5] = np.nan
    with pytest.raises(quiver.NonFiniteVectorError):
        products.insert_many({"id": ["n1", "n2", "n3"], "text_vec": vectors,
                              "image_vec": np.ones((3, IMAGE_DIM), np.float32)})
    assert products.count() == N and products.get("n1") is None
    with pytest.raises(quiver.NonFiniteVectorError):
        products.search("text_vec", vectors[2])


def test_unknown_column_in_batch(catalogue):
    _, products, _ = catalogue
    with pytest.raises(quiver.UnknownColumnError):
        products.insert_many({"id": ["a"], "colour": ["red"]})
    with pytest.raises(quiver.UnknownColumnError):
        products.search("colour_vec", np.ones(TEXT_DIM, np.float32))
    with pytest.raises(quiver.InvalidArgumentError, match="no \"id\""):
        products.insert_many([{"category": "hat"}])


def test_numpy_scalars_fill_attribute_columns(tmp_path):
    with quiver.connect(tmp_path / "scalars") as db:
        c = db.create_collection("c", "n INT, x FLOAT, b BOOL, v VECTOR(2) L2")
        c.insert_many({"id": ["a", "b"], "n": np.array([1, 2], np.int64),
                       "x": np.array([0.5, 1.5], np.float32), "b": np.array([True, False]),
                       "v": np.zeros((2, 2), np.float32)})
        item = c.get("b")
        assert (item["n"], item["x"], item["b"]) == (2, 1.5, False)
        assert type(item["n"]) is int and type(item["b"]) is bool
        with pytest.raises(quiver.TypeMismatchError):
            c.insert("c", b=np.int64(1), v=[0.0, 0.0])
        with pytest.raises(quiver.TypeMismatchError):
            c.insert("d", n=np.True_, v=[0.0, 0.0])


def test_half_precision_columns_store_rounded_values(tmp_path):
    db = quiver.connect(tmp_path / "half.quiver")
    items = db.create_collection("items", {"v": "VECTOR(4) F16 COSINE", "b": "VECTOR(4) BF16 L2"})
    rng = np.random.default_rng(3)
    v = rng.standard_normal((50, 4)).astype(np.float32)
    items.insert_many({"id": [f"i{n}" for n in range(50)], "v": v, "b": v})
    for when in ("memtable", "segment"):
        got = items.get("i7")
        np.testing.assert_array_equal(got["v"], v[7].astype(np.float16).astype(np.float32))
        assert not np.array_equal(got["v"], v[7])
        assert items.search("v", v[7], k=1).ids == ["i7"], when
        db.flush()
    with pytest.raises(quiver.OutOfRangeError, match="beyond F16's range"):
        items.insert("big", v=np.array([1, 2, 3, 70000], np.float32), b=v[0])
    assert len(items) == 50
