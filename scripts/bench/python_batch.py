"""The Python side of the batch-QPS comparison: `Collection.search_batch` over a
prepared dataset's queries on `quiver-bench batch`'s database (same column, ef, k,
threads), each repetition timed whole, ids and distances returned to Python.

    python python_batch.py --data DIR --db FOLDER [--ef 64 --k 10 --threads 1 --reps 5]
"""
import argparse
import time

import numpy as np

import quiver


def read_fvecs(path):
    raw = np.fromfile(path, dtype=np.int32)
    dim = raw[0]
    return raw.reshape(-1, dim + 1)[:, 1:].view(np.float32).copy()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--db", required=True)
    p.add_argument("--ef", type=int, default=64)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--reps", type=int, default=5)
    a = p.parse_args()
    queries = read_fvecs(f"{a.data}/query.fvecs")
    with quiver.connect(a.db) as db:
        items = db.collection("items")
        qps = []
        for _ in range(a.reps):
            t = time.perf_counter()
            ids = items.search_batch("a", queries, k=a.k, ef=a.ef, threads=a.threads).ids
            qps.append(len(queries) / (time.perf_counter() - t))
            assert len(ids) == len(queries)
    shown = " ".join(f"{q:.0f}" for q in qps)
    print(f"python search_batch: ef {a.ef}, k {a.k}, {a.threads} threads: QPS per rep {shown}")


if __name__ == "__main__":
    main()
