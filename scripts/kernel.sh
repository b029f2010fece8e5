#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The patched test kernels of the kernel matrix (kernel/matrix, entries of
# kind "patched" and "debug"): Linux SERIES from the sysroot's
# linux-source-SERIES tarball with the patches of kernel/patches/SERIES/ (or,
# where the series needs no patches of its own, kernel/patches/*.patch)
# applied, configured as "make tinyconfig" plus kernel/config/unified_io.config
# (then kernel/config/SERIES.config if the series has one, and
# kernel/config/debug.config for a "debug" entry), built once and cached
# outside the repository.
#
#   scripts/kernel.sh ensure NAME   build it unless cached; print its directory
#   scripts/kernel.sh path NAME     print its directory; exit 1 if not built
#   scripts/kernel.sh kver NAME     print its kernel release; exit 1 if not built
#
# NAME is a matrix entry, or the alias "patched" or "patched-debug" (the
# first entry of that kind).
#
# The directory, $UNIFIED_IO_CACHE/kernel/<variant>-<series>-<key> inside the
# sysroot (<variant> is "patched" or "patched-debug"), holds:
#
#   bzImage            the kernel image
#   modules/lib/modules/<kver>/
#                      its modules (make modules_install, stripped), with
#                      modules.dep and modules.builtin
#   build/             the object tree (O=): .config, Module.symvers, vmlinux
#                      (the BTF base of "BTF [M]"), scripts and generated
#                      headers; build external modules with
#                      make -C <dir>/build M=... [MO=...] modules
#   source             a symbolic link to the patched source tree that
#                      build/ refers to, shared by the variants of a series
#   kernel.release     the kernel release (uname -r)
#   build.log          the whole make output; build-time, the seconds it took
#
# <key> is a hash of what the kernel is made from: the linux-source package
# (version and the tarball's checksum), the patches, the config fragments,
# the build recipe (the functions below that run make; not comments) and
# the variant.  A build runs in a private directory next to the published
# ones; the name <variant>-<series>-<key> is a symbolic link to it, created by
# rename(2) when the build is complete, so nobody sees a partial kernel and
# the absolute paths kbuild writes into the object tree stay valid.  The
# patched source tree is published the same way, once for both variants
# (kbuild's O= builds never write into it): source-<series>-<key>, keyed
# by the package and the patches.  One build at a time (flock); the cache
# keeps the kernels of the matrix's patched and debug entries plus one, and
# the source trees they use.
#
# Runs inside the sysroot; from the host it re-executes itself through
# scripts/sysroot.sh run.  Environment: UNIFIED_IO_CACHE (default
# /var/cache/unified_io).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SELF=$REPO/scripts/kernel.sh
if [ "${UNIFIED_IO_IN_SYSROOT:-0}" != 1 ]; then
	exec "$REPO/scripts/sysroot.sh" run "$SELF" "$@"
fi

MATRIX=$REPO/scripts/matrix.sh
CONFIGS=$REPO/kernel/config
KCACHE=${UNIFIED_IO_CACHE:-/var/cache/unified_io}/kernel

log() { printf '[kernel] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
	echo "usage: $0 {ensure|path|kver} NAME   (a patched or debug entry of kernel/matrix)" >&2
	exit 2
}

# ---------------------------------------------------------------------------
# Arguments and the cache key

cmd=${1:-}
[ $# -ge 1 ] && shift
[ $# -eq 1 ] || usage
case "$cmd" in ensure|path|kver) ;; *) usage ;; esac
ENTRY=$("$MATRIX" name "$1")
KIND=$("$MATRIX" get "$ENTRY" kind)
SERIES=$("$MATRIX" get "$ENTRY" series)
case $KIND in
patched) DEBUG= ;;
debug)   DEBUG=1 ;;
*)       die "$ENTRY is a $KIND kernel: Debian builds it, not this script" ;;
esac
SRCPKG=linux-source-$SERIES
TARBALL=/usr/src/$SRCPKG.tar.xz
KEEP=$(( $("$MATRIX" entries patched debug | wc -l) + 1 ))

VARIANT=patched${DEBUG:+-debug}
FRAGMENTS=("$CONFIGS/unified_io.config")
[ ! -f "$CONFIGS/$SERIES.config" ] || FRAGMENTS+=("$CONFIGS/$SERIES.config")
[ -z "$DEBUG" ] || FRAGMENTS+=("$CONFIGS/debug.config")
# A series' own patches where it needs them, else the common ones.
PATCHES=$REPO/kernel/patches
[ ! -d "$PATCHES/$SERIES" ] || PATCHES=$PATCHES/$SERIES
mapfile -t PATCH_FILES < <(find "$PATCHES" -maxdepth 1 -name '*.patch' | LC_ALL=C sort)
[ ${#PATCH_FILES[@]} -gt 0 ] || die "no patches in ${PATCHES#"$REPO"/}"

[ -f "$TARBALL" ] ||
	die "$TARBALL is missing: the sysroot installs $SRCPKG for $ENTRY (scripts/sysroot.sh ensure)"

# What the source tree is made from.  dpkg's checksum of the tarball
# identifies its content without reading 160 MB on every call.
source_key() {
	{
		dpkg-query -W -f '${Package} ${Version}\n' "$SRCPKG"
		grep " usr/src/$SRCPKG.tar.xz\$" "/var/lib/dpkg/info/$SRCPKG.md5sums" ||
			sha256sum "$TARBALL"
		for f in "${PATCH_FILES[@]}"; do
			echo "== ${f#"$REPO"/}"
			cat "$f"
		done
		declare -f extract
	} | sha256sum | cut -c1-12
}

# What the kernel is made from.
key() {
	{
		echo "variant $VARIANT"
		echo "source $SRCNAME"
		for f in "${FRAGMENTS[@]}"; do
			echo "== ${f#"$REPO"/}"
			cat "$f"
		done
		declare -f kmake kmake_watched check_config build
	} | sha256sum | cut -c1-12
}

# A published kernel: mark it used (the pruning keeps the newest) and say
# where it is.
published() {
	[ -f "$DIR/kernel.release" ] && [ -f "$DIR/source/Makefile" ] || return 1
	touch "$DIR"
}

# ---------------------------------------------------------------------------
# Building

# The make run of each phase, all output to the build log.  Variables of a
# calling make (the top-level Makefile) must not reach kbuild.
#
# -fno-var-tracking-assignments: the patched kernel's DWARF is there for
# pahole, which turns it into BTF, and nothing reads variable locations (the
# project's probes are BPF kprobes and fexit, on BTF and registers).  GCC's
# var-tracking-assignments pass is a third of the compile time of some files
# (kernel/bpf/helpers.c: 26 s with it, 18 s without).  Not -fno-var-tracking,
# which goes further: pahole tells a function whose parameters were optimized
# away from one whose parameters have no location at all only by those
# locations, so without them it leaves functions out of BTF, among them two
# memcontrol kfuncs, and the kernel then refuses the whole kfunc set and every
# kfunc with it (measured: every BPF test that calls bpf_iter_num_new failed).
# With var-tracking kept, pahole emits the same functions for helpers.c,
# filter.c, tcp.c and bpf_memcontrol.c as with the default flags.  No effect on
# the debug variant, which has no debug information.
kmake() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
		make -C "$WORK/source" O="$WORK/build" \
		KBUILD_BUILD_USER=unified_io KBUILD_BUILD_HOST=sysroot \
		KCFLAGS=-fno-var-tracking-assignments "$@" \
		>>"$LOG" 2>&1
}

elapsed() { local s=$(( $(date +%s) - $1 )); printf '%dm%02ds' $((s / 60)) $((s % 60)); }

# The long compile: make in its own process group (killed with us), with a
# line every minute saying how far it got.
BUILD_PID=
kmake_watched() {
	local start=$1 i=0 last
	shift
	set -m
	kmake "$@" &
	BUILD_PID=$!
	set +m
	while kill -0 "$BUILD_PID" 2>/dev/null; do
		sleep 1
		i=$((i + 1))
		if [ $((i % 60)) = 0 ]; then
			last=$(grep -E '^  [A-Z]' "$LOG" | tail -n 1 | sed 's/^ *//') || true
			log "  $(elapsed "$start"): ${last:-...}"
		fi
	done
	wait "$BUILD_PID" || { BUILD_PID=; return 1; }
	BUILD_PID=
}

# Every option a fragment sets must have its value in the final .config:
# olddefconfig silently drops an option whose dependencies are not met.
check_config() {
	local line sym val have bad=()
	local -A want=()
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*)
			want[${line%%=*}]=${line#*=} ;;
		"# CONFIG_"*" is not set")
			sym=${line#"# "}
			want[${sym%" is not set"}]=n ;;
		esac
	done < <(cat "${FRAGMENTS[@]}")
	for sym in $(printf '%s\n' "${!want[@]}" | LC_ALL=C sort); do
		val=${want[$sym]}
		have=$(sed -n "s/^$sym=//p" "$WORK/build/.config")
		[ "$val" = "${have:-n}" ] || bad+=("$sym: asked for $val, got ${have:-n}")
	done
	[ ${#bad[@]} -eq 0 ] && return
	log "olddefconfig did not keep these options (unmet dependencies?):"
	printf '[kernel]   %s\n' "${bad[@]}" >&2
	return 1
}

# On failure: the log's tail, the log kept next to the cache entries, the
# work directory removed.
# shellcheck disable=SC2317 # called by the EXIT trap
build_cleanup() {
	local rc=$?
	local d
	[ -z "$BUILD_PID" ] || kill -TERM -- "-$BUILD_PID" 2>/dev/null || true
	# A source tree being extracted when we were stopped, and its patch
	# log (under the lock: nobody else extracts).
	for d in "$KCACHE/.$SRCNAME".*; do
		[ -e "$d" ] && ! [ "$d" -ef "$SRC" ] || continue
		[ "${d%.log}" = "$d" ] || [ ! -f "${LOG:-}" ] || cat "$d" >>"$LOG"
		rm -rf "$d"
	done
	[ -n "${WORK:-}" ] && [ -d "$WORK" ] || return "$rc"
	if [ "$rc" != 0 ] && [ -f "$LOG" ]; then
		log "build failed; last lines of $KCACHE/$NAME.failed.log:"
		tail -n 40 "$LOG" | sed 's/^/  | /' >&2
		mv "$LOG" "$KCACHE/$NAME.failed.log"
	fi
	rm -rf "$WORK"
	return "$rc"
}

# The patched source tree, published as $SRC (under the lock).  xz
# decompresses the tarball's blocks on both cores while tar writes.
extract() {
	local tmp patch
	[ -f "$SRC/Makefile" ] && return
	tmp=$(mktemp -d "$KCACHE/.$SRCNAME.XXXXXX")
	log "extracting $SRCPKG $(dpkg-query -W -f '${Version}' "$SRCPKG") into $SRC"
	xz -dc -T"$(nproc)" "$TARBALL" | tar -x -C "$tmp" --strip-components=1 ||
		{ rm -rf "$tmp"; die "cannot extract $TARBALL"; }
	for patch in "${PATCH_FILES[@]}"; do
		log "applying ${patch#"$REPO"/}"
		{ echo "== patch -p1 < $patch"; patch -d "$tmp" -p1 --forward --batch < "$patch"; } \
			>>"$tmp.log" 2>&1 || { tail -n 20 "$tmp.log" >&2; rm -rf "$tmp" "$tmp.log"; die "$patch does not apply"; }
	done
	rm -f "$tmp.log"
	ln -s "${tmp##*/}" "$tmp.link"
	mv -T "$tmp.link" "$SRC"
}

build() {
	local t0 t kver
	WORK=$(mktemp -d "$KCACHE/.$NAME.XXXXXX")
	LOG=$WORK/build.log
	trap build_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	t0=$(date +%s)
	log "building the $VARIANT kernel $NAME (log: $LOG)"

	extract
	ln -s "$(readlink -f "$SRC")" "$WORK/source"
	mkdir "$WORK/build"

	log "configuring: tinyconfig + ${FRAGMENTS[*]#"$REPO"/}"
	kmake tinyconfig
	"$WORK/source/scripts/kconfig/merge_config.sh" -m -O "$WORK/build" \
		"$WORK/build/.config" "${FRAGMENTS[@]}" >>"$LOG" 2>&1
	kmake olddefconfig
	check_config

	t=$(date +%s)
	log "compiling bzImage and modules with -j$(nproc)"
	kmake_watched "$t" -j"$(nproc)" bzImage modules
	log "compiled in $(elapsed "$t")"

	log "installing modules"
	kmake INSTALL_MOD_PATH="$WORK/modules" INSTALL_MOD_STRIP=1 modules_install
	cp "$WORK/build/arch/x86/boot/bzImage" "$WORK/bzImage"
	kver=$(make -s -C "$WORK/build" kernelrelease 2>>"$LOG")
	[ -f "$WORK/modules/lib/modules/$kver/modules.dep" ] ||
		die "modules_install wrote no modules.dep for $kver"

	# External modules need the configuration, scripts, generated headers,
	# Module.symvers and vmlinux, not the kernel's own objects.
	find "$WORK/build" \( -path "$WORK/build/scripts" -o -path "$WORK/build/tools" \) -prune \
		-o -type f \( -name '*.o' -o -name '.tmp_vmlinux*' \) -print0 | xargs -0r rm -f

	echo $(( $(date +%s) - t0 )) > "$WORK/build-time"
	echo "$kver" > "$WORK/kernel.release"

	# Publish: a symbolic link named after the key, renamed into place.
	ln -s "${WORK##*/}" "$WORK.link"
	mv -T "$WORK.link" "$DIR"
	trap - EXIT INT TERM
	log "built $kver in $(elapsed "$t0") ($(du -sh "$WORK" | cut -f1)): $DIR"
}

# Keep the KEEP most recently used kernels and the source trees they use;
# drop the rest and work directories no link points to (interrupted
# builds).  Under the lock.
prune() {
	local link target kept=0
	local -A live=()
	while read -r _ link; do
		if [ "$kept" -lt "$KEEP" ]; then
			kept=$((kept + 1))
			live[$(readlink "$link")]=1
			target=$(readlink -f "$link/source") || true
			[ ! -d "$target" ] || live[${target##*/}]=1
		else
			log "removing the old kernel ${link##*/}"
			target=$(readlink "$link")
			rm -f "$link"
			rm -rf "${KCACHE:?}/$target"
		fi
	done < <(for link in "$KCACHE"/patched*-*; do
			if [ -L "$link" ] && [ -d "$link" ]; then
				echo "$(stat -L -c %Y "$link") $link"
			fi
		done | sort -rn)
	# The source tree being extracted for the kernel about to be built is
	# not in use yet: prune runs after the build, never before it.
	for link in "$KCACHE"/source-*; do
		[ -L "$link" ] || continue
		target=$(readlink "$link")
		[ -n "${live[$target]:-}" ] || rm -f "$link"
	done
	for target in "$KCACHE"/.patched* "$KCACHE"/.source-*; do
		if [ -d "$target" ] && [ -z "${live[${target##*/}]:-}" ]; then
			rm -rf "$target"
		fi
	done
	find "$KCACHE" -maxdepth 1 -name '*.failed.log' -mtime +7 -delete
}

ensure() {
	published && return
	mkdir -p "$KCACHE"
	exec 9>"$KCACHE/.lock"
	if ! flock -n 9; then
		log "waiting for another kernel build to finish"
		flock 9
	fi
	if ! published; then
		build
	fi
	prune
	exec 9>&-
}

SRCNAME=source-$SERIES-$(source_key)
SRC=$KCACHE/$SRCNAME
NAME=$VARIANT-$SERIES-$(key)
DIR=$KCACHE/$NAME

case "$cmd" in
ensure)
	ensure
	echo "$DIR" ;;
path)
	published || { log "the $ENTRY kernel $NAME is not built (scripts/kernel.sh ensure $ENTRY)"; exit 1; }
	echo "$DIR" ;;
kver)
	published || { log "the $ENTRY kernel $NAME is not built (scripts/kernel.sh ensure $ENTRY)"; exit 1; }
	cat "$DIR/kernel.release" ;;
esac
