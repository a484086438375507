#!/usr/bin/env bash
# Quiver's HNSW (walked on the vectors, and on 8-bit codes) side by side with
# hnswlib and FAISS HNSWFlat, in one run: both shared datasets, 1 and 2 threads,
# three repetitions of every sweep, M = 16, efConstruction = 200. Writes one JSON + .md
# per library run, a combined table per dataset (QPS ratios at equal recall) and
# a single-thread recall/QPS plot per dataset into OUT_DIR.
#
#   scripts/bench/ann.sh OUT_DIR
#
# Needs python3 with venv + pip (run.py puts numpy, hnswlib, faiss-cpu into
# $PEERS_VENV, default /tmp/peers-venv) and ../shared (or $QUIVER_SHARED).
set -euo pipefail
source "$(dirname "$0")/ann_setup.sh" "$1"
"$venv/bin/python" "$shared/bench/data/prepare.py" "$out/data"
for data in minilm-384-angular mnist-784-euclidean; do
    for threads in 1 2; do
        for quantize in none sq8; do
            "$bench" ann --data "$out/data/$data" --index hnsw --quantize "$quantize" \
                --threads "$threads" --reps 3 --out "$out/$data-quiver-hnsw-$quantize-t$threads.json"
        done
        python3 "$shared/bench/peers/run.py" --data "$out/data/$data" --libs hnswlib,faiss-hnsw \
            --threads "$threads" --reps 3 --out "$out/$data-peers-t$threads.json"
    done
    "$bench" table --out "$out/$data.md" "$out/$data"-*.json
    "$bench" plot --out "$out/$data-t1.png" "$out/$data"-*-t1.json
done
