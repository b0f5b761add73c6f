#!/usr/bin/env bash
# One-time, idempotent set-up for a fresh machine:
#   - a Python venv in .venv with PyTorch 2.13.0 (CPU libraries only; tch links libtorch from it)
#   - the Cortex-M Rust targets
#   - qemu-system-arm and gcc-arm-none-eabi (for the firmware example under test)
# Prints the LIBTORCH path on its last line. Safe to run again: every step checks first.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
torch_dir="$venv/lib/python3.11/site-packages/torch"

if [ ! -f "$torch_dir/lib/libtorch_cpu.so" ]; then
    echo "setup: creating Python venv with torch 2.13.0 in $venv" >&2
    python3.11 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps \
        torch==2.13.0 nvidia-cuda-runtime==13.0.96 nvidia-cuda-cupti==13.0.85
fi

for t in thumbv7em-none-eabihf thumbv7m-none-eabi; do
    if ! rustup target list --installed | grep -qx "$t"; then
        echo "setup: rustup target add $t" >&2
        rustup target add "$t" >&2
    fi
done

if ! command -v qemu-system-arm >/dev/null || ! command -v arm-none-eabi-gcc >/dev/null; then
    echo "setup: installing qemu-system-arm and gcc-arm-none-eabi" >&2
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends qemu-system-arm gcc-arm-none-eabi >&2
fi

echo "$torch_dir"
