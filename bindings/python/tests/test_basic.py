"""The core Python API: connect, SQL, insert/get/delete, search, and the exception
hierarchy on bad input."""

import math

import numpy as np
import pytest

import quiver

SCHEMA = (
    "CREATE COLLECTION products (title TEXT, price FLOAT, stock INT, on_sale BOOL, "
    "tags TEXT[], text_vec VECTOR(3) L2)"
)


@pytest.fixture
def db(tmp_path):
    db = quiver.connect(tmp_path / "db.quiver")
    db.sql(SCHEMA)
    return db


@pytest.fixture
def products(db):
    c = db.collection("products")
    c.insert("p1", title="red shoe", price=59.5, stock=3, on_sale=True,
             tags=["red", "shoe"], text_vec=[1.0, 0.0, 0.0])
    c.insert("p2", title="blue hat", price=20, text_vec=[0.0, 1.0, 0.0])
    c.insert("p3", title="green scarf", text_vec=(0.0, 0.0, 1.0))
    return c


def test_connect_and_sql_create(db):
    assert db.collection_names() == ["products"]
    assert isinstance(db.sql("SHOW COLLECTIONS"), list)


def test_insert_get_roundtrips_every_type(products):
    assert products.count() == 3
    assert len(products) == 3
    item = products.get("p1")
    vector = item.pop("text_vec")
    assert item == {
        "id": "p1",
        "title": "red shoe",
        "price": 59.5,
        "stock": 3,
        "on_sale": True,
        "tags": ["red", "shoe"],
    }
    assert vector.dtype == np.float32 and vector.tolist() == [1.0, 0.0, 0.0]
    assert type(item["stock"]) is int and type(item["on_sale"]) is bool
    p3 = products.get("p3")
    assert p3["price"] is None and p3["tags"] is None
    assert products.get("nope") is None


def test_upsert_and_delete(products):
    products.upsert("p2", title="navy hat", text_vec=[0.0, 1.0, 0.1])
    assert products.get("p2")["title"] == "navy hat"
    assert products.get("p2")["price"] is None  # upsert replaces the whole item
    products.delete("p2")
    assert products.get("p2") is None
    assert products.count() == 2
    products.delete("p2")  # deleting a missing id is a no-op, as in the engine
    assert products.count() == 2
    with pytest.raises(quiver.DuplicateIdError):
        products.insert("p1", text_vec=[1.0, 1.0, 1.0])


def test_search_nearest(products):
    hits = products.search("text_vec", [0.9, 0.1, 0.0], k=2)
    assert hits.ids == ["p1", "p2"]
    distances = hits.distances["text_vec"]
    assert distances.dtype == np.float32 and distances[0] <= distances[1]
    assert all(math.isfinite(d) for d in distances)
    # L2 distance: squared Euclidean from the query.
    assert distances[0] == pytest.approx(0.1**2 + 0.1**2, rel=1e-5)
    assert hits.scores[0] >= hits.scores[1]
    # Any sequence of numbers works as the query, ints included, and numpy arrays.
    assert products.search("text_vec", (0, 0, 1), k=1).ids == ["p3"]
    assert products.search("text_vec", np.array([0, 1, 0], np.float32), k=1).ids == ["p2"]


def test_sql_rows_and_done(db, products):
    rows = db.sql("SELECT id, title, price FROM products WHERE stock = 3")
    assert rows == [{"id": "p1", "title": "red shoe", "price": 59.5}]
    message = db.sql("INSERT INTO products (id, title, text_vec) VALUES ('p9', 'x', [1, 1, 1])")
    assert isinstance(message, str)
    assert products.get("p9")["title"] == "x"
    nearest = db.sql("SELECT id FROM products ORDER BY text_vec <-> [0, 1, 0] LIMIT 1")
    assert nearest == [{"id": "p2"}]


def test_wrong_dimension_raises(products):
    with pytest.raises(quiver.DimensionMismatchError) as info:
        products.insert("bad", text_vec=[1.0, 2.0])
    assert isinstance(info.value, quiver.InvalidArgumentError)
    assert isinstance(info.value, quiver.QuiverError)
    with pytest.raises(quiver.DimensionMismatchError):
        products.search("text_vec", [1.0, 2.0, 3.0, 4.0])


def test_nan_and_wrong_types_raise(products):
    with pytest.raises(quiver.NonFiniteVectorError):
        products.insert("nan", text_vec=[float("nan"), 0.0, 0.0])
    with pytest.raises(quiver.TypeMismatchError):
        products.insert("t1", title=3, text_vec=[1.0, 0.0, 0.0])
    with pytest.raises(quiver.TypeMismatchError):
        products.insert("t2", text_vec="abc")
    with pytest.raises(quiver.TypeMismatchError):
        products.insert("t3", stock=True, text_vec=[1.0, 0.0, 0.0])
    with pytest.raises(quiver.TypeMismatchError):
        products.search("text_vec", ["a", "b", "c"])
    assert products.count() == 3


def test_unknown_column_raises(products):
    with pytest.raises(quiver.UnknownColumnError):
        products.insert("x", colour="red", text_vec=[1.0, 0.0, 0.0])
    with pytest.raises(quiver.UnknownColumnError):
        products.search("image_vec", [1.0, 0.0, 0.0])


def test_unknown_collection_raises(db):
    with pytest.raises(quiver.UnknownCollectionError):
        db.collection("nope")


def test_second_writer_is_locked(tmp_path):
    path = tmp_path / "locked.quiver"
    first = quiver.connect(path)
    with pytest.raises(quiver.LockedError):
        quiver.connect(path)
    del first


def test_malformed_sql_raises_syntax_error(db):
    with pytest.raises(quiver.SqlSyntaxError) as info:
        db.sql("SELEC id FROM products")
    assert isinstance(info.value, quiver.QuiverError)
    assert "1:1" in str(info.value)


def test_exception_hierarchy():
    for name in [
        "CorruptedError", "DimensionMismatchError", "LockedError", "UnknownColumnError",
        "EncoderError", "InvalidArgumentError", "SqlSyntaxError",
    ]:
        assert issubclass(getattr(quiver, name), quiver.QuiverError)
    assert issubclass(quiver.QuiverError, Exception)
