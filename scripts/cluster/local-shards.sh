#!/usr/bin/env bash
# Run the N shards of the given `angraph datasets` selection as N local processes at once (one
# thread each), then merge: what the Slurm array and the Kubernetes job do, on one machine.
#
#   scripts/cluster/local-shards.sh 2 digits_4x4 --samples 2000   # 2 shards, then merge
#
# Environment: PARTS (default target-data/parts), OUT (default target-data/full).
set -euo pipefail
n="${1:?usage: local-shards.sh N <datasets selection and options>}"
shift
ANGRAPH="${ANGRAPH:-target/release/angraph}"
PARTS="${PARTS:-target-data/parts}"
OUT="${OUT:-target-data/full}"
pids=()
for i in $(seq 1 "$n"); do
    RAYON_NUM_THREADS=1 "$ANGRAPH" datasets "$@" --quiet --out "$PARTS" --shard "$i/$n" &
    pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
[ "$status" = 0 ] || { echo "local-shards.sh: a shard failed; rerun (complete parts are kept)" >&2; exit 1; }
for d in "$PARTS"/*/; do
    "$ANGRAPH" datasets merge "$d"shard-*-of-"$n" --out "$OUT/$(basename "$d")"
done
