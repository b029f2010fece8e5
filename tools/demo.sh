#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tools/demo.sh - the README's main job, run inside the guest (make demo
# runs tools/vm/run --kernel NAME -- tools/demo.sh once per kernel of the
# kernel matrix, kernel/matrix): the module is loaded, the
# features it reports, a huge-page region created and exercised, the region
# seen from another process through /proc, a chain of BPF programs run by the
# module over region buffers in place, and a file written through region
# buffers to the emulated NVMe drive and read back by passthrough, with the
# CPU copies counted by copycount; then the headline pipeline: a TCP stream
# received over the test NIC (drivers/unio_nic) into region buffers, run
# through a BPF program and written to the drive from the same buffers, read
# back and checked. On a kernel where the module can be the NIC queue's
# memory provider (the patched kernel: UNIFIED_IO_FEAT_NET_PROVIDER) the
# region is bound to the queue (native); on the stock kernel io_uring zcrx
# takes the region's data area as its area (zcrx-region). Last, the way
# back: what the receive half stored is read from the drive into region
# buffers, run through bpf/redact.bpf.c and sent by UNIFIED_IO_OP_SEND from
# those buffers over the test NIC to a receiver in the other namespace that
# checks every byte, with copycount around the sender.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
UIO=$REPO/build/tools/unified-io
COPYCOUNT=$REPO/build/tools/copycount
NETSTREAM=$REPO/build/tools/unio-netstream
DEV=/dev/unified_io_region
NVME=/dev/ng0n1		# passthrough namespace (512 B LBAs)
FSDEV=/dev/nvme0n2	# second namespace: an ext4 for the demo's files
MNT=/mnt

step() { printf '\n== %s\n' "$*"; }

[ -x "$UIO" ] || { echo "demo: $UIO not built (run make)" >&2; exit 1; }

step "kernel"
echo "Linux $(uname -r)${UNIFIED_IO_KERNEL:+, kernel matrix entry $UNIFIED_IO_KERNEL}"

step "module"
grep -w '^unified_io' /proc/modules | cut -d' ' -f1-3
modinfo -F description unified_io 2>/dev/null || true
ls -l "$DEV"

step "unified-io feature"
"$UIO" feature

step "unified-io region demo --huge --data-size 64M --buf-size 2M --sq 16"
"$UIO" region demo --huge --data-size 64M --buf-size 2M --sq 16 --ops 4096

step "unified-io region list (a region held open by another process)"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$UIO" region demo --data-size 4M --buf-size 64K --hold 30 >"$out" &
holder=$!
for _ in $(seq 100); do
	[ -s "$out" ] && break
	kill -0 "$holder" 2>/dev/null || break
	sleep 0.1
done
"$UIO" region list
fd=$(ls -l /proc/"$holder"/fd | awk -v dev="$DEV" '$NF == dev { print $(NF-2); exit }')
if [ -n "$fd" ]; then
	step "unified-io region show $holder $fd"
	"$UIO" region show "$holder" "$fd"
fi
kill "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true

# Compute: XDP programs of bpf/ attached to a region and run by the module
# over its buffers in place (UNIFIED_IO_OP_BPF). The tool fills buffers with
# known bytes, runs filter -> redact -> crc32c stamp -> crc32c verify -> stats,
# checks every effect against user space (the redacted bytes, the CRC32C
# trailer against a bitwise CRC) and exits non-zero otherwise; then, with the
# stamp detached, a flipped byte must be dropped by verify.
step "compute: unified-io bpf demo (a BPF chain over region buffers, in place)"
bpf_out=$("$UIO" bpf demo --buf-size 4K --bufs 3) ||
	{ printf '%s\n' "$bpf_out"; echo "demo: the BPF chain did not do what it should" >&2; exit 1; }
printf '%s\n' "$bpf_out"
grep -qx 'demo: ok' <<<"$bpf_out" ||
	{ echo "demo: unified-io bpf demo did not report ok" >&2; exit 1; }

# Storage: the files live on an ext4 on the other namespace, so the file
# side can use O_DIRECT too and the whole round trip is DMA.
step "unified-io nvme info $NVME"
"$UIO" nvme info "$NVME"

step "storage: 16 MiB pattern file -> region -> $NVME (passthrough) -> region -> file"
mkfs.ext4 -q -F "$FSDEV"
mount "$FSDEV" "$MNT"
trap 'rm -f "$out"; umount "$MNT" 2>/dev/null || true' EXIT
head -c 16M /dev/urandom >"$MNT/pattern"
"$UIO" nvme write "$NVME" --lba 0 --input "$MNT/pattern"
"$UIO" nvme read "$NVME" --lba 0 --length 16M --output "$MNT/back"
cmp "$MNT/pattern" "$MNT/back" && echo "cmp: $MNT/back is identical to $MNT/pattern"

step "copycount: payload bytes the CPU copied between user and kernel"
# Run quietly (nothing printed is copied); a 4 KiB read gives the fixed
# start-up cost (dynamic loader, sysfs), the same whatever the length.
payload() {	# OUTPUT CMD...: run CMD under copycount, print its payload bytes
	local json=$MNT/cc.json
	"$COPYCOUNT" -j -o "$json" -- "${@:2}" >/dev/null 2>"$MNT/cc.err" ||
		{ cat "$MNT/cc.err" >&2; return 1; }
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["payload"]["bytes"])' "$json"
}
small=$(payload - "$UIO" nvme read "$NVME" --lba 0 --length 4K --output "$MNT/small")
big=$(payload - "$UIO" nvme read "$NVME" --lba 0 --length 16M --output "$MNT/back")
cmp "$MNT/pattern" "$MNT/back"
dd=$(payload - dd if=/dev/nvme0n1 of=/dev/null bs=1M count=16)
printf '  %-44s %10s bytes copied\n' "unified-io nvme read, 4 KiB (start-up cost)" "$small" \
	"unified-io nvme read, 16 MiB" "$big" "buffered dd of /dev/nvme0n1, 16 MiB" "$dd"
printf '  passthrough read: %d payload bytes copied per 16 MiB read (16 MiB minus 4 KiB run)\n' \
	$((big - small))
[ $((big - small)) -eq 0 ] || { echo "demo: the passthrough read copied payload" >&2; exit 1; }

# Network: wire -> region -> BPF -> NVMe. Two namespaces joined by a unionic
# pair (a header-split NIC in software: its "DMA" puts TCP payload into the
# page-pool buffers of the receive queue), queue 1 steered to the port.
step "network: a TCP stream over the test NIC into the region, through BPF, onto NVMe"
RNS=unio-demo-r SNS=unio-demo-s NIC=uniodemo0 PORT=7400
net_cleanup() { ip netns del "$RNS" 2>/dev/null || true; ip netns del "$SNS" 2>/dev/null || true; }
trap 'rm -f "$out"; umount "$MNT" 2>/dev/null || true; net_cleanup' EXIT
features=$("$UIO" -j feature | python3 -c 'import json, sys; print(json.load(sys.stdin)["features"])')
net_recv=$(( features >> 7 & 1 )) net_provider=$(( features >> 8 & 1 ))
ip netns add "$RNS"
ip netns add "$SNS"
if ! ip link add "$NIC" type unionic 2>/dev/null; then
	ko=${UNIFIED_IO_KMOD_DIR:-$REPO/drivers/unio_nic}/unio_nic.ko
	if [ -f "$ko" ] && ! grep -qw '^unio_nic' /proc/modules; then
		insmod "$ko"
	fi
	ip link add "$NIC" type unionic
fi
ip link set "$NIC" netns "$RNS"
ip link set "${NIC}p" netns "$SNS"
ip -n "$RNS" addr add 10.79.0.1/24 dev "$NIC"
ip -n "$SNS" addr add 10.79.0.2/24 dev "${NIC}p"
for ns in "$RNS" "$SNS"; do ip -n "$ns" link set lo up; done
ip -n "$RNS" link set "$NIC" up
ip -n "$SNS" link set "${NIC}p" up
in_r() { nsenter --net="/run/netns/$RNS" "$@"; }
in_r ethtool -g "$NIC" | grep -i 'split' || true
in_r ethtool -N "$NIC" flow-type tcp4 dst-port "$PORT" action 1 >/dev/null
echo "  $NIC (10.79.0.1, namespace $RNS) <-> ${NIC}p (10.79.0.2, namespace $SNS); TCP port $PORT steered to queue 1"
if [ "$net_provider" = 1 ] && [ "$net_recv" = 1 ]; then
	mode=native
	echo "  kernel $(uname -r) has UNIFIED_IO_FEAT_NET_PROVIDER: the region becomes queue 1's memory provider"
	echo "  (NET_BIND); UNIFIED_IO_OP_RECV hands over the buffers the NIC filled, BPF runs on them"
	echo "  (UNIFIED_IO_RECV_F_BPF), they go to the drive and back to the NIC through the refill ring"
else
	mode=zcrx-region
	echo "  kernel $(uname -r) lets no module provide page pool memory (no NET_PROVIDER): io_uring"
	echo "  zcrx takes the region's data area as its area (unio_zcrx_register), so the NIC writes"
	echo "  into region buffers all the same; BPF runs on them with UNIFIED_IO_OP_BPF"
fi
recv_args=(recv --mode "$mode" --port "$PORT" --flows 2 --ifname "$NIC" --rxq 1
	   --data-size 32M --store "$NVME" --store-index "$MNT/store.idx" --bpf-stats -Q
	   --timeout 60)
net_json=$MNT/net.json
# The fixed copies of the receiver (loader, set-up), to subtract.
in_r "$COPYCOUNT" -j -o "$MNT/net-cc0.json" -- "$NETSTREAM" "${recv_args[@]}" --setup-only \
	-o "$MNT/net0.json" 2>"$MNT/net.err" || { cat "$MNT/net.err" >&2; exit 1; }
rm -f "$MNT/ready"
in_r "$COPYCOUNT" -j -o "$MNT/net-cc.json" -- "$NETSTREAM" "${recv_args[@]}" \
	--ready "$MNT/ready" -o "$net_json" -j 2>"$MNT/net.err" &
receiver=$!
for _ in $(seq 300); do
	[ -e "$MNT/ready" ] && break
	kill -0 "$receiver" 2>/dev/null || break
	sleep 0.1
done
nsenter --net="/run/netns/$SNS" "$NETSTREAM" send 10.79.0.1:"$PORT" --flows 2 --bytes 8M -Q \
	>/dev/null
wait "$receiver" || { cat "$MNT/net.err" >&2; echo "demo: the receiver failed" >&2; exit 1; }
python3 - "$net_json" "$MNT/net-cc.json" "$MNT/net-cc0.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
cc, cc0 = (json.load(open(p))["payload"]["bytes"] for p in sys.argv[2:4])
k = d["copies"].get("kernel") or {}
print(f"  {d['mode']}: {d['flows']} flows, {d['payload_bytes'] / 1048576:.1f} MiB received in "
      f"{d['seconds']:.2f} s ({d['mib_per_s']:.1f} MiB/s under TCG), "
      f"{d['syscalls']['per_mib']:.2f} receive system calls per MiB")
print(f"  verify: {d['verify']['detail']}")
n = d.get("net_info")
if n:
    print(f"  region as memory provider: {n['nr_bufs']} buffers lent, {n['zc_bytes']} bytes handed "
          f"over in place ({n['zc_chunks']} chunks), {n['copy_bytes']} copied by RECV (fallback), "
          f"{n['refills']} buffers back through the refill ring")
elif k:
    print(f"  zcrx into the data area: {k['bytes']} bytes copied by the kernel's fallback "
          f"({k['source']})")
b = d.get("bpf_stats") or {}
print(f"  BPF (bpf/stats.bpf.c, attached to the region): {b.get('buffers')} buffers, "
      f"{b.get('bytes')} bytes seen in place")
s = d.get("store") or {}
print(f"  NVMe {s.get('device')}: {s.get('writes')} buffers written by passthrough from the region, "
      f"{s.get('bytes_read_back')} bytes read back: {s.get('detail')}")
net = max(cc - cc0, 0)
print(f"  copycount: {net} payload bytes copied between user and kernel by the receiver "
      f"({cc} in all, {cc0} of them its set-up)")
bad = []
if not d["verify"]["ok"] or not s.get("verified"):
    bad.append("the stream or its read-back did not verify")
if net:
    bad.append("the receive path copied payload between user and kernel")
if (n and n["copy_bytes"] > d["stream_bytes"] // 100) or (k and k["bytes"] > d["stream_bytes"] // 100):
    bad.append("more than 1% of the stream was copied by the fallback")
if bad:
    sys.exit("demo: " + "; ".join(bad))
PY
in_r ethtool -S "$NIC" | grep -E '^ +rx1_(packets|hds_packets|hds_bytes):' || true

# The way back: NVMe -> region -> BPF -> wire. The sender, in the receive
# half's namespace, reads every slot the receive half stored (its index
# says where each chunk lies) by passthrough into region buffers, runs
# bpf/redact.bpf.c over each (bytes [64, 80) of every slot become 0x2a:
# past the 64-byte stream header, which the receiver needs) and sends the
# chunks from the same buffers with UNIFIED_IO_OP_SEND, each buffer reused
# only once the stack's notification says it let go of it. The receiver,
# in the other namespace, checks every byte: the redacted ones against 0x2a
# (the index tells it which), the rest against the stream's pattern.
RPORT=7401 REDACT=64:16:0x2a
step "network, the way back: $NVME -> region -> BPF (bpf/redact.bpf.c) -> TCP over the test NIC"
net_send=$(( features >> 9 & 1 ))
if [ "$net_send" != 1 ]; then
	echo "demo: the module reports no UNIFIED_IO_FEAT_NET_SEND: no zero-copy send" >&2
	exit 1
fi
echo "  sender: namespace $RNS (10.79.0.1), reads $NVME into region buffers, UNIFIED_IO_OP_SEND"
echo "  with UNIFIED_IO_SEND_F_BPF (bpf/redact.bpf.c: bytes [64, 80) of each slot set to 0x2a);"
echo "  receiver: namespace $SNS (10.79.0.2), recv() into region buffers, every byte checked"
send_args=(send "10.79.0.2:$RPORT" --from-nvme "$NVME" --index "$MNT/store.idx"
	   --bpf-redact "$REDACT" -Q --timeout 60)
in_s() { nsenter --net="/run/netns/$SNS" "$@"; }
rm -f "$MNT/ready-back"
in_s "$NETSTREAM" recv --mode recv --port "$RPORT" --flows 2 --index "$MNT/store.idx" \
	--expect-redact "$REDACT" --ready "$MNT/ready-back" -Q --timeout 60 -j \
	-o "$MNT/back-recv.json" 2>"$MNT/back-recv.err" &
back_receiver=$!
for _ in $(seq 300); do
	[ -e "$MNT/ready-back" ] && break
	kill -0 "$back_receiver" 2>/dev/null || break
	sleep 0.1
done
# The sender's fixed copies (loader, BPF load, set-up), to subtract.
in_r "$COPYCOUNT" -j -o "$MNT/back-cc0.json" -- "$NETSTREAM" "${send_args[@]}" --setup-only \
	-o "$MNT/back-send0.json" 2>"$MNT/back-send.err" ||
	{ cat "$MNT/back-send.err" >&2; kill "$back_receiver" 2>/dev/null; exit 1; }
if ! in_r "$COPYCOUNT" -j -o "$MNT/back-cc.json" -- "$NETSTREAM" "${send_args[@]}" -j \
	-o "$MNT/back-send.json" 2>"$MNT/back-send.err"; then
	cat "$MNT/back-send.err" >&2
	[ -s "$MNT/back-send.json" ] && cat "$MNT/back-send.json" >&2
	kill "$back_receiver" 2>/dev/null
	echo "demo: the sender failed" >&2
	exit 1
fi
wait "$back_receiver" ||
	{ cat "$MNT/back-recv.err" "$MNT/back-recv.json" >&2; echo "demo: the receiver of the way back failed" >&2; exit 1; }
back_copied=$(python3 - "$MNT/back-send.json" "$MNT/back-recv.json" "$MNT/back-cc.json" \
	"$MNT/back-cc0.json" "$net_json" <<'PY'
import json, sys
s, r = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
cc, cc0 = (json.load(open(p))["payload"]["bytes"] for p in sys.argv[3:5])
first = json.load(open(sys.argv[5]))
out = sys.stderr
sn, si, b = s["sends"], s["send_info"] or {}, s["bpf"] or {}
print(f"  sender: {s['flows']} flows, {s['stream_bytes'] / 1048576:.1f} MiB from {s['from_nvme']['device']} "
      f"({s['from_nvme']['reads']} slots of {s['from_nvme']['slot_size']} bytes read by passthrough "
      f"into {s['from_nvme']['bufs']} region buffers) in {s['seconds']:.2f} s", file=out)
print(f"  BPF: bpf/{b.get('program')}.bpf.c over every slot in place, "
      f"{b.get('send_f_bpf')} by UNIFIED_IO_SEND_F_BPF, {b.get('op_bpf')} by UNIFIED_IO_OP_BPF", file=out)
print(f"  SEND: {sn['sends']} sends queued {sn['bytes']} bytes ({sn['partial']} partial, resumed "
      f"after POLLOUT), {sn['notifications']} notifications, at most {sn['max_in_flight']} in flight", file=out)
print(f"  GET_INFO send: {si.get('send_bytes')} bytes sent, {si.get('zc_bytes')} read by the NIC from the "
      f"region, {si.get('copied_bytes')} copied by the stack", file=out)
v = r["verify"]
print(f"  receiver: {v['detail']}; {v.get('redacted_bytes')} bytes found redacted where the "
      f"index says, every other byte the stream's pattern", file=out)
net = max(cc - cc0, 0)
print(f"  copycount: {net} payload bytes copied between user and kernel by the sender "
      f"({cc} in all, {cc0} of them its set-up)", file=out)
bad = []
if not (s["verify"]["ok"] and v["ok"]):
    bad.append("the way back did not verify")
if r["stream_bytes"] != first["stream_bytes"] or s["stream_bytes"] != first["stream_bytes"]:
    bad.append(f"{r['stream_bytes']} bytes came back, {first['stream_bytes']} were stored")
if not v.get("redacted_bytes"):
    bad.append("no byte was found redacted")
if sn["notifications"] != sn["sends"] or si.get("inflight"):
    bad.append("a notification is missing")
if net:
    bad.append("the sender copied payload between user and kernel")
if bad:
    sys.exit("demo: " + "; ".join(bad))
print(net)
PY
) || exit 1

# Wire to flash as a stream: each flow's bytes at consecutive blocks of the
# namespace, gathered from the region buffers the NIC filled (NVMe SGLs,
# no copy) and written once; buffers go back to the NIC once on the drive.
# The sender also saves what it sent; dd of each flow's range from the
# block device and cmp prove the drive holds exactly that.
SPORT=7402 BDEV=/dev/nvme${NVME#/dev/ng}
if [[ $NVME != /dev/ng* ]] || [ ! -b "$BDEV" ]; then
	echo "demo: no block device $BDEV for $NVME" >&2
	exit 1
fi
step "network, wire -> flash as a stream: each flow contiguous on $NVME, checked with dd and cmp"
if [ "$net_provider" = 1 ]; then
	stream_args=(--mode native --ifname "$NIC" --rxq 1)
	echo "  the region is queue 1's memory provider: RECV hands over the NIC's buffers in place"
else
	stream_args=(--mode native --no-bind)
	echo "  kernel $(uname -r) lets no module provide page pool memory: RECV copies into region"
	echo "  buffers (counted below); the store itself copies nothing"
fi
in_r ethtool -N "$NIC" flow-type tcp4 dst-port "$SPORT" action 1 >/dev/null
rm -rf "$MNT/sent" "$MNT/ready-stream"
mkdir -p "$MNT/sent"
in_r "$NETSTREAM" recv "${stream_args[@]}" --port "$SPORT" --flows 2 --data-size 32M \
	--store "$NVME" --store-layout stream --ready "$MNT/ready-stream" -Q --timeout 60 -j \
	-o "$MNT/stream.json" 2>"$MNT/stream.err" &
stream_rx=$!
for _ in $(seq 300); do
	[ -e "$MNT/ready-stream" ] && break
	kill -0 "$stream_rx" 2>/dev/null || break
	sleep 0.1
done
if ! nsenter --net="/run/netns/$SNS" "$NETSTREAM" send 10.79.0.1:"$SPORT" --flows 2 --bytes 8M \
	--save "$MNT/sent" -Q >/dev/null; then
	kill "$stream_rx" 2>/dev/null || true
	cat "$MNT/stream.err" >&2
	echo "demo: the stream sender failed" >&2
	exit 1
fi
wait "$stream_rx" || { cat "$MNT/stream.err" >&2; echo "demo: the stream receiver failed" >&2; exit 1; }
python3 - "$MNT/stream.json" "$BDEV" "$MNT/sent" <<'PY'
import json, shlex, subprocess, sys
d = json.load(open(sys.argv[1]))
s, bdev, sent = d["store"], sys.argv[2], sys.argv[3]
lba = s["lba_size"]
n = d.get("net_info") or {}
print(f"  received {d['stream_bytes']} bytes in {d['flows']} flows; written to {bdev}: "
      f"{s['bytes_written']} bytes ({s['bytes_written'] / d['stream_bytes']:.4f} per byte "
      f"received, {s['pad_bytes']} of them padding) in {s['nvme_commands']} NVMe commands "
      f"({s['writes']} gathers)")
print(f"  copies: {s['copied_bytes']} bytes by the store (alignment), "
      f"{n.get('copy_bytes', 0)} by RECV's fallback, {n.get('zc_bytes', 0)} handed over in place")
bad = []
for st in s["streams"]:
    f = f"{sent}/flow-{st['flow']}"
    cnt = (st["bytes"] + lba - 1) // lba
    cmd = (f"dd if={shlex.quote(bdev)} bs={lba} skip={st['slba']} count={cnt} iflag=direct "
           f"status=none | cmp -n {st['bytes']} - {shlex.quote(f)}")
    r = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True)
    print(f"  $ {cmd}: " + ("identical" if r.returncode == 0 else (r.stdout + r.stderr).strip()))
    if r.returncode:
        bad.append(f"flow {st['flow']} differs on the drive")
if not s["verified"]:
    bad.append("the store's read-back did not verify: " + s["detail"])
if s["bytes_written"] > d["stream_bytes"] + len(s["streams"]) * lba:
    bad.append("more than one block per flow beyond the stream was written")
if s["copied_bytes"]:
    bad.append("the store copied bytes")
if bad:
    sys.exit("demo: " + "; ".join(bad))
PY

printf '\nunified_io demo: OK on Linux %s%s (module loaded, features read, huge-page region created, ' \
	"$(uname -r)" "${UNIFIED_IO_KERNEL:+, $UNIFIED_IO_KERNEL}"
printf 'buffers allocated, written, verified and freed, region visible in /proc, '
printf 'a BPF chain run over region buffers in place (CRC32C stamped and verified), '
printf '16 MiB through the region to NVMe and back with 0 payload bytes copied, '
printf 'a TCP stream received into region buffers (%s), run through BPF, written to NVMe ' "$mode"
printf 'from the same buffers and read back, with 0 payload bytes copied; '
printf 'and back: read from NVMe into region buffers, redacted by BPF and sent from them '
printf 'by UNIFIED_IO_OP_SEND over the test NIC, every byte checked by the receiver, '
printf 'with %s payload bytes copied by the sender; ' "$back_copied"
printf 'and a TCP stream stored contiguously, each flow at its own blocks, written once, '
printf 'checked with dd and cmp)\n'
