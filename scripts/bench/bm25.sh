#!/usr/bin/env bash
# Quiver's MATCH (BM25) on Debian's package descriptions: build time, QPS and
# exactness against a plain numpy BM25, and speed beside bm25s and tantivy, in one run.
#
#   scripts/bench/bm25.sh OUT_DIR
#
# Needs apt's English descriptions (`apt-get update -o Acquire::Languages=en`, run
# here when missing and allowed) and python3 with venv + pip (numpy, bm25s, tantivy
# from PyPI into $BM25_VENV, default /tmp/bm25-venv).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$(mkdir -p "$1" && cd "$1" && pwd)"
venv="${BM25_VENV:-/tmp/bm25-venv}"
if ! ls /var/lib/apt/lists/*_main_i18n_Translation-en* >/dev/null 2>&1; then
    apt-get update -o Acquire::Languages=en
fi
if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet numpy bm25s tantivy
cd "$here/../.."
cargo build --release --locked -p quiver-bench
"$venv/bin/python" "$here/bm25.py" prepare "$out"
rm -rf "$out/db"
target/release/quiver-bench bm25 --docs "$out/docs.jsonl" --queries "$out/queries.txt" \
    --db "$out/db" --out "$out/quiver.jsonl" --reps 3 | tee "$out/quiver.txt"
"$venv/bin/python" "$here/bm25.py" compare "$out" | tee "$out/compare.txt"
