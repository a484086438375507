#!/usr/bin/env python3
"""A wide real vector set for the compression benchmarks (issue 23): EfficientNet-Lite0's
1280-d pooled features (Quiver's `effnet` encoder, weights from scripts/fetch-models) of
crops of the font glyph sheets that ../shared/bench/mmdata/build_fonts.py renders.

Each 224x224 sheet gives 23 crops, each scaled back to 224x224 by the encoder: its 7 text
lines as strips (5 lines of 13 glyphs, then a sentence over 2 lines) and a 4x4 grid of
56x56 tiles; crops without ink are left out. 2,345 fonts -> 47,547 vectors. Features are L2-normalised (cosine, stored as
inner product, like minilm-384-angular). 1,000 random crops (seed 7) become the queries,
the rest the base; exact top-100 ground truth in float64. Output: the fvecs/ivecs layout
of ../shared/bench/data/prepare.py (base.fvecs, query.fvecs, gt.ivecs, gt_dist.fvecs,
meta.json) in OUT_DIR/effnet-1280-crops.

  .venv/bin/pip install pillow
  .venv/bin/python scripts/bench/wide_data.py IMAGES_DIR OUT_DIR [--fonts N]

IMAGES_DIR is build_fonts.py's data/images. Embedding runs at the encoder's speed
(all 53,929 crops, blank ones included, took 13 minutes on 2 cores); --fonts N takes
the first N.
"""
import argparse
import json
import os
import sys
import tempfile

import numpy as np
from PIL import Image

import quiver

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from scale_data import ground_truth, write_vecs  # noqa: E402

# The sheet's text lines: 5 of glyphs, then the 2-line sentence (pixel rows, measured on
# the renderer's layout: 6 text rows in the 224-pixel sheet below a top margin).
LINES = 7
GRID = 4


def crops(sheet):
    """The 23 crops of one glyph sheet, as PIL images."""
    w, h = sheet.size
    # Text occupies the sheet's rows that hold any ink; split them into LINES strips.
    ink = np.asarray(sheet.convert("L")) < 128
    rows = np.flatnonzero(ink.any(axis=1))
    top, bottom = (rows[0], rows[-1] + 1) if len(rows) else (0, h)
    edges = np.linspace(top, bottom, LINES + 1).round().astype(int)
    out = [sheet.crop((0, int(a), w, int(b))) for a, b in zip(edges[:-1], edges[1:]) if b > a]
    step = w // GRID
    for gy in range(GRID):
        for gx in range(GRID):
            out.append(sheet.crop((gx * step, gy * step, (gx + 1) * step, (gy + 1) * step)))
    return out


def has_ink(crop):
    """Whether any pixel of the crop is ink. Blank tiles (below a short font's text, or
    a sheet's margins) all embed to the same vector: hundreds of exact ties, which no
    index can order and which would make recall measure tie-breaking (on the full set
    130 of 1,000 queries had their 100 nearest within 1e-3 of each other)."""
    return bool((np.asarray(crop.convert("L")) < 128).any())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("images")
    ap.add_argument("out")
    ap.add_argument("--fonts", type=int, default=0, help="only the first N fonts (0: all)")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=256)
    args = ap.parse_args()
    names = sorted(n for n in os.listdir(args.images) if n.endswith(".png"))
    if args.fonts:
        names = names[: args.fonts]
    out = os.path.join(args.out, "effnet-1280-crops")
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        db = quiver.connect(os.path.join(tmp, "db"))
        paths, features = [], []
        for i, name in enumerate(names):
            sheet = Image.open(os.path.join(args.images, name)).convert("RGB")
            for j, crop in enumerate(crops(sheet)):
                if not has_ink(crop):
                    continue
                path = os.path.join(tmp, f"{i:05}-{j:02}.png")
                crop.save(path)
                paths.append(path)
            while len(paths) >= args.batch or (i == len(names) - 1 and paths):
                batch, paths = paths[: args.batch], paths[args.batch:]
                features.append(db.encode_images("effnet", batch))
                for p in batch:
                    os.remove(p)
                done = sum(len(f) for f in features)
                print(f"{done} crops embedded ({i + 1}/{len(names)} fonts)", file=sys.stderr, flush=True)
    x = np.concatenate(features).astype(np.float32)
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    rng = np.random.default_rng(7)
    order = rng.permutation(len(x))
    nq = min(args.queries, len(x) // 10)
    query, base = x[order[:nq]], x[np.sort(order[nq:])]
    gt, gt_dist = ground_truth(base, query, k=min(100, len(base)))
    write_vecs(os.path.join(out, "base.fvecs"), base, np.float32)
    write_vecs(os.path.join(out, "query.fvecs"), query, np.float32)
    write_vecs(os.path.join(out, "gt.ivecs"), gt, np.int32)
    write_vecs(os.path.join(out, "gt_dist.fvecs"), gt_dist, np.float32)
    meta = {
        "name": "effnet-1280-crops",
        "metric": "ip",
        "dim": int(x.shape[1]),
        "n_base": int(len(base)),
        "n_query": int(nq),
        "gt_k": int(gt.shape[1]),
        "distance": "negative inner product (vectors unit-norm)",
        "source": "EfficientNet-Lite0 (quiver effnet) pooled features of glyph-sheet crops "
                  "(7 line strips + 4x4 tiles per font), L2-normalised; crops without ink "
                  "(blank tiles) left out",
        "fonts": len(names),
    }
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(f"effnet-1280-crops: {len(base)} x {x.shape[1]} base, {nq} queries -> {out}")


if __name__ == "__main__":
    main()
