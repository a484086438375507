#!/usr/bin/env bash
# Learned fusion on the font set: held-out NDCG@10 of (a) each column alone, (b) the
# best global alpha between text and image, (c) TUNE WEIGHTS and (d) TUNE WEIGHTS PER
# LABEL over BM25 + text + image (and a fourth signal, all-mpnet-base-v2), on the 600
# item queries; then the time to tune all 1,053 queries over three terms every query
# reaches (BM25, MiniLM, mpnet). Writes OUT_DIR/tune/tune.txt (JSON lines) and the
# per-label plots.
#
#   scripts/bench/tune.sh OUT_DIR      # OUT_DIR as for fonts.sh; its data and database are reused
#
# Needs what scripts/bench/fonts.sh needs, and the Python bindings (scripts/python-setup).
# numpy's BLAS runs on one thread: its idle threads would spin on a core.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$(mkdir -p "$1" && cd "$1" && pwd)"
cd "$here/../.."
[[ -d "$out/fonts.quiver" ]] || "$here/fonts.sh" "$out"
cargo build --release --locked -q -p quiver-shell
quiver="$PWD/target/release/quiver"
db="$out/fonts.quiver"
if ! "$quiver" "$db" -c "DESCRIBE fonts" | grep -q '^mpnet_vec'; then
    "$quiver" "$db" -c "ALTER COLLECTION fonts ADD COLUMN mpnet_vec VECTOR(768) COSINE NULL EMBED FROM text USING 'mpnet'"
    time "$quiver" "$db" -c "REEMBED fonts (mpnet_vec)"
fi
if ! "$quiver" "$db" -c "DESCRIBE fonts" | grep -q '^text .*Bm25'; then
    "$quiver" "$db" -c "CREATE INDEX ON fonts (text) USING BM25 WITH (analyzer = 'english')"
fi
scripts/python-setup
mkdir -p "$out/tune"
OPENBLAS_NUM_THREADS=1 .venv/bin/python "$here/tune.py" "$db" "$out/data/queries.jsonl" "$out/tune" \
    | tee "$out/tune/tune.txt"
