#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tools/bench/run.sh - run the benchmarks in the guest (make bench runs
# tools/vm/run --kernel NAME -- tools/bench/run.sh once per kernel of the
# matrix, with UNIFIED_IO_BENCH_OUT=build/bench/NAME).  Results go to
# $UNIFIED_IO_BENCH_OUT (default build/bench; "build/bench" below), and each
# JSON file records the kernel release and matrix entry it ran on.
#
# 1. Region: unio-bench under syscount, the BPF system call counter:
#   build/bench/region.json           results, with the kernel-side count
#   build/bench/region.syscount.json  syscount's report for the whole run
#   build/bench/region.png            bar chart (tools/bench/plot.py)
# The benchmark counts the ioctls it issues; syscount counts, in the kernel,
# every system call the process makes. Both go into region.json.
# Extra arguments go to unio-bench (e.g. --ops 50000 --reps 7).
#
# 2. Storage (tools/bench/nvme-run.py): NVMe reads from /dev/ng0n1 into a
#    region, passthrough with and without the fixed region buffer, O_DIRECT,
#    buffered and fio's io_uring_cmd, each mode a process under copycount:
#   build/bench/nvme.json, nvme.txt, nvme.png
# UNIO_BENCH_NVME=0 skips it; UNIO_BENCH_NVME_ARGS adds nvme-run.py options.
#
# 3. Compute (tools/bench/crc-run.py): CRC32C over 4 KiB and 64 KiB region
#    buffers by the crc32c BPF program in place (UNIFIED_IO_OP_BPF), by user
#    space over the mmap (slicing-by-8; SSE4.2 crc32) and after read() from
#    tmpfs, each mode a process under copycount; every CRC cross-checked:
#   build/bench/bpf.json, bpf.txt, bpf.png
# UNIO_BENCH_BPF=0 skips it; UNIO_BENCH_BPF_ARGS adds crc-run.py options.
#
# 4. Network (tools/bench/net-run.py): the same TCP stream received over the
#    unionic test NIC (drivers/unio_nic) three ways: the region as the NIC
#    queue's memory provider (native, needs the patched kernel), io_uring
#    zcrx into the region's data area, recv() into region buffers; each mode
#    under syscount and copycount:
#   build/bench/net.json, net.txt, net.png
# UNIO_BENCH_NET=0 skips it; UNIO_BENCH_NET_ARGS adds net-run.py options.
# "run.sh --net-only" runs only this part.  On a stock kernel the native
# mode is reported as skipped.
#
# 5. Send (tools/bench/send-run.py): the same TCP streams sent over the
#    unionic pair six ways: send() from private memory and from the region's
#    mapping, MSG_ZEROCOPY, sendfile() from a file on the second NVMe
#    namespace, pread(O_DIRECT) + send(), and NVMe passthrough into region
#    buffers + UNIFIED_IO_OP_SEND; each mode's sender under syscount and
#    copycount:
#   build/bench/net-send.json, net-send.txt, net-send.png
# UNIO_BENCH_SEND=0 skips it; UNIO_BENCH_SEND_ARGS adds send-run.py options.
# "run.sh --send-only" runs only this part.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${UNIFIED_IO_BENCH_OUT:-$REPO/build/bench}

mkdir -p "$OUT"
echo "bench: kernel $(uname -r)${UNIFIED_IO_KERNEL:+ ($UNIFIED_IO_KERNEL)}, results in $OUT"
echo "bench: figures under TCG emulation are not hardware figures; only ratios within one boot mean something"

net_bench() {
	# shellcheck disable=SC2086
	python3 "$REPO/tools/bench/net-run.py" --out "$OUT" ${UNIO_BENCH_NET_ARGS:-}
}

send_bench() {
	# shellcheck disable=SC2086
	python3 "$REPO/tools/bench/send-run.py" --out "$OUT" ${UNIO_BENCH_SEND_ARGS:-}
}

if [ "${1:-}" = --net-only ]; then
	net_bench
	exit
fi
if [ "${1:-}" = --send-only ]; then
	send_bench
	exit
fi

"$REPO/build/tools/syscount" -j -o "$OUT/region.syscount.json" -- \
	"$REPO/build/tools/unio-bench" --json "$OUT/region.json" "$@" | tee "$OUT/region.txt"

python3 - "$OUT/region.json" "$OUT/region.syscount.json" <<'PY' | tee -a "$OUT/region.txt"
import json, sys
bench_path, sc_path = sys.argv[1:3]
bench = json.load(open(bench_path))
sc = json.load(open(sc_path))
kernel_ioctls = sc["syscalls"].get("ioctl", 0)
bench["syscount"] = {
    "ioctl": kernel_ioctls,
    "total": sc["total"],
    "ioctls_issued_by_bench": bench["ioctls_issued"],
}
json.dump(bench, open(bench_path, "w"), indent=1)
print(f"syscount (BPF, in the kernel): {kernel_ioctls} ioctl calls of {sc['total']} "
      f"system calls; the benchmark counted {bench['ioctls_issued']} in its timed and "
      f"warm-up loops (the rest is set-up: SETUP, GET_INFO).")
PY
python3 "$REPO/tools/bench/plot.py" "$OUT/region.json" "$OUT/region.png"
echo "bench: wrote $OUT/region.json, $OUT/region.txt and $OUT/region.png"

if [ "${UNIO_BENCH_NVME:-1}" != 0 ]; then
	if [ -c /dev/ng0n1 ]; then
		# shellcheck disable=SC2086
		python3 "$REPO/tools/bench/nvme-run.py" --out "$OUT" ${UNIO_BENCH_NVME_ARGS:-}
	else
		echo "bench: no /dev/ng0n1 in this machine, storage benchmark skipped"
	fi
fi

if [ "${UNIO_BENCH_BPF:-1}" != 0 ]; then
	# shellcheck disable=SC2086
	python3 "$REPO/tools/bench/crc-run.py" --out "$OUT" ${UNIO_BENCH_BPF_ARGS:-}
fi

if [ "${UNIO_BENCH_NET:-1}" != 0 ]; then
	net_bench
fi

if [ "${UNIO_BENCH_SEND:-1}" != 0 ]; then
	send_bench
fi
