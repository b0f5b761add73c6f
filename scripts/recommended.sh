#!/usr/bin/env bash
# Reproduce the recommended models saved_model/angraph_l.* and saved_model/angraph_p.* from the
# protocols of data/manifest.json: generate each protocol's training mix (at the sizes the
# manifest declares) and its evaluation and check sets (300 samples each), train, quantize
# (calibrated on the whole training mix, with the trust section: 90 % intervals and the envelope
# check fitted on the training sets' training / validation splits), evaluate zero-shot on every
# set the model never saw (accuracy, and the trust section's coverage and flags: trust.md), and
# write the reports and the PNGs.
# Idempotent: the same seeds give the same bytes. About 15 min on 2 cores (2 December 2026:
# datasets 3 + 1.5 min, ANGraph-L 40 epochs at 4 s, ANGraph-P 300 epochs at 0.3 s, eval).
#
#   scripts/recommended.sh             # both models
#   scripts/recommended.sh latency     # ANGraph-L only
#   scripts/recommended.sh power       # ANGraph-P only
#   scripts/recommended.sh latency_dfg # ANGraph-L of untimed streams (saved_model/angraph_l_dfg):
#                                      # the same protocol and recipe under --preprocess untimed
#                                      # (not part of "both")
# Environment: SEED (default 2024), OUT (default saved_model; another folder for other seeds,
# e.g. SEED=1 OUT=runs/seed1), DATA (default target-data).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh >/dev/null
cargo build --quiet --release -p angraph-train --bin angraph
A="${CARGO_TARGET_DIR:-$root/target}/release/angraph"
seed="${SEED:-2024}"
out="${OUT:-saved_model}"
data="${DATA:-target-data}"
what="${1:-both}"
mkdir -p "$out"

# The datasets of a protocol, as "--data" arguments: training sets, then eval:all / check:all.
protocol_sets() { # protocol field
    python3 -c 'import json,sys
m=json.load(open("data/manifest.json"))
p=[p for p in m["protocols"] if p["model"]==sys.argv[1]][0]
f=sys.argv[2]
print(" ".join(t["name"] for t in p["train"]) if f=="train" else " ".join(p["evaluation"]+p["check"]))' "$1" "$2"
}

if [ "$what" = both ] || [ "$what" = latency ]; then
    d="$data/angraph_l"
    "$A" datasets --protocol angraph_l --out "$d" --quiet
    train=(); for n in $(protocol_sets angraph_l train); do train+=("$d/$n"); done
    evals=(); for n in $(protocol_sets angraph_l train); do evals+=("$d/$n:test"); done
    for n in $(protocol_sets angraph_l eval); do evals+=("$d/$n:all"); done
    "$A" train latency --data "${train[@]}" --out "runs/angraph_l_seed$seed" --preprocess log2ratio \
        --epochs 40 --seed "$seed" --threads 1 --quiet --save "$out/angraph_l"
    trust=(); for t in "${train[@]}"; do trust+=(--trust-data "$t"); done
    "$A" quantize --model "$out/angraph_l.safetensors" --data "${train[@]}" --calib 2048 "${trust[@]}"
    "$A" eval --model "$out/angraph_l.safetensors" --out "runs/angraph_l_seed$seed/eval" --data "${evals[@]}"
    if [ "$out" = saved_model ]; then
        cp "runs/angraph_l_seed$seed/eval/generalization.png" docs/angraph_l_generalization.png
    fi
fi

# The same training mix, recipe and evaluation, but the model reads only what a TrueAsync DFG
# JSON stream gives (timing and process features set to 0, a log2(1 + latency) head).
if [ "$what" = latency_dfg ]; then
    d="$data/angraph_l"
    "$A" datasets --protocol angraph_l_dfg --out "$d" --quiet
    train=(); for n in $(protocol_sets angraph_l_dfg train); do train+=("$d/$n"); done
    evals=(); for n in $(protocol_sets angraph_l_dfg train); do evals+=("$d/$n:test"); done
    for n in $(protocol_sets angraph_l_dfg eval); do evals+=("$d/$n:all"); done
    "$A" train latency --data "${train[@]}" --out "runs/angraph_l_dfg_seed$seed" --preprocess untimed \
        --epochs 40 --seed "$seed" --threads 1 --quiet --save "$out/angraph_l_dfg"
    trust=(); for t in "${train[@]}"; do trust+=(--trust-data "$t"); done
    "$A" quantize --model "$out/angraph_l_dfg.safetensors" --data "${train[@]}" --calib 2048 "${trust[@]}"
    "$A" eval --model "$out/angraph_l_dfg.safetensors" --out "runs/angraph_l_dfg_seed$seed/eval" --data "${evals[@]}"
    if [ "$out" = saved_model ]; then
        cp "runs/angraph_l_dfg_seed$seed/eval/generalization.png" docs/angraph_l_dfg_generalization.png
    fi
fi

if [ "$what" = both ] || [ "$what" = power ]; then
    d="$data/angraph_p"
    "$A" datasets --protocol angraph_p --out "$d" --quiet
    train=(); for n in $(protocol_sets angraph_p train); do train+=("$d/$n"); done
    evals=(); for n in $(protocol_sets angraph_p train); do evals+=("$d/$n:test"); done
    for n in $(protocol_sets angraph_p eval); do evals+=("$d/$n:all"); done
    "$A" train power --data "${train[@]}" --out "runs/angraph_p_seed$seed" --schedule joint \
        --anchor --stages 64x2,16x0 --epochs 300 --seed "$seed" --threads 1 --quiet --save "$out/angraph_p"
    trust=(); for t in "${train[@]}"; do trust+=(--trust-data "$t"); done
    "$A" quantize --model "$out/angraph_p.safetensors" --data "${train[@]}" --calib 2048 "${trust[@]}"
    "$A" eval --model "$out/angraph_p.safetensors" --out "runs/angraph_p_seed$seed/eval" --data "${evals[@]}"
fi
