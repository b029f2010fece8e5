#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tools/unified-io/test.sh - unified-io over its error cases, and the set-up
# errors of unio-netstream: exit status (2 for a usage error, 1 for a failed
# operation), the message naming the word at fault or the limit, and with
# -j (given after the command, as unified-io(8) allows) one JSON document
# {"error": "..."} on standard output.  Usage errors need no module; the
# kernel's refusals (a chain that refuses a buffer, RLIMIT_MEMLOCK, NET_BIND
# on lo) need the module and root, and are skipped with a reason without
# them:
#
#   tools/vm/run -- tools/unified-io/test.sh
#
# Prints "ok N name" / "not ok N name" (with "#" diagnostics) and
# "# SKIP name: reason" lines, then "unified-io: N passed, N failed".  Exit
# status 0 unless a check failed.  Environment: BUILD (default
# <repo>/build).
set -u

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$REPO/build}
UIO=$BUILD/tools/unified-io
NS=$BUILD/tools/unio-netstream
FEAT_NET_RECV=$((1 << 7))
FEAT_NET_SEND=$((1 << 9))

# shellcheck source-path=SCRIPTDIR source=../../bpf/test-lib.sh
. "$REPO/bpf/test-lib.sh"
test_init "$UIO"

skip() { echo "# SKIP $1: $2"; }

if [ ! -x "$UIO" ] || [ ! -x "$NS" ]; then
	echo "# $UIO or $NS missing: run make"
	fail=1
	summary
	exit 1
fi
command -v python3 >/dev/null || skip_all "python3 is needed to check the JSON"

# json_error FILE WORD: FILE is exactly {"error": "...WORD..."}.
json_error() {
	python3 - "$1" "$2" <<'PY'
import json, sys
with open(sys.argv[1]) as f:
    d = json.load(f)
if not (isinstance(d, dict) and list(d) == ["error"] and
        isinstance(d["error"], str) and sys.argv[2] in d["error"]):
    print("not {\"error\": \"...%s...\"}: %s" % (sys.argv[2], json.dumps(d)))
    sys.exit(1)
PY
}

# json_check FILE PYEXPR: FILE is one JSON document d for which PYEXPR holds.
json_check() {
	python3 - "$1" "$2" <<'PY'
import json, sys
with open(sys.argv[1]) as f:
    d = json.load(f)
if not eval(sys.argv[2]):
    print("false: %s for %s" % (sys.argv[2], json.dumps(d)[:400]))
    sys.exit(1)
PY
}

# fails NAME RC WORD ARGS...: "unified-io ARGS" exits RC and its message
# names WORD; "unified-io ARGS -j" exits RC and prints {"error": "...WORD..."}
# and nothing else.
fails() {
	local name=$1 want=$2 word=$3 msg
	shift 3
	run "$@"
	if [ "$rc" != "$want" ]; then
		not_ok "$name" "unified-io $*: exit status $rc, expected $want"
		return
	fi
	if ! grep -qF -- "$word" "$tmp/err"; then
		not_ok "$name" "unified-io $*: the message does not name '$word'"
		return
	fi
	run "$@" -j
	if [ "$rc" != "$want" ]; then
		not_ok "$name" "unified-io $* -j: exit status $rc, expected $want"
		return
	fi
	if ! msg=$(json_error "$tmp/out" "$word" 2>&1); then
		not_ok "$name" "unified-io $* -j: $msg"
		return
	fi
	ok "$name"
}

# succeeds NAME PYEXPR ARGS...: exit status 0 and JSON d with PYEXPR.
succeeds() {
	local name=$1 expr=$2 msg
	shift 2
	run "$@"
	if [ "$rc" != 0 ]; then
		not_ok "$name" "unified-io $*: exit status $rc"
	elif ! msg=$(json_check "$tmp/out" "$expr" 2>&1); then
		not_ok "$name" "unified-io $*: $msg"
	else
		ok "$name"
	fi
}

# ns_fails NAME RC WORD ARGS...: unio-netstream ARGS exits RC naming WORD.
ns_fails() {
	local name=$1 want=$2 word=$3
	shift 3
	"$NS" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" != "$want" ]; then
		not_ok "$name" "unio-netstream $*: exit status $rc, expected $want"
	elif ! grep -qF -- "$word" "$tmp/err"; then
		not_ok "$name" "unio-netstream $*: the message does not name '$word'"
	else
		ok "$name"
	fi
}

echo "KTAP version 1"

# --- Usage errors: exit 2, the word named; no module needed ---------------

fails "no object" 2 "no object given"
fails "unknown object" 2 "unknown object 'frob' (expected help, feature" frob
fails "unknown option" 2 "unknown option '--frob'" --frob
succeeds "-jV: j bundled with V" "d['libunifiedio']['major'] == 1 and d['libunifiedio']['minor'] >= 5" -jV
fails "ambiguous command" 2 "'n' is ambiguous: nvme or net" n
fails "unknown region command" 2 "unknown region command 'frob' (expected list, show, demo or help)" region frob
fails "region demo: unknown option" 2 "unknown, ambiguous or misused option '--frob'" region demo --frob
fails "region demo: a value to a flag" 2 "misused option '--huge=1'" region demo --huge=1
fails "bpf: ambiguous step" 2 "'d' is ambiguous: demo or detach" bpf d
fails "region demo: option without its value" 2 "option '--sq' needs a value" region demo --sq
fails "region demo: not a number" 2 "--sq 'x': not a number" region demo --sq x
fails "region demo: --sq 3" 2 "--sq 3: must be a power of two from 1 to 32768" region demo --sq 3
fails "region demo: --cq below --sq" 2 "--cq 8: must be a power of two from the SQ size (16)" region demo --sq 16 --cq 8
fails "region demo: --buf-size 3K" 2 "--buf-size 3 KiB: must be a power of two from 4 KiB to 2 MiB" region demo --buf-size 3K
fails "region demo: --buf-size 4M" 2 "--buf-size 4 MiB: must be a power of two from 4 KiB to 2 MiB" region demo --buf-size 4M
fails "region demo: --data-size 64G" 2 "--data-size 64 GiB: above the 1 GiB cap" region demo --data-size 64G
fails "region demo: --data-size not a multiple" 2 "must be a non-zero multiple of --buf-size" region demo --data-size 100K
fails "region demo: 65536 buffers at most" 2 "above the limit of 65536" region demo --data-size 1G --buf-size 4K
fails "region show: no FD" 2 "region show needs PID FD" region show 1
fails "region show: bad PID" 2 "PID 'x'" region show x 3
fails "region list: no argument" 2 "region list takes no argument: 'extra'" region list extra
fails "nvme info: no DEV" 2 "nvme info needs DEV" nvme info
fails "nvme read: no --lba" 2 "nvme read needs --lba" nvme read /dev/ng0n1 --length 4K
fails "nvme read: --lba not a number" 2 "--lba 'x': not a number" nvme read /dev/ng0n1 --lba x --length 4K
fails "nvme read: --chunk above 2 MiB" 2 "--chunk 4 MiB: must be a power of two from 4 KiB to 2 MiB" nvme read /dev/ng0n1 --lba 0 --length 4K --chunk 4M --output /dev/null
fails "bpf: no step" 2 "bpf: no step given" bpf
fails "bpf: unknown step" 2 "unknown step 'frob' (expected attach, detach, list, run or stats)" bpf list -- frob
fails "bpf: unknown program" 2 "unknown program 'frob' (expected crc32c, filter, redact or stats)" bpf attach frob
fails "bpf: bad choice lists the values" 2 "bad value 'bogus' for mode (expected stamp or verify)" bpf attach crc32c mode=bogus
fails "bpf: bad setting lists the settings" 2 "bad argument 'len=9' (expected off=N, len=1-8" bpf attach filter len=9
fails "bpf: run past the buffers" 2 "from 1 to 4 buffers" bpf attach stats -- run 5
fails "bpf: --buf-size 3K" 2 "--buf-size 3 KiB: must be a power of two" bpf --buf-size 3K list
fails "bpf demo: too few buffers" 2 "--bufs 2: the demo needs at least 3" bpf demo --bufs 2
fails "net: no dev" 2 "net check needs dev IFNAME" net
fails "net check: unknown argument" 2 "unknown argument 'frob' (expected dev, rxq or bufs)" net check frob
fails "net send: no operands" 2 "net send needs DEV and HOST:PORT" net send --lba 0 --length 4K
fails "net send: no port" 2 "'127.0.0.1' is not HOST:PORT" net send /dev/ng0n1 127.0.0.1 --lba 0 --length 4K
fails "net send: port 0" 2 "'127.0.0.1:0' is not HOST:PORT" net send /dev/ng0n1 127.0.0.1:0 --lba 0 --length 4K
fails "net send: no --lba" 2 "net send needs --lba" net send /dev/ng0n1 127.0.0.1:1 --length 4K
fails "net send: no --length" 2 "net send needs --length N" net send /dev/ng0n1 127.0.0.1:1 --lba 0
fails "net send: --length 0" 2 "--length '0': not a size above 0" net send /dev/ng0n1 127.0.0.1:1 --lba 0 --length 0
fails "net send: --length near 2^64" 2 "below 2^62" net send /dev/ng0n1 127.0.0.1:1 --lba 0 --length 18446744073709551615
fails "net send: --lba with a size suffix" 2 "--lba '1M': not a number" net send /dev/ng0n1 127.0.0.1:1 --lba 1M --length 4K
fails "net send: --buf-size 3K" 2 "--buf-size 3 KiB: must be a power of two from 4 KiB to 2 MiB" net send /dev/ng0n1 127.0.0.1:1 --lba 0 --length 4K --buf-size 3K
fails "net send: --bufs 1" 2 "--bufs '1': a number from 2 to 4096" net send /dev/ng0n1 127.0.0.1:1 --lba 0 --length 4K --bufs 1
fails "net send: --bufs beyond a region" 2 "more than the 1 GiB a region holds" net send /dev/ng0n1 127.0.0.1:1 --lba 0 --length 4K --bufs 4096 --buf-size 2M
fails "net send: --redact without LEN" 2 "--redact '5': OFF:LEN[:FILL]" net send /dev/ng0n1 127.0.0.1:1 --lba 0 --length 4K --redact 5
fails "net send: --redact FILL above a byte" 2 "--redact '0:4:256'" net send /dev/ng0n1 127.0.0.1:1 --lba 0 --length 4K --redact 0:4:256
fails "net send: an extra operand" 2 "and nothing more" net send /dev/ng0n1 127.0.0.1:1 extra --lba 0 --length 4K

# -j before the object, and -p, give the same document.
run -p frob
if [ "$rc" = 2 ] && msg=$(json_error "$tmp/out" "frob" 2>&1); then
	ok "-p before the object: {\"error\"} pretty-printed"
else
	not_ok "-p before the object: {\"error\"} pretty-printed" "exit status $rc ${msg:-}"
fi
run region demo --help
if [ "$rc" = 0 ] && grep -q 'DEMO_OPTS' "$tmp/err"; then
	ok "--help after the command: the object's usage, exit 0"
else
	not_ok "--help after the command: the object's usage, exit 0" "exit status $rc"
fi
succeeds "-j after the command: version" "d['version'] and d['libunifiedio']['minor'] >= 5" version -j
succeeds "-j after the command: region list" "isinstance(d, list)" region list -j

# --- unio-netstream's set-up errors ----------------------------------------

ns_fails "unio-netstream: a bad --mode lists the modes" 2 "bad value 'bogus' for --mode: native, zcrx, zcrx-region or recv" recv --mode bogus --port 1
ns_fails "unio-netstream: --buf-size 3K" 2 "bad value '3K' for --buf-size: a power of two from 4K to 2M" recv --mode recv --port 1 --buf-size 3K
ns_fails "unio-netstream: --data-size beyond the region" 2 "--data-size 512 MiB: at most" recv --mode native --port 1 --data-size 512M
ns_fails "unio-netstream: --from-nvme without --index" 2 "--from-nvme and --index go together" send 127.0.0.1:1 --from-nvme /dev/ng0n1
ns_fails "unio-netstream: --from-nvme takes no --flows" 2 "no --flows, --bytes" send 127.0.0.1:1 --from-nvme /dev/ng0n1 --index x --flows 2
ns_fails "unio-netstream: --bufs is for --from-nvme" 2 "are for --from-nvme" send 127.0.0.1:1 --bufs 4
ns_fails "unio-netstream: --bpf-redact OFF:LEN" 2 "bad value '7' for --bpf-redact: OFF:LEN[:FILL]" send 127.0.0.1:1 --from-nvme /dev/ng0n1 --index x --bpf-redact 7
ns_fails "unio-netstream: --expect-redact needs --index" 2 "--expect-redact and --index go together" recv --mode recv --port 1 --expect-redact 64:8
ns_fails "unio-netstream: --store-index needs --store" 2 "--store-index needs --store" recv --mode recv --port 1 --store-index x
printf 'not an index, not at all, and long enough for the header of one: 0123456789abcdef\n' >"$tmp/bad.idx"
ns_fails "unio-netstream: a file that is no store index" 1 "not a store index" recv --mode recv --port 1 --index "$tmp/bad.idx" --expect-redact 64:8
head -c 40 /dev/zero >"$tmp/short.idx"
ns_fails "unio-netstream: a short index" 1 "not a regular file of a plausible size" send 127.0.0.1:1 --from-nvme /dev/ng0n1 --index "$tmp/short.idx"

# --- What needs the module --------------------------------------------------

if [ ! -c /dev/unified_io_region ]; then
	fails "no module: feature says how to load it" 1 "load unified_io.ko" feature
	fails "no module: region demo says how to load it" 1 "run inside tools/vm/run" region demo
	skip "the kernel's refusals" "no /dev/unified_io_region"
	finish
	exit
fi

succeeds "-j after the command: feature" "d['abi_version'] >= 1 and 'sq_ring' in d['feature_names']" feature --json
fails "feature: a missing device node" 1 "/nonexistent/unified_io does not exist: check the path" feature dev /nonexistent/unified_io
succeeds "region demo -j" "d['config']['nr_bufs'] == 16 and d['steps']['nops'] == 10" region demo --data-size 1M --buf-size 64K --sq 8 --ops 10 --no-io-uring -j

if [ "$(id -u)" != 0 ]; then
	skip "the kernel's refusals" "needs root (BPF, CAP_NET_ADMIN, dropping CAP_IPC_LOCK)"
	finish
	exit
fi

# A chain that refuses the buffer is a failed operation.
fails "bpf run with no program attached: exit 1" 1 "no program is attached" bpf run 1
succeeds "bpf attach and run" "d[-1]['run'][0]['res'] == 4096 and d[-1]['run'][0]['verdict'] == 'pass'" bpf --buf-size 4K attach stats -- run 1 -j

# RLIMIT_MEMLOCK: root is exempt through CAP_IPC_LOCK (drivers/unified_io/
# region.c uior_account()), so it is dropped from the bounding set before
# the exec, and the limit lowered below the region's size.
if command -v setpriv >/dev/null; then
	memlock() {
		(ulimit -l 256 && exec setpriv --bounding-set=-ipc_lock --inh-caps=-ipc_lock "$@")
	}
	run_memlock() {
		memlock "$UIO" "$@" >"$tmp/out" 2>"$tmp/err"
		rc=$?
	}
	run_memlock region demo --data-size 16M
	if [ "$rc" = 1 ] && grep -qF 'more than RLIMIT_MEMLOCK allows (ulimit -l: 256 KiB)' "$tmp/err"; then
		ok "region demo over RLIMIT_MEMLOCK: exit 1, ulimit -l named"
	else
		not_ok "region demo over RLIMIT_MEMLOCK: exit 1, ulimit -l named" "exit status $rc"
	fi
	run_memlock region demo --data-size 16M -j
	if [ "$rc" = 1 ] && msg=$(json_error "$tmp/out" "ulimit -l: 256 KiB" 2>&1); then
		ok "region demo over RLIMIT_MEMLOCK -j: {\"error\"}"
	else
		not_ok "region demo over RLIMIT_MEMLOCK -j: {\"error\"}" "exit status $rc ${msg:-}"
	fi
	memlock "$NS" recv --mode recv --port 1 --setup-only -Q >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" = 1 ] && grep -qF 'ulimit -l: 256 KiB' "$tmp/err"; then
		ok "unio-netstream over RLIMIT_MEMLOCK: exit 1, ulimit -l named"
	else
		not_ok "unio-netstream over RLIMIT_MEMLOCK: exit 1, ulimit -l named" "exit status $rc"
	fi
else
	skip "RLIMIT_MEMLOCK" "no setpriv to drop CAP_IPC_LOCK"
fi

# NET_BIND on lo: no queue management (or no provider in this kernel).
features=$("$UIO" -j feature | python3 -c 'import json, sys; print(json.load(sys.stdin)["features"])')
if [ $((features & FEAT_NET_RECV)) != 0 ]; then
	run net check dev lo -j
	if [ "$rc" = 1 ] && msg=$(json_check "$tmp/out" "d['bound'] is False and d['error'] and d['reason'] and 'memory provider' in d['explanation']" 2>&1); then
		ok "net check dev lo: exit 1, the kernel's reason and the explanation"
	else
		not_ok "net check dev lo: exit 1, the kernel's reason and the explanation" \
			"exit status $rc ${msg:-}"
	fi
else
	skip "net check dev lo" "no UNIFIED_IO_FEAT_NET_RECV"
fi

# net send: blocks of the drive onto a TCP connection on lo, through the
# redact program; a receiver in python keeps what it gets, compared with
# what was written and the redaction applied to every 64 KiB buffer.
if [ $((features & FEAT_NET_SEND)) = 0 ]; then
	fails "net send without NET_SEND: exit 1" 1 "no UNIFIED_IO_FEAT_NET_SEND" \
		net send /dev/ng0n1 127.0.0.1:1 --lba 0 --length 4K
	skip "net send" "no UNIFIED_IO_FEAT_NET_SEND"
elif [ ! -c /dev/ng0n1 ]; then
	skip "net send" "no /dev/ng0n1"
else
	len=$((1048576 + 3 * 65536 + 13))
	head -c "$len" /dev/urandom >"$tmp/src"
	"$UIO" nvme write /dev/ng0n1 --lba 4096 --input "$tmp/src" >/dev/null 2>"$tmp/err" ||
		not_ok "net send: the data written first" "$(cat "$tmp/err")"
	port=7390
	rm -f "$tmp/ready"
	python3 - "$port" "$tmp/got" "$tmp/ready" <<'PY' &
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
s.settimeout(60)
open(sys.argv[3], "w").close()
c, _ = s.accept()
c.settimeout(60)
with open(sys.argv[2], "wb") as out:
    while True:
        b = c.recv(1 << 20)
        if not b:
            break
        out.write(b)
PY
	listener=$!
	for _ in $(seq 100); do [ -e "$tmp/ready" ] && break; sleep 0.1; done
	run net send /dev/ng0n1 127.0.0.1:$port --lba 4096 --length "$len" --bufs 4 \
		--redact 100:8:0x41 -j
	wait "$listener"
	if [ "$rc" != 0 ]; then
		not_ok "net send: the range arrives, redacted in every buffer" "exit status $rc: $(cat "$tmp/err")"
	elif msg=$(python3 - "$tmp/src" "$tmp/got" "$tmp/out" "$len" <<'PY' 2>&1
import json, sys
src, got = bytearray(open(sys.argv[1], "rb").read()), open(sys.argv[2], "rb").read()
d, n = json.load(open(sys.argv[3])), int(sys.argv[4])
for o in range(0, n, 65536):
    src[o + 100:min(o + 108, n)] = b"A" * (min(o + 108, n) - o - 100)
sn, si = d["sends"], d["send_info"]
bad = []
if got != bytes(src):
    bad.append(f"{len(got)} bytes received, {n} sent, redacted as expected: {got == bytes(src)}")
if sn["bytes"] != n or si["send_bytes"] != n or sn["notifications"] != sn["sends"]:
    bad.append("counters: " + json.dumps(d))
if d["bpf"]["program"] != "redact" or d["bpf"]["send_f_bpf"] != d["nvme_reads"]:
    bad.append("every buffer by UNIFIED_IO_SEND_F_BPF: " + json.dumps(d["bpf"]))
if si["zc_bytes"] + si["copied_bytes"] != n or si["inflight"] or si["bufs_sending"]:
    bad.append("GET_INFO send: " + json.dumps(si))
if bad:
    sys.exit("; ".join(bad))
PY
	); then
		ok "net send: the range arrives, redacted in every buffer"
	else
		not_ok "net send: the range arrives, redacted in every buffer" "$msg"
	fi
	fails "net send: past the namespace's end" 1 "run past its" \
		net send /dev/ng0n1 127.0.0.1:1 --lba 1099511627776 --length 4K
	fails "net send: nobody listening" 1 "connecting to 127.0.0.1:1: Connection refused" \
		net send /dev/ng0n1 127.0.0.1:1 --lba 0 --length 4K
fi

finish
