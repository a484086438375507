"""Creating and dropping collections, indexes, update, close / context manager,
reopening, and a damaged file."""

import numpy as np
import pytest

import quiver

from conftest import N, TEXT_DIM


def test_create_collection_from_str_and_drop(tmp_path):
    with quiver.connect(tmp_path / "db") as db:
        notes = db.create_collection("notes", "body TEXT, v VECTOR(2) L2")
        assert notes.columns == ["body", "v"]
        notes.insert("n1", body="hello", v=[1.0, 2.0])
        assert "n1" in notes and "n2" not in notes
        with pytest.raises(quiver.QuiverError):
            db.create_collection("notes", "body TEXT")
        db.drop_collection("notes")
        assert db.collection_names() == []
        with pytest.raises(quiver.UnknownCollectionError):
            notes.count()


def test_update_keeps_other_columns(catalogue):
    _, products, _ = catalogue
    products.update("p001", price=9.5)
    item = products.get("p001")
    assert item["price"] == 9.5 and item["category"] == "hat"
    with pytest.raises(quiver.NotFoundError):
        products.update("nope", price=1.0)


def test_indexes_answer_like_exact_search(catalogue):
    _, products, data = catalogue
    products.flush()
    products.create_index("text_vec", "hnsw", m=8, ef_construction=64)
    products.create_index("image_vec", "ivfpq", nlist=4, m=4, refine=50)
    query = data["text_vec"][11]
    assert products.search("text_vec", query, k=1, ef=64).ids == ["p011"]
    exact = products.search("text_vec", query, k=10, exact=True).ids
    approx = products.search("text_vec", query, k=10, ef=200).ids
    assert len(set(exact) & set(approx)) >= 9
    assert products.search("image_vec", data["image_vec"][12], k=1, nprobe=4).ids == ["p012"]
    with pytest.raises(quiver.InvalidArgumentError):
        products.create_index("text_vec", "btree")
    with pytest.raises(quiver.InvalidArgumentError):
        products.create_index("text_vec", "hnsw", nlist=3)
    products.drop_index("text_vec")
    products.compact()
    assert products.search("text_vec", query, k=1).ids == ["p011"]


def test_close_releases_the_database(tmp_path, catalogue):
    db, products, data = catalogue
    path = db.path
    db.close()
    assert db.closed
    db.close()  # twice is fine
    with pytest.raises(quiver.ClosedError):
        products.count()
    with pytest.raises(quiver.ClosedError):
        db.sql("SHOW COLLECTIONS")
    # The writer lock is gone: the folder opens again, with every committed item.
    with quiver.connect(path) as again:
        reopened = again.collection("products")
        assert reopened.count() == N
        np.testing.assert_array_equal(reopened.get("p007")["text_vec"], data["text_vec"][7])
        with pytest.raises(quiver.LockedError):
            quiver.connect(path)
    assert again.closed


def test_damaged_manifest_is_a_corrupted_error(tmp_path):
    path = tmp_path / "db"
    with quiver.connect(path) as db:
        c = db.create_collection("c", {"v": f"VECTOR({TEXT_DIM}) L2"})
        c.insert("a", v=np.ones(TEXT_DIM, np.float32))
        db.flush()
    manifest = path / "MANIFEST"
    raw = bytearray(manifest.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    manifest.write_bytes(bytes(raw))
    with pytest.raises(quiver.CorruptedError):
        quiver.connect(path)


def test_verify_finds_a_damaged_segment(tmp_path):
    path = tmp_path / "db"
    with quiver.connect(path) as db:
        c = db.create_collection("c", {"v": f"VECTOR({TEXT_DIM}) L2"})
        c.insert_many({"id": [str(i) for i in range(50)],
                       "v": np.arange(50 * TEXT_DIM, dtype=np.float32).reshape(50, TEXT_DIM)})
        c.flush()
        checks = db.verify()
        assert checks and all(r["status"] == "ok" for r in checks)
        assert {"MANIFEST", "checksums"} <= {r["file"] for r in checks} | {r["check"] for r in checks}
    segment = next(path.glob("*.qseg"))
    raw = bytearray(segment.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    segment.write_bytes(bytes(raw))
    report = quiver.verify(path)
    assert report[0]["status"] == "PROBLEM" and report[0]["file"] == segment.name
    assert report[0]["collection"] == "c"


def test_repair_drops_damaged_rows_only_when_asked(tmp_path):
    path = tmp_path / "db"
    ids = [str(i) for i in range(50)]
    with quiver.connect(path) as db:
        c = db.create_collection("c", {"v": f"VECTOR({TEXT_DIM}) L2"})
        c.insert_many({"id": ids,
                       "v": np.arange(50 * TEXT_DIM, dtype=np.float32).reshape(50, TEXT_DIM)})
        c.flush()
        assert db.repair() == []
        c.insert("late", v=np.ones(TEXT_DIM, dtype=np.float32))
    segment = next(path.glob("*.qseg"))
    raw = bytearray(segment.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    segment.write_bytes(bytes(raw))
    with quiver.connect(path):
        with pytest.raises(quiver.LockedError):
            quiver.repair(path)
    [left] = quiver.repair(path)
    assert left["action"] == "needs_drop" and left["file"] == segment.name
    [dropped] = quiver.repair(path, drop_damaged_segments=True)
    assert dropped["action"] == "dropped" and dropped["lost_exact"]
    assert sorted(dropped["lost"]) == sorted(ids) and dropped["lost_count"] == 50
    with quiver.connect(path) as db:
        c = db.collection("c")
        assert c.count() == 1 and "late" in c
        assert all(r["status"] == "ok" for r in db.verify())


def test_io_errors_name_their_cause(tmp_path):
    with pytest.raises(quiver.IoError) as info:
        quiver.verify(tmp_path / "does-not-exist")
    # The engine's text, then the operating system's cause.
    assert "No such file or directory" in str(info.value)
