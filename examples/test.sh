#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# examples/test.sh - runs every program of examples/ and checks what it
# prints, not only its exit status: the region's counts, the bytes the NVMe
# round trip verified, the CRC32C the BPF program stamped, the bytes the
# receivers took against the file sent, the bytes a SEND delivered and its
# notifications. make check runs it in each guest
# (selftests/run_all.sh, after the tools' test scripts); by hand, after make:
#
#   tools/vm/run -- examples/test.sh                      (stock: recv-zcrx)
#   tools/vm/run --kernel patched -- examples/test.sh     (recv-native too)
#
# What the machine cannot run is a KTAP skip with its reason, not a
# failure: nvme needs /dev/ng0n1 (the guest's emulated drive), bpf the
# kernel's BTF, the receivers a unionic pair (drivers/unio_nic) between two
# network namespaces (made here; python3 sends a random file over it),
# recv-zcrx io_uring zcrx, recv-native UNIFIED_IO_FEAT_NET_PROVIDER (the
# patched kernel), send UNIFIED_IO_FEAT_NET_SEND. The whole script is
# skipped (exit 4) without the module.
#
# Prints "ok N name", "not ok N name" with "#" diagnostics and what the
# program printed, "ok N name # SKIP reason"; the last line is "examples:
# N passed, N failed, N skipped". Exit status 0 unless a check failed.
# Environment: BUILD (default <repo>/build), EXAMPLES_RECV_BYTES (bytes
# sent to each receiver, default 4 MiB).
set -u

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$REPO/build}
EX=$BUILD/examples
UIO=$BUILD/tools/unified-io
BYTES=${EXAMPLES_RECV_BYTES:-$((4 << 20))}
NVME=/dev/ng0n1
FEAT_NET_PROVIDER=$((1 << 8))
FEAT_NET_SEND=$((1 << 9))

tmp=$(mktemp -d) || exit 1
RNS=unio-ex-r$$ SNS=unio-ex-s$$ NIC=uniex$$
cleanup() {
	ip netns del "$RNS" 2>/dev/null
	ip netns del "$SNS" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# shellcheck source-path=SCRIPTDIR source=../selftests/ktap.sh
. "$REPO/selftests/ktap.sh"
ktap_init examples "$tmp/err" "stderr: "
skipped=0
summary() { echo "$KTAP_NAME: $pass passed, $fail failed, $skipped skipped"; }
skip() {
	n=$((n + 1)) skipped=$((skipped + 1))
	echo "ok $n $1 # SKIP $2"
}

# run [NETNS] EXAMPLE ARGS...: run it (in network namespace NETNS if given)
# with its output in $tmp/out, echoed as "# " lines, stderr in $tmp/err;
# $rc is its exit status.
run() {
	local ns=()
	if [ "$1" = -n ]; then ns=(ip netns exec "$2"); shift 2; fi
	echo "# \$ ${EX#"$REPO"/}/$*"
	"${ns[@]}" timeout -k 5 120 "$EX/$1" "${@:2}" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	sed 's/^/#   /' "$tmp/out"
	return "$rc"
}

# expect NAME ERE...: the run exited 0 and each extended regular expression
# matches a whole line of its output.
expect() {
	local name=$1 re
	shift
	if [ "$rc" != 0 ]; then
		not_ok "$name" "exit status $rc"
		return 1
	fi
	for re in "$@"; do
		if ! grep -Eqx -- "$re" "$tmp/out"; then
			not_ok "$name" "no line matches: $re"
			return 1
		fi
	done
	ok "$name"
}

# field ERE: the first number captured by the sed ERE over the output.
field() { sed -En "s/$1/\\1/p" "$tmp/out" | head -n 1; }

# --- Preconditions ---------------------------------------------------------

for b in region_basic region nvme bpf recv-native recv-zcrx send; do
	if [ ! -x "$EX/$b" ]; then
		echo "# $EX/$b missing: run make"
		fail=1
		summary
		exit 1
	fi
done
[ -c /dev/unified_io_region ] || skip_all "no /dev/unified_io_region (module not loaded)"
echo "KTAP version 1"
echo "# kernel $(uname -r)${UNIFIED_IO_KERNEL:+ ($UNIFIED_IO_KERNEL)}"

# --- A region and its rings ------------------------------------------------

run region_basic
expect "region_basic: SETUP, mmap, ALLOC through the SQ, FREE inline" \
	'region of [0-9]+ bytes, buffer at data offset [0-9]+: hello, region'

run region
expect "region: a batch of 8 ALLOCs and of 8 FREEs, GET_INFO's counts" \
	'region: 16 buffers of 65536 bytes, SQ 16, CQ 32 entries' \
	'allocated 8 buffers; the first says "buffer 0 at data offset [0-9]+"' \
	'freed 8 buffers' \
	'stats: 2 SUBMIT calls, 16 descriptors, 16 completions, 0 errors' \
	'stats: ALLOC 8, FREE 8; buffers free 16, held 0'

# --- TCP send from the region ----------------------------------------------

features=$("$UIO" -j feature 2>/dev/null |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["features"])') || features=0
SEND_NAME="send: a 64 KiB region buffer over loopback TCP by SEND, every byte verified, notified F_COPIED"
if [ $((features & FEAT_NET_SEND)) = 0 ]; then
	skip "$SEND_NAME" "no UNIFIED_IO_FEAT_NET_SEND"
else
	run send
	expect "$SEND_NAME" \
		'sent 65536 bytes of the buffer at data offset [0-9]+ in [1-9][0-9]* SENDs?' \
		'notifications: ([1-9][0-9]*), \1 with UNIFIED_IO_CQE_F_COPIED \(a local peer: the stack copies\)' \
		'received 65536 bytes: every byte verified' \
		'send info: ([1-9][0-9]*) sends, 65536 bytes, \1 notifications, 0 zero-copy bytes, 65536 copied bytes, 0 in flight'
fi

# --- NVMe ------------------------------------------------------------------

if [ -c "$NVME" ]; then
	run nvme "$NVME"
	expect "nvme: 512 KiB written in a batch, read back and verified, an error decoded" \
		"$NVME: nsid [0-9]+, [0-9]+ blocks of [0-9]+ bytes, .*" \
		'wrote 524288 bytes from 8 region buffers in one batch, at block 0' \
		'read back 524288 bytes one command at a time: every byte verified' \
		'read at block [0-9]+ \(past the end\): NVMe status 0x[0-9a-f]+, SCT 0 SC 0x80: .+'
else
	skip "nvme: 512 KiB written in a batch, read back and verified, an error decoded" \
		"no $NVME"
fi

# --- BPF -------------------------------------------------------------------

if [ -r /sys/kernel/btf/vmlinux ]; then
	run bpf
	expect "bpf: crc32c.bpf.c stamps 0xe3069283 on \"123456789\" and verifies it" \
		'stamp \(program [0-9]+\): 13 bytes, CRC32C of "123456789" = 0xe3069283 \(program.s .bss: 0xe3069283\)' \
		'verify \(program [0-9]+\): intact buffer passed, 13 bytes' \
		'verify \(program [0-9]+\): one bit flipped: dropped by program 0 of the chain' \
		'chain\[0\]: program [0-9]+, 2 runs over 26 bytes, 1 passed, 1 dropped'
else
	skip "bpf: crc32c.bpf.c stamps 0xe3069283 on \"123456789\" and verifies it" \
		"no /sys/kernel/btf/vmlinux"
fi

# --- TCP receive into the region ---------------------------------------------

# A unionic pair: the receiver's end (10.79.9.1) in $RNS, the sender's in
# $SNS; recv-zcrx takes queue 1 and recv-native queue 2, each with its port
# steered there.
ZCRX_NAME="recv-zcrx: $BYTES bytes over the test NIC into the data area, by zcrx"
NATIVE_NAME="recv-native: $BYTES bytes over the test NIC into region buffers, NET_BIND"
pair_why=
if ! command -v python3 >/dev/null; then
	pair_why="no python3 (the sender)"
elif ! ip netns add "$RNS" || ! ip netns add "$SNS"; then
	pair_why="cannot create network namespaces"
elif ! ip link add "$NIC" type unionic 2>/dev/null &&
     ! { ko=${UNIFIED_IO_KMOD_DIR:-$REPO/drivers/unio_nic}/unio_nic.ko
	 [ "${UNIFIED_IO_GUEST:-}" = 1 ] && [ -f "$ko" ] &&
	 ! grep -qw '^unio_nic' /proc/modules && insmod "$ko" &&
	 ip link add "$NIC" type unionic; }; then
	pair_why="no unionic link kind (drivers/unio_nic not loaded)"
elif ! { ip link set "$NIC" netns "$RNS" && ip link set "${NIC}p" netns "$SNS" &&
	 ip -n "$RNS" addr add 10.79.9.1/24 dev "$NIC" &&
	 ip -n "$SNS" addr add 10.79.9.2/24 dev "${NIC}p" &&
	 ip -n "$RNS" link set "$NIC" up && ip -n "$SNS" link set "${NIC}p" up &&
	 ip netns exec "$RNS" ethtool -N "$NIC" flow-type tcp4 dst-port 7501 action 1 &&
	 ip netns exec "$RNS" ethtool -N "$NIC" flow-type tcp4 dst-port 7502 action 2; } \
	 >"$tmp/err" 2>&1; then
	pair_why="cannot set up the unionic pair: $(head -n 1 "$tmp/err")"
fi
# receive EXAMPLE QUEUE PORT: EXAMPLE takes one connection on PORT (steered
# to QUEUE) into $tmp/received while python3 sends $tmp/sent to it from the
# other namespace once it listens; $rc and $src are the receiver's and the
# sender's exit statuses.
receive() {
	local ex=$1 queue=$2 port=$3 pid
	rm -f "$tmp/received" "$tmp/out" "$tmp/send.err"
	run -n "$RNS" "$ex" "$NIC" "$queue" "$port" "$tmp/received" &
	pid=$!
	src=-1
	for _ in $(seq 600); do
		grep -q '^listening on TCP port' "$tmp/out" 2>/dev/null && break
		kill -0 "$pid" 2>/dev/null || break
		ksleep 0.1
	done
	if grep -q '^listening on TCP port' "$tmp/out" 2>/dev/null; then
		ip netns exec "$SNS" python3 - 10.79.9.1 "$port" "$tmp/sent" \
			2>"$tmp/send.err" <<'PY'
import socket, sys
addr, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_connection((addr, port), timeout=60)
with open(path, "rb") as f:
    s.sendfile(f)
s.shutdown(socket.SHUT_WR)
s.recv(1)  # returns when the receiver closes
PY
		src=$?
	fi
	wait "$pid"
	rc=$?
}

# check_received NAME COPIED: the receiver took every byte, in order, and
# COPIED (bytes it reports copied) is at most 1% of them.
check_received() {
	local name=$1 copied=$2
	shift 2
	if [ "$src" != 0 ]; then
		not_ok "$name" "sender exit status $src" "$(tail -n 1 "$tmp/send.err")"
	elif ! cmp -s "$tmp/sent" "$tmp/received"; then
		not_ok "$name" "the bytes received differ from the bytes sent" \
			"$(cmp "$tmp/sent" "$tmp/received" 2>&1)"
	elif [ -z "$copied" ] || [ $((copied * 100)) -gt "$BYTES" ]; then
		not_ok "$name" "copied ${copied:-?} of $BYTES bytes: more than 1%"
	else
		ok "$name"
	fi
}

if [ -n "$pair_why" ]; then
	skip "$ZCRX_NAME" "$pair_why"
	skip "$NATIVE_NAME" "$pair_why"
	summary
	[ "$fail" = 0 ]
	exit
fi

head -c "$BYTES" /dev/urandom >"$tmp/sent"

receive recv-zcrx 1 7501
if [ "$rc" != 0 ] &&
   grep -Eq 'zcrx registration .*(Invalid argument|Operation not supported)|io_uring_queue_init' \
	"$tmp/err"; then
	skip "$ZCRX_NAME" "$(head -n 1 "$tmp/err")"
elif expect "$ZCRX_NAME: what it prints" \
	"zcrx queue [0-9]+ on $NIC queue 1: the region's data area \(16 MiB at data offset 0\), .*" \
	"received $BYTES bytes in [0-9]+ chunks, the first at data-area offset [0-9]+" \
	'copied by the kernel \(zcrx fallback\): ([0-9]+ bytes in [0-9]+ chunks|not reported by this kernel)'; then
	copied=$(field '^copied by the kernel \(zcrx fallback\): ([0-9]+) bytes.*')
	check_received "$ZCRX_NAME" "${copied:-0}"
fi

if [ $((features & FEAT_NET_PROVIDER)) = 0 ]; then
	skip "$NATIVE_NAME" "no UNIFIED_IO_FEAT_NET_PROVIDER (boot the patched kernel)"
else
	receive recv-native 2 7502
	if expect "$NATIVE_NAME: what it prints" \
		"region bound to $NIC queue 2: [0-9]+ of its [0-9]+ buffers of [0-9]+ bytes lent to the NIC" \
		"received $BYTES bytes in [0-9]+ chunks, the first at data-area offset [0-9]+" \
		"in place: [0-9]+ bytes the NIC wrote into region buffers; copied: [0-9]+ bytes" \
		"GET_INFO: bound, zc_bytes [0-9]+, copy_bytes [0-9]+, [1-9][0-9]* buffers back through the refill ring"; then
		check_received "$NATIVE_NAME" \
			"$(field '^in place: .*; copied: ([0-9]+) bytes$')"
	fi
fi

echo "1..$n"
summary
[ "$fail" = 0 ]
