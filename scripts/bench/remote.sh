#!/usr/bin/env bash
# Serving from object storage against a local folder: minilm-384-angular repeated with
# noise to 1M rows (scripts/bench/scale_data.py), one collection with HNSW, published
# to moto's S3 server on this machine. Each run is a fresh process
# (`quiver-bench remote`): cold = the folder's pages evicted from the page cache
# (posix_fadvise DONTNEED), or an empty cache folder for S3 (the open downloads and
# verifies every file); warm = a reopen with both folders' files in the page cache,
# then passes over the 1,000 queries on 2 threads. Raw JSON lines in OUT_DIR/remote.jsonl.
#
#   scripts/bench/remote.sh OUT_DIR
#
# Needs scripts/python-setup's .venv (numpy, moto), ~8 GB of disk and ~8 GB of memory.
set -euo pipefail
source "$(dirname "$0")/engine_setup.sh" "$1"
data="$out/data/minilm-384-angular-1000000"
if [[ ! -f "$data/gt.ivecs" ]]; then
    "$py" "$shared/bench/data/prepare.py" "$out/data" minilm-384-angular
    "$py" scripts/bench/scale_data.py "$out/data/minilm-384-angular" "$out/data" 1000000
fi
( time "$bench" remote --data "$data" --db "$out/db" --load ) 2>&1 | tee "$out/load.txt"

port="$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
.venv/bin/moto_server -H 127.0.0.1 -p "$port" > "$out/moto.log" 2>&1 &
moto=$!
trap 'kill $moto' EXIT
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ALLOW_HTTP=true AWS_REGION=us-east-1 \
    AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
for _ in $(seq 50); do "$py" -c "import socket; socket.create_connection(('127.0.0.1', $port))" 2>/dev/null && break; sleep 0.2; done
"$py" -c "import boto3; boto3.client('s3', endpoint_url='$AWS_ENDPOINT_URL').create_bucket(Bucket='bench')"
url=s3://bench/minilm-1m
( time target/release/quiver publish "$out/db" "$url" ) 2>&1 | tee "$out/publish.txt"
du -sb "$out/db" | tee -a "$out/publish.txt"
# The S3 server's own speed, for scale: boto3 downloading the segment object
# (its default transfer: ranged GETs, 10 threads).
"$py" - "$out/raw.bin" <<'PY' | tee "$out/raw_download.txt"
import sys, time, boto3
s3 = boto3.client("s3")
key = [o["Key"] for o in s3.list_objects_v2(Bucket="bench", Prefix="minilm-1m/seg-")["Contents"]][0]
t = time.perf_counter()
s3.download_file("bench", key, sys.argv[1])
print(f"boto3 download_file {key}: {time.perf_counter() - t:.1f} s")
PY
rm -f "$out/raw.bin"

evict() {
    "$py" - "$1" <<'PY'
import os, sys
for name in os.listdir(sys.argv[1]):
    fd = os.open(os.path.join(sys.argv[1], name), os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)
PY
}
run() { "$bench" remote --data "$data" "$@" | tee -a "$out/remote.jsonl"; }
: > "$out/remote.jsonl"
for _ in 1 2 3; do
    evict "$out/db"
    run --db "$out/db" --label "cold local" --reps 0
    rm -rf "$out/cache"
    run --db "$url" --cache "$out/cache" --label "cold s3 (empty cache)" --reps 0
done
# Both folders read whole first, so both start from the same page-cache state.
cat "$out/db"/* "$out/cache"/* > /dev/null
for _ in 1 2 3; do
    run --db "$out/db" --label "warm local" --reps 3
    run --db "$url" --cache "$out/cache" --label "warm s3 (cache kept)" --reps 3
done
