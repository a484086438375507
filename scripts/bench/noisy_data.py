#!/usr/bin/env python3
"""minilm-384-angular with every base row moved off the float16 grid: normalise(x +
0.02 N(0, 1)), seed 11, the same queries, exact ground truth. The shared sets are
float16-exact (minilm is stored as float16, MNIST is integers), so they cannot show
what F16/BF16 storage loses; this one can (fewer than 0.02 % of its values are
representable in float16).

  python3 noisy_data.py SRC_DIR OUT_DIR   # SRC_DIR: prepare.py's minilm-384-angular
"""
import sys, os, json
import numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scale_data import read_vecs, write_vecs, ground_truth
src, dst = sys.argv[1], sys.argv[2]
base = read_vecs(os.path.join(src, "base.fvecs"), np.float32)
query = read_vecs(os.path.join(src, "query.fvecs"), np.float32)
rng = np.random.default_rng(11)
noisy = base + 0.02 * rng.standard_normal(base.shape, dtype=np.float32)
noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
exact16 = (noisy.astype(np.float16).astype(np.float32) == noisy).mean()
os.makedirs(dst, exist_ok=True)
gi, gd = ground_truth(noisy, query)
write_vecs(os.path.join(dst, "base.fvecs"), noisy, np.float32)
write_vecs(os.path.join(dst, "query.fvecs"), query, np.float32)
write_vecs(os.path.join(dst, "gt.ivecs"), gi, np.int32)
write_vecs(os.path.join(dst, "gt_dist.fvecs"), gd, np.float32)
meta = json.load(open(os.path.join(src, "meta.json")))
meta.update(name="minilm-384-noisy", source=meta["source"] + "; every base row normalise(x + 0.02 N(0,1)), seed 11 (full f32 values)")
json.dump(meta, open(os.path.join(dst, "meta.json"), "w"), indent=1)
print("values exactly representable in f16:", exact16)
