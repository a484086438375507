#!/usr/bin/env python3
"""The side-by-side of scripts/bench/quantized.sh's results: per dataset, each Quiver
index on codes next to its FAISS counterpart (bytes per vector of the searched codes,
QPS at recall@10 0.95 and 0.99 interpolated along each Pareto frontier as run.py does,
their ratio), and the recall of 1-bit codes at 4x oversampling.

  python3 scripts/bench/quantized_summary.py OUT_DIR > OUT_DIR/summary.md
"""
import glob
import json
import math
import os
import statistics
import sys
def load(paths):
    out = {}
    for p in paths:
        for r in json.load(open(p))['results']:
            out[r['lib']] = r
    return out
def pts(res):
    by = {}
    for r in res['rows']:
        by.setdefault(json.dumps(r['param']), []).append(r)
    return [dict(param=json.loads(k), recall=statistics.median(x['recall'] for x in v), qps=statistics.median(x['qps'] for x in v)) for k, v in by.items()]
def qps_at(p, t):
    s = sorted(p, key=lambda x: (-x['recall'], -x['qps'])); front=[]; best=-1
    for x in s:
        if x['qps'] > best: front.append(x); best = x['qps']
    front.sort(key=lambda x: x['recall'])
    hi = [x for x in front if x['recall'] >= t]
    if not hi: return None
    h = hi[0]; lo = [x for x in front if x['recall'] < t]
    if not lo: return h['qps']
    l = lo[-1]; f = (t - l['recall'])/(h['recall']-l['recall'])
    return math.exp(math.log(l['qps']) + f*(math.log(h['qps'])-math.log(l['qps'])))
def recall_at_param(res, param):
    for x in pts(res):
        if x['param'] == param: return x['recall']
out = sys.argv[1]
sets = {}
for name in ('minilm-384-angular', 'mnist-784-euclidean', 'effnet-1280-crops'):
    found = glob.glob(os.path.join(out, '**', f'{name}-*.json'), recursive=True)
    if found:
        sets[name] = found
pairs = [('quiver-flat-sq8','faiss-sq8'),('quiver-flat-rabitq4','faiss-rabitq4'),('quiver-flat-rabitq2','faiss-rabitq2'),('quiver-flat-rabitq1','faiss-rabitq1'),
         ('quiver-ivf-rabitq4','faiss-ivfrabitq4'),('quiver-ivf-rabitq1','faiss-ivfrabitq1'),('quiver-hnsw-sq8','faiss-hnswsq'),('quiver-hnsw-rabitq4',None),('quiver-hnsw-rabitq1',None)]
for name, paths in sets.items():
    res = load(paths)
    n = json.load(open(paths[0]))['meta']['n_base']
    flat_bytes = res['quiver-flat']['serialized_mb'] if 'quiver-flat' in res else None
    print(f"\n### {name} ({n} vectors)\n")
    print("| ours | bytes/vector (codes) | QPS@0.95 | QPS@0.99 | FAISS | bytes/vector | QPS@0.95 | QPS@0.99 | ratio @0.95 / @0.99 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for ours, theirs in pairs:
        if ours not in res: continue
        o = res[ours]; ob = o['serialized_mb']*2**20/n
        oq = [qps_at(pts(o), t) for t in (0.95, 0.99)]
        fmt = lambda q: 'n/a' if q is None else f"{q:,.0f}"
        if theirs and theirs in res:
            t = res[theirs]; tb = t.get('code_bytes_per_vector', t['serialized_mb']*2**20/n)
            tq = [qps_at(pts(t), x) for x in (0.95, 0.99)]
            ratio = " / ".join('n/a' if a is None or b is None else f"{a/b:.2f}x" for a, b in zip(oq, tq))
            print(f"| {ours} | {ob:.0f} | {fmt(oq[0])} | {fmt(oq[1])} | {theirs} | {tb:.0f} | {fmt(tq[0])} | {fmt(tq[1])} | {ratio} |")
        else:
            print(f"| {ours} | {ob:.0f} | {fmt(oq[0])} | {fmt(oq[1])} | – | | | | |")
    for lib in ('quiver-flat-rabitq1', 'faiss-rabitq1'):
        if lib in res: print(f"- {lib} recall@10 at 4x oversampling: {recall_at_param(res[lib], 4):.4f}")
    for lib in ('quiver-flat-rabitq4', 'faiss-rabitq4'):
        if lib in res: print(f"- {lib} recall@10 at refine 1/2/3: " + ", ".join(f"{recall_at_param(res[lib], r):.4f}" for r in (1,2,3)))
    if 'quiver-flat' in res:
        print(f"- f32 vectors: {res['quiver-flat']['serialized_mb']*2**20/n:.0f} bytes/vector")
