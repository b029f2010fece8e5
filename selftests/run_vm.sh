#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check`: run selftests/run_all.sh in a QEMU guest (tools/vm/run) with
# the module loaded, tee the output to $BUILD/selftests/check.log, and end
# with the summary line
#
#	N passed, N failed, N skipped
#
# If the kernel log showed a report (runner exit 3), or the guest crashed,
# timed out or gave no summary, one "kernel-log" failure is added and the
# line before the summary says why. Exit status is non-zero on any failure.
#
# Runs inside the sysroot (the top-level Makefile's check target).
# Environment: BUILD, UNIFIED_IO_CHECK_TIMEOUT (seconds, default 3600).
set -uo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
TIMEOUT=${UNIFIED_IO_CHECK_TIMEOUT:-3600}
LOG=$BUILD/selftests/check.log

mkdir -p "$(dirname "$LOG")"
"$TOP/tools/vm/run" --timeout "$TIMEOUT" -- \
	env BUILD="$BUILD" "$TOP/selftests/run_all.sh" 2>&1 | tee "$LOG"
rc=${PIPESTATUS[0]}

summary=$(tr -d '\r' <"$LOG" |
	grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' | tail -n 1)
if [ -n "$summary" ]; then
	read -r passed _ failed _ skipped _ <<<"$summary"
else
	# No summary: add up the binaries that did finish.
	passed=0 failed=0 skipped=0
	while read -r _ _ p f s; do
		passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	done < <(tr -d '\r' <"$LOG" | grep -E '^RESULT [^ ]+ [0-9]+ [0-9]+ [0-9]+$')
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
	echo "kernel-log: FAIL: $why"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
