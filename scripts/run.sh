#!/usr/bin/env bash
# The main job on bundled defaults: set-up (idempotent), build, then `angraph estimate`, which
# loads the model blobs in saved_model/, builds the graph of the bundled example and prints the
# predicted latency and energy. Extra arguments go to `angraph estimate` (see `--help`).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh >/dev/null
cargo build --quiet -p angraph-train --bin angraph
target="${CARGO_TARGET_DIR:-$root/target}"
exec "$target/debug/angraph" estimate "$@"
