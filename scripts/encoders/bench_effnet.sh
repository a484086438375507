#!/usr/bin/env bash
# EfficientNet-Lite0 images/s on the CPU, Quiver (candle) vs the PyTorch reference, in
# one run on the same 256 JPEG files (500×375, decoded and resized by each side) at
# batch 32. Needs the weights (scripts/fetch-models) and a Python with torch + pillow:
#   REF_PYTHON=/path/to/venv/bin/python scripts/encoders/bench_effnet.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
python="${REF_PYTHON:-python3}"
models="${QUIVER_MODELS:-$HOME/.cache/quiver/models}"
images="$(mktemp -d)"
trap 'rm -rf "$images"' EXIT
"$python" scripts/encoders/make_inputs.py images "$images"
cargo build --release -q -p quiver-bench
target/release/quiver-bench encode --encoder effnet --images "$images" --batch 32 --reps 2
"$python" scripts/encoders/bench_effnet.py "$models/efficientnet-lite0/efficientnet-lite0-57934424.pth" "$images" 32 2
