#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tools/bench/run.sh - run uio-bench in the guest (make bench =
# tools/vm/run -- tools/bench/run.sh) and plot the result:
#   build/bench/region.json   results
#   build/bench/region.png    bar chart (tools/bench/plot.py)
# Extra arguments go to uio-bench (e.g. --ops 50000 --reps 7).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=$REPO/build/bench

mkdir -p "$OUT"
"$REPO/build/tools/uio-bench" --json "$OUT/region.json" "$@" | tee "$OUT/region.txt"
python3 "$REPO/tools/bench/plot.py" "$OUT/region.json" "$OUT/region.png"
echo "bench: wrote $OUT/region.json, $OUT/region.txt and $OUT/region.png"
