#!/usr/bin/env bash
# Quantized codes against FAISS's (issue 23), one thread, on the shared minilm-384 and
# mnist-784 sets and, when OUT_DIR/data/effnet-1280-crops exists (scripts/bench/
# wide_data.py writes it), the wide set:
#   quiver FLAT on codes (sq8, rabitq4, rabitq2, rabitq1; swept over refine) and the
#   exact scan; quiver HNSW walked on sq8, rabitq4 and rabitq1 codes (swept over ef);
#   quiver IVF on rabitq4 and rabitq1 codes (swept over nprobe);
#   FAISS IndexScalarQuantizer, IndexRaBitQ 4/2/1, IVF-RaBitQ 4/1 and HNSWSQ, each with
#   IndexRefineFlat (scripts/bench/quantized_peers.py).
# Writes per-run JSON + Markdown, one combined table per dataset and summary.md (each
# index next to its FAISS counterpart) into OUT_DIR.
#
#   scripts/bench/quantized.sh OUT_DIR [REPS]
set -euo pipefail
source "$(dirname "$0")/ann_setup.sh" "$1"
reps="${2:-2}"
"$venv/bin/python" "$shared/bench/data/prepare.py" "$out/data"
for data in minilm-384-angular mnist-784-euclidean effnet-1280-crops; do
    [ -d "$out/data/$data" ] || continue
    for quantize in none sq8 rabitq4 rabitq2 rabitq1; do
        "$bench" ann --data "$out/data/$data" --index flat --quantize "$quantize" --threads 1 \
            --reps "$reps" --out "$out/$data-quiver-flat-$quantize.json"
    done
    for quantize in sq8 rabitq4 rabitq1; do
        "$bench" ann --data "$out/data/$data" --index hnsw --quantize "$quantize" --threads 1 \
            --reps "$reps" --out "$out/$data-quiver-hnsw-$quantize.json"
    done
    for quantize in rabitq4 rabitq1; do
        "$bench" ann --data "$out/data/$data" --index ivf --quantize "$quantize" --threads 1 \
            --reps "$reps" --out "$out/$data-quiver-ivf-$quantize.json"
    done
    python3 scripts/bench/quantized_peers.py --data "$out/data/$data" --reps "$reps" \
        --out "$out/$data-faiss.json"
    "$bench" table --out "$out/$data.md" "$out/$data"-*.json
done
python3 scripts/bench/quantized_summary.py "$out" > "$out/summary.md"
