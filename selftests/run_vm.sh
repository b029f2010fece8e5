#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check`: run selftests/run_all.sh in QEMU guests (tools/vm/run), one
# pass per kernel:
#
#	stock	the sysroot's Debian kernel, with the modules built in the tree
#	patched	the patched kernel (scripts/kernel.sh), with the modules of
#		build/kmod-patched, and UNIFIED_IO_SUITE=net for run_all.sh
#
# Each pass is teed to $BUILD/selftests/check-<kernel>.log and ends with its
# own "<kernel>: N passed, N failed, N skipped" line. If the kernel log
# showed a report (runner exit 3), or the guest crashed, timed out or gave no
# summary, the pass gets one "kernel-log" failure and a line says why. The
# last line sums the passes:
#
#	N passed, N failed, N skipped
#
# Exit status is non-zero on any failure.
#
# Runs inside the sysroot (the top-level Makefile's check target, which
# builds both kernels' modules first). Environment: BUILD,
# UNIFIED_IO_CHECK_TIMEOUT (seconds per pass, default 3600),
# UNIFIED_IO_CHECK_KERNELS (the passes to run, default "stock patched").
set -uo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
TIMEOUT=${UNIFIED_IO_CHECK_TIMEOUT:-3600}
KERNELS=${UNIFIED_IO_CHECK_KERNELS:-stock patched}

total_passed=0 total_failed=0 total_skipped=0

# run_pass KERNEL [NAME=VALUE...]: one guest boot running run_all.sh with the
# given environment; adds its counts to the totals.
run_pass() {
	local kernel=$1 log=$BUILD/selftests/check-$1.log
	local rc summary passed failed skipped why
	shift
	mkdir -p "$(dirname "$log")"
	echo "=== check on the $kernel kernel (log: $log)"
	"$TOP/tools/vm/run" --kernel "$kernel" --timeout "$TIMEOUT" -- \
		env BUILD="$BUILD" "$@" "$TOP/selftests/run_all.sh" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}

	summary=$(tr -d '\r' <"$log" |
		grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' | tail -n 1)
	if [ -n "$summary" ]; then
		read -r passed _ failed _ skipped _ <<<"$summary"
	else
		# No summary: add up the binaries that did finish.
		passed=0 failed=0 skipped=0
		while read -r _ _ p f s; do
			passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
		done < <(tr -d '\r' <"$log" | grep -E '^RESULT [^ ]+ [0-9]+ [0-9]+ [0-9]+$')
	fi

	why=
	case $rc in
	3)	why="the guest kernel log reported a problem (WARNING/BUG/Oops/...; tools/vm/run exit 3)" ;;
	124)	why="the guest timed out after ${TIMEOUT}s (tools/vm/run exit 124)" ;;
	125)	why="the VM could not be set up or never reported a status (tools/vm/run exit 125)" ;;
	*)	if [ -z "$summary" ]; then
			why="the guest crashed or printed no summary (tools/vm/run exit $rc)"
		elif [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
			why="tools/vm/run exited $rc with no test failure"
		fi ;;
	esac
	if [ -n "$why" ]; then
		failed=$((failed + 1))
		echo "kernel-log ($kernel): FAIL: $why" | tee -a "$log"
	fi
	echo "$kernel: $passed passed, $failed failed, $skipped skipped" | tee -a "$log"
	total_passed=$((total_passed + passed))
	total_failed=$((total_failed + failed))
	total_skipped=$((total_skipped + skipped))
}

for kernel in $KERNELS; do
	case $kernel in
	stock)   run_pass stock ;;
	patched) run_pass patched UNIFIED_IO_SUITE=net ;;
	*)       echo "run_vm: unknown kernel '$kernel' in UNIFIED_IO_CHECK_KERNELS" >&2
		 total_failed=$((total_failed + 1)) ;;
	esac
done
echo "$total_passed passed, $total_failed failed, $total_skipped skipped"
[ "$total_failed" -eq 0 ]
