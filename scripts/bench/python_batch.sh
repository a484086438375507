#!/usr/bin/env bash
# Batch query QPS from Python (`Collection.search_batch`) against the same batch from
# Rust (`quiver-bench batch`) on one database, alternating three times so both see the
# same machine load. Needs the bindings installed in $PYTHON's environment
# (README: "Python").
#
#   scripts/bench/python_batch.sh DATA_DIR DB_DIR [EF] [THREADS]
set -euo pipefail
cd "$(dirname "$0")/../.."
data="$1"; db="$2"; ef="${3:-64}"; threads="${4:-1}"
python="${PYTHON:-python3}"
cargo build --release --locked -p quiver-bench
for round in 1 2 3; do
    target/release/quiver-bench batch --data "$data" --db "$db" --ef "$ef" --threads "$threads"
    "$python" scripts/bench/python_batch.py --data "$data" --db "$db" --ef "$ef" --threads "$threads"
done
