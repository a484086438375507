#!/usr/bin/env bash
# MiniLM texts/s on the CPU, Quiver (candle) vs the reference (sentence-transformers on
# PyTorch), in one run on the same 1,024 texts at batch 32. Needs the weights
# (scripts/fetch-models) and a Python with torch + sentence-transformers:
#   REF_PYTHON=/path/to/venv/bin/python scripts/encoders/bench_minilm.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
python="${REF_PYTHON:-python3}"
texts="$(mktemp)"
python3 scripts/encoders/make_inputs.py texts "$texts"
cargo build --release -q -p quiver-bench
target/release/quiver-bench encode --encoder minilm --texts "$texts" --batch 32 --reps 2
"$python" scripts/encoders/bench_minilm.py "$texts" 32 2
rm -f "$texts"
