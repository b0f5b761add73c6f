#!/usr/bin/env bash
# The whole test suite, from a fresh clone: set-up (idempotent: venv with torch 2.13.0, Cortex-M
# targets, qemu-system-arm, gcc-arm-none-eabi), formatting, lints, every test of the workspace
# (nextest when installed, plus the doc tests), and the no_std build of angraph-core for
# thumbv7em-none-eabihf (with clippy on its Cortex-M4 DSP kernels). `.ci/run` runs exactly this script.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
start=$(date +%s)
step() { echo "== $* ($(($(date +%s) - start)) s)"; }

step "set-up"
bash scripts/setup.sh >/dev/null

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --quiet --workspace --all-targets -- -D warnings

step "tests"
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --no-fail-fast
else
    cargo test --workspace --no-fail-fast
fi
cargo test --quiet --workspace --doc

step "no_std build of angraph-core for thumbv7em-none-eabihf (portable, and the SMLAD kernels)"
cargo build --quiet -p angraph-core --target thumbv7em-none-eabihf
cargo clippy --quiet -p angraph-core --target thumbv7em-none-eabihf --features cortex-m-dsp -- -D warnings

step "all passed"
