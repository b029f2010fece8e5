#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Print a directory holding the kernel's kselftest harness headers
# (tools/testing/selftests/kselftest_harness.h, kselftest.h and every header
# they include with #include "..."), for the selftests' -I.
#
# The headers come from Debian's linux-source-<ver> tarball and are extracted
# once into ${UNIFIED_IO_CACHE:-/var/cache/unified_io}/ksft-<version>/, laid
# out as below tools/testing/selftests/. Inside the sysroot that path is the
# sysroot's own cache directory; outside it the script reads the tarball from
# the sysroot (scripts/sysroot.sh path). Nothing is copied into the repository.
#
# Extraction is atomic (a private temporary directory renamed into place), so
# concurrent callers never see a half-written directory.
#
# Environment:
#   UNIFIED_IO_CACHE    cache directory (default /var/cache/unified_io)
#   KSFT_SOURCE         a linux-source tarball to use instead of the newest one
#                       matching the sysroot's kernel
#
# Only the directory is printed on stdout; diagnostics go to stderr.
set -euo pipefail

CACHE=${UNIFIED_IO_CACHE:-/var/cache/unified_io}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SELFTESTS=tools/testing/selftests
HEADERS=(kselftest_harness.h kselftest.h)

die() { printf 'ksft-headers: %s\n' "$*" >&2; exit 1; }

# The root the tarball and the kernel live in: / inside the sysroot.
root=
if [ "${UNIFIED_IO_IN_SYSROOT:-}" != 1 ]; then
	root=$("$REPO/scripts/sysroot.sh" path)
fi

# Kernel major.minor the module is built for (newest with headers), if known.
kmm=
for d in "$root"/usr/lib/modules/*; do
	[ -e "$d/build" ] || continue
	v=${d##*/}
	kmm=$(printf '%s\n' "$v" | sed -n 's/^\([0-9]*\.[0-9]*\).*/\1/p')
done

tarball=${KSFT_SOURCE:-}
if [ -z "$tarball" ]; then
	# The tarball of the module's kernel series, else the newest one.
	if [ -n "$kmm" ]; then
		for t in "$root"/usr/src/linux-source-"$kmm".tar.*; do
			[ -f "$t" ] && tarball=$t
		done
	fi
	if [ -z "$tarball" ]; then
		tarball=$(ls -1 "$root"/usr/src/linux-source-*.tar.* 2>/dev/null | sort -V | tail -n 1 || true)
	fi
fi
[ -n "$tarball" ] && [ -f "$tarball" ] ||
	die "no linux-source tarball in $root/usr/src (install the Debian package linux-source-<ver> in the sysroot)"

# Version: the Debian package version when dpkg knows it, else the file name.
series=$(basename "$tarball"); series=${series#linux-source-}; series=${series%.tar.*}
version=$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Version}' "linux-source-$series" 2>/dev/null || true)
version=${version:-$series}
version=$(printf '%s' "$version" | tr -c 'A-Za-z0-9.+~_-' '_')
dest=$CACHE/ksft-$version

if [ -f "$dest/kselftest_harness.h" ]; then
	printf '%s\n' "$dest"
	exit 0
fi

mkdir -p "$CACHE"
tmp=$(mktemp -d "$CACHE/.ksft-$version.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Extract the wanted headers, then whatever they include, until closed.
want=("${HEADERS[@]}")
have=()
while [ ${#want[@]} -gt 0 ]; do
	pats=()
	for h in "${want[@]}"; do pats+=("*/$SELFTESTS/$h"); done
	printf 'ksft-headers: extracting %s from %s\n' "${want[*]}" "$tarball" >&2
	tar -xf "$tarball" -C "$tmp" --no-wildcards-match-slash --wildcards \
		--strip-components=4 \
		"${pats[@]}" 2>/dev/null || true
	for h in "${want[@]}"; do
		[ -f "$tmp/$h" ] || die "$SELFTESTS/$h is not in $tarball"
	done
	have+=("${want[@]}")
	next=()
	for h in "${want[@]}"; do
		dir=$(dirname "$h")
		while read -r inc; do
			case $inc in
			/*|*..*) die "$h includes \"$inc\", outside $SELFTESTS" ;;
			esac
			p=$inc; [ "$dir" = . ] || p=$dir/$inc
			[[ " ${have[*]} ${next[*]:-} " == *" $p "* ]] || next+=("$p")
		done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$tmp/$h")
	done
	want=("${next[@]:+${next[@]}}")
done

chmod -R a+rX "$tmp"
# Atomic publication; losing a race to another caller is fine.
mv -T "$tmp" "$dest" 2>/dev/null || [ -f "$dest/kselftest_harness.h" ] ||
	die "cannot create $dest"
trap - EXIT
rm -rf "$tmp"
printf '%s\n' "$dest"
