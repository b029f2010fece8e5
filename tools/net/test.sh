#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tools/net/test.sh - the receive modes of unio-netstream, end to end, in
# two network namespaces: over a veth pair (any kernel) and over a unionic
# pair (drivers/unio_nic, the software header-split NIC) when the kind
# exists. Every transfer checks every byte at its stream offset; the checks
# below look at what the receiver reports (JSON) on top of its exit status.
#
#   tools/vm/run -- tools/net/test.sh                      (stock kernel)
#   tools/vm/run --kernel patched -- tools/net/test.sh     (NET_BIND too)
#
# What the running kernel cannot do is skipped with a reason, never failed:
# RECV needs UNIFIED_IO_FEAT_NET_RECV, NET_BIND needs
# UNIFIED_IO_FEAT_NET_PROVIDER (GET_INFO, "unified-io feature"), the zcrx
# modes need io_uring zcrx (ZCRX_REG_NODEV without a NIC queue), the unionic
# cases need the kind ("ip link add NAME type unionic"); the way back
# (send --from-nvme: NVMe -> region -> TCP by UNIFIED_IO_OP_SEND) needs
# UNIFIED_IO_FEAT_NET_SEND and /dev/ng0n1.
#
# Prints "ok N name", "not ok N name" (with "#" diagnostics) and
# "# SKIP name: reason" lines; skips are not counted. The last line is
# "net: N passed, N failed". Exit status 0 unless a check failed.
# Environment: BUILD (default <repo>/build), NET_TEST_BYTES (payload per
# flow, default 4M).
set -u

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$REPO/build}
NS=$BUILD/tools/unio-netstream
UIO=$BUILD/tools/unified-io
BYTES=${NET_TEST_BYTES:-4M}
FEAT_NET_RECV=$((1 << 7))
FEAT_NET_PROVIDER=$((1 << 8))
FEAT_NET_SEND=$((1 << 9))
FEAT_RECV_ARM=$((1 << 10))
FEAT_URING_CMD=$((1 << 11))

pass=0 fail=0 skip=0 n=0
tmp=$(mktemp -d) || exit 1
tag=uniot$$
RNS=$tag-r SNS=$tag-s
cleanup() {
	ip netns del "$RNS" 2>/dev/null
	ip netns del "$SNS" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

summary() { echo "# net: $skip skipped"; echo "net: $pass passed, $fail failed"; }
ok() { n=$((n + 1)) pass=$((pass + 1)); echo "ok $n $1"; }
not_ok() {
	local line
	n=$((n + 1)) fail=$((fail + 1))
	echo "not ok $n $1"
	shift
	for line in "$@"; do echo "#   $line"; done
	for f in "$tmp/recv.err" "$tmp/send.err"; do
		[ -s "$f" ] && sed "s|^|#   ${f##*/}: |" "$f" | tail -n 8
	done
}
skip() { skip=$((skip + 1)); echo "# SKIP $1: $2"; }
skip_all() { echo "# SKIP all: $*"; summary; exit 0; }

# --- Preconditions ---------------------------------------------------------

[ "$(id -u)" = 0 ] || skip_all "needs root (network namespaces)"
command -v python3 >/dev/null || skip_all "python3 is needed to check the JSON"
command -v ip >/dev/null || skip_all "no ip(8)"
if [ ! -x "$NS" ] || [ ! -x "$UIO" ]; then
	echo "# $NS or $UIO missing: run make"
	fail=1
	summary
	exit 1
fi
[ -c /dev/unified_io_region ] || skip_all "no /dev/unified_io_region (module not loaded)"
features=$("$UIO" -j feature 2>/dev/null |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["features"])') ||
	skip_all "unified-io feature failed"
has_feat() { [ $((features & $1)) -ne 0 ]; }
echo "KTAP version 1"
echo "# unified_io features $(printf '%#x' "$features"), kernel $(uname -r)"

if ! ip netns add "$RNS" || ! ip netns add "$SNS"; then
	skip_all "cannot create network namespaces"
fi
ip -n "$RNS" link set lo up
ip -n "$SNS" link set lo up
in_r() { nsenter --net="/run/netns/$RNS" "$@"; }
in_s() { nsenter --net="/run/netns/$SNS" "$@"; }

# veth: receiver 10.77.1.1 (v$tag), sender 10.77.1.2.
VETH=v${tag:4}
ip link add "$VETH" netns "$RNS" type veth peer name "${VETH}p" netns "$SNS" ||
	skip_all "cannot create a veth pair"
ip -n "$RNS" addr add 10.77.1.1/24 dev "$VETH"
ip -n "$SNS" addr add 10.77.1.2/24 dev "${VETH}p"
ip -n "$RNS" link set "$VETH" up
ip -n "$SNS" link set "${VETH}p" up

# unionic: receiver 10.77.2.1 (u$tag, queue 1 steered), sender 10.77.2.2.
UNIC=u${tag:4}
UQ=1
unionic=
unionic_why="the unionic kind does not exist (drivers/unio_nic not loaded)"
if ! ip link add "$UNIC" type unionic 2>/dev/null; then
	ko=${UNIFIED_IO_KMOD_DIR:-$REPO/drivers/unio_nic}/unio_nic.ko
	if [ "${UNIFIED_IO_GUEST:-}" = 1 ] && [ -f "$ko" ] && ! grep -qw '^unio_nic' /proc/modules &&
	   insmod "$ko" 2>/dev/null; then
		ip link add "$UNIC" type unionic 2>/dev/null && unionic=1
	fi
else
	unionic=1
fi
if [ -n "$unionic" ] && ! { ip link set "$UNIC" netns "$RNS" &&
	ip link set "${UNIC}p" netns "$SNS" &&
	ip -n "$RNS" addr add 10.77.2.1/24 dev "$UNIC" &&
	ip -n "$SNS" addr add 10.77.2.2/24 dev "${UNIC}p" &&
	ip -n "$RNS" link set "$UNIC" up && ip -n "$SNS" link set "${UNIC}p" up; }; then
	unionic=''
	unionic_why="cannot set up the unionic pair"
fi

# xfer SEND_ARGS -- RECV_ARGS: one transfer to $ADDR:$PORT (a new port each
# time unless PORT is set: the unionic steering rule names one); $rc is the
# receiver's exit status, $src the sender's, the reports in $tmp/recv.json
# and $tmp/send.json.
next_port=7100
xfer() {
	local sargs=() pid port=${PORT:-}
	while [ "$1" != -- ]; do sargs+=("$1"); shift; done
	shift
	[ -n "$port" ] || { next_port=$((next_port + 1)); port=$next_port; }
	rm -f "$tmp/ready" "$tmp/recv.json" "$tmp/recv.err" "$tmp/send.err" "$tmp/send.json"
	in_r "$NS" recv --port "$port" --ready "$tmp/ready" --timeout 30 -Q -j \
		-o "$tmp/recv.json" "$@" 2>"$tmp/recv.err" &
	pid=$!
	for _ in $(seq 300); do
		[ -e "$tmp/ready" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ -e "$tmp/ready" ]; then
		in_s "$NS" send "$ADDR:$port" --timeout 30 -Q -j -o "$tmp/send.json" \
			"${sargs[@]}" >/dev/null 2>"$tmp/send.err"
		src=$?
	else
		src=-1
	fi
	wait "$pid"
	rc=$?
}

# check NAME PYEXPR: the receiver's report "d" satisfies PYEXPR; "s" is
# the sender's report, "sn" its SENDs and "si" GET_INFO's send counters
# (send --from-nvme); "sc" the receiver's loop system calls by name and "kn"
# the kernel's count of them (None when the perf counter was unavailable:
# kernel_sc_ok is then true, and the run says why in the report).
check() {
	local name=$1 msg
	if msg=$(python3 - "$tmp/recv.json" "$2" "$tmp/send.json" 2>&1 <<'PY'
import json, os, sys
with open(sys.argv[1]) as f:
    d = json.load(f)
s = {}
if os.path.exists(sys.argv[3]) and os.path.getsize(sys.argv[3]):
    with open(sys.argv[3]) as f:
        s = json.load(f)
sn = s.get("sends") or {}
si = s.get("send_info") or {}
c = d.get("copies", {})
k = c.get("kernel") or {}
ni = d.get("net_info", {})
sc = d.get("syscalls", {}).get("by_name", {})
kn = (d.get("syscalls", {}).get("kernel") or {}).get("total")
def kernel_sc_ok(extra_lo, extra_hi):
    # The kernel counts what the program counts, and extra_lo to extra_hi
    # more (the close() at each end of stream, --store's NVMe I/O).
    if kn is None:
        print("# kernel count unavailable: " + d["syscalls"].get("kernel_unavailable", "?"))
        return True
    return extra_lo <= kn - d["syscalls"]["total"] <= extra_hi
if not eval("(" + sys.argv[2] + ")"):
    print("false: " + " ".join(sys.argv[2].split()))
    print("report: " + json.dumps({x: d[x] for x in d if x not in ("tool",)}, sort_keys=True))
    if s:
        print("sender: " + json.dumps({x: s[x] for x in s if x not in ("tool",)}, sort_keys=True))
    sys.exit(1)
PY
	); then
		ok "$name"
	else
		local lines=()
		mapfile -t lines <<<"$msg"
		not_ok "$name" "${lines[@]}"
	fi
}

# expect_ok NAME PYEXPR SEND_ARGS -- RECV_ARGS: a good transfer that passes.
expect_ok() {
	local name=$1 expr=$2
	shift 2
	xfer "$@"
	if [ "$rc" != 0 ] || [ "$src" != 0 ]; then
		not_ok "$name" "receiver exit status $rc, sender $src"
		return
	fi
	check "$name" "d['verify']['ok'] and $expr"
}

# netem_streams NAME DEV PYEXPR RECV_ARGS...: 2 flows of 2 MiB through netem
# (2% loss, 10% reordering) on the sender's port DEV, stored as streams:
# exact on the drive (the store's read-back checks every byte), written once.
netem_streams() {
	local name=$1 dev=$2 expr=$3
	shift 3
	if [ ! -c /dev/ng0n1 ]; then
		skip "$name" "no /dev/ng0n1"
		return
	fi
	if ! in_s tc qdisc add dev "$dev" root netem loss 2% reorder 10% delay 1ms \
		2>"$tmp/tc.err"; then
		skip "$name" "no netem: $(cat "$tmp/tc.err")"
		return
	fi
	expect_ok "$name" \
		"d['store']['verified'] and d['store']['layout'] == 'stream' and $expr and
		 d['store']['bytes_written'] <= d['stream_bytes'] + 2 * d['store']['lba_size']" \
		--flows 2 --bytes 2M -- "$@" --flows 2 --data-size 16M --store /dev/ng0n1 \
		--store-layout stream
	in_s tc qdisc del dev "$dev" root
}

# What the kernel refuses to do in zcrx is a skip, not a failure.
zcrx_unsupported() {
	grep -Eq 'zcrx registration .*(Invalid argument|Operation not supported)|io_uring_queue_init' \
		"$tmp/recv.err"
}

nbytes=$(python3 -c 'import sys; s=sys.argv[1]; m={"K":1<<10,"M":1<<20,"G":1<<30}
print(int(s[:-1]) * m[s[-1].upper()] if s[-1].upper() in m else int(s))' "$BYTES")
STREAM1=$((nbytes + 64))
STREAM2=$((2 * (nbytes + 64)))

# --- veth: every kernel --------------------------------------------------

ADDR=10.77.1.1

expect_ok "veth: recv() into region buffers, 2 flows" \
	"d['payload_bytes'] == 2 * $nbytes and d['stream_bytes'] == $STREAM2 and
	 c['copied_bytes'] == $STREAM2 and d['syscalls']['by_name'].get('recvfrom', 0) > 0" \
	--flows 2 --bytes "$BYTES" -- --mode recv --flows 2

check "veth: the kernel counts the loop's system calls: the program's and one close() per flow" \
	"kernel_sc_ok(2, 2)"

# recv's options of the armed mode, refused before anything is set up.
for args in "--mode recv --armed|--armed is for --mode native" \
	    "--mode native --wait-batch 4|are for --armed" \
	    "--mode native --armed --cq 64 --wait-batch 33|at most half of the CQ" \
	    "--mode native --armed --wait-usecs 0|from 1 to 1000000" \
	    "--mode native --armed --wait-batch 0|from 1 to 16384" \
	    "--mode native --ring io_uring|--ring is for --armed" \
	    "--mode native --armed --ring uring|module or io_uring"; do
	IFS=' ' read -r -a a <<<"${args%%|*}"
	"$NS" recv --port 7099 "${a[@]}" >/dev/null 2>"$tmp/recv.err"
	rc=$?
	if [ "$rc" = 2 ] && grep -q -- "${args#*|}" "$tmp/recv.err"; then
		ok "recv ${args%%|*}: usage error"
	else
		not_ok "recv ${args%%|*}: usage error" "exit status $rc, not 2, or no '${args#*|}'"
	fi
done

xfer --flows 2 --bytes "$BYTES" --corrupt 100000 -- --mode recv --flows 2
if [ "$rc" = 1 ]; then
	check "veth: a flipped byte is found at its stream offset" \
		"not d['verify']['ok'] and d['verify']['mismatches'] == 1 and
		 'first wrong byte at stream offset 100064' in d['verify']['detail']"
else
	not_ok "veth: a flipped byte is found at its stream offset" "receiver exit status $rc, not 1"
fi

if has_feat $FEAT_NET_RECV; then
	expect_ok "veth: RECV without a binding copies every byte (GET_INFO counts it)" \
		"k['bytes'] == $STREAM2 and c['copied_bytes'] == $STREAM2 and
		 ni['copy_bytes'] == $STREAM2 and ni['zc_bytes'] == 0 and
		 d['syscalls']['by_name'].get('ioctl', 0) > 0" \
		--flows 2 --bytes "$BYTES" -- --mode native --no-bind --flows 2 --data-size 16M

	xfer --flows 1 --bytes 64K -- --mode native --ifname "$VETH" --flows 1 --data-size 4M
	if [ "$rc" = 1 ] && grep -q 'NET_BIND.*Operation not supported: .' "$tmp/recv.err"; then
		ok "veth: NET_BIND fails with EOPNOTSUPP and the kernel's reason"
	else
		not_ok "veth: NET_BIND fails with EOPNOTSUPP and the kernel's reason" \
			"receiver exit status $rc"
	fi

	if in_r "$UIO" -j net check dev "$VETH" >"$tmp/check.json" 2>"$tmp/recv.err"; then
		not_ok "veth: unified-io net check refuses veth with a reason" "exit status 0"
	elif python3 -c 'import json, sys; d = json.load(open(sys.argv[1]))
sys.exit(not (not d["bound"] and d["reason"] and d["error"]))' "$tmp/check.json"; then
		ok "veth: unified-io net check refuses veth with a reason"
	else
		not_ok "veth: unified-io net check refuses veth with a reason" "$(cat "$tmp/check.json")"
	fi
else
	skip "veth: RECV without a binding" "no UNIFIED_IO_FEAT_NET_RECV"
	skip "veth: NET_BIND fails with EOPNOTSUPP" "no UNIFIED_IO_FEAT_NET_RECV"
fi

# Armed RECV (recv --mode native --armed) over veth: every byte copied
# (no binding), FREE gives the buffers back.
armed_cases=("veth: armed RECV, 2 flows: byte-exact, SUBMIT and COMPLETE only"
	     "veth: armed RECV with 16 buffers: ENOBUFS stops, re-armed, byte-exact"
	     "veth: armed RECV, a 4-flow --store run: CQ completions the store reaps are kept"
	     "veth: armed RECV on io_uring (--ring io_uring), 2 flows: byte-exact, io_uring only"
	     "veth: armed RECV and NVMe on one io_uring (--ring io_uring --store --bpf-stats)"
	     "veth: armed RECV, 4 flows stored as streams: each contiguous, every block written once"
	     "veth: streams under loss and reordering (netem on the sender's port): exact on the drive"
	     "veth: poll + RECV rounds (no --armed), 2 flows stored as streams")
if ! has_feat $FEAT_NET_RECV || ! has_feat $FEAT_RECV_ARM; then
	for c in "${armed_cases[@]}"; do skip "$c" "no UNIFIED_IO_FEAT_RECV_ARM"; done
else
	expect_ok "${armed_cases[0]}" \
		"d['mode'] == 'native-armed' and d['stream_bytes'] == $STREAM2 and
		 list(sc) == ['ioctl'] and ni['copy_bytes'] == $STREAM2 and
		 c['copied_bytes'] == $STREAM2 and d['armed']['wait_batch'] == 1024 and
		 kernel_sc_ok(2, 2)" \
		--flows 2 --bytes "$BYTES" -- --mode native --no-bind --armed --flows 2 --data-size 16M
	# 16 buffers, CQ 64, a batch of 8: a burst of more than 16 buffers on
	# the socket stops an armed RECV with ENOBUFS.
	expect_ok "${armed_cases[1]}" \
		"d['stream_bytes'] == $STREAM2 and d['retries_enobufs'] > 0 and
		 d['retries'] == d['retries_enobufs'] + d['retries_enospc'] and
		 ni['copy_bytes'] == $STREAM2" \
		--flows 2 --bytes "$BYTES" -- --mode native --no-bind --armed --flows 2 \
		--data-size 64K --cq 64 --wait-batch 8 --wait-usecs 1000
	if [ -c /dev/ng0n1 ]; then
		expect_ok "${armed_cases[2]}" \
			"d['store']['verified'] and d['stream_bytes'] == 4 * ($nbytes + 64) and
			 d['bpf_stats']['bytes'] == 4 * ($nbytes + 64) and
			 d['store']['submit_calls'] > 0 and
			 kernel_sc_ok(4 + d['store']['submit_calls'], 10**9)" \
			--flows 4 --bytes "$BYTES" -- --mode native --no-bind --armed --flows 4 \
			--data-size 16M --store /dev/ng0n1 --bpf-stats
	else
		skip "${armed_cases[2]}" "no /dev/ng0n1"
	fi
	# The stream layout: drive bytes at most the stream plus a block per
	# flow, each flow read back from its range.
	if [ -c /dev/ng0n1 ]; then
		expect_ok "${armed_cases[5]}" \
			"d['store']['verified'] and d['store']['layout'] == 'stream' and
			 d['stream_bytes'] == 4 * ($nbytes + 64) and
			 d['store']['bytes_written'] <= d['stream_bytes'] + 4 * d['store']['lba_size'] and
			 d['store']['nvme_commands'] * 8 <= d['store']['bytes_written'] / 4096" \
			--flows 4 --bytes "$BYTES" -- --mode native --no-bind --armed --flows 4 \
			--data-size 16M --store /dev/ng0n1 --store-layout stream
	else
		skip "${armed_cases[5]}" "no /dev/ng0n1"
	fi
	netem_streams "${armed_cases[6]}" "${VETH}p" "d['stream_bytes'] == 2 * (2097152 + 64)" \
		--mode native --no-bind --armed
	if [ -c /dev/ng0n1 ]; then
		expect_ok "${armed_cases[7]}" \
			"d['mode'] == 'native' and d['store']['verified'] and
			 d['store']['layout'] == 'stream' and d['stream_bytes'] == $STREAM2 and
			 d['store']['bytes_written'] <= d['stream_bytes'] + 2 * d['store']['lba_size']" \
			--flows 2 --bytes "$BYTES" -- --mode native --no-bind --flows 2 \
			--data-size 16M --store /dev/ng0n1 --store-layout stream
	else
		skip "${armed_cases[7]}" "no /dev/ng0n1"
	fi
	if ! has_feat $FEAT_URING_CMD; then
		skip "${armed_cases[3]}" "no UNIFIED_IO_FEAT_URING_CMD"
		skip "${armed_cases[4]}" "no UNIFIED_IO_FEAT_URING_CMD"
	else
		# FREE as uring_cmd too: every system call is an io_uring_enter.
		expect_ok "${armed_cases[3]}" \
			"d['mode'] == 'native-armed' and d['armed']['ring'] == 'io_uring' and
			 d['stream_bytes'] == $STREAM2 and list(sc) == ['io_uring_enter'] and
			 ni['copy_bytes'] == $STREAM2 and kernel_sc_ok(2, 10**9)" \
			--flows 2 --bytes "$BYTES" -- --mode native --no-bind --armed --ring io_uring \
			--flows 2 --data-size 16M
		if [ -c /dev/ng0n1 ]; then
			expect_ok "${armed_cases[4]}" \
				"d['store']['verified'] and d['stream_bytes'] == 2 * ($nbytes + 64) and
				 d['bpf_stats']['bytes'] == 2 * ($nbytes + 64) and
				 list(sc) == ['io_uring_enter'] and d['store']['submit_calls'] > 0" \
				--flows 2 --bytes "$BYTES" -- --mode native --no-bind --armed \
				--ring io_uring --flows 2 --data-size 16M --store /dev/ng0n1 --bpf-stats
		else
			skip "${armed_cases[4]}" "no /dev/ng0n1"
		fi
	fi
fi

for mode in zcrx zcrx-region; do
	name="veth: $mode without a NIC queue (ZCRX_REG_NODEV) copies every byte"
	xfer --flows 2 --bytes "$BYTES" -- --mode $mode --zcrx-nodev --flows 2 --data-size 16M
	if [ "$rc" != 0 ] && zcrx_unsupported; then
		skip "$name" "$(grep -m1 -E 'zcrx|io_uring' "$tmp/recv.err")"
	elif [ "$rc" != 0 ] || [ "$src" != 0 ]; then
		not_ok "$name" "receiver exit status $rc, sender $src"
	else
		check "$name" "d['verify']['ok'] and
			(not k or k['bytes'] == $STREAM2) and d['zcrx_nodev']"
	fi
done

if [ -c /dev/ng0n1 ]; then
	expect_ok "veth: wire -> region -> BPF -> NVMe (recv, --store, --bpf-stats)" \
		"d['store']['verified'] and d['store']['bytes_read_back'] > 0 and
		 d['bpf_stats']['bytes'] == $STREAM1" \
		--flows 1 --bytes "$BYTES" -- --mode recv --flows 1 --store /dev/ng0n1 --bpf-stats
else
	skip "veth: wire -> region -> BPF -> NVMe" "no /dev/ng0n1"
fi

# The way back: what a receiver stored, sent again from the drive. The
# drive keeps the last store here (the hand-made one) until the unionic
# native --store case (patched kernels only), after the unionic way-back
# case.
back_cases=("veth: --store-index writes where each chunk lies"
	    "veth: NVMe -> region -> TCP (send --from-nvme), every byte back"
	    "veth: NVMe -> region -> BPF (--bpf-redact) -> TCP, redacted bytes checked"
	    "veth: a receiver expecting redaction finds the bytes unredacted"
	    "veth: send --from-nvme refuses a malformed index"
	    "veth: a hand-made store: chunks inside slots, two flows in one slot, OP_BPF"
	    "unionic: NVMe -> region -> TCP over the test NIC, zero-copy")
back_why=
if ! has_feat $FEAT_NET_SEND; then
	back_why="no UNIFIED_IO_FEAT_NET_SEND"
elif [ ! -c /dev/ng0n1 ]; then
	back_why="no /dev/ng0n1"
fi
IX=$tmp/store.idx
if [ -n "$back_why" ]; then
	for c in "${back_cases[@]:0:6}"; do skip "$c" "$back_why"; done
else
	expect_ok "${back_cases[0]}" \
		"d['store']['verified'] and d['stream_bytes'] == $STREAM2" \
		--flows 2 --bytes "$BYTES" -- --mode recv --flows 2 --buf-size 16K \
		--store /dev/ng0n1 --store-index "$IX"
	# The sender reads the drive in one namespace as well as in the other.
	expect_ok "${back_cases[1]}" \
		"d['stream_bytes'] == $STREAM2 and d['flows'] == 2 and
		 sn['bytes'] == $STREAM2 and sn['notifications'] == sn['sends'] > 0 and
		 si['send_bytes'] == $STREAM2 and si['notifs'] == sn['notifications'] and
		 si['zc_bytes'] + si['copied_bytes'] == $STREAM2 and si['inflight'] == 0 and
		 si['bufs_sending'] == 0 and s['from_nvme']['reads'] > 0 and s['bpf'] is None" \
		--from-nvme /dev/ng0n1 --index "$IX" --bufs 4 -- --mode recv --flows 2
	expect_ok "${back_cases[2]}" \
		"d['stream_bytes'] == $STREAM2 and d['verify']['redacted_bytes'] > 0 and
		 s['bpf']['program'] == 'redact' and s['bpf']['send_f_bpf'] > 0 and
		 sn['bytes'] == $STREAM2 and si['bpf_drops'] == 0" \
		--from-nvme /dev/ng0n1 --index "$IX" --bpf-redact 100:50:0x2a -- \
		--mode recv --flows 2 --index "$IX" --expect-redact 100:50:0x2a
	xfer --from-nvme /dev/ng0n1 --index "$IX" -- --mode recv --flows 2 --index "$IX" \
		--expect-redact 100:50:0x2a
	if [ "$rc" = 1 ]; then
		check "${back_cases[3]}" \
			"not d['verify']['ok'] and d['verify']['mismatches'] > 0 and
			 'first wrong byte at stream offset' in d['verify']['detail'] and
			 d['verify']['redacted_bytes'] == 0"
	else
		not_ok "${back_cases[3]}" "receiver exit status $rc, not 1"
	fi
	# Entry 0's length grows past its slot: refused before connecting.
	python3 - "$IX" "$tmp/bad.idx" <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
hdr, flows = 80, struct.unpack_from("<I", b, 24)[0]
e = hdr + 16 * flows
struct.pack_into("<I", b, e + 4, 1 << 30)
open(sys.argv[2], "wb").write(b)
PY
	in_s "$NS" send "10.77.1.1:1" --from-nvme /dev/ng0n1 --index "$tmp/bad.idx" -Q \
		>/dev/null 2>"$tmp/send.err"
	src=$?
	if [ "$src" = 1 ] && grep -q "not inside a slot" "$tmp/send.err"; then
		ok "${back_cases[4]}"
	else
		not_ok "${back_cases[4]}" "sender exit status $src"
	fi

	# A store no receiver here would write: chunks at any offset of their
	# 4 KiB slot, up to three per slot, of both flows, gaps between them;
	# each flow's first chunk alone at the start of its slot. The slots
	# with one chunk from their first byte take UNIFIED_IO_SEND_F_BPF, the
	# others UNIFIED_IO_OP_BPF; a buffer serves both connections.
	# The kernel names namespaces in the order it finds them: ng0n1 may be
	# the 4 KiB one.
	lba=$("$UIO" -j nvme info /dev/ng0n1 2>/dev/null |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["lba_size"])') || lba=512
	python3 - "$nbytes" "$tmp/hand.img" "$tmp/hand.idx" "$lba" <<'PY'
import random, struct, sys
MUL, MUL2, M = 0x9e3779b97f4a7c15, 0xd6e8feb86659fd93, (1 << 64) - 1
n, seed, SLOT, LBA = int(sys.argv[1]), 0x756e69666965642d, 4096, int(sys.argv[4])
def stream(f):
    x = seed ^ (((f + 1) * MUL2) & M)
    x ^= x >> 31
    x = (x * MUL) & M
    key = x ^ (x >> 29)
    words = [(((w + 1) * MUL) & M) ^ key for w in range((n + 7) // 8)]
    hdr = b"UIONETS1" + struct.pack("<IIIIQQ", 1, f, 2, 64, n, seed) + bytes(24)
    return hdr + struct.pack("<%dQ" % len(words), *words)[:n]
st = [stream(0), stream(1)]
rnd = random.Random(13)
pos, img, ents = [0, 0], bytearray(), []
def chunk(f, off, ln, slot, buf):
    buf[off:off + ln] = st[f][pos[f]:pos[f] + ln]
    ents.append(struct.pack("<IIIIQQ", f, ln, off, 0, pos[f], slot))
    pos[f] += ln
for f in (0, 1):
    buf = bytearray(b"\xee" * SLOT)
    chunk(f, 0, 100, len(img) // SLOT, buf)
    img += buf
while pos[0] < len(st[0]) or pos[1] < len(st[1]):
    buf, off = bytearray(b"\xee" * SLOT), rnd.choice([0, 0, 8, 100, 1000])
    for _ in range(rnd.randint(1, 3)):
        left = [f for f in (0, 1) if pos[f] < len(st[f])]
        if not left or off >= SLOT:
            break
        f = rnd.choice(left)
        ln = min(rnd.randint(1, 2500), SLOT - off, len(st[f]) - pos[f])
        chunk(f, off, ln, len(img) // SLOT, buf)
        off += ln + rnd.choice([0, 0, 4, 37])
    img += buf
open(sys.argv[2], "wb").write(img)
hdr = b"UIONSIX1" + struct.pack("<IIIIIIQQ", 1, 80, SLOT, LBA, 2, 1, len(img) // SLOT,
                                len(ents)) + bytes(32)
flows = b"".join(struct.pack("<IIQ", f, 0, len(st[f])) for f in (0, 1))
open(sys.argv[3], "wb").write(hdr + flows + b"".join(ents))
PY
	if ! "$UIO" nvme write /dev/ng0n1 --lba 0 --input "$tmp/hand.img" >/dev/null 2>"$tmp/send.err"; then
		not_ok "${back_cases[5]}" "unified-io nvme write of the image failed"
	else
		IX=$tmp/hand.idx
		expect_ok "${back_cases[5]}" \
			"d['stream_bytes'] == $STREAM2 and d['verify']['redacted_bytes'] > 0 and
			 s['bpf']['op_bpf'] > 0 and s['bpf']['send_f_bpf'] > 0 and
			 sn['bytes'] == $STREAM2 and sn['notifications'] == sn['sends']" \
			--from-nvme /dev/ng0n1 --index "$IX" --bufs 3 --bpf-redact 100:1900:0x2a -- \
			--mode recv --flows 2 --index "$IX" --expect-redact 100:1900:0x2a
	fi
fi

# --- unionic: the software header-split NIC --------------------------------

ADDR=10.77.2.1
unionic_cases=("unionic: zcrx-region, payload DMA'd into the region's data area"
	      "unionic: zcrx, anonymous area" "unionic: recv() baseline"
	      "unionic: native, the region as the queue's memory provider"
	      "unionic: native: wire -> region -> BPF -> NVMe"
	      "unionic: native --armed: zero-copy, far fewer system calls than chunks"
	      "unionic: native --armed: wire -> region -> BPF -> NVMe"
	      "unionic: native --armed --ring io_uring: wire -> region -> BPF -> NVMe, one ring"
	      "unionic: native --armed, 2 flows stored as streams: no copy, written once, 1/8 the commands"
	      "unionic: streams under loss and reordering (netem on the sender's port): exact on the drive")
if [ -z "$unionic" ]; then
	for c in "${unionic_cases[@]}" "${back_cases[6]}"; do skip "$c" "$unionic_why"; done
	summary
	[ "$fail" = 0 ]
	exit
fi
PORT=7200
if ! in_r ethtool -N "$UNIC" flow-type tcp4 dst-port "$PORT" action "$UQ" \
	>/dev/null 2>"$tmp/ethtool.err"; then
	not_ok "unionic: ntuple steering of port $PORT to queue $UQ" "$(cat "$tmp/ethtool.err")"
fi
rxq_packets() {
	in_r ethtool -S "$UNIC" 2>/dev/null | awk -v k="rx${UQ}_hds_packets:" '$1 == k { print $2 }'
}

for mode in zcrx-region zcrx; do
	if [ $mode = zcrx-region ]; then name=${unionic_cases[0]}; else name=${unionic_cases[1]}; fi
	before=$(rxq_packets)
	xfer --flows 2 --bytes "$BYTES" -- --mode $mode --ifname "$UNIC" --rxq "$UQ" --flows 2 \
		--data-size 16M
	after=$(rxq_packets)
	if [ "$rc" != 0 ] && zcrx_unsupported; then
		skip "$name" "$(grep -m1 -E 'zcrx|io_uring' "$tmp/recv.err")"
	elif [ "$rc" != 0 ] || [ "$src" != 0 ]; then
		not_ok "$name" "receiver exit status $rc, sender $src"
	else
		check "$name" "d['verify']['ok'] and (not k or k['bytes'] <= $STREAM2 // 100) and
			${after:-0} - ${before:-0} > 0"
	fi
done

expect_ok "${unionic_cases[2]}" "c['copied_bytes'] == $STREAM2" \
	--flows 2 --bytes "$BYTES" -- --mode recv --flows 2

# The hand-made store, sent over the test NIC: its skbs leave through a NIC with
# scatter-gather whose "DMA" reads the region's pages, so the notifications
# say zero-copy.
if [ -n "$back_why" ]; then
	skip "${back_cases[6]}" "$back_why"
else
	expect_ok "${back_cases[6]}" \
		"d['stream_bytes'] == $STREAM2 and sn['bytes'] == $STREAM2 and
		 si['zc_bytes'] > 0 and si['zc_bytes'] + si['copied_bytes'] == $STREAM2 and
		 sn['notifications'] == sn['sends']" \
		--from-nvme /dev/ng0n1 --index "$IX" -- --mode recv --flows 2
fi

if ! has_feat $FEAT_NET_RECV; then
	for c in "${unionic_cases[@]:3}"; do skip "$c" "no UNIFIED_IO_FEAT_NET_RECV"; done
elif ! has_feat $FEAT_NET_PROVIDER; then
	xfer --flows 1 --bytes 64K -- --mode native --ifname "$UNIC" --rxq "$UQ" --data-size 4M
	if [ "$rc" = 1 ] && grep -q 'NET_BIND.*Operation not supported: .' "$tmp/recv.err"; then
		ok "unionic: without NET_PROVIDER, NET_BIND fails with EOPNOTSUPP and a reason"
	else
		not_ok "unionic: without NET_PROVIDER, NET_BIND fails with EOPNOTSUPP and a reason" \
			"receiver exit status $rc"
	fi
	for c in "${unionic_cases[@]:3}"; do
		skip "$c" "no UNIFIED_IO_FEAT_NET_PROVIDER (boot the patched kernel)"
	done
else
	if in_r "$UIO" -j net check dev "$UNIC" rxq "$UQ" >"$tmp/check.json" 2>"$tmp/recv.err" &&
	   python3 -c 'import json, sys; d = json.load(open(sys.argv[1]))
sys.exit(not (d["bound"] and d["net"]["state"] == "bound" and d["net"]["nr_bufs"] == 128))' \
		"$tmp/check.json"; then
		ok "unionic: unified-io net check binds and unbinds queue $UQ"
	else
		not_ok "unionic: unified-io net check binds and unbinds queue $UQ" \
			"$(cat "$tmp/check.json")"
	fi
	expect_ok "${unionic_cases[3]}" \
		"ni['state'] == 'bound' and ni['zc_bytes'] >= $STREAM2 * 99 // 100 and
		 ni['copy_bytes'] <= $STREAM2 // 100 and ni['refill_bad_addr'] == 0 and
		 ni['refill_not_held'] == 0 and ni['refills'] > 0" \
		--flows 2 --bytes "$BYTES" -- --mode native --ifname "$UNIC" --rxq "$UQ" --flows 2 \
		--data-size 16M
	if [ -c /dev/ng0n1 ]; then
		expect_ok "${unionic_cases[4]}" \
			"d['store']['verified'] and ni['zc_bytes'] > 0 and
			 0 < d['bpf_stats']['bytes'] <= $STREAM1" \
			--flows 1 --bytes "$BYTES" -- --mode native --ifname "$UNIC" --rxq "$UQ" \
			--flows 1 --data-size 16M --store /dev/ng0n1 --bpf-stats
	else
		skip "${unionic_cases[4]}" "no /dev/ng0n1"
	fi
	if ! has_feat $FEAT_RECV_ARM; then
		for c in "${unionic_cases[@]:5}"; do skip "$c" "no UNIFIED_IO_FEAT_RECV_ARM"; done
	else
		# A system call per chunk would be as many as the chunks; the
		# armed loop makes one per batch or per --wait-usecs (200 ms).
		expect_ok "${unionic_cases[5]}" \
			"d['mode'] == 'native-armed' and ni['state'] == 'bound' and
			 ni['zc_bytes'] >= $STREAM2 * 99 // 100 and ni['copy_bytes'] <= $STREAM2 // 100 and
			 ni['refill_bad_addr'] == 0 and ni['refill_not_held'] == 0 and
			 list(sc) == ['ioctl'] and 4 * d['syscalls']['total'] <= c['chunks'] and
			 kernel_sc_ok(2, 2)" \
			--flows 2 --bytes "$BYTES" -- --mode native --armed --ifname "$UNIC" --rxq "$UQ" \
			--flows 2 --data-size 16M
		if [ -c /dev/ng0n1 ]; then
			expect_ok "${unionic_cases[6]}" \
				"d['store']['verified'] and ni['zc_bytes'] > 0 and
				 0 < d['bpf_stats']['bytes'] <= $STREAM1 and
				 kernel_sc_ok(1 + d['store']['submit_calls'], 10**9)" \
				--flows 1 --bytes "$BYTES" -- --mode native --armed --ifname "$UNIC" \
				--rxq "$UQ" --flows 1 --data-size 16M --store /dev/ng0n1 --bpf-stats
		else
			skip "${unionic_cases[6]}" "no /dev/ng0n1"
		fi
		if ! has_feat $FEAT_URING_CMD; then
			skip "${unionic_cases[7]}" "no UNIFIED_IO_FEAT_URING_CMD"
		elif [ ! -c /dev/ng0n1 ]; then
			skip "${unionic_cases[7]}" "no /dev/ng0n1"
		else
			expect_ok "${unionic_cases[7]}" \
				"d['store']['verified'] and ni['zc_bytes'] > 0 and
				 d['armed']['ring'] == 'io_uring' and list(sc) == ['io_uring_enter'] and
				 0 < d['bpf_stats']['bytes'] <= $STREAM1 and
				 kernel_sc_ok(1, 10**9)" \
				--flows 1 --bytes "$BYTES" -- --mode native --armed --ring io_uring \
				--ifname "$UNIC" --rxq "$UQ" --flows 1 --data-size 16M \
				--store /dev/ng0n1 --bpf-stats
		fi
		# Each flow contiguous from the NIC's buffers: no byte copied by
		# RECV or the store, at most a block per flow beyond the stream,
		# and an eighth of the commands the per-chunk store would make
		# (one per chunk).
		if [ -c /dev/ng0n1 ]; then
			expect_ok "${unionic_cases[8]}" \
				"d['store']['verified'] and d['store']['layout'] == 'stream' and
				 ni['zc_bytes'] == d['stream_bytes'] and ni['copy_bytes'] == 0 and
				 d['store']['copied_bytes'] == 0 and
				 d['store']['bytes_written'] <= d['stream_bytes'] + 2 * d['store']['lba_size'] and
				 8 * d['store']['nvme_commands'] <= c['chunks']" \
				--flows 2 --bytes "$BYTES" -- --mode native --armed --ifname "$UNIC" \
				--rxq "$UQ" --flows 2 --data-size 16M --store /dev/ng0n1 --store-layout stream
		else
			skip "${unionic_cases[8]}" "no /dev/ng0n1"
		fi
		# Lost and reordered segments: out-of-order ones wait in the NIC's
		# buffers, retransmits fill the gaps; the streams on the drive are
		# still exact (the store's read-back checks every byte).
		netem_streams "${unionic_cases[9]}" "${UNIC}p" \
			"ni['copy_bytes'] == 0 and d['store']['copied_bytes'] == 0" \
			--mode native --armed --ifname "$UNIC" --rxq "$UQ"
	fi
fi

echo "1..$n"
summary
[ "$fail" = 0 ]
