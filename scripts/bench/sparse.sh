#!/usr/bin/env bash
# Quiver's SPARSE columns on TF-IDF vectors of Debian's package descriptions: QPS and
# exactness beside scipy.sparse (CSR times the query, the top 10), in one run.
#
#   scripts/bench/sparse.sh OUT_DIR
#
# Needs apt's English descriptions (`apt-get update -o Acquire::Languages=en`, run here
# when missing) and the Python bindings with scipy in ./.venv (scripts/python-setup).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$(mkdir -p "$1" && cd "$1" && pwd)"
if ! ls /var/lib/apt/lists/*_main_i18n_Translation-en* >/dev/null 2>&1; then
    apt-get update -o Acquire::Languages=en
fi
cd "$here/../.."
scripts/python-setup
[[ -f "$out/docs.jsonl" ]] || .venv/bin/python "$here/bm25.py" prepare "$out"
.venv/bin/python "$here/sparse.py" "$out" | tee "$out/sparse.txt"
