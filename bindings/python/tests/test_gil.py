"""Long calls release the GIL: a Python thread keeps counting while they run.

The switch interval is raised to 10 s and the counting thread yields the GIL after each
step, so it can only run while the main thread has let go of the GIL itself: a call
that held the GIL throughout would leave the counter standing (the negative control
below checks that the measurement can fail)."""

import sys
import threading
import time

import numpy as np

from conftest import unit_rows


def count_during(call):
    """How far a yielding Python thread counts while `call()` runs in this thread."""
    counter = [0]
    stop = threading.Event()
    started = threading.Event()

    def spin():
        started.set()
        while not stop.is_set():
            counter[0] += 1
            time.sleep(0)  # releases the GIL

    old = sys.getswitchinterval()
    sys.setswitchinterval(10.0)
    try:
        worker = threading.Thread(target=spin)
        worker.start()
        started.wait()
        before = counter[0]
        call()
        during = counter[0] - before
        stop.set()
        worker.join()
    finally:
        sys.setswitchinterval(old)
    return during


def test_the_measurement_sees_a_call_that_holds_the_gil():
    assert count_during(lambda: sum(range(3_000_000))) < 10


def test_index_build_and_batch_search_release_the_gil(tmp_path):
    import quiver

    rng = np.random.default_rng(1)
    n, dim = 4000, 32
    vectors = unit_rows(rng, n, dim)
    with quiver.connect(tmp_path / "gil") as db:
        c = db.create_collection("c", {"v": f"VECTOR({dim}) COSINE"})
        c.insert_many({"id": [str(i) for i in range(n)], "v": vectors})
        c.flush()
        assert count_during(lambda: c.create_index("v", "hnsw", ef_construction=100)) > 100
        queries = np.repeat(vectors[:200], 10, axis=0)
        assert count_during(lambda: c.search_batch("v", queries, k=10, threads=1)) > 100


def test_evaluate_and_encode_release_the_gil(tmp_path):
    import quiver

    rng = np.random.default_rng(2)
    n, dim = 3000, 32
    vectors = unit_rows(rng, n, dim)
    ids = [str(i) for i in range(n)]
    with quiver.connect(tmp_path / "gil") as db:
        c = db.create_collection("c", {"v": f"VECTOR({dim}) COSINE"})
        c.insert_many({"id": ids, "v": vectors})
        queries = [{"qid": i, "query_item": i, "qrels": {ids[(int(i) + 1) % n]: 1}}
                   for i in ids[:600]]
        assert count_during(lambda: c.evaluate(queries, ["v"], k=10)) > 100
        texts = [f"a sentence about item number {i} and its colour" for i in range(64)]
        assert count_during(lambda: db.encode("minilm", texts)) > 100
