#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check`: selftests/run_all.sh in one QEMU guest (tools/vm/run) per
# kernel of the kernel matrix (kernel/matrix), and the DKMS build test
# (scripts/dkms-test.sh) against every stock kernel of it beside the last
# passes.
#
# The modules for each kernel are built here (scripts/kmod.sh), and the
# patched kernels with them: a builder in the background makes the patched
# and then the debug entries' kernels and modules one after the other from
# the start, while the stock kernels' passes, which need none, run.  A pass
# of a patched or debug entry starts when its build is done; a build that
# fails fails its pass.  Patched before debug: on an empty cache the pass
# of the kernel built last runs after every build, and the debug pass is
# the one of the two that keeps both cores busy then (KASAN and lockdep
# compute; the other passes mostly wait).
#
# The passes run UNIFIED_IO_CHECK_JOBS at a time (default 4: every pass of
# today's matrix at once), but only one while the builder works; the debug
# ones first, a patched or debug one only once its kernel is built.  Under
# TCG a guest of these tests waits on timers, TCP and its peer about as
# much as it computes (measured with four at once: a stock or patched
# guest used 410-450 CPU-seconds in 16-17 minutes; the debug guest alone
# uses one and a half cores), so the guests share the two cores rather
# than queue for them.  Each pass's output goes to
# $BUILD/selftests/check-<name>.log and is printed whole when the pass ends;
# while passes run, a line a minute says how far each got.  A pass starts
# with the kernel it boots (release and Debian package version) and ends
# with
#
#	<name> (Linux <release>): N passed, N failed, N skipped
#
# If the kernel log showed a report (runner exit 3), or the guest crashed,
# timed out or gave no summary, the pass gets one "kernel-log" failure and a
# line says why.  After the passes: whether kernel/matrix.lock names the
# packages tested, and any kernel series the archive carries that the matrix
# does not (untested).  The last line sums everything:
#
#	N passed, N failed, N skipped
#
# Exit status is non-zero on any failure.
#
# Runs inside the sysroot (the top-level Makefile's check target, which
# builds the user-space parts first).  Environment: BUILD, KERNELS (the
# matrix entries to run, default all), UNIFIED_IO_CHECK_TIMEOUT (seconds per
# pass, default 3600), UNIFIED_IO_CHECK_JOBS (passes at once, default 4).
set -uo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
TIMEOUT=${UNIFIED_IO_CHECK_TIMEOUT:-3600}
MATRIX=$TOP/scripts/matrix.sh
KERNELS=${KERNELS:-$("$MATRIX" entries)}
JOBS=${UNIFIED_IO_CHECK_JOBS:-4}
[[ $JOBS =~ ^[1-9][0-9]*$ ]] || { echo "run_vm: UNIFIED_IO_CHECK_JOBS must be a number" >&2; exit 2; }

total_passed=0 total_failed=0 total_skipped=0
lines=()
start=$(date +%s)
mkdir -p "$BUILD/selftests"

# put_status NAME RC: the outcome of NAME's build, written whole at once
# (the scheduler starts a pass as soon as the file exists).
put_status() {
	echo "$2" >"$BUILD/selftests/build-$1.status.tmp" &&
		mv -f "$BUILD/selftests/build-$1.status.tmp" "$BUILD/selftests/build-$1.status"
}

# run_pass NAME: one guest boot running run_all.sh with the entry's suite,
# all output to check-NAME.log; its last line is the pass's summary,
# "NAME (Linux KVER): N passed, N failed, N skipped in Ss".
run_pass() {
	local name=$1 log=$BUILD/selftests/check-$1.log
	local rc summary passed failed skipped why desc kver suite t0 kind
	suite=$("$MATRIX" get "$name" tests)
	kind=$("$MATRIX" get "$name" kind)
	t0=$(date +%s)
	# A stock entry's modules first (a patched or debug entry's pass starts
	# once the builder wrote its status).
	if [ "$kind" = stock ]; then
		"$TOP/scripts/kmod.sh" "$name" >"$BUILD/selftests/build-$name.log" 2>&1
		put_status "$name" $?
	fi
	if [ "$(cat "$BUILD/selftests/build-$name.status")" != 0 ]; then
		{
			echo "=== check on $name: the build failed (log: $BUILD/selftests/build-$name.log)"
			tail -n 40 "$BUILD/selftests/build-$name.log"
			echo "$name: 0 passed, 1 failed, 0 skipped (build failed)"
		} >"$log"
		return
	fi
	desc=$("$MATRIX" describe "$name")
	kver=$("$MATRIX" kver "$name")
	# A short boot with swiotlb=force first: the test NIC must refuse to
	# exist where DMA mappings bounce (tools/nic/pairs.sh).  Not on a debug
	# entry: its sources are a patched entry's, which has this boot, and
	# under KASAN the boot alone takes minutes.
	local bp=0 bf=1 bline
	echo "=== check on $desc, suite $suite (log: $log)" >"$log"
	if [ "$kind" = debug ]; then
		bf=0
	else
		{
			echo "=== tools/nic/pairs.sh, booted with swiotlb=force"
			"$TOP/tools/vm/run" --kernel "$name" --timeout 300 \
				--append swiotlb=force -- "$TOP/tools/nic/pairs.sh" 2>&1
		} >>"$log"
		rc=$?
		bline=$(grep -E '^pairs: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
		[ -z "$bline" ] || read -r _ bp _ bf _ <<<"$bline"
		if [ "$rc" -ne 0 ] && [ "$bf" -eq 0 ]; then
			bf=1
			echo "kernel-log ($name, swiotlb=force): FAIL: tools/vm/run exited $rc" >>"$log"
		fi
	fi
	"$TOP/tools/vm/run" --kernel "$name" --timeout "$TIMEOUT" -- \
		env BUILD="$BUILD" UNIFIED_IO_SUITE="$suite" "$TOP/selftests/run_all.sh" >>"$log" 2>&1
	rc=$?

	summary=$(tr -d '\r' <"$log" |
		grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' | tail -n 1)
	if [ -n "$summary" ]; then
		read -r passed _ failed _ skipped _ <<<"$summary"
	else
		# No summary: add up the binaries and scripts that did finish.
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
		echo "kernel-log ($name): FAIL: $why" >>"$log"
	fi
	passed=$((passed + bp)) failed=$((failed + bf))
	echo "$name (Linux $kver): $passed passed, $failed failed, $skipped skipped in $(( $(date +%s) - t0 ))s" >>"$log"
}

# progress NAME...: one line with each running pass's latest finished test,
# each kernel still building, and each pass waiting for a slot.
progress() {
	local n l out=
	for n in "$@"; do
		if [ ! -f "$BUILD/selftests/build-$n.status" ] &&
		   { [ -n "${pids[$n]:-}" ] || [ "$("$MATRIX" get "$n" kind)" != stock ]; }; then
			l=$(grep -E '^\[kernel\] +[0-9]+m' "$BUILD/selftests/build-$n.log" 2>/dev/null |
				tail -n 1 | sed 's/^\[kernel\] *//')
			out+=" $n: building${l:+ ($l)};"
			continue
		fi
		if [ -z "${pids[$n]:-}" ]; then
			out+=" $n: waiting;"
			continue
		fi
		l=$(grep -E '^=== .*: [0-9]+ passed' "$BUILD/selftests/check-$n.log" 2>/dev/null |
			tail -n 1 | sed -E 's/^=== ([^:]*):.*/\1/')
		out+=" $n: ${l:-booting};"
	done
	printf 'check: %dm%02ds,%s\n' $(( ($(date +%s) - start) / 60 )) $(( ($(date +%s) - start) % 60 )) "${out%;}"
}

# Start the passes JOBS at a time; print each log when its pass ends.
names=()
for k in $KERNELS; do
	if name=$("$MATRIX" name "$k"); then
		names+=("$name")
	else
		total_failed=$((total_failed + 1))
	fi
done
echo "check: ${#names[@]} passes (${names[*]}), $JOBS at a time"

# The builder: the patched kernels with their modules, then the debug ones.
rm -f "$BUILD"/selftests/build-*.status "$BUILD"/selftests/build-*.status.tmp
builds=()
for kind in patched debug; do
	for n in "${names[@]}"; do
		[ "$("$MATRIX" get "$n" kind)" != "$kind" ] || builds+=("$n")
	done
done
builder_pid=
if [ ${#builds[@]} -gt 0 ]; then
	# Its own process group, so that it can be stopped whole.
	set -m
	(
		for n in "${builds[@]}"; do
			"$TOP/scripts/kmod.sh" "$n" >"$BUILD/selftests/build-$n.log" 2>&1
			put_status "$n" $?
		done
	) &
	builder_pid=$!
	set +m
	echo "check: building ${builds[*]} in the background (logs: $BUILD/selftests/build-NAME.log)"
fi
trap '[ -z "$builder_pid" ] || ! building || kill -- "-$builder_pid" 2>/dev/null
      [ -z "${dkms_pid:-}" ] || kill "$dkms_pid" 2>/dev/null' EXIT
# A slot goes to the first pending pass whose kernel is ready (a stock
# kernel always is; a patched or debug one once the builder wrote its
# status), debug entries first: a guest waiting for a build would hold a
# slot a ready pass could use.
declare -A pids=()
pending=()
for kind in debug patched stock; do
	for n in "${names[@]}"; do
		[ "$("$MATRIX" get "$n" kind)" != "$kind" ] || pending+=("$n")
	done
done
# building: whether a build of the builder's has no status yet (status
# files, not the builder's pid, which a long build's forks may recycle).
# Beside the builder one guest at most: a kernel build keeps both cores
# busy, so a second guest would only delay the kernels (and the passes
# that wait for them) by what it computes, and a stock pass held back runs
# at the end beside the debug pass, which leaves half a core idle.
building() {
	local n
	for n in ${builds[@]+"${builds[@]}"}; do
		[ -f "$BUILD/selftests/build-$n.status" ] || return 0
	done
	return 1
}
# next_ready: the index in pending of the pass to start now, or nothing.
next_ready() {
	local i n
	for i in "${!pending[@]}"; do
		n=${pending[i]}
		if [ "$("$MATRIX" get "$n" kind)" = stock ] ||
		   [ -f "$BUILD/selftests/build-$n.status" ]; then
			echo "$i"
			return
		fi
	done
}
tick=0
dkms_pid= dkms_log=$BUILD/selftests/check-dkms.log
while [ ${#pending[@]} -gt 0 ] || [ ${#pids[@]} -gt 0 ]; do
	while [ ${#pending[@]} -gt 0 ] && [ ${#pids[@]} -lt "$JOBS" ]; do
		! building || [ ${#pids[@]} -eq 0 ] || break
		i=$(next_ready)
		[ -n "$i" ] || break
		n=${pending[i]}
		run_pass "$n" &
		pids[$n]=$!
		unset "pending[i]"
		pending=("${pending[@]}")
	done
	# A builder that died without a status would leave its passes waiting
	# for ever: fail their builds instead.
	if building && ! kill -0 "$builder_pid" 2>/dev/null; then
		for n in "${builds[@]}"; do
			[ -f "$BUILD/selftests/build-$n.status" ] || {
				echo "run_vm: the background builder exited before building $n" \
					>>"$BUILD/selftests/build-$n.log"
				put_status "$n" 1
			}
		done
	fi
	sleep 5
	tick=$((tick + 5))
	for n in "${!pids[@]}"; do
		kill -0 "${pids[$n]}" 2>/dev/null && continue
		wait "${pids[$n]}"
		unset "pids[$n]"
		cat "$BUILD/selftests/check-$n.log"
	done
	# The DKMS build test once every pass has started and every kernel is
	# built: it then uses what the last passes leave of the cores.
	if [ -z "$dkms_pid" ] && [ ${#pending[@]} -eq 0 ] && ! building; then
		"$TOP/scripts/dkms-test.sh" >"$dkms_log" 2>&1 &
		dkms_pid=$!
	fi
	if [ $((tick % 60)) = 0 ] && [ $((${#pids[@]} + ${#pending[@]})) -gt 0 ]; then
		progress "${!pids[@]}" ${pending[@]+"${pending[@]}"}
	fi
done
for n in "${names[@]}"; do
	line=$(tail -n 1 "$BUILD/selftests/check-$n.log")
	lines+=("$line")
	if [[ $line =~ :\ ([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped ]]; then
		total_passed=$((total_passed + BASH_REMATCH[1]))
		total_failed=$((total_failed + BASH_REMATCH[2]))
		total_skipped=$((total_skipped + BASH_REMATCH[3]))
	else
		total_failed=$((total_failed + 1))
		lines[-1]="$n: no summary (the pass did not finish)"
	fi
done

# DKMS: the source tree DKMS installs builds for every stock kernel (started
# in the loop above beside the last passes, or now).
echo "=== DKMS build (log: $dkms_log)"
if [ -z "$dkms_pid" ]; then
	"$TOP/scripts/dkms-test.sh" >"$dkms_log" 2>&1
else
	wait "$dkms_pid"
fi
cat "$dkms_log"
summary=$(grep -E '^dkms: [0-9]+ passed, [0-9]+ failed$' "$dkms_log" | tail -n 1)
if [ -n "$summary" ]; then
	read -r _ p _ f _ <<<"$summary"
else
	p=0 f=1
fi
total_passed=$((total_passed + p)) total_failed=$((total_failed + f))
lines+=("dkms: $p passed, $f failed")

echo "=== summary"
printf '%s\n' "${lines[@]}"
# What the passes tested against what the lock names, and what the archive
# has that the matrix does not: reported, never a failure.
"$MATRIX" lock --check
"$MATRIX" untested
echo "$total_passed passed, $total_failed failed, $total_skipped skipped"
[ "$total_failed" -eq 0 ]
