# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# bpf/test-lib.sh - helpers of the BPF loaders' tests (tools/syscount/test.sh,
# tools/copycount/test.sh), sourced by them:
#
#   . "$REPO/bpf/test-lib.sh"
#   test_init "$BUILD/tools/syscount"
#
# test_init TOOL makes $tmp (removed on exit) and zeroes the counters
# pass, fail and n.  Then:
#   ok NAME                   "ok N NAME"
#   not_ok NAME [LINE...]     "not ok N NAME", the LINEs and $tmp/err as
#                             "#   " diagnostics
#   run ARGS...               run TOOL with ARGS: status in $rc, stdout in
#                             $tmp/out, stderr in $tmp/err
#   py_check NAME ARGS...     run the Python program on standard input with
#                             ARGS: ok NAME if it exits 0, else not_ok NAME
#                             with what it printed
#   require_built TOOL WORKLOAD  exit 1 ("run make") unless both were built
#   require_bpf_tracing       skip_all without python3, root or kernel BTF
#   skip_all MSG              "# SKIP: MSG", summary, exit 4 (kselftest SKIP)
#   summary                   "NAME: N passed, N failed", NAME: TOOL's file name
#   finish                    "1..N", summary; the status: 0 if none failed

# shellcheck source-path=SCRIPTDIR source=../selftests/ktap.sh
. "$(dirname "${BASH_SOURCE[0]}")/../selftests/ktap.sh"

test_init() {
	TOOL=$1
	tmp=$(mktemp -d) || exit 1
	trap 'rm -rf "$tmp"' EXIT
	ktap_init "${TOOL##*/}" "$tmp/err" "stderr: "
}

# shellcheck disable=SC2034 # rc is for the sourcing test
run() {
	"$TOOL" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}

py_check() {
	local name=$1 msg
	shift
	if msg=$(python3 - "$@" 2>&1); then
		ok "$name"
	else
		local lines=()
		mapfile -t lines <<<"$msg"
		not_ok "$name" "${lines[@]}"
	fi
}

require_built() {
	if [ ! -x "$1" ] || [ ! -x "$2" ]; then
		echo "# $1 or $2 missing: run make"
		fail=1
		summary
		exit 1
	fi
}

require_bpf_tracing() {
	command -v python3 >/dev/null || skip_all "python3 is needed to check the JSON"
	[ "$(id -u)" = 0 ] || skip_all "needs root (BPF tracing)"
	[ -r /sys/kernel/btf/vmlinux ] || skip_all "no /sys/kernel/btf/vmlinux"
}

finish() {
	echo "1..$n"
	summary
	[ "$fail" = 0 ]
}
