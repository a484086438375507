#!/usr/bin/env python3
"""Larger versions of a prepared unit-norm dataset (minilm-384-angular) for scaling
runs: the base rows repeated with noise until N rows, each copy
normalise(x + 0.02 * gaussian) (MiniLM's coordinates are about 0.05 in size, so a
copy stays near its source but is a distinct point), the same queries, exact
ground truth (inner product, float64) recomputed over the new base.

  python3 scale_data.py SRC_DIR OUT_DIR N [N ...]   # writes OUT_DIR/<name>-<N>/

Needs numpy. Deterministic (seed 7).
"""
import json
import os
import sys

import numpy as np


def read_vecs(path, dtype):
    raw = np.fromfile(path, dtype=dtype)
    d = raw[:1].view(np.int32)[0]
    return raw.reshape(-1, d + 1)[:, 1:]


def write_vecs(path, a, dtype):
    a = np.ascontiguousarray(a, dtype=dtype)
    n, d = a.shape
    out = np.empty((n, d + 1), dtype)
    out[:, 0] = np.array([d], np.int32).view(dtype)[0]
    out[:, 1:] = a
    out.tofile(path)


def ground_truth(base, query, k=100, chunk=20000):
    nq = len(query)
    best_d = np.full((nq, k), np.inf)
    best_i = np.zeros((nq, k), np.int64)
    q = query.astype(np.float64)
    for s in range(0, len(base), chunk):
        d = -(q @ base[s:s + chunk].astype(np.float64).T)
        dd = np.concatenate([best_d, d], 1)
        ii = np.concatenate([best_i, np.arange(s, s + d.shape[1])[None].repeat(nq, 0)], 1)
        sel = np.argpartition(dd, k, axis=1)[:, :k]
        best_d, best_i = np.take_along_axis(dd, sel, 1), np.take_along_axis(ii, sel, 1)
    o = np.argsort(best_d, 1, kind="stable")
    return np.take_along_axis(best_i, o, 1).astype(np.int32), np.take_along_axis(best_d, o, 1).astype(np.float32)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    src, out = sys.argv[1], sys.argv[2]
    meta = json.load(open(os.path.join(src, "meta.json")))
    if meta["metric"] != "ip":
        sys.exit("scale_data.py makes unit-norm copies: it needs an inner-product dataset")
    base = read_vecs(os.path.join(src, "base.fvecs"), np.float32)
    query = read_vecs(os.path.join(src, "query.fvecs"), np.float32)
    rng = np.random.default_rng(7)
    for n in map(int, sys.argv[3:]):
        rows = [base]
        while sum(len(r) for r in rows) < n:
            copy = base + 0.02 * rng.standard_normal(base.shape, dtype=np.float32)
            rows.append(copy / np.linalg.norm(copy, axis=1, keepdims=True))
        big = np.concatenate(rows)[:n]
        name = f"{meta['name']}-{n}"
        dst = os.path.join(out, name)
        os.makedirs(dst, exist_ok=True)
        gi, gd = ground_truth(big, query)
        write_vecs(os.path.join(dst, "base.fvecs"), big, np.float32)
        write_vecs(os.path.join(dst, "query.fvecs"), query, np.float32)
        write_vecs(os.path.join(dst, "gt.ivecs"), gi, np.int32)
        write_vecs(os.path.join(dst, "gt_dist.fvecs"), gd, np.float32)
        m = dict(meta, name=name, n_base=n, source=meta["source"] + f"; base repeated with noise to {n} rows (scripts/bench/scale_data.py)")
        json.dump(m, open(os.path.join(dst, "meta.json"), "w"), indent=1)
        print(f"{name}: {n} x {big.shape[1]} -> {dst}")


if __name__ == "__main__":
    main()
