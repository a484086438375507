"""Quiver's MATCH (BM25) against a plain Python BM25 (exactness) and against bm25s and
tantivy (speed), on Debian's package descriptions.

    python bm25.py prepare OUT      # OUT/docs.jsonl, OUT/queries.txt from apt's lists
    python bm25.py compare OUT      # reads OUT/quiver.jsonl (quiver-bench bm25), prints

`prepare` reads the English descriptions apt keeps (`apt-get update -o
Acquire::Languages=en` fetches them): one document per package of the main archive,
its name and its full description; the queries are the short descriptions of 1,000
packages drawn with a fixed seed. `compare` indexes the same documents with the same
analyzer (Quiver's `simple`: maximal runs of alphanumeric characters, lower-cased)
and k1 = 1.2, b = 0.75:
- the reference: Lucene's BM25 written out with numpy (N, avgdl, df over all rows,
  a query term once per occurrence, ties by id); the top 10 of every query is compared
  with Quiver's, id for id, and the scores within 1e-5 (relative);
- bm25s (method "lucene") on the same tokens, one thread;
- tantivy (its default tokenizer: the same cut, lower-cased, terms over 40 bytes
  dropped; BM25 with document lengths stored in one byte, hence approximate).
Index build time and queries per second (one query at a time) for each.
"""

import glob
import json
import random
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

K1, B, K = 1.2, 0.75, 10


def terms(text):
    """Quiver's `simple` analyzer: alphanumeric runs, lower-cased. (Python's isalnum
    and Rust's is_alphanumeric differ on a few rare characters: combining marks of some
    scripts; measured in the agreement below.)"""
    out, run = [], []
    for c in text:
        if c.isalnum():
            run.append(c)
        elif run:
            out.append("".join(run).lower())
            run = []
    if run:
        out.append("".join(run).lower())
    return out


def translations():
    """(package, description) from apt's Translation-en of the main archive."""
    files = glob.glob("/var/lib/apt/lists/*_debian_dists_*_main_i18n_Translation-en*")
    files = [f for f in files if "security" not in f and "updates" not in f]
    if not files:
        sys.exit("no Translation-en: run apt-get update -o Acquire::Languages=en")
    text = subprocess.run(["/usr/lib/apt/apt-helper", "cat-file", files[0]],
                          check=True, capture_output=True, text=True).stdout
    for stanza in text.split("\n\n"):
        name, desc = None, []
        for line in stanza.splitlines():
            if line.startswith("Package: "):
                name = line[len("Package: "):].strip()
            elif line.startswith("Description-en: "):
                desc.append(line[len("Description-en: "):])
            elif line.startswith(" ") and desc:
                desc.append("" if line.strip() == "." else line.strip())
        if name and desc:
            yield name, desc


def prepare(out):
    out.mkdir(parents=True, exist_ok=True)
    seen, docs, shorts = set(), [], []
    for name, desc in translations():
        if name in seen:
            continue
        seen.add(name)
        docs.append({"id": name, "text": name + " " + " ".join(desc)})
        shorts.append(desc[0])
    with open(out / "docs.jsonl", "w") as f:
        for d in docs:
            f.write(json.dumps(d) + "\n")
    rng = random.Random(7)
    queries = [q for q in rng.sample(shorts, 1000)]
    (out / "queries.txt").write_text("\n".join(q.replace("\n", " ") for q in queries) + "\n")
    print(f"{len(docs)} documents, {len(queries)} queries in {out}")


def reference(doc_terms, ids, queries):
    """Exact Lucene BM25 with numpy; per query the top K (ids, scores)."""
    t = time.perf_counter()
    vocab, postings = {}, []
    lengths = np.array([len(d) for d in doc_terms], dtype=np.float64)
    for row, dt in enumerate(doc_terms):
        counts = {}
        for term in dt:
            counts[term] = counts.get(term, 0) + 1
        for term, tf in counts.items():
            j = vocab.setdefault(term, len(vocab))
            if j == len(postings):
                postings.append(([], []))
            postings[j][0].append(row)
            postings[j][1].append(tf)
    postings = [(np.array(r, dtype=np.int64), np.array(f, dtype=np.float64)) for r, f in postings]
    build = time.perf_counter() - t
    n = float(np.count_nonzero(lengths))
    avgdl = lengths.sum() / n
    order_ids = np.array(ids)
    answers = []
    t = time.perf_counter()
    for q in queries:
        distinct = {}
        for term in terms(q):
            distinct[term] = distinct.get(term, 0) + 1
        scores = np.zeros(len(ids))
        for term, times in distinct.items():
            if term not in vocab:
                continue
            rows, tf = postings[vocab[term]]
            idf = np.log(1.0 + (n - len(rows) + 0.5) / (len(rows) + 0.5))
            scores[rows] += times * (idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * lengths[rows] / avgdl)))
        hit = np.nonzero(scores > 0)[0]
        best = hit[np.lexsort((order_ids[hit], -scores[hit]))][:K]
        answers.append(([ids[i] for i in best], [float(scores[i]) for i in best]))
    qps = len(queries) / (time.perf_counter() - t)
    return answers, build, qps


def run_bm25s(doc_terms, queries):
    import bm25s
    t = time.perf_counter()
    retriever = bm25s.BM25(method="lucene", k1=K1, b=B)
    retriever.index(doc_terms, show_progress=False)
    build = time.perf_counter() - t
    query_terms = [terms(q) or ["\x00"] for q in queries]
    t = time.perf_counter()
    for q in query_terms:
        retriever.retrieve([q], k=K, n_threads=1, show_progress=False)
    return build, len(queries) / (time.perf_counter() - t)


def run_tantivy(docs, queries):
    import tantivy
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    builder.add_text_field("text", stored=False, tokenizer_name="default")
    schema = builder.build()
    index = tantivy.Index(schema)
    t = time.perf_counter()
    writer = index.writer(heap_size=512_000_000, num_threads=1)
    for d in docs:
        writer.add_document(tantivy.Document(id=d["id"], text=d["text"]))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    build = time.perf_counter() - t
    searcher = index.searcher()
    parsed = [index.parse_query(" ".join(terms(q)) or "x", ["text"]) for q in queries]
    t = time.perf_counter()
    for q in parsed:
        searcher.search(q, K)
    return build, len(queries) / (time.perf_counter() - t)


def compare(out):
    docs = [json.loads(line) for line in open(out / "docs.jsonl")]
    queries = (out / "queries.txt").read_text().splitlines()
    ids = [d["id"] for d in docs]
    doc_terms = [terms(d["text"]) for d in docs]
    quiver = [json.loads(line) for line in open(out / "quiver.jsonl")]
    ref, ref_build, ref_qps = reference(doc_terms, ids, queries)
    same_ids = sum(q["ids"] == r[0] for q, r in zip(quiver, ref))
    same_sets = sum(set(q["ids"]) == set(r[0]) for q, r in zip(quiver, ref))
    close = sum(
        len(q["scores"]) == len(r[1])
        and all(abs(a - b) <= 1e-5 * max(1.0, abs(b)) for a, b in zip(q["scores"], r[1]))
        for q, r in zip(quiver, ref)
    )
    n = len(queries)
    print(f"documents {len(docs)}, queries {n}, terms {sum(map(len, doc_terms))}")
    print(f"quiver vs reference: identical top-{K} (ids in order) {same_ids}/{n} = {same_ids / n:.4f}; "
          f"same set {same_sets}/{n}; scores within 1e-5 {close}/{n}")
    print(f"reference (numpy): build {ref_build:.2f} s, {ref_qps:.0f} QPS")
    b, q = run_bm25s(doc_terms, queries)
    print(f"bm25s (lucene, 1 thread, pre-tokenized): build {b:.2f} s, {q:.0f} QPS")
    b, q = run_tantivy(docs, queries)
    print(f"tantivy (1 thread, from Python): build {b:.2f} s, {q:.0f} QPS")


if __name__ == "__main__":
    {"prepare": prepare, "compare": compare}[sys.argv[1]](Path(sys.argv[2]))
