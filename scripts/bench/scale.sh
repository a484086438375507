#!/usr/bin/env bash
# Quiver's HNSW (on 8-bit codes, the default) against hnswlib as the data grows:
# minilm-384-angular at 100k rows and repeated with noise to 300k and 1M
# (scripts/bench/scale_data.py), build time, memory and QPS at equal recall, 2 threads,
# one repetition. Writes JSON + .md per run and one table per size into OUT_DIR.
#
#   scripts/bench/scale.sh OUT_DIR
#
# Needs what scripts/bench/ann.sh needs, ~6 GB of disk for the data and 4 GB of memory.
set -euo pipefail
source "$(dirname "$0")/ann_setup.sh" "$1"
"$venv/bin/python" "$shared/bench/data/prepare.py" "$out/data" minilm-384-angular
"$venv/bin/python" scripts/bench/scale_data.py "$out/data/minilm-384-angular" "$out/data" 300000 1000000
for data in minilm-384-angular minilm-384-angular-300000 minilm-384-angular-1000000; do
    "$bench" ann --data "$out/data/$data" --index hnsw --quantize sq8 --threads 2 --reps 1 \
        --out "$out/$data-quiver.json"
    python3 "$shared/bench/peers/run.py" --data "$out/data/$data" --libs hnswlib --threads 2 \
        --reps 1 --out "$out/$data-hnswlib.json"
    "$bench" table --out "$out/$data.md" "$out/$data-quiver.json" "$out/$data-hnswlib.json"
done
