#!/usr/bin/env bash
# Merge the parts of every dataset under $PARTS (default target-data/parts, as written by
# `angraph datasets --shard i/n`, the Slurm array or the Kubernetes job of this folder) into
# $OUT (default target-data/full), then write the suite report $OUT/REPORT.md. Refuses (exit 1,
# nothing written for that dataset) a dataset whose parts are incomplete or damaged.
set -euo pipefail
ANGRAPH="${ANGRAPH:-target/release/angraph}"
PARTS="${PARTS:-target-data/parts}"
OUT="${OUT:-target-data/full}"
for d in "$PARTS"/*/; do
    name="$(basename "$d")"
    "$ANGRAPH" datasets merge "$d"shard-* --out "$OUT/$name"
done
"$ANGRAPH" datasets --full --out "$OUT" --report
