#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# gen-vmlinux-h.sh KVER OUTPUT - write vmlinux.h for the sysroot's kernel KVER.
#
# The build cannot read the guest's /sys/kernel/btf/vmlinux, so the BTF comes
# from the kernel image the guest boots: the vmlinuz is decompressed with the
# kernel's scripts/extract-vmlinux (from the headers package if it ships it,
# else from the linux-source tarball), its .BTF section is checked for and
# copied out, and "bpftool btf dump ... format c" turns it into vmlinux.h.
#
# Extracted things are cached in $UNIFIED_IO_CACHE/bpf/KVER/ (default
# /var/cache/unified_io): extract-vmlinux, vmlinux.btf (raw BTF) and the
# SHA-256 of the image they came from, so a Debian upload that keeps the
# version string but changes the image is noticed.  The cache is updated
# under a lock and every file is written atomically, so concurrent builds
# are safe.  Runs inside the sysroot (scripts/sysroot.sh run).
set -euo pipefail

me=${0##*/}
die() { echo "$me: error: $*" >&2; exit 1; }

[ $# -eq 2 ] || { echo "Usage: $me KVER OUTPUT" >&2; exit 2; }
KVER=$1 OUT=$2
[ -n "$KVER" ] || die "empty kernel version"

for tool in bpftool readelf objcopy sha256sum flock tar; do
	command -v "$tool" >/dev/null || die "$tool not found (is this the sysroot?)"
done

IMAGE=/usr/lib/modules/$KVER/vmlinuz
[ -f "$IMAGE" ] || IMAGE=/boot/vmlinuz-$KVER
[ -f "$IMAGE" ] || die "no kernel image for $KVER (/usr/lib/modules/$KVER/vmlinuz, /boot/vmlinuz-$KVER)"

CACHE=${UNIFIED_IO_CACHE:-/var/cache/unified_io}/bpf/$KVER
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9

tmp=$(mktemp -d "$CACHE/.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# extract-vmlinux: from the headers, else from the cache, else from the
# linux-source tarball of the same major.minor.
find_extract_vmlinux() {
	local d base=${KVER%-*}
	for d in "/usr/lib/modules/$KVER/build" "/usr/src/linux-headers-$KVER" \
		 "/usr/src/linux-headers-$base-common"; do
		if [ -f "$d/scripts/extract-vmlinux" ]; then
			echo "$d/scripts/extract-vmlinux"
			return
		fi
	done
	if [ -s "$CACHE/extract-vmlinux" ]; then
		echo "$CACHE/extract-vmlinux"
		return
	fi
	local upstream=${KVER%%[-+]*}
	local majmin
	majmin=$(echo "$upstream" | cut -d. -f1,2)
	local tarball=/usr/src/linux-source-$majmin.tar.xz
	[ -f "$tarball" ] || die "no scripts/extract-vmlinux in the headers and no $tarball"
	echo "$me: extracting scripts/extract-vmlinux from $tarball" >&2
	tar -xJOf "$tarball" "linux-source-$majmin/scripts/extract-vmlinux" \
		>"$tmp/extract-vmlinux" ||
		die "cannot extract scripts/extract-vmlinux from $tarball"
	[ -s "$tmp/extract-vmlinux" ] || die "empty scripts/extract-vmlinux in $tarball"
	mv "$tmp/extract-vmlinux" "$CACHE/extract-vmlinux"
	echo "$CACHE/extract-vmlinux"
}

sum=$(sha256sum "$IMAGE" | cut -d' ' -f1)
if [ ! -s "$CACHE/vmlinux.btf" ] || [ "$(cat "$CACHE/image.sha256" 2>/dev/null)" != "$sum" ]; then
	ev=$(find_extract_vmlinux)
	echo "$me: extracting the BTF of $IMAGE" >&2
	sh "$ev" "$IMAGE" >"$tmp/vmlinux" 2>"$tmp/extract.log" || {
		cat "$tmp/extract.log" >&2
		die "extract-vmlinux failed on $IMAGE"
	}
	readelf -h "$tmp/vmlinux" >/dev/null 2>&1 || die "extract-vmlinux did not produce an ELF file"
	if ! readelf -S -W "$tmp/vmlinux" | grep -q ' \.BTF '; then
		cfg=/boot/config-$KVER
		[ -f "$cfg" ] || cfg=/usr/lib/modules/$KVER/config
		die "$IMAGE has no .BTF section ($(grep -s '^CONFIG_DEBUG_INFO_BTF[= ]' "$cfg" ||
			echo 'CONFIG_DEBUG_INFO_BTF is not set'))"
	fi
	objcopy -O binary --only-section=.BTF "$tmp/vmlinux" "$tmp/vmlinux.btf" ||
		die "cannot copy the .BTF section out of the image"
	# BTF magic 0xeb9f, little endian.
	[ "$(od -An -tx1 -N2 "$tmp/vmlinux.btf" | tr -d ' ')" = 9feb ] ||
		die "the .BTF section of $IMAGE does not start with the BTF magic"
	echo "$sum" >"$tmp/image.sha256"
	mv "$tmp/vmlinux.btf" "$CACHE/vmlinux.btf"
	mv "$tmp/image.sha256" "$CACHE/image.sha256"
fi

mkdir -p "$(dirname "$OUT")"
bpftool btf dump file "$CACHE/vmlinux.btf" format c >"$tmp/vmlinux.h" ||
	die "bpftool btf dump failed on $CACHE/vmlinux.btf"
grep -q 'struct task_struct {' "$tmp/vmlinux.h" ||
	die "vmlinux.h has no struct task_struct; the BTF looks truncated"
mv "$tmp/vmlinux.h" "$OUT.tmp.$$"
mv "$OUT.tmp.$$" "$OUT"
