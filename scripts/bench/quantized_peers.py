#!/usr/bin/env python3
"""FAISS's quantized indexes on a prepared dataset, as peers of Quiver's FLAT and HNSW
indexes on codes (`quiver-bench ann --quantize ...`).

  python3 scripts/bench/quantized_peers.py --data DIR --out OUT.json [--libs a,b] [--reps 3]

Libraries (FAISS from the peers' venv, one thread, batch search, k = 10):
  faiss-sq8        IndexScalarQuantizer(QT_8bit) + IndexRefineFlat, swept over k_factor
  faiss-rabitqB    IndexRaBitQ(B bits, B in 1/2/4, FAISS's default 4-bit queries)
                   + IndexRefineFlat, swept over k_factor
  faiss-ivfrabitqB IVF{4 sqrt n},RaBitQ{B} + IndexRefineFlat(k_factor = Quiver's default
                   refine for B bits), swept over nprobe
  faiss-hnswsq     IndexHNSWSQ(QT_8bit, M 16, efC 200) + IndexRefineFlat(k_factor 2),
                   swept over efSearch (Quiver's HNSW on 8-bit codes re-ranks 2k)

Results are written in run.py's format (so `quiver-bench table` merges them), each with
`code_bytes_per_vector`: the serialized size of the quantized index alone (without the
vectors IndexRefineFlat re-scores from) over the rows. Recall is run.py's (ann-benchmarks
style), so the figures compare with `quiver-bench ann`'s directly.
"""
import os
import sys

PEERS = os.path.join(os.environ.get("QUIVER_SHARED", os.path.join(os.path.dirname(__file__), "../../../shared")), "bench/peers")
sys.path.insert(0, os.path.abspath(PEERS))
import run as peers  # noqa: E402  (puts us in the peers' venv, with faiss)

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402

REFINE_SWEEP = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32]
# Quiver's `Quantize::default_refine` for 4, 2 and 1 bits.
DEFAULT_REFINE = {4: 3, 2: 5, 1: 10}
ALL = ["faiss-sq8", "faiss-rabitq4", "faiss-rabitq2", "faiss-rabitq1", "faiss-ivfrabitq4",
       "faiss-ivfrabitq1", "faiss-hnswsq"]


def setup(lib, base, metric):
    """Build; return (search(param, Q) -> I, sweep, params text, param name, code bytes)."""
    import faiss

    n, d = base.shape
    mt = faiss.METRIC_L2 if metric == "l2" else faiss.METRIC_INNER_PRODUCT
    size = lambda index: len(faiss.serialize_index(index))  # noqa: E731
    if lib == "faiss-sq8" or lib.startswith("faiss-rabitq"):
        if lib == "faiss-sq8":
            index, what = faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_8bit, mt), "SQ8"
        else:
            bits = int(lib[len("faiss-rabitq"):])
            index, what = faiss.IndexRaBitQ(d, mt, bits), f"RaBitQ{bits} qb={faiss.IndexRaBitQ(d, mt).qb}"
        index.train(base)
        index.add(base)
        refine = faiss.IndexRefineFlat(index, faiss.swig_ptr(base))

        def search(k_factor, Q):
            refine.k_factor = k_factor
            return refine.search(Q, 10)[1]

        return search, REFINE_SWEEP, f"{what} + IndexRefineFlat", "k_factor", size(index)
    if lib.startswith("faiss-ivfrabitq"):
        bits = int(lib[len("faiss-ivfrabitq"):])
        nlist = int(round(4 * math.sqrt(n)))
        index = faiss.index_factory(d, f"IVF{nlist},RaBitQ{bits}", mt)
        index.train(base)
        index.add(base)
        ivf = faiss.extract_index_ivf(index)
        kf = DEFAULT_REFINE[bits]
        refine = faiss.IndexRefineFlat(index, faiss.swig_ptr(base))
        refine.k_factor = kf

        def search(nprobe, Q):
            ivf.nprobe = nprobe
            return refine.search(Q, 10)[1]

        sweep = [p for p in peers.NPROBE_SWEEP if p <= nlist]
        return search, sweep, f"IVF{nlist},RaBitQ{bits} + refine k_factor={kf}", "nprobe", size(index)
    if lib == "faiss-hnswsq":
        index = faiss.IndexHNSWSQ(d, faiss.ScalarQuantizer.QT_8bit, 16, mt)
        index.hnsw.efConstruction = 200
        index.train(base)
        index.add(base)
        refine = faiss.IndexRefineFlat(index, faiss.swig_ptr(base))
        refine.k_factor = 2

        def search(ef, Q):
            index.hnsw.efSearch = max(ef, 20)
            return refine.search(Q, 10)[1]

        return search, peers.EF_SWEEP, "HNSWSQ8 M=16 efC=200 + refine k_factor=2", "efSearch", size(index)
    raise ValueError(lib)


def bench(lib, data, reps):
    import faiss

    faiss.omp_set_num_threads(1)
    base, query, gt, gt_dist, meta = peers.load(data)
    metric = meta["metric"]
    r0, t0 = peers.rss(), time.perf_counter()
    search, sweep, desc, pname, nbytes = setup(lib, base, metric)
    build_s, r1 = time.perf_counter() - t0, peers.rss()
    rows = []
    for rep in range(reps):
        for p in sweep:
            search(p, query[:5])
            t = time.perf_counter()
            found = search(p, query)
            dt = time.perf_counter() - t
            rec, idrec = peers.recall_at(found, base, query, gt, gt_dist, metric)
            rows.append(dict(rep=rep, param=p, recall=rec, id_recall=idrec, qps=len(query) / dt, nq=len(query)))
            print(f"[{lib}] rep {rep} {pname}={p}: recall {rec:.4f} QPS {len(query) / dt:.0f}", file=sys.stderr, flush=True)
    return dict(lib=lib, threads=1, params=desc, param_name=pname, build_s=build_s,
                rss_delta_mb=(r1 - r0) / 2**20, serialized_mb=nbytes / 2**20,
                code_bytes_per_vector=nbytes / len(base), rows=rows, loadavg=os.getloadavg())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--libs", default=",".join(ALL), help=f"comma list from {ALL}")
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    import faiss

    meta = json.load(open(os.path.join(a.data, "meta.json")))
    info = dict(faiss=faiss.__version__, nproc=os.cpu_count(), loadavg_start=os.getloadavg(),
                started=time.strftime("%Y-%m-%d %H:%M:%S"))
    results = []
    for lib in a.libs.split(","):
        results.append(bench(lib, a.data, a.reps))
        with open(a.out, "w") as f:
            json.dump(dict(info=info, meta=meta, results=results), f, indent=1)
    info["loadavg_end"] = os.getloadavg()
    with open(a.out, "w") as f:
        json.dump(dict(info=info, meta=meta, results=results), f, indent=1)
    md = peers.markdown(results, meta)
    with open(os.path.splitext(a.out)[0] + ".md", "w") as f:
        f.write(md)
    print(md)


if __name__ == "__main__":
    main()
