"""Hits carry the attributes asked for and convert to Arrow, pandas and polars;
connect's read_only and durability."""

import numpy as np
import pyarrow as pa
import pandas as pd
import polars as pl
import pytest

import quiver
from conftest import N, TEXT_DIM


def test_hits_carry_every_attribute_by_default(catalogue):
    _, products, data = catalogue
    hits = products.search("text_vec", data["text_vec"][5], k=4)
    assert hits.ids[0] == "p005"
    assert set(hits.attributes) == {"category", "price"}
    for i, pid in enumerate(hits.ids):
        row = data["id"].index(pid)
        assert hits.attributes["category"][i] == data["category"][row]
        assert hits.attributes["price"][i] == data["price"][row]
    first = hits.to_dicts()[0]
    assert list(first)[:4] == ["id", "category", "price", "score"]
    assert first["category"] == data["category"][5]


def test_select_picks_columns_vectors_included(catalogue):
    _, products, data = catalogue
    hits = products.fused_search({"text_vec": data["text_vec"][9], "image_vec": data["image_vec"][9]},
                                 k=3, fusion="WEIGHTED(0.5, 0.5)", select=["price", "image_vec"])
    assert list(hits.attributes) == ["price", "image_vec"]
    np.testing.assert_array_equal(hits.attributes["image_vec"][0], data["image_vec"][9])
    assert products.search("text_vec", data["text_vec"][0], k=2, select=[]).attributes == {}
    like = products.search_like("p010", ["text_vec"], k=3, select=["category"])
    assert "p010" not in like.ids and len(like.attributes["category"]) == 3
    with pytest.raises(quiver.UnknownColumnError):
        products.search("text_vec", data["text_vec"][0], select=["colour"])


def test_results_convert_to_arrow_pandas_and_polars(catalogue):
    _, products, data = catalogue
    hits = products.fused_search({"text_vec": data["text_vec"][3], "image_vec": data["image_vec"][3]},
                                 k=5, where="price >= 3")
    columns = ["id", "category", "price", "score", "text_vec_distance", "text_vec_score",
               "image_vec_distance", "image_vec_score"]
    table = hits.to_arrow()
    assert isinstance(table, pa.Table) and table.column_names == columns
    assert table.num_rows == 5 and table.column("id").to_pylist() == hits.ids
    assert table.schema.field("score").type == pa.float32()
    assert table.schema.field("price").type == pa.float64()
    frame = hits.to_pandas()
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == columns
    assert (frame["price"] >= 3).all()
    np.testing.assert_array_equal(frame["score"].to_numpy(), hits.scores)
    polars_frame = hits.to_polars()
    assert isinstance(polars_frame, pl.DataFrame) and polars_frame.columns == columns
    assert polars_frame["id"].to_list() == hits.ids
    empty = products.search("text_vec", data["text_vec"][0], k=3, where="price > 1e9")
    assert empty.to_arrow().num_rows == 0 and len(empty.to_pandas()) == 0


def test_evaluation_report_to_pandas(catalogue):
    _, products, data = catalogue
    queries = [{"qid": f"q{i}", "query_item": data["id"][i], "label": data["category"][i],
                "qrels": {data["id"][(i + 3) % N]: 1}} for i in range(9)]
    report = products.evaluate(queries, ["text_vec"], k=5)
    frame = report.to_pandas()
    assert list(frame["label"]) == ["hat", "scarf", "shoe", "(overall)"]
    assert frame.set_index("label").loc["(overall)", "queries"] == 9
    assert frame.set_index("label").loc["(overall)", "ndcg"] == report.overall.ndcg


def test_connect_read_only_and_durability(tmp_path):
    path = tmp_path / "db.quiver"
    with pytest.raises(quiver.QuiverError):
        quiver.connect(path, read_only=True)  # nothing to read yet
    with quiver.connect(path, durability="never") as db:
        assert not db.read_only
        items = db.create_collection("items", {"v": f"VECTOR({TEXT_DIM}) L2"})
        items.insert("a", v=np.ones(TEXT_DIM, np.float32))
    with quiver.connect(path, durability=0.05) as db:
        db.collection("items").insert("b", v=np.zeros(TEXT_DIM, np.float32))
        reader = quiver.connect(path, read_only=True)  # beside the writer: no lock
        assert reader.read_only and reader.collection("items").count() == 2
        with pytest.raises(quiver.ReadOnlyError):
            reader.collection("items").insert("c", v=np.zeros(TEXT_DIM, np.float32))
        reader.close()
    assert quiver.connect(path, read_only=True).collection("items").count() == 2
    for bad in ["sometimes", 0, -1.0, float("nan")]:
        with pytest.raises(quiver.InvalidArgumentError, match="durability"):
            quiver.connect(path, durability=bad)
