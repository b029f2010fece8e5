#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# tools/nic/pairs.sh - the test NIC's pair life cycle, under a watchdog:
# creation (named, unnamed, up at once, in a namespace), deletion from
# either end and with either end's namespace, moves of each end between
# namespaces and back, and unloading the module with pairs in namespaces.
#
# It runs first in every make check pass (selftests/run_all.sh), because on
# a kernel where the driver gets the core's locking wrong these are the
# calls that hang: Linux 7.3 made rtnl_configure_link() take the netdev
# instance lock itself, and a driver that still held it there deadlocked in
# "ip link add" with RTNL held, which hung every later test.  Each command
# here runs in the background with a deadline: one that does not return in
# UNIONIC_PAIRS_TIMEOUT seconds (default 300) is reported "not ok ... hung",
# with its kernel stack, and the script stops with "Bail out!" and exit
# status 2: RTNL is most likely held for good, and run_all.sh ends the
# guest's run instead of timing out every test after it.
#
#   tools/vm/run --kernel NAME -- tools/nic/pairs.sh
#
# Booted with swiotlb=force (make check does that too), it checks only that
# creation is refused: the NIC's receive path writes at the physical
# address of a buffer's DMA address, which a bounce buffer would redirect.
#
# Prints "ok N name" / "not ok N name" and, last, "pairs: N passed, N
# failed".  Exit status 0 if all passed, 1 if any failed, 2 on a hang, 4
# (kselftest SKIP) if the machine cannot run it.
set -u

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KO=${UNIFIED_IO_KMOD_DIR:-$REPO}/drivers/unio_nic/unio_nic.ko
# A step takes under a second alone, but up to 82 s on the debug kernel
# with five guests sharing two cores (measured in make check): 60 s was
# reported as a hang there.  A deadlock never returns, so a long deadline only delays the
# bail-out.
TIMEOUT=${UNIONIC_PAIRS_TIMEOUT:-300}
NSA=pairs-a-$$ NSB=pairs-b-$$

tmp=$(mktemp -d) || exit 1

cleanup() {
	local l
	rm -rf "$tmp"
	# After a hang, anything that needs RTNL would hang too.
	[ -z "$HUNG" ] || return
	for l in /sys/class/net/pu[0-9]*; do
		[ ! -e "$l" ] || ip link del "${l##*/}" 2>/dev/null
	done
	ip netns del "$NSA" 2>/dev/null
	ip netns del "$NSB" 2>/dev/null
}
trap cleanup EXIT

# shellcheck source-path=SCRIPTDIR source=../../selftests/ktap.sh
. "$REPO/selftests/ktap.sh"
ktap_init pairs "$tmp/log"

# descendants PID: PID's descendant processes, one per line.
descendants() {
	local c
	for c in $(awk -v p="$1" '$4 == p { print $1 }' /proc/[0-9]*/stat 2>/dev/null); do
		echo "$c"
		descendants "$c"
	done
}

# run CMD...: CMD with the deadline, output to $tmp/log.  A CMD still
# running at the deadline is most likely blocked in the kernel (D state,
# unkillable), so it is left behind: the test reports it, with the kernel
# stack of every process it started, and bails out.
HUNG=
run() {
	local pid i p
	"$@" >>"$tmp/log" 2>&1 &
	pid=$!
	for ((i = 0; i < TIMEOUT * 20; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"
			return
		fi
		ksleep 0.05
	done
	HUNG="$*"
	echo "still running after ${TIMEOUT}s: $*" >>"$tmp/log"
	for p in $(descendants "$pid"); do
		{
			echo "pid $p, state $(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null):" \
				"$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
			sed 's/^/  /' "/proc/$p/stack" 2>/dev/null
		} >>"$tmp/log"
	done
	return 124
}

# step NAME CMD...: one check made of one or more commands joined with &&
# (as a shell function); a hang ends the script.
step() {
	local name=$1
	shift
	: >"$tmp/log"
	if run "$@"; then
		: >"$tmp/log"
		ok "$name"
	elif [ -n "$HUNG" ]; then
		not_ok "$name: hung"
		echo "Bail out! the kernel did not return from: $HUNG"
		summary
		exit 2
	else
		not_ok "$name" "failed: $*"
	fi
}

exists() { ip link show "$1" >/dev/null 2>&1; }
gone() { ! exists "$1"; }
in_ns() { ip -n "$1" link show "$2" >/dev/null 2>&1; }
peers() { # A B: each is the other's iflink
	[ "$(cat "/sys/class/net/$1/iflink")" = "$(cat "/sys/class/net/$2/ifindex")" ] &&
	[ "$(cat "/sys/class/net/$2/iflink")" = "$(cat "/sys/class/net/$1/ifindex")" ]
}

# --- Preconditions -------------------------------------------------------

if [ "$(id -u)" != 0 ]; then
	echo "# SKIP: needs root"; summary; exit 4
fi
was_loaded=
if grep -q '^unio_nic ' /proc/modules; then
	was_loaded=1
elif ! insmod "$KO" 2>"$tmp/log"; then
	echo "# SKIP: cannot load $KO: $(cat "$tmp/log")"; summary; exit 4
fi
echo "# kernel $(uname -r)${UNIFIED_IO_KERNEL:+ ($UNIFIED_IO_KERNEL)}"
ip netns add "$NSA" && ip netns add "$NSB" ||
	{ echo "# SKIP: ip netns add failed"; summary; exit 4; }

# --- Bounce buffers: refused --------------------------------------------

if grep -qw 'swiotlb=force' /proc/cmdline; then
	t_bounce() {
		! ip link add pu1 type unionic 2>"$tmp/err" || { ip link del pu1; return 1; }
		cat "$tmp/err"
		grep -q 'needs dma-direct without bounce buffers' "$tmp/err" && gone pu1 && gone pu1p &&
			! ls -d /sys/bus/platform/devices/unionic.* >/dev/null 2>&1
	}
	step "create: refused under swiotlb=force (a mapping is not the identity), nothing left" t_bounce
	summary
	[ "$fail" -eq 0 ]
	exit
fi

# --- Creation and deletion -------------------------------------------------

t_create() { ip link add pu1 type unionic && exists pu1 && exists pu1p && peers pu1 pu1p; }
step "create: pu1 and its peer pu1p, each the other's link" t_create

t_platform() {
	local a b
	ip link add pu0 type unionic || return
	a=$(basename "$(readlink /sys/class/net/pu0/device)")
	b=$(basename "$(readlink /sys/class/net/pu0p/device)")
	echo "devices: $a $b"
	[[ $a == unionic.* ]] && [ "$a" = "$b" ] &&
		ethtool -i pu0 | grep -qx 'driver: unio_nic' && ip link del pu0
}
step "create: both ports on one unionic.N platform device" t_platform

t_long_name() {
	if ip link add abcdefghijklmno type unionic 2>"$tmp/err"; then
		ip link del abcdefghijklmno
		return 1
	fi
	cat "$tmp/err"
	grep -q suffix "$tmp/err" && gone abcdefghijklmno
}
step "create: a name with no room for the \"p\" is refused" t_long_name

t_del_peer() { ip link del pu1p && gone pu1 && gone pu1p; }
step "delete: deleting the peer deletes both" t_del_peer

t_unnamed() {
	local before new
	before=$(ls /sys/class/net | sort)
	ip link add type unionic || return
	new=$(comm -13 <(echo "$before") <(ls /sys/class/net | sort) | tr '\n' ' ')
	echo "new: $new"
	[[ $new =~ ^unionic([0-9]+)\ unionic([0-9]+)p\ $ ]] &&
		[ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ] || return
	ip link del "unionic${BASH_REMATCH[1]}" && gone "unionic${BASH_REMATCH[1]}p"
}
step "create: without a name, unionicN and unionicNp; delete" t_unnamed

t_up() {
	ip link add pu2 up type unionic && ip link set pu2p up &&
	ip link show pu2 | grep -q ',UP' && ip link show pu2p | grep -q ',UP' &&
	ip link set pu2 down && ip link del pu2 && gone pu2p
}
step "create: up at once (IFF_UP in the request), then down and delete" t_up

t_in_ns() {
	ip -n "$NSA" link add pu3 type unionic && in_ns "$NSA" pu3 && in_ns "$NSA" pu3p &&
	gone pu3 && ip -n "$NSA" link del pu3 && ! in_ns "$NSA" pu3p
}
step "create: inside a namespace (ip -n NS link add); delete there" t_in_ns

# --- Who may create pairs ------------------------------------------------
# A test device must not widen what an unprivileged user can reach: creating
# a pair needs CAP_NET_ADMIN in the initial user namespace, and the module
# has no rtnl-link alias, so a user namespace cannot have it loaded either.

t_userns() {
	if ! unshare -Urn true 2>/dev/null; then
		echo "no user namespaces here"
		return 1
	fi
	! unshare -Urn ip link add pu20 type unionic 2>"$tmp/err" || return 1
	cat "$tmp/err"
	grep -q 'initial user namespace' "$tmp/err" && gone pu20 && gone pu20p
}
step "create: refused to root of a user namespace (EPERM)" t_userns

t_no_alias() {
	modinfo -F alias "$KO"
	! modinfo -F alias "$KO" | grep -q 'rtnl-link'
}
step "module: no rtnl-link alias (never loaded on demand)" t_no_alias

t_userns_move() {
	local pid
	unshare -Urn sleep 30 &
	pid=$!
	sleep 0.5
	ip link add pu21 type unionic && ip link set pu21p netns "$pid" &&
	nsenter -t "$pid" -n ip link show pu21p &&
	ip link del pu21 && gone pu21p
	local rc=$?
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return $rc
}
step "move: a port into a user namespace's network namespace still works" t_userns_move

# --- Namespace moves ---------------------------------------------------------

t_moves() {
	ip link add pu4 type unionic &&
	ip link set pu4 netns "$NSA" && ip link set pu4p netns "$NSB" &&
	in_ns "$NSA" pu4 && in_ns "$NSB" pu4p &&
	ip -n "$NSA" link set pu4 up && ip -n "$NSB" link set pu4p up &&
	ip -n "$NSA" link show pu4 | grep -q 'LOWER_UP' &&
	ip -n "$NSB" link set pu4p netns "$NSA" && in_ns "$NSA" pu4p &&
	ip -n "$NSA" link set pu4 netns 1 && ip -n "$NSA" link set pu4p netns 1 &&
	exists pu4 && exists pu4p && peers pu4 pu4p &&
	ip link del pu4 && gone pu4p
}
step "move: each end to its own namespace, up, both to one, back, delete" t_moves

t_ns_del_peer() {
	local ns=pairs-c-$$
	ip netns add "$ns" && ip link add pu5 type unionic &&
	ip link set pu5p netns "$ns" && ip netns del "$ns" && gone pu5
}
step "delete: deleting the peer's namespace deletes both" t_ns_del_peer

t_ns_del_both() {
	local ns=pairs-d-$$
	ip netns add "$ns" && ip link add pu6 type unionic &&
	ip link set pu6 netns "$ns" && ip link set pu6p netns "$ns" &&
	ip -n "$ns" link set pu6 up && ip netns del "$ns" &&
	! ls -d /sys/class/net/pu6* >/dev/null 2>&1
}
step "delete: deleting the namespace that holds both (one up) deletes them" t_ns_del_both

t_many() {
	local i
	for i in 1 2 3 4 5 6 7 8; do ip link add "pu1$i" type unionic || return; done
	for i in 1 2 3 4 5 6 7 8; do ip link del "pu1${i}p" || return; done
	! ls -d /sys/class/net/pu1* >/dev/null 2>&1
}
step "create and delete 8 pairs in a row" t_many

# --- Module unload -------------------------------------------------------

t_rmmod() {
	ip link add pu7 type unionic && ip link add pu8 type unionic &&
	ip link set pu7 netns "$NSA" && ip link set pu8p netns "$NSB" &&
	ip -n "$NSB" link set pu8p up && rmmod unio_nic &&
	! ip -n "$NSA" link show pu7 >/dev/null 2>&1 &&
	! ip -n "$NSB" link show pu8p >/dev/null 2>&1 && gone pu7p && gone pu8 &&
	! ls -d /sys/bus/platform/devices/unionic.* >/dev/null 2>&1 &&
	insmod "$KO" && ip link add pu9 type unionic && ip link del pu9 && gone pu9p
}
step "rmmod: deletes pairs in every namespace; reload, create, delete" t_rmmod

if [ -z "$was_loaded" ]; then
	rmmod unio_nic 2>/dev/null
fi
summary
[ "$fail" -eq 0 ]
