#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tools/demo.sh - the README's main job, run inside the guest
# (make demo = tools/vm/run -- tools/demo.sh): the module is loaded, the
# features it reports, a huge-page region created and exercised, the region
# seen from another process through /proc, a chain of BPF programs run by the
# module over region buffers in place, and a file written through region
# buffers to the emulated NVMe drive and read back by passthrough, with the
# CPU copies counted by copycount.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
UIO=$REPO/build/tools/unified-io
COPYCOUNT=$REPO/build/tools/copycount
DEV=/dev/unified_io_region
NVME=/dev/ng0n1		# passthrough namespace (512 B LBAs)
FSDEV=/dev/nvme0n2	# second namespace: an ext4 for the demo's files
MNT=/mnt

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

# Compute: XDP programs of bpf/ attached to a region and run by the module
# over its buffers in place (UNIFIED_IO_OP_BPF). The tool fills buffers with
# known bytes, runs filter -> redact -> crc32c stamp -> crc32c verify -> stats,
# checks every effect against user space (the redacted bytes, the CRC32C
# trailer against a bitwise CRC) and exits non-zero otherwise; then, with the
# stamp detached, a flipped byte must be dropped by verify.
step "compute: unified-io bpf demo (a BPF chain over region buffers, in place)"
bpf_out=$("$UIO" bpf demo --buf-size 4K --bufs 3) ||
	{ printf '%s\n' "$bpf_out"; echo "demo: the BPF chain did not do what it should" >&2; exit 1; }
printf '%s\n' "$bpf_out"
grep -qx 'demo: ok' <<<"$bpf_out" ||
	{ echo "demo: unified-io bpf demo did not report ok" >&2; exit 1; }

# Storage: the files live on an ext4 on the other namespace, so the file
# side can use O_DIRECT too and the whole round trip is DMA.
step "unified-io nvme info $NVME"
"$UIO" nvme info "$NVME"

step "storage: 16 MiB pattern file -> region -> $NVME (passthrough) -> region -> file"
mkfs.ext4 -q -F "$FSDEV"
mount "$FSDEV" "$MNT"
trap 'rm -f "$out"; umount "$MNT" 2>/dev/null || true' EXIT
head -c 16M /dev/urandom >"$MNT/pattern"
"$UIO" nvme write "$NVME" --lba 0 --input "$MNT/pattern"
"$UIO" nvme read "$NVME" --lba 0 --length 16M --output "$MNT/back"
cmp "$MNT/pattern" "$MNT/back" && echo "cmp: $MNT/back is identical to $MNT/pattern"

step "copycount: payload bytes the CPU copied between user and kernel"
# Run quietly (nothing printed is copied); a 4 KiB read gives the fixed
# start-up cost (dynamic loader, sysfs), the same whatever the length.
payload() {	# OUTPUT CMD...: run CMD under copycount, print its payload bytes
	local json=$MNT/cc.json
	"$COPYCOUNT" -j -o "$json" -- "${@:2}" >/dev/null 2>"$MNT/cc.err" ||
		{ cat "$MNT/cc.err" >&2; return 1; }
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["payload"]["bytes"])' "$json"
}
small=$(payload - "$UIO" nvme read "$NVME" --lba 0 --length 4K --output "$MNT/small")
big=$(payload - "$UIO" nvme read "$NVME" --lba 0 --length 16M --output "$MNT/back")
cmp "$MNT/pattern" "$MNT/back"
dd=$(payload - dd if=/dev/nvme0n1 of=/dev/null bs=1M count=16)
printf '  %-44s %10s bytes copied\n' "unified-io nvme read, 4 KiB (start-up cost)" "$small" \
	"unified-io nvme read, 16 MiB" "$big" "buffered dd of /dev/nvme0n1, 16 MiB" "$dd"
printf '  passthrough read: %d payload bytes copied per 16 MiB read (16 MiB minus 4 KiB run)\n' \
	$((big - small))
[ $((big - small)) -eq 0 ] || { echo "demo: the passthrough read copied payload" >&2; exit 1; }

printf '\nunified_io demo: OK (module loaded, features read, huge-page region created, '
printf 'buffers allocated, written, verified and freed, region visible in /proc, '
printf 'a BPF chain run over region buffers in place (CRC32C stamped and verified), '
printf '16 MiB through the region to NVMe and back with 0 payload bytes copied)\n'
