# Sourced by scripts/bench/ann.sh and scale.sh with OUT_DIR as $1: sets root, out,
# shared, venv (the peers' venv, created by run.py if absent: numpy, hnswlib,
# faiss-cpu) and bench (quiver-bench, built), and cds to the repository root.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$(mkdir -p "$1" && cd "$1" && pwd)"
shared="${QUIVER_SHARED:-$root/../shared}"
venv="${PEERS_VENV:-/tmp/peers-venv}"
cd "$root"
python3 "$shared/bench/peers/run.py" --help > /dev/null
cargo build --release --locked -q -p quiver-bench
bench="$root/target/release/quiver-bench"
