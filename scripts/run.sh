#!/usr/bin/env bash
# The main job on bundled defaults: set-up (idempotent), build, the training chain on the bundled
# samples (below; only without arguments), the imported original weights on their synthetic
# example, then `angraph estimate` with the recommended models (saved_model/angraph_l.angq,
# angraph_p.angq) on a committed sample graph, a power row and the recorded stream: predicted
# latency (ns) and energy (nJ) next to the reference labels and the system-level estimate.
# Extra arguments go to `angraph estimate` (see `--help`).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh >/dev/null
cargo build --quiet -p angraph-train --bin angraph
target="${CARGO_TARGET_DIR:-$root/target}"
angraph="$target/debug/angraph"
# The training chain on the bundled dataset samples (data/samples), short runs, into
# $target/main-job (rewritten on every run; saved_model/ is left alone): train ANGraph-L,
# quantize it (float vs fixed on the test split), evaluate it zero-shot on other scales and
# traffic, transfer it to tsmc28, train and quantize ANGraph-P. Skip with ANGRAPH_SKIP_CHAIN=1.
if [ -z "${ANGRAPH_SKIP_CHAIN:-}" ] && [ $# -eq 0 ]; then
  job="$target/main-job"
  s="$root/data/samples"
  rm -rf "$job" && mkdir -p "$job"
  echo "== train ANGraph-L on $s/digits_4x4 (short run)"
  "$angraph" train latency --data "$s/digits_4x4" --out "$job/latency" --epochs 8 --quiet \
    --save "$job/latency_digits_4x4"
  echo "== quantize it (calibration: training split; report: test split)"
  "$angraph" quantize --model "$job/latency_digits_4x4.safetensors" --data "$s/digits_4x4" --calib 64
  echo "== evaluate it (system-level estimate side by side; zero-shot on other datasets)"
  "$angraph" eval --model "$job/latency_digits_4x4.safetensors" --out "$job/eval" \
    --data "$s/digits_4x4:test" "$s/digits_3x3:all" "$s/digits_5x5:all" "$s/dvs_4x4:all" "$s/mix_nonuniform_4x4:all"
  echo "== transfer to tsmc28 (head only, 10% of the data)"
  "$angraph" transfer --model "$job/latency_digits_4x4.safetensors" --data "$s/digits_4x4_tsmc28" \
    --out "$job/transfer_tsmc28" --epochs 30 --quiet
  echo "== train ANGraph-P on $s/power_digits_4x4 (two-stage-joint) and quantize it"
  "$angraph" train power --data "$s/power_digits_4x4" --out "$job/power" --schedule two-stage-joint \
    --epochs 40 --quiet --save "$job/power_digits_4x4"
  "$angraph" quantize --model "$job/power_digits_4x4.safetensors" --data "$s/power_digits_4x4" --calib 128
  echo "== the imported original ANGraph weights (synthetic example: the pipeline, not hardware)"
  "$angraph" estimate --latency-model saved_model/latency_dataset.angq \
    --power-model saved_model/power_ap_mnist_4x4_tsmc28.angq --graph data/examples/mesh4x4 \
    --activity data/examples/mesh4x4/power/feature.npy --no-stream
  echo "== estimate with the recommended models (saved_model/angraph_l, angraph_p): a digits 4x4 sample graph, a power row and the recorded stream"
fi
exec "$angraph" estimate "$@"
