#!/usr/bin/env bash
# CLIP ViT-B/32 texts/s and images/s on the CPU, in one run on the same 1,024 texts and
# 256 JPEG files (500×375, decoded and resized by each side) at batch 32:
#   - Quiver's packed CPU path and candle-transformers' CLIP (what Quiver runs on other
#     devices), with the lowest cosine between their vectors;
#   - transformers' CLIPModel on PyTorch.
# No registry package ships CLIP's weights, so the weights are a random ViT-B/32
# CLIPModel written by transformers (seed 0): the same shapes and arithmetic as the real
# model. Needs CLIP's merges (scripts/fetch-models) and a Python with torch,
# transformers and pillow:
#   REF_PYTHON=/path/to/venv/bin/python scripts/encoders/bench_clip.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
python="${REF_PYTHON:-python3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir "$work/images"
"$python" scripts/encoders/make_inputs.py texts "$work/texts.txt"
"$python" scripts/encoders/make_inputs.py images "$work/images"
"$python" scripts/encoders/bench_clip.py --write "$work/clip"
cargo build --release -q -p quiver-encode --example clip_paths
target/release/examples/clip_paths "$work/clip" "$work/texts.txt" "$work/images" 32 2
"$python" scripts/encoders/bench_clip.py "$work/clip" "$work/texts.txt" "$work/images" 32 2
