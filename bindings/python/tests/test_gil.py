"""Long calls release the GIL: a Python thread keeps counting while they run. (With
the GIL held for the whole call, the counter would stand still.)"""

import threading

import numpy as np

from conftest import unit_rows


def count_during(call):
    """How far a busy Python thread counts while `call()` runs in this thread."""
    counter = [0]
    stop = threading.Event()
    started = threading.Event()

    def spin():
        started.set()
        while not stop.is_set():
            counter[0] += 1

    worker = threading.Thread(target=spin)
    worker.start()
    started.wait()
    before = counter[0]
    call()
    during = counter[0] - before
    stop.set()
    worker.join()
    return during


def test_index_build_and_batch_search_release_the_gil(tmp_path):
    import quiver

    rng = np.random.default_rng(1)
    n, dim = 4000, 32
    vectors = unit_rows(rng, n, dim)
    with quiver.connect(tmp_path / "gil") as db:
        c = db.create_collection("c", {"v": f"VECTOR({dim}) COSINE"})
        c.insert_many({"id": [str(i) for i in range(n)], "v": vectors})
        c.flush()
        assert count_during(lambda: c.create_index("v", "hnsw", ef_construction=100)) > 1000
        queries = np.repeat(vectors[:200], 10, axis=0)
        assert count_during(lambda: c.search_batch("v", queries, k=10, threads=1)) > 1000
