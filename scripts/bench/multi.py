"""Multi-vector columns (`frames VECTOR(384)[] COSINE`) on a keyframe-like set, beside
what users build by hand today: one item per vector in a single-vector column, a
search for more vectors than needed, then a group-by in Python.

    python multi.py DATA_DIR OUT [ITEMS]    # DATA_DIR: ../shared/bench/data/minilm-384-angular

The set: ITEMS items (default 20,000), item i holding 4..32 vectors (uniform, seeded)
drawn around its centre, the i-th MiniLM sentence embedding: centre + N(0, 0.03²) per
dimension, re-normalized (cosine ≈ 0.86 to the centre, so an item's vectors are
closer to one another than to other items', as a video's keyframes are). Queries: the
first 500 held-out MiniLM query sentences; a MAXSIM query is the sentence and two
noisy copies of it (3 vectors, as a short query clip would give).

Ground truth: exact, in numpy (float32 dot products of unit vectors): an item's `<->`
score is its best cosine, its MAXSIM score the sum over the query's vectors of each
one's best cosine; ties by item number.

Measured in one process, one query at a time (an index search runs on the calling
thread):
1. Quiver, multi-vector column + HNSW over the elements (m=16, ef_construction=200,
   8-bit codes): recall@10 and QPS of `<->` and MAXSIM per ef.
2. The same vectors, one item per vector + HNSW (same parameters), as a single-vector
   column: its own recall@10 (top 10 vectors against the exact top 10 vectors) and QPS
   per ef: the latency a single-vector column of the same total vectors has.
3. By hand on that layout: search the top 10·F vectors (F = 1, 2, ..., 32; ef = the
   larger of 64 and 10·F), keep each item's best, the first 10 items: recall@10
   against the item ground truth, QPS.
Memory: each database's segment files, beside the bytes of the vectors alone.
"""

import json
import sys
import time
from pathlib import Path

import numpy as np

import quiver

K = 10
QUERIES = 500
SIGMA = 0.03
EFS = [16, 24, 32, 48, 64, 96, 128, 256]


def unit(a):
    return a / np.linalg.norm(a, axis=-1, keepdims=True)


def build_set(data, items, rng):
    base = np.load(data / "base.npy").astype(np.float32)[:items]
    counts = rng.integers(4, 33, size=items)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    centres = np.repeat(base, counts, axis=0)
    elements = unit(centres + rng.normal(0, SIGMA, centres.shape).astype(np.float32))
    return elements.astype(np.float32), offsets


def item_best(vectors, elements, offsets, chunk=100):
    """Per query vector, each item's best cosine (items x vectors), and the top K
    vectors' numbers (ties by number): one GEMM per chunk of query vectors."""
    best = np.empty((len(offsets) - 1, len(vectors)), np.float32)
    top_vectors = []
    for start in range(0, len(vectors), chunk):
        sims = elements @ vectors[start:start + chunk].T
        best[:, start:start + chunk] = np.maximum.reduceat(sims, offsets[:-1], axis=0)
        for c in range(sims.shape[1]):
            top_vectors.append(top_k(sims[:, c]))
    return best, top_vectors


def top_k(scores):
    """The K best numbers, ties by number."""
    part = np.argpartition(-scores, K)[:K * 4] if len(scores) > K * 4 else np.arange(len(scores))
    kth = np.sort(scores[part])[::-1][K - 1]
    candidates = np.nonzero(scores >= kth)[0]
    order = np.lexsort((candidates, -scores[candidates].astype(np.float64)))
    return list(candidates[order][:K])


def recall(found, truth):
    return float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth)]))


def timed(run, queries):
    run(queries[0])  # warm
    started = time.perf_counter()
    found = [run(q) for q in queries]
    return found, len(queries) / (time.perf_counter() - started)


def folder_bytes(path):
    return sum(f.stat().st_size for f in Path(path).glob("seg-*.qseg"))


def load(db, name, schema, rows, index_column):
    """Inserts `rows` (dicts of columns), seals everything into one segment and builds
    the index on it; returns the build seconds (None: loaded by an earlier run)."""
    if name in db.collection_names():
        return db.collection(name), None
    c = db.create_collection(name, schema)
    for start in range(0, len(rows["id"]), 2000):
        c.insert_many({k: v[start:start + 2000] for k, v in rows.items()})
    c.flush()
    c.compact()
    started = time.perf_counter()
    c.create_index(index_column, "hnsw")
    return c, time.perf_counter() - started


def main(data, out, items):
    rng = np.random.default_rng(20261207)
    elements, offsets = build_set(data, items, rng)
    n = len(elements)
    print(f"set: {items} items, {n} vectors of 384 ({n / items:.1f} per item), "
          f"vectors alone {n * 384 * 4 / 1e6:.1f} MB")
    queries = np.load(data / "query.npy").astype(np.float32)[:QUERIES]
    queries = unit(queries)
    clips = [np.stack([q, *unit(q + rng.normal(0, SIGMA, (2, 384)).astype(np.float32))])
             for q in queries]

    started = time.perf_counter()
    best, top_vectors = item_best(np.concatenate([queries, *clips]), elements, offsets)
    truth_near = [top_k(best[:, q]) for q in range(QUERIES)]
    truth_vectors = top_vectors[:QUERIES]
    truth_maxsim = [
        top_k(best[:, QUERIES + 3 * q:QUERIES + 3 * q + 3].astype(np.float64).sum(axis=1))
        for q in range(QUERIES)]
    print(f"ground truth: {time.perf_counter() - started:.1f} s")

    item_of = np.repeat(np.arange(items), np.diff(offsets))
    ids = [f"item{i:06d}" for i in range(items)]
    number = {s: i for i, s in enumerate(ids)}
    result = {"items": items, "vectors": n, "queries": QUERIES}

    multi_dir = out / "multi.quiver"
    db = quiver.connect(multi_dir, durability="never")
    frames = [elements[offsets[i]:offsets[i + 1]] for i in range(items)]
    clips_c, build = load(db, "clips", {"frames": "VECTOR(384)[] COSINE"},
                          {"id": ids, "frames": frames}, "frames")
    result["multi_build_s"] = build
    result["multi_segment_bytes"] = folder_bytes(multi_dir)
    print(f"multi-vector column: HNSW build {build} s, segment files "
          f"{result['multi_segment_bytes'] / 1e6:.1f} MB")

    flat_dir = out / "flat.quiver"
    flat_db = quiver.connect(flat_dir, durability="never")
    vec_ids = [f"v{j:07d}" for j in range(n)]
    flat_c, build = load(flat_db, "vectors", {"item": "INT", "v": "VECTOR(384) COSINE"},
                         {"id": vec_ids, "item": [int(x) for x in item_of], "v": elements},
                         "v")
    result["flat_build_s"] = build
    result["flat_segment_bytes"] = folder_bytes(flat_dir)
    print(f"one item per vector: HNSW build {build} s, segment files "
          f"{result['flat_segment_bytes'] / 1e6:.1f} MB")
    vec_number = {s: j for j, s in enumerate(vec_ids)}

    # Every page of both databases touched once before anything is timed.
    for q in queries:
        clips_c.search("frames", q, K, exact=True, select=[])
        flat_c.search("v", q, K, exact=True, select=[])
        break
    for q in queries:
        clips_c.search("frames", q, K, select=[])
        flat_c.search("v", q, K, select=[])

    rows = []
    for ef in EFS:
        near, qps_near = timed(
            lambda q: [number[i] for i in clips_c.search("frames", q, K, ef=ef, select=[]).ids],
            queries)
        maxsim, qps_maxsim = timed(
            lambda q: [number[i] for i in clips_c.search("frames", q, K, ef=ef, select=[]).ids],
            clips)
        single, qps_single = timed(
            lambda q: [vec_number[i] for i in flat_c.search("v", q, K, ef=ef, select=[]).ids],
            queries)
        row = {"ef": ef,
               "near_recall": recall(near, truth_near), "near_qps": qps_near,
               "maxsim_recall": recall(maxsim, truth_maxsim), "maxsim_qps": qps_maxsim,
               "single_recall": recall(single, truth_vectors), "single_qps": qps_single}
        rows.append(row)
        print(json.dumps(row))
    result["by_ef"] = rows

    by_hand = []
    for factor in [1, 2, 4, 8, 16, 32]:
        def grouped(q):
            hits = flat_c.search("v", q, K * factor, select=["item"])
            seen = []
            for item in hits.attributes["item"]:
                if item not in seen:
                    seen.append(item)
            return seen[:K]
        found, qps = timed(grouped, queries)
        row = {"factor": factor, "recall": recall(found, truth_near), "qps": qps}
        by_hand.append(row)
        print(json.dumps({"by_hand": row}))
    result["by_hand"] = by_hand
    (out / "multi.json").write_text(json.dumps(result, indent=1))
    db.close()
    flat_db.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 20000)
