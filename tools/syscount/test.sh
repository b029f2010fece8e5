#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tools/syscount/test.sh - checks of syscount against a workload with known
# system call counts (build/tools/test/syscount-workload).  Needs root, BTF
# and tracefs: run it in a guest, after make:
#
#   tools/vm/run -- tools/syscount/test.sh
#
# Prints KTAP-style "ok N name" / "not ok N name" lines and, at the end,
# "syscount: N passed, N failed".  Exit status 0 if all passed, 1 if any
# failed, 4 (kselftest SKIP) if the machine cannot run BPF tracing.
# Environment: BUILD (default <repo>/build), K (calls per check, default 1000).
set -u

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$REPO/build}
SYSCOUNT=$BUILD/tools/syscount
WORKLOAD=$BUILD/tools/test/syscount-workload
K=${K:-1000}

# shellcheck source-path=SCRIPTDIR source=../../bpf/test-lib.sh
. "$REPO/bpf/test-lib.sh"
test_init "$SYSCOUNT"

# json_check NAME FILE PYEXPR: PYEXPR over the report "d" must be true.
json_check() {
	py_check "$1" "$2" "$3" <<'PY'
import json, sys
with open(sys.argv[1]) as f:
    d = json.load(f)
s = d["syscalls"]
e = d["errors"]
if not eval("(" + sys.argv[2] + ")"):
    print("false: " + sys.argv[2])
    print("report: " + json.dumps(d, sort_keys=True))
    sys.exit(1)
PY
}

# count_check NAME EXPECTED_RC PYEXPR WORKLOAD_ARGS...
count_check() {
	local name=$1 want_rc=$2 expr=$3
	shift 3
	run --json -o "$tmp/report.json" -- "$WORKLOAD" "$@"
	if [ "$rc" != "$want_rc" ]; then
		not_ok "$name" "exit status $rc, expected $want_rc"
		return
	fi
	json_check "$name" "$tmp/report.json" "$expr"
}

# --- Preconditions -------------------------------------------------------

require_built "$SYSCOUNT" "$WORKLOAD"
require_bpf_tracing
[ -d /sys/kernel/tracing/events/raw_syscalls ] ||
	[ -d /sys/kernel/debug/tracing/events/raw_syscalls ] ||
	skip_all "no raw_syscalls tracepoints (tracefs not mounted?)"

echo "KTAP version 1"

# --- Exact counts --------------------------------------------------------

count_check "getppid x$K counted exactly" 0 \
	"s.get('getppid') == $K and d['exit_status'] == 0 and
	 d['command'] == ['$WORKLOAD', 'getppid', '$K'] and
	 d['total'] == sum(s.values()) and d['total_errors'] == sum(e.values()) and
	 d['lost_processes'] == 0" \
	getppid "$K"
count_check "counting starts with the command's execve" 0 \
	"s.get('execve') == 1" getppid 1
count_check "getppid x0: no getppid" 0 "'getppid' not in s" getppid 0
count_check "ioctl x$K counted exactly" 0 \
	"s.get('ioctl') == $K and 'ioctl' not in e" ioctl "$K"
count_check "ioctl x0: no ioctl" 0 "'ioctl' not in s" ioctl 0
count_check "failing ioctl x$K: $K calls, $K errors" 0 \
	"s.get('ioctl') == $K and e.get('ioctl') == $K" ebadf "$K"
count_check "forked child followed: 2 x $K getppid" 0 \
	"s.get('getppid') == 2 * $K and
	 s.get('clone', 0) + s.get('clone3', 0) + s.get('fork', 0) >= 1" fork "$K"
count_check "second thread counted: 2 x $K getppid" 0 \
	"s.get('getppid') == 2 * $K" thread "$K"

# Another process making the same calls meanwhile is not counted.
"$WORKLOAD" getppid 100000000 &
noise=$!
count_check "unrelated process not counted" 0 "s.get('getppid') == $K" getppid "$K"
kill "$noise" 2>/dev/null
wait "$noise" 2>/dev/null

# The target is found by its pid in syscount's own pid namespace.
if command -v unshare >/dev/null && unshare --pid --fork --mount-proc true 2>/dev/null; then
	unshare --pid --fork --mount-proc "$SYSCOUNT" --json -o "$tmp/report.json" -- \
		"$WORKLOAD" getppid "$K" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" = 0 ]; then
		json_check "syscount inside a new pid namespace" "$tmp/report.json" \
			"s.get('getppid') == $K"
	else
		not_ok "syscount inside a new pid namespace" "exit status $rc"
	fi
else
	echo "# SKIP syscount inside a new pid namespace: unshare --pid unavailable"
fi

# --- Exit status ---------------------------------------------------------

count_check "exit status 7 propagated" 7 \
	"d['exit_status'] == 7 and 'signal' not in d" exit 7
count_check "death by SIGKILL: status 137" 137 \
	"d['exit_status'] == 137 and d['signal'] == 9 and s.get('kill') == 1" kill 9
count_check "death by SIGTERM: status 143" 143 \
	"d['exit_status'] == 143 and d['signal'] == 15" kill 15

# --- Output forms --------------------------------------------------------

run -o "$tmp/report.txt" -- "$WORKLOAD" getppid 123
if [ "$rc" = 0 ] && grep -Eq '^ +123 +0  getppid$' "$tmp/report.txt" &&
   grep -Eq '^ +[0-9]+ +[0-9]+  total$' "$tmp/report.txt"; then
	ok "text report: getppid line and total"
else
	not_ok "text report: getppid line and total" "exit status $rc" \
		"report: $(tr '\n' '|' <"$tmp/report.txt" 2>/dev/null)"
fi

run -j -o - -- "$WORKLOAD" getppid 5
if [ "$rc" = 0 ]; then
	json_check "-o -: JSON on standard output" "$tmp/out" "s.get('getppid') == 5"
else
	not_ok "-o -: JSON on standard output" "exit status $rc"
fi

run -p -- "$WORKLOAD" getppid 6
if [ "$rc" = 0 ]; then
	json_check "default: pretty JSON on standard error" "$tmp/err" "s.get('getppid') == 6"
else
	not_ok "default: pretty JSON on standard error" "exit status $rc"
fi

# --- Errors --------------------------------------------------------------

run --json -o "$tmp/none.json" -- /nonexistent/syscount-test-command
if [ "$rc" = 127 ] && grep -q 'command not found' "$tmp/err"; then
	ok "missing command (path): status 127, clear message"
else
	not_ok "missing command (path): status 127, clear message" "exit status $rc"
fi

run --json -o "$tmp/none.json" -- syscount-test-no-such-command
if [ "$rc" = 127 ] && grep -q 'syscount-test-no-such-command: command not found' "$tmp/err"; then
	ok "missing command (PATH search): status 127, clear message"
else
	not_ok "missing command (PATH search): status 127, clear message" "exit status $rc"
fi

printf 'not a program\n' >"$tmp/noexec"
chmod 0644 "$tmp/noexec"
run -- "$tmp/noexec"
if [ "$rc" = 126 ] && grep -q 'Permission denied' "$tmp/err"; then
	ok "non-executable file: status 126"
else
	not_ok "non-executable file: status 126" "exit status $rc"
fi

run
if [ "$rc" = 125 ] && grep -q 'no command given' "$tmp/err"; then
	ok "no command: status 125"
else
	not_ok "no command: status 125" "exit status $rc"
fi

run --no-such-option -- true
if [ "$rc" = 125 ] && grep -q '^Usage:' "$tmp/err"; then
	ok "unknown option: status 125 and usage"
else
	not_ok "unknown option: status 125 and usage" "exit status $rc"
fi

run --help
if [ "$rc" = 0 ] && grep -q '^Usage: syscount' "$tmp/out"; then
	ok "--help"
else
	not_ok "--help" "exit status $rc"
fi

finish
