#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build environment for unified_io: a Debian trixie sysroot (with
# trixie-backports for the 7.x kernels and sid for liburing) created by
# debootstrap in a cache directory outside the repository.
#
#   scripts/sysroot.sh ensure      create or refresh the sysroot, print versions
#   scripts/sysroot.sh run CMD...  run CMD inside the sysroot (repo at same path)
#   scripts/sysroot.sh path        print the sysroot directory
#   scripts/sysroot.sh versions    print the kernels and toolchain versions
#   scripts/sysroot.sh packages    print the packages installed by name
#
# The kernels are those of the kernel matrix (kernel/matrix): the image and
# headers of each stock entry, the source of each patched series, at the
# versions kernel/matrix.lock names while the archive has them
# (scripts/matrix.sh resolve), and no other kernel: uploads and series that
# left the matrix are purged.  Every other package is named below and
# locked the same way.
#
# Every command also works inside the sysroot (UNIFIED_IO_IN_SYSROOT=1), where
# the sysroot is "/" and "run" runs its command directly.
#
# Environment:
#   UNIFIED_IO_CACHE   cache directory (default /var/cache/unified_io)
#
# The sysroot is refreshed whenever the package list below, this script,
# kernel/matrix, kernel/matrix.lock or scripts/matrix.sh changes: a stamp
# file records the hash of what was installed.  The apt lists are refreshed
# at most once a day, for scripts/matrix.sh untested.
set -euo pipefail

CACHE=${UNIFIED_IO_CACHE:-/var/cache/unified_io}
SYSROOT=$CACHE/sysroot-trixie
# Inside the sysroot (scripts re-executed by "run") the sysroot is "/".
INSIDE=${UNIFIED_IO_IN_SYSROOT:-0}
[ "$INSIDE" = 1 ] && SYSROOT=""

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MIRROR=${UNIFIED_IO_MIRROR:-http://deb.debian.org/debian}

# Packages from trixie (and trixie-backports for the kernel).
PKGS_TRIXIE=(
	build-essential bc bison flex libelf-dev libssl-dev dwarves kmod cpio
	busybox-static clang llvm lld libbpf-dev bpftool pkg-config
	nvme-cli libnvme-dev fio qemu-system-x86 qemu-utils iproute2 ethtool
	procps util-linux xz-utils zstd python3 python3-matplotlib python3-yaml
	python3-jsonschema
	strace file ca-certificates dkms
)
# The kernels come from kernel/matrix (scripts/matrix.sh resolve), never
# from the linux-image-amd64 metapackage, which follows the newest upload.
# liburing from sid (2.10+ has the zcrx helpers); a drop-in for trixie.
PKGS_SID=(liburing-dev liburing2)

log() { printf '[sysroot] %s\n' "$*" >&2; }

stamp_hash() {
	{ printf '%s\n' "${PKGS_TRIXIE[@]}" "${PKGS_SID[@]}";
	  cat "${BASH_SOURCE[0]}" "$REPO/kernel/matrix" "$REPO/scripts/matrix.sh";
	  cat "$REPO/kernel/matrix.lock" 2>/dev/null || true; } | sha256sum | cut -d' ' -f1
}

# Run a command chrooted into the sysroot inside a private mount namespace,
# so every mount made for it disappears when it exits (no leaks, and two
# callers never see each other's mounts).
in_root() {
	if [ "$INSIDE" = 1 ]; then
		"$@"
		return
	fi
	unshare --mount --propagation private -- /bin/bash -s -- "$SYSROOT" "$REPO" "$@" <<'INNER'
set -e
root=$1 repo=$2; shift 2
mount --rbind /dev "$root/dev"
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount -t tmpfs tmpfs "$root/run"
mkdir -p "$root$repo"
mount --bind "$repo" "$root$repo"
if [ -n "${UNIFIED_IO_EXTRA_BIND:-}" ]; then
	for d in $UNIFIED_IO_EXTRA_BIND; do
		mkdir -p "$root$d"; mount --bind "$d" "$root$d"
	done
fi
cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
cd "$root$repo" 2>/dev/null || true
exec chroot "$root" /usr/bin/env -i HOME=/root TERM="${TERM:-dumb}" \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	LANG=C.UTF-8 CI="${CI:-}" UNIFIED_IO_IN_SYSROOT=1 UNIFIED_IO_CACHE="${UNIFIED_IO_CACHE:-}" \
	/bin/bash -c 'cd "$0" && exec "$@"' "$repo" "$@"
INNER
}

host_deps() {
	local need=()
	command -v debootstrap >/dev/null || need+=(debootstrap)
	command -v unshare >/dev/null || need+=(util-linux)
	[ -e /usr/share/keyrings/debian-archive-keyring.gpg ] || need+=(debian-archive-keyring)
	if [ ${#need[@]} -gt 0 ]; then
		log "installing host packages: ${need[*]}"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
	fi
}

bootstrap() {
	log "debootstrap trixie into $SYSROOT (first run only)"
	rm -rf "$SYSROOT.tmp"
	mkdir -p "$CACHE"
	debootstrap --variant=minbase trixie "$SYSROOT.tmp" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 || {
		tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
	mv "$SYSROOT.tmp" "$SYSROOT"
}

configure_apt() {
	cat >"$SYSROOT/etc/apt/sources.list" <<SRC
deb $MIRROR trixie main
deb $MIRROR trixie-updates main
deb $MIRROR trixie-backports main
deb $MIRROR sid main
SRC
	cat >"$SYSROOT/etc/apt/apt.conf.d/90unified-io" <<'CONF'
Acquire::Check-Valid-Until "false";
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Dpkg::Use-Pty "0";
CONF
	# sid only where asked for by name (-t unstable / pins below).
	cat >"$SYSROOT/etc/apt/preferences.d/90unified-io" <<'PREF'
Package: *
Pin: release n=sid
Pin-Priority: 100

Package: liburing-dev liburing2
Pin: release n=sid
Pin-Priority: 990
PREF
	# The sysroot is a cache, rebuilt from nothing if lost: dpkg need not
	# fsync each file it unpacks (Debian's container images do the same).
	echo force-unsafe-io >"$SYSROOT/etc/dpkg/dpkg.cfg.d/90unified-io"
	# No initramfs is needed for the guest (tools/vm builds its own).
	mkdir -p "$SYSROOT/etc/initramfs-tools"
	echo 'update_initramfs=no' >"$SYSROOT/etc/initramfs-tools/update-initramfs.conf"
}

install_pkgs() {
	log "installing packages into the sysroot"
	in_root /bin/bash -c '
		set -euo pipefail
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		"$0"/scripts/matrix.sh resolve "$@" >/tmp/specs
		# The named packages first, then each suite'"'"'s kernel packages
		# with that suite as the target release, so their dependencies
		# (linux-base, linux-kbuild) may come from it too.
		for suite in - $(awk '"'"'$1 != "-" { print $1 }'"'"' /tmp/specs | sort -u); do
			mapfile -t specs < <(awk -v s="$suite" '"'"'$1 == s { print $2 }'"'"' /tmp/specs)
			[ ${#specs[@]} -gt 0 ] || continue
			t=(); [ "$suite" = - ] || t=(-t "$suite")
			echo "[sysroot] installing${t[1]:+ from ${t[1]}}: ${specs[*]}" >&2
			apt-get install -y -qq "${t[@]}" "${specs[@]}" >/tmp/apt.log 2>&1 ||
				{ tail -30 /tmp/apt.log; exit 1; }
		done
		mapfile -t stale < <("$0"/scripts/matrix.sh stale)
		if [ ${#stale[@]} -gt 0 ]; then
			echo "[sysroot] purging kernel packages the matrix does not name: ${stale[*]}" >&2
			apt-get purge -y -qq "${stale[@]}" >/tmp/apt.log 2>&1 || { tail -30 /tmp/apt.log; exit 1; }
		fi
		apt-get autoremove --purge -y -qq >/tmp/apt.log 2>&1 || { tail -30 /tmp/apt.log; exit 1; }
		apt-get clean
	' "$REPO" "${PKGS_TRIXIE[@]}" "${PKGS_SID[@]}"
}

# The apt lists, for scripts/matrix.sh untested: refreshed at most daily.
refresh_lists() {
	local lists=$SYSROOT/var/lib/apt/lists
	[ -n "$(find "$lists" -maxdepth 0 -mmin -1440 2>/dev/null)" ] && return
	log "refreshing the apt lists (daily)"
	in_root apt-get update -qq || log "apt-get update failed; the archive report may be stale"
	touch "$lists"
}

versions() {
	local n
	for n in $("$REPO/scripts/matrix.sh" entries); do
		"$REPO/scripts/matrix.sh" describe "$n"
	done
	in_root /bin/sh -c '
		dpkg-query -W -f "\${Package} \${Version}\n" \
			gcc-14 clang-19 libbpf-dev bpftool liburing-dev nvme-cli fio qemu-system-x86 busybox-static \
			2>/dev/null |
		awk "{ printf \"%-26s %s\n\", \$1\":\", \$2 }"'
}

# One ensure at a time: concurrent builds and VM runs all come through here.
ensure() {
	mkdir -p "$CACHE"
	exec 9>"$CACHE/.sysroot.lock"
	flock 9
	ensure_locked
	exec 9>&-
}

ensure_locked() {
	host_deps
	[ -x "$SYSROOT/usr/bin/apt-get" ] || bootstrap
	local want have=
	want=$(stamp_hash)
	[ -f "$SYSROOT/.unified_io_stamp" ] && have=$(cat "$SYSROOT/.unified_io_stamp")
	if [ "$want" != "$have" ]; then
		configure_apt
		install_pkgs
		echo "$want" >"$SYSROOT/.unified_io_stamp"
		log "sysroot ready"
	else
		refresh_lists
	fi
}

case "${1:-ensure}" in
ensure)   [ "$INSIDE" = 1 ] || ensure; versions ;;
run)      shift; [ "$INSIDE" = 1 ] || ensure; in_root "$@" ;;
path)     echo "$SYSROOT" ;;
versions) versions ;;
packages) printf '%s\n' "${PKGS_TRIXIE[@]}" "${PKGS_SID[@]}" ;;
*)        echo "usage: $0 {ensure|run CMD...|path|versions|packages}" >&2; exit 2 ;;
esac
