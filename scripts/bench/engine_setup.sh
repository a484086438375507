# Sourced by the engine benches (remote.sh, half.sh) with OUT_DIR as $1: sets root,
# out, shared and py (.venv's python: scripts/python-setup), builds quiver-bench and
# the shell (bench = quiver-bench), and cds to the repository root.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$(mkdir -p "$1" && cd "$1" && pwd)"
shared="${QUIVER_SHARED:-$root/../shared}"
cd "$root"
py=.venv/bin/python
cargo build --release --locked -q -p quiver-bench -p quiver-shell
bench=target/release/quiver-bench
