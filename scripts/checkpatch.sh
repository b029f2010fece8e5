#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the kernel's scripts/checkpatch.pl on the driver and the uapi header,
# and its kernel-doc on the uapi header (both from the sysroot's linux-source
# tarball, extracted once into a cache). Fails on any error or warning.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ "${UNIFIED_IO_IN_SYSROOT:-0}" != 1 ]; then
	exec "$REPO/scripts/sysroot.sh" run "$REPO/scripts/checkpatch.sh" "$@"
fi

tarball=$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -n 1)
[ -n "$tarball" ] || { echo "checkpatch: no linux-source tarball in the sysroot" >&2; exit 1; }
ver=$(basename "$tarball" .tar.xz)
cache=${UNIFIED_IO_CACHE:-/var/cache/unified_io}
mkdir -p "$cache"
dir=$cache/$ver-scripts

if [ ! -x "$dir/scripts/checkpatch.pl" ] || [ ! -e "$dir/tools/docs/kernel-doc" ]; then
	tmp=$(mktemp -d "${dir}.XXXXXX")
	tar -xJf "$tarball" -C "$tmp" --strip-components=1 --wildcards \
		"*/scripts/checkpatch.pl" "*/scripts/spelling.txt" \
		"*/scripts/const_structs.checkpatch" "*/tools/docs/kernel-doc" \
		"*/tools/lib/python/*"
	rm -rf "$dir"
	mv "$tmp" "$dir"
fi

cd "$REPO"
files=($(ls drivers/unified_io/*.[ch] drivers/unio_nic/*.[ch] | grep -v "\.mod\.c$") include/kcompat.h include/uapi/linux/unified_io.h)
echo "checkpatch ($ver): ${files[*]}"
"$dir/scripts/checkpatch.pl" --no-tree --show-types --terse -f "${files[@]}" \
	--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG

echo "kernel-doc: include/uapi/linux/unified_io.h"
out=$(python3 "$dir/tools/docs/kernel-doc" -none -Wall include/uapi/linux/unified_io.h 2>&1)
if [ -n "$out" ]; then
	printf '%s\n' "$out"
	exit 1
fi
