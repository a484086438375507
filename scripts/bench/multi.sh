#!/usr/bin/env bash
# Multi-vector columns on a keyframe-like set built from the MiniLM vectors: recall@10
# and QPS of `<->` (nearest vector) and MAXSIM through an HNSW index over the elements,
# beside a single-vector column holding the same vectors one per item, and the
# group-by users write by hand on that layout; memory of both. One run, one process.
#
#   scripts/bench/multi.sh OUT_DIR [ITEMS]      # default 20,000 items (~360k vectors)
#
# Needs the Python bindings in ./.venv (scripts/python-setup). REUSE=1 keeps the
# databases of an earlier run with the same ITEMS (skips loading and index builds).
# numpy's BLAS runs on one thread: its idle threads spin and would take a core from
# the timed searches.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$(mkdir -p "$1" && cd "$1" && pwd)"
cd "$here/../.."
scripts/python-setup
[[ "${REUSE:-0}" == 1 ]] || rm -rf "$out/multi.quiver" "$out/flat.quiver"
OPENBLAS_NUM_THREADS=1 .venv/bin/python "$here/multi.py" ../shared/bench/data/minilm-384-angular "$out" "${2:-20000}" \
    | tee "$out/multi.txt"
