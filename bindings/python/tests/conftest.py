"""Shared fixtures: a database with a two-column product catalogue."""

import numpy as np
import pytest

import quiver

N = 300
TEXT_DIM, IMAGE_DIM = 16, 24
CATEGORIES = ["shoe", "hat", "scarf"]


def unit_rows(rng, n, dim):
    rows = rng.standard_normal((n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.fixture
def catalogue(tmp_path):
    """(db, collection, data): N items with text_vec, image_vec, category and price."""
    rng = np.random.default_rng(7)
    db = quiver.connect(tmp_path / "catalogue.quiver")
    products = db.create_collection("products", {
        "category": "TEXT",
        "price": "FLOAT",
        "text_vec": f"VECTOR({TEXT_DIM}) COSINE",
        "image_vec": f"VECTOR({IMAGE_DIM}) COSINE",
    })
    data = {
        "id": [f"p{i:03}" for i in range(N)],
        "category": [CATEGORIES[i % 3] for i in range(N)],
        "price": [float(i) for i in range(N)],
        "text_vec": unit_rows(rng, N, TEXT_DIM),
        "image_vec": unit_rows(rng, N, IMAGE_DIM),
    }
    assert products.insert_many(data) == N
    yield db, products, data
    db.close()


def cosine_distances(rows, query):
    """Cosine distance of each (unit) row to `query`."""
    q = query / np.linalg.norm(query)
    return 1.0 - rows @ q
