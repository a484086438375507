"""Quiver's SPARSE columns (`terms <-> {..}`, exact dot product) against what users
glue by hand today: a scipy.sparse matrix times the query, then the top 10.

    python sparse.py OUT      # needs OUT/docs.jsonl, OUT/queries.txt (bm25.py prepare)

Real sparse vectors built here: TF-IDF of Debian's package descriptions (the documents
of `bm25.py prepare`, cut by its `simple` analyzer), weight (1 + ln tf) · ln(N / df),
each row L2-normalized, zero weights dropped; the queries are the same 1,000 short
descriptions as the BM25 benchmark, weighted with the documents' idf (terms outside the
vocabulary dropped). Both sides run in this one Python process, one query at a time,
one thread: Quiver through its Python bindings (`collection.search("terms", {index:
weight}, k=10, select=[])`, from a flushed segment's postings; the first repetition
includes deriving them), scipy as `X @ q` (CSR, `q` dense) and as `X[:, cols] @ w`
(CSC: only the query's columns, an inverted index), each then `np.argpartition`.
Scores are compared with the CSR reference. Exactness: the top 10 ids, in order (ties by
id), must be identical and the scores equal to the f64 dot product rounded to f32.
"""

import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse

import quiver

sys.path.insert(0, str(Path(__file__).parent))
from bm25 import terms  # noqa: E402  the analyzer both benchmarks share

K = 10


def tfidf(token_lists, vocab, idf):
    rows, cols, vals = [], [], []
    for r, tokens in enumerate(token_lists):
        counts = {}
        for t in tokens:
            j = vocab.get(t)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        weights = {j: (1 + math.log(tf)) * idf[j] for j, tf in counts.items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        for j, w in sorted(weights.items()):
            if w > 0:
                rows.append(r)
                cols.append(j)
                vals.append(w / norm)
    m = scipy.sparse.csr_matrix((np.array(vals, np.float32), (rows, cols)),
                                shape=(len(token_lists), len(vocab)))
    m.sort_indices()
    return m


def main(out):
    docs = [json.loads(line) for line in open(out / "docs.jsonl")]
    texts = (out / "queries.txt").read_text().splitlines()
    ids = np.array([d["id"] for d in docs])
    doc_tokens = [terms(d["text"]) for d in docs]
    vocab, df = {}, []
    for tokens in doc_tokens:
        for t in set(tokens):
            j = vocab.setdefault(t, len(vocab))
            if j == len(df):
                df.append(0)
            df[j] += 1
    n = len(docs)
    idf = [math.log(n / d) for d in df]
    X = tfidf(doc_tokens, vocab, idf)
    Q = tfidf([terms(t) for t in texts], vocab, idf)
    keep = [i for i in range(Q.shape[0]) if Q.indptr[i + 1] > Q.indptr[i]]
    queries = [{int(j): float(w) for j, w in zip(Q[i].indices, Q[i].data)} for i in keep]
    print(f"documents {n}, vocabulary {len(vocab)}, stored entries {X.nnz} "
          f"({X.nnz / n:.1f} per row), queries {len(queries)} "
          f"({np.mean([len(q) for q in queries]):.1f} entries each)")

    # Quiver: load, seal, search.
    folder = tempfile.mkdtemp(prefix="quiver-sparse-")
    db = quiver.connect(Path(folder) / "db")
    col = db.create_collection("docs", {"terms": "SPARSE"})
    t = time.perf_counter()
    for start in range(0, n, 10_000):
        rows = []
        for r in range(start, min(n, start + 10_000)):
            lo, hi = X.indptr[r], X.indptr[r + 1]
            rows.append({"id": ids[r], "terms": dict(zip(X.indices[lo:hi].tolist(),
                                                         X.data[lo:hi].tolist()))})
        col.insert_many(rows)
    col.flush()
    load = time.perf_counter() - t
    answers = []
    reps = []
    for rep in range(3):
        t = time.perf_counter()
        found = [col.search("terms", q, k=K, select=[]) for q in queries]
        reps.append(len(queries) / (time.perf_counter() - t))
        if rep == 0:
            answers = [(h.ids, h.scores.tolist()) for h in found]
    print(f"quiver: load + flush {load:.2f} s; QPS {' '.join(f'{q:.0f}' for q in reps)} "
          f"(best {max(reps):.0f})")

    # scipy, two ways a user writes it: the CSR matrix times a dense query, and the CSC
    # matrix's query columns times the query's weights (an inverted index); then the
    # top 10 by (score desc, id asc) among rows > 0.
    X64 = X.astype(np.float64)
    C64 = X64.tocsc()
    dim = X.shape[1]

    def top10(s):
        top = np.argpartition(-s, K)[:K + 20] if len(s) > K + 20 else np.arange(len(s))
        kth = np.sort(s[top])[::-1][min(K, len(top)) - 1]
        cand = np.nonzero((s >= kth) & (s > 0))[0]
        order = np.lexsort((ids[cand], -s[cand]))[:K]
        return ids[cand[order]].tolist(), s[cand[order]]

    def csr(q):
        dense = np.zeros(dim, np.float64)
        dense[list(q)] = [np.float64(np.float32(w)) for w in q.values()]
        return top10(X64 @ dense)

    def csc(q):
        cols = np.fromiter(q.keys(), np.int64)
        weights = np.array([np.float64(np.float32(w)) for w in q.values()])
        return top10(C64[:, cols] @ weights)

    reference = None
    for name, way in [("CSR @ dense q", csr), ("CSC[:, q] @ w", csc)]:
        qps = []
        for rep in range(3):
            t = time.perf_counter()
            out_rep = [way(q) for q in queries]
            qps.append(len(queries) / (time.perf_counter() - t))
            reference = reference or out_rep
        print(f"scipy {name} + argpartition: QPS {' '.join(f'{q:.0f}' for q in qps)} "
              f"(best {max(qps):.0f}); quiver / it {max(reps) / max(qps):.2f}x")
    same = sum(a[0] == r[0] for a, r in zip(answers, reference))
    exact = sum(
        a[0] == r[0] and all(np.float32(x) == y for x, y in zip(r[1], a[1]))
        for a, r in zip(answers, reference)
    )
    print(f"identical top-{K} ids (in order) {same}/{len(queries)}; "
          f"scores equal to the f64 dot rounded to f32 {exact}/{len(queries)}")
    db.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
