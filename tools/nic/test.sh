#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# tools/nic/test.sh - checks of the unio_nic test NIC (drivers/unio_nic):
# ethtool shows and changes rings, channels, header split, rules and
# counters, TCP crosses namespaces intact at MTU 1500 and 9000 and over
# IPv6, ntuple rules move a flow to another queue, a full RX ring and an
# empty page pool drop and count while TCP recovers, and a device is
# deleted under traffic.  (The pair life cycle, namespace moves and module
# unloading: tools/nic/pairs.sh.)  Run it in a guest, after make:
#
#   tools/vm/run -- tools/nic/test.sh
#
# Needs root, iproute2, ethtool and python3 (tools/nic/xfer.py moves and
# checks the data). Loads drivers/unio_nic/unio_nic.ko from
# $UNIFIED_IO_KMOD_DIR (default: the repository) unless it is loaded.
#
# Prints "ok N name" / "not ok N name" lines ("# " lines say how fast TCP
# went) and, at the end, "nic: N passed, N failed". Exit status 0 if all
# passed, 1 if any failed, 4 (kselftest SKIP) if the machine cannot run it.
set -u

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KO=${UNIFIED_IO_KMOD_DIR:-$REPO}/drivers/unio_nic/unio_nic.ko
XFER=$REPO/tools/nic/xfer.py
NSA=nic-a-$$ NSB=nic-b-$$
DEV=unic0 PEER=unic0p
A4=10.78.0.1 B4=10.78.0.2 A6=fd78::1 B6=fd78::2
MIB=$((1 << 20))

tmp=$(mktemp -d) || exit 1
bg_pids=()

cleanup() {
	local p
	for p in "${bg_pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	ip netns del "$NSA" 2>/dev/null
	ip netns del "$NSB" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# shellcheck source-path=SCRIPTDIR source=../../selftests/ktap.sh
. "$REPO/selftests/ktap.sh"
ktap_init nic "$tmp/log"

# check NAME CMD...: ok if CMD succeeds; its output goes to the diagnostics.
check() {
	local name=$1
	shift
	if "$@" >"$tmp/log" 2>&1; then
		: >"$tmp/log"
		ok "$name"
	else
		not_ok "$name" "failed: $*"
	fi
}

xa() { ip netns exec "$NSA" "$@"; }
xb() { ip netns exec "$NSB" "$@"; }

# stat NAME: a counter of $DEV (in namespace A), from ethtool -S.
stat() { xa ethtool -S "$DEV" | awk -v k="$1:" '$1 == k { print $2; f = 1 } END { if (!f) print -1 }'; }

# sum_stat SUFFIX: the counter summed over all RX queues of $DEV.
sum_stat() {
	xa ethtool -S "$DEV" | awk -v s="_$1:" \
		'$1 ~ /^rx[0-9]+_/ && substr($1, length($1) - length(s) + 1) == s { t += $2 } END { print t + 0 }'
}

# pair: $DEV in A and $PEER in B, addressed and up; created in the initial
# namespace and moved, as a user would.
pair() {
	ip link add "$DEV" type unionic &&
	ip link set "$DEV" netns "$NSA" &&
	ip link set "$PEER" netns "$NSB" &&
	ip -n "$NSA" addr add "$A4/24" dev "$DEV" &&
	ip -n "$NSB" addr add "$B4/24" dev "$PEER" &&
	ip -n "$NSA" addr add "$A6/64" dev "$DEV" nodad &&
	ip -n "$NSB" addr add "$B6/64" dev "$PEER" nodad &&
	ip -n "$NSA" link set "$DEV" up &&
	ip -n "$NSB" link set "$PEER" up
}

# start_recv ADDR PORT BYTES: receiver in A, in the background ($rpid);
# returns once it listens.
start_recv() {
	: >"$tmp/recv.err"
	xa python3 "$XFER" recv "$@" >"$tmp/recv.out" 2>"$tmp/recv.err" &
	rpid=$!
	bg_pids+=("$rpid")
	local i l
	for ((i = 0; i < 600; i++)); do
		while IFS= read -r l; do
			[[ $l != *ready* ]] || return 0
		done <"$tmp/recv.err"
		kill -0 "$rpid" 2>/dev/null || return 1
		ksleep 0.05
	done
	return 1
}

# transfer NAME ADDR PORT BYTES: B sends BYTES to A, A checks them.
transfer() {
	local name=$1 addr=$2 port=$3 bytes=$4 s r
	if ! start_recv "$addr" "$port" "$bytes"; then
		cat "$tmp/recv.err" >"$tmp/log"
		not_ok "$name" "receiver did not start"
		return
	fi
	xb python3 "$XFER" send "$addr" "$port" "$bytes" >"$tmp/send.out" 2>&1
	s=$?
	wait "$rpid"
	r=$?
	if [ "$s" = 0 ] && [ "$r" = 0 ] && grep -q '^ok ' "$tmp/recv.out"; then
		read -r _ got secs mbs <"$tmp/recv.out"
		echo "# $name: $got bytes in $secs s, $mbs MB/s"
		ok "$name"
	else
		cat "$tmp/recv.out" "$tmp/recv.err" "$tmp/send.out" >"$tmp/log"
		not_ok "$name" "sender status $s, receiver status $r"
	fi
}

# --- Preconditions -------------------------------------------------------

[ "$(id -u)" = 0 ] || skip_all "needs root"
for c in ip ethtool python3; do
	command -v "$c" >/dev/null || skip_all "needs $c"
done
if ! grep -q '^unio_nic ' /proc/modules && ! insmod "$KO" 2>"$tmp/log"; then
	skip_all "cannot load $KO: $(cat "$tmp/log")"
fi
ip netns add "$NSA" && ip netns add "$NSB" || skip_all "ip netns add failed"

# --- The pair the checks below use ----------------------------------------
# (Creation, deletion, namespace moves and unloading: tools/nic/pairs.sh.)

check "create: the pair, moved to two namespaces, addressed and up" pair

# --- ethtool ---------------------------------------------------------------

xa ethtool -i "$DEV" >"$tmp/log" 2>&1
if grep -q '^driver: unio_nic$' "$tmp/log" &&
   grep -q '^bus-info: unionic\.[0-9]*$' "$tmp/log"; then
	: >"$tmp/log"
	ok "ethtool -i: driver unio_nic on a unionic.N platform device"
else
	not_ok "ethtool -i: driver unio_nic on a unionic.N platform device"
fi

xa ethtool -g "$DEV" >"$tmp/log" 2>&1
if grep -Pzq 'Pre-set maximums:\nRX:\s+8192' "$tmp/log" &&
   grep -Pzq 'Current hardware settings:\nRX:\s+1024' "$tmp/log" &&
   grep -Eq '^TCP data split:\s+on$' "$tmp/log"; then
	: >"$tmp/log"
	ok "ethtool -g: RX ring 1024 of 8192, TCP data split on"
else
	not_ok "ethtool -g: RX ring 1024 of 8192, TCP data split on"
fi

xa ethtool -l "$DEV" >"$tmp/log" 2>&1
if grep -Pzq 'Pre-set maximums:\n(.*\n){3}Combined:\s+8\n' "$tmp/log" &&
   grep -Pzq 'Current hardware settings:\n(.*\n){3}Combined:\s+4\n' "$tmp/log"; then
	: >"$tmp/log"
	ok "ethtool -l: 4 combined channels of 8"
else
	not_ok "ethtool -l: 4 combined channels of 8"
fi

xa ethtool -S "$DEV" >"$tmp/log" 2>&1
missing=
for q in 0 1 2 3; do
	for s in packets bytes drops alloc_fail hds_packets hds_bytes ring_full; do
		grep -q "^ *rx${q}_$s: [0-9]*$" "$tmp/log" || missing+=" rx${q}_$s"
	done
	for s in packets bytes drops; do
		grep -q "^ *tx${q}_$s: [0-9]*$" "$tmp/log" || missing+=" tx${q}_$s"
	done
done
grep -q "rx4_" "$tmp/log" && missing+=" (rx4 listed)"
if [ -z "$missing" ]; then
	: >"$tmp/log"
	ok "ethtool -S: counters of each of the 4 queues"
else
	not_ok "ethtool -S: counters of each of the 4 queues" "missing:$missing"
fi

if xa ethtool -N "$DEV" flow-type tcp4 dst-port 5001 action 1 >"$tmp/log" 2>&1 &&
   xa ethtool -N "$DEV" flow-type tcp6 dst-port 5002 action 2 loc 9 >>"$tmp/log" 2>&1 &&
   xa ethtool -n "$DEV" >"$tmp/rules" 2>&1 &&
   grep -q 'Total 2 rules' "$tmp/rules" &&
   grep -Pzq 'Filter: 0\n\tRule Type: TCP over IPv4\n(.*\n)*\tDest port: 5001 mask: 0x0\n\tAction: Direct to queue 1' "$tmp/rules" &&
   grep -Pzq 'Filter: 9\n\tRule Type: TCP over IPv6\n(.*\n)*\tDest port: 5002 mask: 0x0\n\tAction: Direct to queue 2' "$tmp/rules" &&
   xa ethtool -N "$DEV" delete 0 >>"$tmp/log" 2>&1 &&
   xa ethtool -N "$DEV" delete 9 >>"$tmp/log" 2>&1 &&
   xa ethtool -n "$DEV" | grep -q 'Total 0 rules'; then
	: >"$tmp/log"
	ok "ethtool -N/-n: insert (any and given location), list, delete"
else
	cat "$tmp/rules" >>"$tmp/log" 2>/dev/null
	not_ok "ethtool -N/-n: insert (any and given location), list, delete"
fi

if ! xa ethtool -N "$DEV" flow-type tcp4 dst-port 5003 action 7 >"$tmp/log" 2>&1 &&
   ! xa ethtool -N "$DEV" flow-type tcp4 src-port 5003 action 1 >>"$tmp/log" 2>&1 &&
   xa ethtool -n "$DEV" | grep -q 'Total 0 rules'; then
	: >"$tmp/log"
	ok "ethtool -N: a queue out of range or a match other than dst-port is refused"
else
	not_ok "ethtool -N: a queue out of range or a match other than dst-port is refused"
fi

# On a pair of its own: IPv6 drops the addresses of a port that goes down.
if ip link add u5 type unionic && ip link set u5 up && sleep 0.2 &&
   ethtool u5 | grep -q 'Link detected: no' &&
   ip link set u5p up && sleep 0.2 &&
   ethtool u5 | grep -q 'Link detected: yes' &&
   ethtool u5p | grep -q 'Link detected: yes' &&
   ip link set u5p down && sleep 0.2 &&
   ethtool u5 | grep -q 'Link detected: no'; then
	ok "link: up only while both ends are up"
else
	not_ok "link: up only while both ends are up"
fi
ip link del u5 2>/dev/null

# --- TCP --------------------------------------------------------------------

transfer "tcp, mtu 1500: 16 MiB byte for byte" "$A4" 5101 $((16 * MIB))
hds=$(sum_stat hds_packets)
if [ "$hds" -gt 0 ]; then
	ok "header split: rx*_hds_packets counted ($hds)"
else
	not_ok "header split: rx*_hds_packets counted ($hds)"
fi
before=$(sum_stat hds_bytes)
transfer "tcp over IPv6, mtu 1500: 8 MiB" "$A6" 5102 $((8 * MIB))
after=$(sum_stat hds_bytes)
if [ $((after - before)) -ge $((8 * MIB)) ]; then
	ok "header split of TCP over IPv6: the payload in page-pool buffers"
else
	not_ok "header split of TCP over IPv6: the payload in page-pool buffers" \
		"rx*_hds_bytes +$((after - before))"
fi

if xa ip link set "$DEV" mtu 9000 && xb ip link set "$PEER" mtu 9000; then
	transfer "tcp, mtu 9000: 16 MiB byte for byte" "$A4" 5103 $((16 * MIB))
	transfer "tcp over IPv6, mtu 9000: 8 MiB" "$A6" 5104 $((8 * MIB))
else
	not_ok "set mtu 9000"
fi
xa ip link set "$DEV" mtu 1500
xb ip link set "$PEER" mtu 1500

# Too big for the receiver: dropped there and counted.
before=$(sum_stat length_errors)
xb ip link set "$PEER" mtu 9000
xb python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, 10, 0)  # IP_MTU_DISCOVER: IP_PMTUDISC_DONT
s.sendto(bytes(4000), ('$A4', 5199))" >"$tmp/log" 2>&1
xb ip link set "$PEER" mtu 1500
after=$(sum_stat length_errors)
if [ "$after" -gt "$before" ]; then
	: >"$tmp/log"
	ok "a frame above the receiver's MTU is dropped and counted"
else
	not_ok "a frame above the receiver's MTU is dropped and counted" "$before -> $after"
fi

# --- Steering ---------------------------------------------------------------

# Where the hash puts the flow to port 5201, then a rule moves it.
declare -a b0 b1
for q in 0 1 2 3; do b0[q]=$(stat "rx${q}_hds_bytes"); done
transfer "steering: a flow on its hashed queue" "$A4" 5201 $((4 * MIB))
hq=-1
for q in 0 1 2 3; do
	b1[q]=$(stat "rx${q}_hds_bytes")
	[ $((b1[q] - b0[q])) -ge $((4 * MIB)) ] && hq=$q
done
rq=$(((hq + 1) % 4))
if [ "$hq" -ge 0 ] &&
   xa ethtool -N "$DEV" flow-type tcp4 dst-port 5201 action "$rq" >"$tmp/log" 2>&1; then
	transfer "steering: the same flow under a rule to queue $rq" "$A4" 5201 $((4 * MIB))
	for q in 0 1 2 3; do b0[q]=$(stat "rx${q}_hds_bytes"); done
	if [ $((b0[rq] - b1[rq])) -ge $((4 * MIB)) ] &&
	   [ $((b0[hq] - b1[hq])) -lt "$MIB" ]; then
		ok "steering: the rule moved the payload from queue $hq to queue $rq"
	else
		not_ok "steering: the rule moved the payload from queue $hq to queue $rq" \
			"hds bytes: queue $hq +$((b0[hq] - b1[hq])), queue $rq +$((b0[rq] - b1[rq]))"
	fi
	xa ethtool -N "$DEV" delete 0 >/dev/null 2>&1
else
	not_ok "steering: the rule moved the payload" "hashed queue $hq"
fi

# --- Drops --------------------------------------------------------------------

# A UDP GSO send is cut into ~108 frames that reach the NIC back to back,
# before the receiving NAPI can run: a 64-entry ring overflows.
if xa ethtool -G "$DEV" rx 64 >"$tmp/log" 2>&1 &&
   xa ethtool -N "$DEV" flow-type udp4 dst-port 7000 action 2 >>"$tmp/log" 2>&1; then
	before=$(stat rx2_ring_full)
	xb python3 "$XFER" udp-burst "$A4" 7000 20 >>"$tmp/log" 2>&1
	after=$(stat rx2_ring_full)
	drops=$(stat rx2_drops)
	if [ "$after" -gt "$before" ] && [ "$drops" -ge "$after" ]; then
		: >"$tmp/log"
		ok "ring full: $((after - before)) frames dropped, counted in rx2_ring_full and rx2_drops"
	else
		not_ok "ring full: frames dropped and counted" "rx2_ring_full $before -> $after, rx2_drops $drops"
	fi
	xa ethtool -N "$DEV" delete 0 >/dev/null 2>&1
else
	not_ok "ring full: set ring 64 and a udp4 rule"
fi
xa ethtool -G "$DEV" rx 1024 >/dev/null 2>&1

# No buffers for a second: payload frames are dropped and counted, TCP
# retransmits once buffers come back.
before=$(sum_stat alloc_fail)
if start_recv "$A4" 5301 $((8 * MIB)) &&
   xa ethtool --set-priv-flags "$DEV" fail-rx-alloc on >"$tmp/log" 2>&1; then
	xb python3 "$XFER" send "$A4" 5301 $((8 * MIB)) >"$tmp/send.out" 2>&1 &
	spid=$!
	bg_pids+=("$spid")
	# Until some frames have been dropped, plus a second.
	for ((i = 0; i < 600; i++)); do
		[ "$(sum_stat alloc_fail)" -gt "$before" ] && break
		ksleep 0.1
	done
	sleep 1
	xa ethtool --set-priv-flags "$DEV" fail-rx-alloc off >>"$tmp/log" 2>&1
	wait "$spid"
	s=$?
	wait "$rpid"
	r=$?
	after=$(sum_stat alloc_fail)
	if [ "$s" = 0 ] && [ "$r" = 0 ] && grep -q '^ok ' "$tmp/recv.out" &&
	   [ "$after" -gt "$before" ]; then
		: >"$tmp/log"
		ok "pool empty: $((after - before)) frames dropped (rx*_alloc_fail), TCP recovered, data intact"
	else
		cat "$tmp/recv.out" "$tmp/send.out" >>"$tmp/log"
		not_ok "pool empty: drops counted and TCP recovers" \
			"alloc_fail $before -> $after, sender $s, receiver $r"
	fi
else
	not_ok "pool empty: drops counted and TCP recovers" "setup failed"
fi
xa ethtool --set-priv-flags "$DEV" fail-rx-alloc off >/dev/null 2>&1

# --- Header split off and on ----------------------------------------------------

before=$(sum_stat hds_packets)
if xa ethtool -G "$DEV" tcp-data-split off >"$tmp/log" 2>&1 &&
   xa ethtool -g "$DEV" | grep -Eq '^TCP data split:\s+off$'; then
	transfer "tcp-data-split off: 8 MiB intact" "$A4" 5401 $((8 * MIB))
	after=$(sum_stat hds_packets)
	if [ "$after" = "$before" ]; then
		ok "tcp-data-split off: no frame split"
	else
		not_ok "tcp-data-split off: no frame split" "hds_packets $before -> $after"
	fi
else
	not_ok "tcp-data-split off"
fi
if xa ethtool -G "$DEV" tcp-data-split on >"$tmp/log" 2>&1; then
	before=$(sum_stat hds_packets)
	transfer "tcp-data-split on again: 8 MiB intact" "$A4" 5402 $((8 * MIB))
	after=$(sum_stat hds_packets)
	if [ "$after" -gt "$before" ]; then
		ok "tcp-data-split on: frames split again"
	else
		not_ok "tcp-data-split on: frames split again"
	fi
else
	not_ok "tcp-data-split on"
fi

# --- Queue reconfiguration while up -----------------------------------------------

if xa ethtool -G "$DEV" rx 256 >"$tmp/log" 2>&1 &&
   xa ethtool -g "$DEV" | grep -Pzq 'Current hardware settings:\nRX:\s+256'; then
	transfer "ethtool -G rx 256 while up: 8 MiB intact" "$A4" 5501 $((8 * MIB))
else
	not_ok "ethtool -G rx 256 while up"
fi
xa ethtool -G "$DEV" rx 1024 >/dev/null 2>&1

if xa ethtool -L "$DEV" combined 2 >"$tmp/log" 2>&1 &&
   xa ethtool -l "$DEV" | grep -Pzq 'Current hardware settings:\n(.*\n){3}Combined:\s+2\n' &&
   xa ethtool -S "$DEV" | grep -q 'rx1_packets' &&
   ! xa ethtool -S "$DEV" | grep -q 'rx2_packets'; then
	ok "ethtool -L combined 2 while up"
	transfer "2 channels: 8 MiB intact" "$A4" 5601 $((8 * MIB))
	if xa ethtool -N "$DEV" flow-type tcp4 dst-port 5602 action 1 >"$tmp/log" 2>&1 &&
	   ! xa ethtool -L "$DEV" combined 1 >>"$tmp/log" 2>&1 &&
	   ! xa ethtool -N "$DEV" flow-type tcp4 dst-port 5603 action 2 >>"$tmp/log" 2>&1; then
		: >"$tmp/log"
		ok "channels: rules keep their queue; no rule beyond the channels"
	else
		not_ok "channels: rules keep their queue; no rule beyond the channels"
	fi
	xa ethtool -N "$DEV" delete 0 >/dev/null 2>&1
else
	not_ok "ethtool -L combined 2 while up"
fi
check "ethtool -L combined 4" xa ethtool -L "$DEV" combined 4

# --- Deletion under traffic, unload ---------------------------------------------------

if start_recv "$A4" 5701 $((1 << 40)); then
	xb python3 "$XFER" send "$A4" 5701 0 >/dev/null 2>&1 &
	spid=$!
	bg_pids+=("$spid")
	sleep 2
	t0=$(date +%s)
	if ip -n "$NSA" link del "$DEV" 2>"$tmp/log" &&
	   ! ip -n "$NSB" link show "$PEER" >/dev/null 2>&1; then
		kill "$spid" "$rpid" 2>/dev/null
		wait "$spid" "$rpid" 2>/dev/null
		ok "delete under traffic: both ports gone in $(($(date +%s) - t0)) s"
	else
		not_ok "delete under traffic"
	fi
else
	not_ok "delete under traffic: receiver did not start"
fi

echo "1..$n"
summary
[ "$fail" = 0 ]
