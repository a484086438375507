#!/usr/bin/env bash
# MiniLM texts/s on the CPU, Quiver (candle) vs the reference (sentence-transformers on
# PyTorch), in one run on the same 1,024 texts at batch 32. Needs the weights
# (scripts/fetch-models) and a Python with torch + sentence-transformers:
#   REF_PYTHON=/path/to/venv/bin/python scripts/encoders/bench_minilm.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
python="${REF_PYTHON:-python3}"
texts="$(mktemp)"
python3 - "$texts" <<'PY'
import random, sys
random.seed(7)
words = ("shoe running light red blue serif font bold italic card rare holographic soup "
         "tomato basil recipe video keyframe beach sunset dress cotton summer vintage "
         "leather boot waterproof hiking trail winter mesh rubber outsole design").split()
with open(sys.argv[1], "w") as f:
    for i in range(1024):
        n = random.choice([6, 12, 24, 48, 96])
        f.write(" ".join(random.choice(words) for _ in range(n)) + "\n")
PY
cargo build --release -q -p quiver-bench
target/release/quiver-bench encode --encoder minilm --texts "$texts" --batch 32 --reps 2
"$python" scripts/encoders/bench_minilm.py "$texts" 32 2
rm -f "$texts"
