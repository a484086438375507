#!/usr/bin/env bash
# The font-retrieval study, rebuilt from nothing: builds the benchmark with
# ../shared/bench/mmdata/build_fonts.py (2,345 fonts from Debian's font packages as
# glyph-sheet images + catalogue text, 1,053 graded queries of five kinds), loads it
# into a Quiver database (text by MiniLM, glyph sheets by EfficientNet-Lite0), and runs
# EVALUATE: text only, image only, fused (an alpha sweep of WEIGHTED, and RRF), BM25
# on the catalogue text alone and fused with the vectors, per query kind, at K = 10. Writes OUT/results/*.csv and prints the tables.
#
#   scripts/bench/fonts.sh OUT_DIR
#
# Needs: apt-get (Debian's packages are downloaded, never installed; run
# `apt-get update` once), python3 with venv + pip (Pillow goes into OUT/venv from
# PyPI), the encoders' weights (scripts/fetch-models).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$(mkdir -p "$1" && cd "$1" && pwd)"
shared="${QUIVER_SHARED:-$root/../shared}"
cd "$root"

if [[ ! -x "$out/venv/bin/python" ]]; then
    python3 -m venv "$out/venv"
    "$out/venv/bin/pip" install --quiet "pillow==12.0.0"
fi
if [[ ! -f "$out/data/manifest.json" ]]; then
    "$out/venv/bin/python" "$shared/bench/mmdata/build_fonts.py" "$out/data"
fi
scripts/fetch-models
cargo build --release --locked -q -p quiver-shell
quiver="$root/target/release/quiver"

db="$out/fonts.quiver"
if [[ ! -d "$db" ]]; then
    python3 scripts/bench/fonts_load.py "$out/data" > "$out/load.sql"
    echo "loading $(grep -c '^  ' "$out/load.sql" || true) fonts (MiniLM + EfficientNet-Lite0 on the CPU)..."
    time "$quiver" "$db" -f "$out/load.sql" > /dev/null
fi

mkdir -p "$out/results"
q="$out/data/queries.jsonl"
fused="FUSE(WEIGHTED(0.5, 0.5), text_vec <-> QUERY, image_vec <-> QUERY)"
run() {
    local name="$1" sql="$2"
    echo
    echo "== $name: $sql"
    "$quiver" "$db" -c "$sql" --format csv > "$out/results/$name.csv"
    "$quiver" "$db" -c "$sql"
}
run text "EVALUATE fonts USING '$q' ORDER BY text_vec <-> QUERY AT 10"
run image "EVALUATE fonts USING '$q' ORDER BY image_vec <-> QUERY AT 10"
run fused "EVALUATE fonts USING '$q' ORDER BY $fused AT 10"
run rrf "EVALUATE fonts USING '$q' ORDER BY FUSE(RRF, text_vec <-> QUERY, image_vec <-> QUERY) AT 10"
run alpha "EVALUATE fonts USING '$q' ORDER BY $fused AT 10 SWEEP ALPHA STEP 0.1 PLOT '$out/results/alpha.png'"
run recall_image "EVALUATE RECALL fonts (image_vec) AT 10 SAMPLE 200"
# Lexical: BM25 on the catalogue text (english analyzer), alone and fused.
"$quiver" "$db" -c "CREATE INDEX ON fonts (text) USING BM25 WITH (analyzer = 'english')"
run bm25 "EVALUATE fonts USING '$q' ORDER BY MATCH(text, QUERY) AT 10"
run bm25_text_rrf "EVALUATE fonts USING '$q' ORDER BY FUSE(RRF, MATCH(text, QUERY), text_vec <-> QUERY) AT 10"
run bm25_text_weighted "EVALUATE fonts USING '$q' ORDER BY FUSE(WEIGHTED(0.5, 0.5), MATCH(text, QUERY), text_vec <-> QUERY) AT 10"
run bm25_all_rrf "EVALUATE fonts USING '$q' ORDER BY FUSE(RRF, MATCH(text, QUERY), text_vec <-> QUERY, image_vec <-> QUERY) AT 10"
