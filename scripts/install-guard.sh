#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# install-guard.sh DIR... - refuse an install into the build sysroot, or
# to a relative path.
#
# A relative DESTDIR or PREFIX would land in each directory the install
# runs make in (lib/libunifiedio, bpf, tools, ...): every DIR must be
# absolute.
#
# Every install rule (make install, and make -C DIR install in lib/,
# bpf/, tools/) runs this on the directories it is about to write.  Inside
# the unified_io sysroot (its root holds .unified_io_stamp, written by
# scripts/sysroot.sh), a directory whose nearest existing ancestor is on the
# sysroot's own root file system is refused: that tree is the cache
# $UNIFIED_IO_CACHE/sysroot-trixie, and tools/vm/run boots every guest with
# it as its root file system, so "make install" with the default
# PREFIX=/usr/local would change what every later build and test sees.
# Directories on another mount are fine: the repository (bind-mounted at
# its own path), UNIFIED_IO_EXTRA_BIND directories, /run.  Anywhere else (the
# host, a real trixie machine) it checks nothing.
#
# Exit status: 0 when the install may go ahead, 1 (with the reason on
# standard error) when it may not.
set -euo pipefail

for dir in "$@"; do
	case $dir in
	/*) ;;
	*)
		echo "install: $dir is not an absolute path (DESTDIR, PREFIX and the *DIR variables must be)" >&2
		exit 1 ;;
	esac
done

[ -e /.unified_io_stamp ] || exit 0

# Bind mounts of one file system share st_dev, so the mount table, not
# stat(1), tells the repository's bind mount from the sysroot's root.  In
# the chroot of scripts/sysroot.sh the sysroot's root is no mount point, so
# no mount covers a path there (findmnt finds none); in a guest it is the
# 9p mount at "/".
for dir in "$@"; do
	d=$dir
	while [ ! -e "$d" ]; do
		d=$(dirname "$d")
	done
	mnt=$(findmnt -n -o TARGET -T "$d" 2>/dev/null || true)
	[ -z "$mnt" ] || [ "$mnt" = / ] || continue
	cat >&2 <<EOF
install: refusing to write $dir: it is in the build sysroot
  (${UNIFIED_IO_CACHE:-/var/cache/unified_io}/sysroot-trixie on the host), which every
  tools/vm/run guest boots as its root file system.  Run "make install" on
  the host (it builds in the sysroot and installs where make runs), or
  stage the install in the repository: make install DESTDIR=\$PWD/build/stage
EOF
	exit 1
done
