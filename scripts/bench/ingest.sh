#!/usr/bin/env bash
# Ingest vs pure encoding, in one run, on the font benchmark (2,345 glyph sheets +
# catalogue texts; build it first with scripts/bench/fonts.sh OUT_DIR, or give a folder
# that ../shared/bench/mmdata/build_fonts.py wrote):
#   1. pure encoding: `quiver-bench encode` of the same texts (MiniLM) and images
#      (EfficientNet-Lite0, decode and resize included), one pass each;
#   2. the SQL load (`scripts/bench/fonts_load.py`: 64 items per INSERT, the text
#      embedded by an EMBED FROM rule, the image by EMBED_IMAGE, then FLUSH) under
#      /usr/bin/time;
#   3. a backfill: a second text column added with the same MiniLM rule and filled
#      by REEMBED (256 texts per encoder call and per commit, committing one chunk
#      while the next encodes), timed against the pure text encoding of step 1;
#   4. EVALUATE once and EVALUATE ... SWEEP ALPHA STEP 0.1 (11 settings) on the
#      loaded database, timed.
#
#   scripts/bench/ingest.sh DATA_DIR WORK_DIR
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
data="$(cd "$1" && pwd)"
work="$(mkdir -p "$2" && cd "$2" && pwd)"
cd "$root"
scripts/fetch-models > /dev/null
cargo build --release --locked -q -p quiver-shell -p quiver-bench
python3 - "$data/items.jsonl" "$work/texts.txt" <<'PY'
import json, sys
with open(sys.argv[1]) as src, open(sys.argv[2], "w") as out:
    for line in src:
        if line.strip():
            out.write(json.loads(line)["text"].replace("\n", " ") + "\n")
PY
echo "== pure encoding (the same inputs, batch 32, one pass)"
t0=$(date +%s.%N)
target/release/quiver-bench encode --encoder minilm --texts "$work/texts.txt" --batch 32 --reps 1
t1=$(date +%s.%N)
target/release/quiver-bench encode --encoder effnet --images "$data/images" --batch 32 --reps 1
t2=$(date +%s.%N)
encode=$(echo "$t2 - $t0" | bc)
echo "pure encoding: ${encode} s wall (texts $(echo "$t1 - $t0" | bc) s, images $(echo "$t2 - $t1" | bc) s, model loading and a warm-up batch each included)"

echo "== SQL load"
python3 scripts/bench/fonts_load.py "$data" > "$work/load.sql"
rm -rf "$work/fonts.quiver"
/usr/bin/time -f "load: %e s wall, %U s user, %S s sys, %M KiB peak" \
    target/release/quiver "$work/fonts.quiver" -f "$work/load.sql" > /dev/null 2> "$work/load.time" || {
    cat "$work/load.time"; exit 1; }
tail -1 "$work/load.time"
python3 - "$work/load.time" "$encode" <<'PY'
import re, sys
wall, user, sys_ = map(float, re.search(r"load: ([\d.]+) s wall, ([\d.]+) s user, ([\d.]+) s sys", open(sys.argv[1]).read().splitlines()[-1]).groups())
print(f"load / pure encoding: {wall / float(sys.argv[2]):.2f}x wall; sys / user: {100 * sys_ / user:.1f} %")
PY

echo "== backfill (REEMBED) vs pure text encoding"
cat > "$work/reembed.sql" <<'SQL'
ALTER COLLECTION fonts ADD COLUMN text_vec2 VECTOR(384) COSINE EMBED FROM text USING 'minilm';
REEMBED fonts (text_vec2);
SQL
/usr/bin/time -f "reembed: %e s wall, %U s user, %S s sys" \
    target/release/quiver "$work/fonts.quiver" -f "$work/reembed.sql" > /dev/null 2> "$work/reembed.time" || {
    cat "$work/reembed.time"; exit 1; }
tail -1 "$work/reembed.time"
python3 - "$work/reembed.time" "$(echo "$t1 - $t0" | bc)" <<'PY'
import re, sys
wall = float(re.search(r"reembed: ([\d.]+) s wall", open(sys.argv[1]).read()).group(1))
print(f"reembed / pure text encoding: {wall / float(sys.argv[2]):.2f}x wall")
PY

echo "== EVALUATE once vs SWEEP ALPHA STEP 0.1"
q="$data/queries.jsonl"
fused="FUSE(WEIGHTED(0.5, 0.5), text_vec <-> QUERY, image_vec <-> QUERY)"
for sql in "EVALUATE fonts USING '$q' ORDER BY $fused AT 10" \
           "EVALUATE fonts USING '$q' ORDER BY text_vec <-> QUERY AT 10" \
           "EVALUATE fonts USING '$q' ORDER BY $fused AT 10 SWEEP ALPHA STEP 0.1"; do
    /usr/bin/time -f "%e s wall: ${sql:0:60}...${sql: -30}" \
        target/release/quiver "$work/fonts.quiver" -c "$sql" > /dev/null
done
