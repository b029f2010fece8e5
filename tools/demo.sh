#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tools/demo.sh - the README's main job, run inside the guest
# (make demo = tools/vm/run -- tools/demo.sh): the module is loaded, the
# features it reports, a huge-page region created and exercised, and the
# region seen from another process through /proc.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
UIO=$REPO/build/tools/unified-io
DEV=/dev/unified_io_region

step() { printf '\n== %s\n' "$*"; }

[ -x "$UIO" ] || { echo "demo: $UIO not built (run make)" >&2; exit 1; }

step "module"
grep -w '^unified_io' /proc/modules | cut -d' ' -f1-3
modinfo -F description unified_io 2>/dev/null || true
ls -l "$DEV"

step "unified-io feature"
"$UIO" feature

step "unified-io region demo --huge --data-size 64M --buf-size 2M --sq 16"
"$UIO" region demo --huge --data-size 64M --buf-size 2M --sq 16 --ops 4096

step "unified-io region list (a region held open by another process)"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$UIO" region demo --data-size 4M --buf-size 64K --hold 30 >"$out" &
holder=$!
for _ in $(seq 100); do
	[ -s "$out" ] && break
	kill -0 "$holder" 2>/dev/null || break
	sleep 0.1
done
"$UIO" region list
fd=$(ls -l /proc/"$holder"/fd | awk -v dev="$DEV" '$NF == dev { print $(NF-2); exit }')
if [ -n "$fd" ]; then
	step "unified-io region show $holder $fd"
	"$UIO" region show "$holder" "$fd"
fi
kill "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true

printf '\nunified_io demo: OK (module loaded, features read, huge-page region created, '
printf 'buffers allocated, written, verified and freed, region visible in /proc)\n'
