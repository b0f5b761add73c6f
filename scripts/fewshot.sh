#!/usr/bin/env bash
# The few-shot table of docs/generalization.md: `angraph transfer --shots 20 --seed S` from the
# recommended models to configurations they never saw (the committed sample sets of
# data/samples), each tested on every sample but the 20 it adapted on. Prints one line per run:
# model, seed and transfer's summary (zero-shot -> adapted, on the test samples). About 5 min on 2 idle cores.
# Idempotent (runs go to runs/fewshot/, rewritten).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh >/dev/null
cargo build --quiet --release -p angraph-train --bin angraph
A="${CARGO_TARGET_DIR:-$root/target}/release/angraph"
run() { # model target seed
    local out="runs/fewshot/${1}_${2}_s$3"
    echo "$1 seed $3: $("$A" transfer --model "saved_model/$1.safetensors" --data "data/samples/$2" \
        --out "$out" --shots 20 --seed "$3" --threads 1 --quiet 2>&1 | tail -n 1)"
}
for t in digits_4x4_tsmc28 digits_4x4_tsmc22; do for s in 1 2 3; do run angraph_l $t $s; done; done
for s in 1 2; do run angraph_l digits_2x2 $s; done
for t in power_digits_4x4_tsmc28 power_digits_4x4_tsmc22; do for s in 1 2 3 4 5; do run angraph_p $t $s; done; done
for t in power_digits_8x8 power_mix_4x4 power_digits_2x2; do run angraph_p $t 1; done
