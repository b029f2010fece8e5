#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the modules (drivers/unified_io, drivers/unio_nic) for kernels of the
# kernel matrix, each with W=1 and warnings as errors.
#
#   scripts/kmod.sh NAME...     build for these entries (aliases accepted)
#
# The build for entry NAME runs in build/kmod/NAME/, a mirror of the module
# sources (symbolic links with the repository's layout): kbuild refuses a
# separate output directory for a source tree that holds an in-tree build
# (make module-kdir, DKMS), and the entries must not share objects.  First
# scripts/kapi.sh probes the entry's kernel and writes
# build/kmod/NAME/include/kapi/kapi.h (and kapi.mk); a patched or debug entry's kernel is
# built first if it is not cached (scripts/kernel.sh).  The modules end up
# in build/kmod/NAME/drivers/*/, where tools/vm/run --kernel NAME loads them.
# For a patched kernel, its netdev netlink spec and ynl (from the patched
# source) go to build/kmod/NAME/ynl/: the guest has no other copy of the
# patched spec.
#
# Runs inside the sysroot (the top-level Makefile's module target).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ "${UNIFIED_IO_IN_SYSROOT:-0}" != 1 ]; then
	exec "$REPO/scripts/sysroot.sh" run "$REPO/scripts/kmod.sh" "$@"
fi
MATRIX=$REPO/scripts/matrix.sh
BUILD=${BUILD:-$REPO/build}

log() { printf '[kmod] %s\n' "$*" >&2; }

[ $# -gt 0 ] || { echo "usage: $0 NAME..." >&2; exit 2; }

# The module sources: kbuild files, C sources and headers; never what a
# build generates.
sources() {
	cd "$REPO" && find Kbuild drivers include -type f \
		\( -name Kbuild -o -name '*.[ch]' \) ! -name '*.mod.c' \
		! -path 'include/kapi/*'
}

for arg in "$@"; do
	name=$("$MATRIX" name "$arg")
	kind=$("$MATRIX" get "$name" kind)
	[ "$kind" = stock ] || "$REPO/scripts/kernel.sh" ensure "$name" >/dev/null
	kdir=$("$MATRIX" kdir "$name")
	kver=$("$MATRIX" kver "$name")
	out=$BUILD/kmod/$name

	mkdir -p "$out"
	find "$out" -xtype l -delete
	while read -r f; do
		[ -L "$out/$f" ] && continue
		mkdir -p "$(dirname "$out/$f")"
		ln -s "$REPO/$f" "$out/$f"
	done < <(sources)

	log "$name: Linux $kver"
	"$REPO/scripts/kapi.sh" "$kdir" "$out"
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
		make -C "$kdir" M="$out" W=1 KCFLAGS=-Werror -j"$(nproc)" modules
	echo "$kver" >"$out/kernel.release"

	if [ "$kind" != stock ]; then
		src=$(dirname "$kdir")/source
		rm -rf "$out/ynl"
		mkdir -p "$out/ynl"
		cp -r "$src/tools/net/ynl/pyynl" "$out/ynl/"
		cp "$src/Documentation/netlink/specs/netdev.yaml" "$out/ynl/"
		find "$out/ynl" -name __pycache__ -prune -exec rm -rf {} +
	fi
done
