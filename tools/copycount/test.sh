#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tools/copycount/test.sh - positive and negative controls of copycount
# against a workload moving known byte counts (build/tools/test/
# copycount-workload).  Needs root, BTF and tracefs: run it in a guest,
# after make:
#
#   tools/vm/run -- tools/copycount/test.sh
#
# Prints KTAP-style "ok N name" / "not ok N name" lines and, at the end,
# "copycount: N passed, N failed".  Exit status 0 if all passed, 1 if any
# failed, 4 (kselftest SKIP) if the machine cannot run BPF tracing.
# Environment: BUILD (default <repo>/build), N (bytes per transfer, default
# 8 MiB), SLACK (allowed overhead, default 64 KiB: the dynamic loader's
# reads), DIRECT_DEV (block device for the O_DIRECT read, default
# /dev/nvme0n1).
set -u

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$REPO/build}
COPYCOUNT=$BUILD/tools/copycount
WORKLOAD=$BUILD/tools/test/copycount-workload
N=${N:-$((8 * 1024 * 1024))}
SLACK=${SLACK:-$((64 * 1024))}
DIRECT_DEV=${DIRECT_DEV:-/dev/nvme0n1}

# shellcheck source-path=SCRIPTDIR source=../../bpf/test-lib.sh
. "$REPO/bpf/test-lib.sh"
test_init "$COPYCOUNT"

# json_check NAME FILE PYEXPR: PYEXPR over the report must be true.  Names:
# d (report), p/o (payload/other totals), r (routines), to/frm (payload
# bytes to/from user), N, SLACK.
json_check() {
	py_check "$1" "$2" "$3" "$N" "$SLACK" <<'PY'
import json, sys
with open(sys.argv[1]) as f:
    d = json.load(f)
N, SLACK = int(sys.argv[3]), int(sys.argv[4])
p, o, r = d["payload"], d["other"], d["routines"]
to, frm = p["to_user"], p["from_user"]
if not eval("(" + sys.argv[2] + ")"):
    print("false: " + sys.argv[2])
    print("payload: " + json.dumps(p) + " other: " + json.dumps(o))
    print("routines: " + json.dumps({k: (v["calls"], v["bytes"], v["kernel_bytes"])
                                     for k, v in r.items() if v["calls"]}))
    sys.exit(1)
PY
}

# count_check NAME EXPECTED_RC PYEXPR [COPYCOUNT_OPTS... --] WORKLOAD_ARGS...
count_check() {
	local name=$1 want_rc=$2 expr=$3 opts=()
	shift 3
	if [ "${1:-}" = -k ]; then opts=(-k); shift; fi
	run "${opts[@]}" --json -o "$tmp/report.json" -- "$WORKLOAD" "$@"
	if [ "$rc" != "$want_rc" ]; then
		not_ok "$name" "exit status $rc, expected $want_rc"
		return
	fi
	json_check "$name" "$tmp/report.json" "$expr"
}

# --- Preconditions -------------------------------------------------------

require_built "$COPYCOUNT" "$WORKLOAD"
require_bpf_tracing

echo "KTAP version 1"

# The file read and written: on /tmp (tmpfs in the guest), in the page cache.
file=$tmp/data
if ! dd if=/dev/urandom of="$file" bs=1M count=$((N / 1048576)) status=none; then
	not_ok "create the $N-byte test file"
	summary
	exit 1
fi

# "About N": N <= bytes <= N + SLACK (the loader's reads of the libraries).
near="N <= %s <= N + SLACK"

# --- Positive controls ---------------------------------------------------

count_check "buffered read of $N bytes: ~$N bytes to user" 0 \
	"$(printf "$near" to) and frm <= SLACK and d['exit_status'] == 0 and
	 d['command'][1:] == ['read', '$file', '$N'] and
	 d['total_bytes'] == p['bytes'] + o['bytes'] and d['lost_processes'] == 0" \
	read "$file" "$N"
count_check "buffered write of $N bytes: ~$N bytes from user" 0 \
	"$(printf "$near" frm) and to <= SLACK" write "$tmp/written" "$N"
count_check "pipe transfer of $N bytes: ~$N each way" 0 \
	"$(printf "$near" to) and $(printf "$near" frm)" pipe "$N"
count_check "read in a forked child followed: ~$N bytes to user" 0 \
	"$(printf "$near" to)" fork-read "$file" "$N"
count_check "kprobe/kretprobe (-k) agree on the buffered read" 0 \
	"$(printf "$near" to) and all(v['probe'] in ('kprobe', 'none') for v in r.values())" \
	-k read "$file" "$N"

# --- Negative controls ---------------------------------------------------

if [ -b "$DIRECT_DEV" ]; then
	count_check "O_DIRECT read of $N bytes ($DIRECT_DEV): ~0 payload" 0 \
		"p['bytes'] <= SLACK" direct "$DIRECT_DEV" "$N"
else
	echo "# SKIP O_DIRECT read: no block device $DIRECT_DEV"
fi
count_check "no I/O: ~0 payload" 0 "p['bytes'] <= SLACK and frm == 0" noio 1000000

# The storage path: NVMe passthrough into region buffers copies no payload,
# where a buffered read of the same bytes of the same drive copies them all.
UNIFIED_IO=$BUILD/tools/unified-io
NG_DEV=${NG_DEV:-/dev/ng0n1}
if [ -c "$NG_DEV" ] && [ -b "$DIRECT_DEV" ] && [ -e /dev/unified_io_region ]; then
	name="NVMe passthrough read of $N bytes into the region: ~0 payload"
	run --json -o "$tmp/report.json" -- "$UNIFIED_IO" nvme read "$NG_DEV" \
		--lba 0 --length "$N" --output /dev/null
	if [ "$rc" = 0 ]; then
		json_check "$name" "$tmp/report.json" "p['bytes'] <= SLACK"
	else
		not_ok "$name" "exit status $rc"
	fi
	name="buffered read of $N bytes of $DIRECT_DEV: ~$N bytes to user"
	run --json -o "$tmp/report.json" -- dd if="$DIRECT_DEV" of=/dev/null \
		bs=1M count=$((N / 1048576)) status=none
	if [ "$rc" = 0 ]; then
		json_check "$name" "$tmp/report.json" "$(printf "$near" to)"
	else
		not_ok "$name" "exit status $rc"
	fi
else
	echo "# SKIP NVMe passthrough: no $NG_DEV, $DIRECT_DEV or unified_io module"
fi

# Another process copying meanwhile is not counted.
( while :; do cat "$file" >/dev/null; done ) &
noise=$!
count_check "unrelated process copying: not counted" 0 "p['bytes'] <= SLACK" noio 1000
kill "$noise" 2>/dev/null
wait "$noise" 2>/dev/null

# uname(2) copies 390 bytes out with copy_to_user: "other", not payload.
run --json -o "$tmp/report.json" -- "$WORKLOAD" uname 1000
if [ "$rc" != 0 ]; then
	not_ok "uname x1000: other copies, no payload" "exit status $rc"
elif python3 -c 'import json,sys; sys.exit("_copy_to_user" not in json.load(open(sys.argv[1]))["untraceable"])' \
	"$tmp/report.json"; then
	echo "# SKIP uname x1000: _copy_to_user cannot be traced on this kernel (lib/ is notrace)"
	json_check "uname x1000: no payload" "$tmp/report.json" "p['bytes'] <= SLACK"
else
	json_check "uname x1000: other copies, no payload" "$tmp/report.json" \
		"o['to_user'] >= 1000 * 390 and p['bytes'] <= SLACK"
fi

# --- Exit status and output forms ----------------------------------------

count_check "exit status propagated (read of a missing file: 1)" 1 \
	"d['exit_status'] == 1 and 'signal' not in d" read /nonexistent "$N"

run -o "$tmp/report.txt" -- "$WORKLOAD" read "$file" "$N"
if [ "$rc" = 0 ] && grep -Eq '^payload: [0-9]+ bytes to user' "$tmp/report.txt" &&
   grep -Eq '^total: +[0-9]+ bytes$' "$tmp/report.txt"; then
	ok "text report: payload and total lines"
else
	not_ok "text report: payload and total lines" "exit status $rc" \
		"report: $(tr '\n' '|' <"$tmp/report.txt" 2>/dev/null)"
fi

run -j -o - -- "$WORKLOAD" noio 1
if [ "$rc" = 0 ]; then
	json_check "-o -: JSON on standard output" "$tmp/out" "d['exit_status'] == 0"
else
	not_ok "-o -: JSON on standard output" "exit status $rc"
fi

run --json -o "$tmp/none.json" -- copycount-test-no-such-command
if [ "$rc" = 127 ] && grep -q 'copycount-test-no-such-command: command not found' "$tmp/err"; then
	ok "missing command: status 127, clear message"
else
	not_ok "missing command: status 127, clear message" "exit status $rc"
fi

run
if [ "$rc" = 125 ] && grep -q 'no command given' "$tmp/err"; then
	ok "no command: status 125"
else
	not_ok "no command: status 125" "exit status $rc"
fi

run --help
if [ "$rc" = 0 ] && grep -q '^Usage: copycount' "$tmp/out"; then
	ok "--help"
else
	not_ok "--help" "exit status $rc"
fi

finish
