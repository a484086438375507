#!/usr/bin/env bash
# F32 against F16 and BF16 storage of the same vectors (issue 23): minilm-384 with every
# value off the float16 grid (scripts/bench/noisy_data.py), one collection per type,
# HNSW with the defaults built on ONE thread (deterministic: two F32 builds give the
# same graph, so the differences are the storage type's), then recall@10 and QPS at
# ef 16..128 on 2 threads, and `quiver info`'s bytes per column. Results in OUT_DIR.
#
#   scripts/bench/half.sh OUT_DIR      # needs .venv (numpy); ~6 minutes
set -euo pipefail
source "$(dirname "$0")/engine_setup.sh" "$1"
"$py" "$shared/bench/data/prepare.py" "$out/data" minilm-384-angular
"$py" scripts/bench/noisy_data.py "$out/data/minilm-384-angular" "$out/data/minilm-384-noisy" \
    | tee "$out/data.txt"
data="$out/data/minilm-384-noisy"
for t in f32 f16 bf16 f32-again; do
    rm -rf "$out/db-$t"
    ( time RAYON_NUM_THREADS=1 "$bench" remote --data "$data" --db "$out/db-$t" --load \
        --dtype "${t%-again}" ) 2>&1 | grep -E "loaded|real" | sed "s/^/$t: /" | tee -a "$out/load.txt"
done
: > "$out/half.jsonl"
for ef in 16 32 64 128; do
    for t in f32 f32-again f16 bf16; do
        "$bench" remote --data "$data" --db "$out/db-$t" --ef "$ef" --reps 3 --threads 2 \
            --label "$t ef=$ef" | tee -a "$out/half.jsonl"
    done
done
for t in f32 f16 bf16; do target/release/quiver info "$out/db-$t" | tail -1; done | tee "$out/info.txt"
