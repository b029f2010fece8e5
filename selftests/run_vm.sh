#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check`: selftests/run_all.sh in one QEMU guest (tools/vm/run) per
# kernel of the kernel matrix (kernel/matrix), and the DKMS build test
# (scripts/dkms-test.sh) against every stock kernel of it.
#
# The modules for each kernel are built here (scripts/kmod.sh), and the
# patched kernels with them: a builder in the background makes the patched
# and then the debug entries' kernels and modules one after the other from
# the start, while the stock kernels' passes, which need none, run.  A pass
# of a patched or debug entry starts when its build is done; a build that
# fails fails its pass.
#
# Scheduling, measured on this 2-core machine: a guest has one vCPU
# (UNIFIED_IO_CHECK_CPUS, default 1).  Under TCG a vCPU is a host thread,
# and a guest whose vCPUs outnumber the free cores stalls: its vCPUs wait
# for each other (lock holders and TCG's exclusive sections descheduled).
# Four 2-vCPU guests at once took 1,750 s for the patched pass, which takes
# 189 s alone with one vCPU.  Beside the kernel builder, which keeps both
# cores busy, one guest (or the DKMS test) at most; otherwise
# UNIFIED_IO_CHECK_JOBS guests and the DKMS test together, by default one
# per core.  More than that helps nothing and hurts the debug kernel:
# a starved guest still takes every timer tick in wall time, and KASAN and
# lockdep make ticks dear (its tools/nic/pairs.sh: 135 s with two guests
# on two cores, 619 s with five, and over its 900 s limit once).
# (Not nice(1) instead: a guest starved to a tenth of a core takes minutes
# for what needs a second, and tools/nic/pairs.sh's watchdog reads that as
# a hang.)  The debug pass, the longest (KASAN, lockdep and kmemleak under
# TCG) and on an empty cache the last, runs in
# UNIFIED_IO_CHECK_DEBUG_GUESTS guests (default 2) that share its binaries:
# each takes the next one nobody has claimed (selftests/run_all.sh,
# UNIFIED_IO_CLAIM_DIR), and each ends with its own kmemleak scan.  Each
# guest's output goes to $BUILD/selftests/check-<name>.log
# (check-<name>@<k>.log for the debug guests) and is printed whole when it
# ends; while passes run, a line a minute says how far each got.  A pass
# starts with the kernel it boots (release and Debian package version) and
# ends with
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
# Runs inside the sysroot (the top-level Makefile's check target).
#
#	run_vm.sh [--userspace]
#
# With --userspace (the Makefile's check target) it also builds the
# user-space parts (make userspace checkpatch: library, tools, BPF,
# selftests, the kernel's checkpatch) once the kernel builder has started
# and before the first guest: a minute of mostly one core, which the kernel
# build then shares.  If that fails, the builder is stopped and nothing
# runs.  Then scripts/install-test.sh (make install into a staging tree,
# and builds against it; seconds), whose counts join the summary.  Environment: BUILD, KERNELS (the
# matrix entries to run, default all), UNIFIED_IO_CHECK_TIMEOUT (seconds per
# guest, default 3600), UNIFIED_IO_CHECK_JOBS (guests, and the DKMS test,
# at once; default the number of cores; each guest has 2 GiB),
# UNIFIED_IO_CHECK_CPUS (vCPUs per guest, default 1),
# UNIFIED_IO_CHECK_DEBUG_GUESTS (guests per debug pass, default 2).
set -uo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
TIMEOUT=${UNIFIED_IO_CHECK_TIMEOUT:-3600}
MATRIX=$TOP/scripts/matrix.sh
KERNELS=${KERNELS:-$("$MATRIX" entries)}
JOBS=${UNIFIED_IO_CHECK_JOBS:-$(nproc)}
CPUS=${UNIFIED_IO_CHECK_CPUS:-1}
DEBUG_GUESTS=${UNIFIED_IO_CHECK_DEBUG_GUESTS:-2}
USERSPACE=0
case ${1:-} in
--userspace) USERSPACE=1 ;;
"") ;;
*) echo "usage: $0 [--userspace]" >&2; exit 2 ;;
esac
for v in JOBS CPUS DEBUG_GUESTS; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] ||
		{ echo "run_vm: UNIFIED_IO_CHECK_$v must be a positive number" >&2; exit 2; }
done

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

# run_pass GUEST: one guest boot running run_all.sh with the entry's suite,
# all output to check-GUEST.log; its last line is the guest's summary,
# "GUEST (Linux KVER): N passed, N failed, N skipped in Ss".  GUEST is a
# matrix entry, or NAME@K, the K-th of a debug pass's guests.
run_pass() {
	local guest=$1 name=${1%@*} log=$BUILD/selftests/check-$1.log
	local rc summary passed failed skipped why desc kver suite t0 kind
	local claim=()
	suite=$("$MATRIX" get "$name" tests)
	kind=$("$MATRIX" get "$name" kind)
	[ "$guest" = "$name" ] || claim=(UNIFIED_IO_CLAIM_DIR="$BUILD/selftests/claims-$name")
	t0=$(date +%s)
	# A stock entry's modules first (a patched or debug entry's pass starts
	# once the builder wrote its status).
	if [ "$kind" = stock ]; then
		"$TOP/scripts/kmod.sh" "$name" >"$BUILD/selftests/build-$name.log" 2>&1
		put_status "$name" $?
	fi
	if [ "$(cat "$BUILD/selftests/build-$name.status")" != 0 ]; then
		# One failure per pass, not per guest.
		local f=1
		[ "$guest" = "$name" ] || [ "${guest#*@}" = 1 ] || f=0
		{
			echo "=== check on $name: the build failed (log: $BUILD/selftests/build-$name.log)"
			tail -n 40 "$BUILD/selftests/build-$name.log"
			echo "$guest: 0 passed, $f failed, 0 skipped (build failed)"
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
	echo "=== check on $desc, suite $suite${claim[0]:+, guest ${guest#*@} of $DEBUG_GUESTS} (log: $log)" >"$log"
	if [ "$kind" = debug ]; then
		bf=0
	else
		{
			echo "=== tools/nic/pairs.sh, booted with swiotlb=force"
			"$TOP/tools/vm/run" --kernel "$name" --cpus "$CPUS" --timeout 300 \
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
	"$TOP/tools/vm/run" --kernel "$name" --cpus "$CPUS" --timeout "$TIMEOUT" -- \
		env BUILD="$BUILD" UNIFIED_IO_SUITE="$suite" ${claim[@]+"${claim[@]}"} \
		"$TOP/selftests/run_all.sh" >>"$log" 2>&1
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
		echo "kernel-log ($guest): FAIL: $why" >>"$log"
	fi
	passed=$((passed + bp)) failed=$((failed + bf))
	echo "$guest (Linux $kver): $passed passed, $failed failed, $skipped skipped in $(( $(date +%s) - t0 ))s" >>"$log"
}

# progress GUEST...: one line with each running guest's latest finished
# test, each kernel still building, and each guest waiting for its kernel
# or a slot.
progress() {
	local g n l out=
	for g in "$@"; do
		n=${g%@*}
		if [ ! -f "$BUILD/selftests/build-$n.status" ] &&
		   { [ -n "${pids[$g]:-}" ] || [ "$("$MATRIX" get "$n" kind)" != stock ]; }; then
			l=$(grep -E '^\[kernel\] +[0-9]+m' "$BUILD/selftests/build-$n.log" 2>/dev/null |
				tail -n 1 | sed 's/^\[kernel\] *//')
			out+=" $g: building${l:+ ($l)};"
			continue
		fi
		if [ -z "${pids[$g]:-}" ]; then
			out+=" $g: waiting;"
			continue
		fi
		l=$(grep -E '^=== .*: [0-9]+ passed' "$BUILD/selftests/check-$g.log" 2>/dev/null |
			tail -n 1 | sed -E 's/^=== ([^:]*):.*/\1/')
		out+=" $g: ${l:-booting};"
	done
	[ "$dkms_running" = 0 ] || out+=" dkms: building;"
	printf 'check: %dm%02ds,%s\n' $(( ($(date +%s) - start) / 60 )) $(( ($(date +%s) - start) % 60 )) "${out%;}"
}

# The guests of each pass: the entry's name, or NAME@1..NAME@N for a debug
# entry.
names=()
for k in $KERNELS; do
	if name=$("$MATRIX" name "$k"); then
		names+=("$name")
	else
		total_failed=$((total_failed + 1))
	fi
done
guests_of() {
	local k
	if [ "$("$MATRIX" get "$1" kind)" = debug ] && [ "$DEBUG_GUESTS" -gt 1 ]; then
		for ((k = 1; k <= DEBUG_GUESTS; k++)); do echo "$1@$k"; done
	else
		echo "$1"
	fi
}
echo "check: ${#names[@]} passes (${names[*]}), up to $JOBS guests at once, $CPUS vCPU each;" \
	"a debug pass in $DEBUG_GUESTS guests"

# The builder: the patched kernels with their modules, then the debug ones.
rm -f "$BUILD"/selftests/build-*.status "$BUILD"/selftests/build-*.status.tmp
rm -f "$BUILD"/selftests/check-*.log
rm -rf "$BUILD"/selftests/claims-*
for n in "${names[@]}"; do
	[ "$("$MATRIX" get "$n" kind)" != debug ] || mkdir -p "$BUILD/selftests/claims-$n"
done
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
      [ "${dkms_running:-0}" = 0 ] || kill -- "-$dkms_pid" 2>/dev/null' EXIT
# A slot goes to the first pending guest whose kernel is ready (a stock
# kernel always is; a patched or debug one once the builder wrote its
# status), debug entries first: a guest waiting for a build would hold a
# slot a ready pass could use.
declare -A pids=()
pending=()
for kind in debug patched stock; do
	for n in "${names[@]}"; do
		[ "$("$MATRIX" get "$n" kind)" != "$kind" ] || mapfile -t -O ${#pending[@]} pending < <(guests_of "$n")
	done
done
# building: whether a build of the builder's has no status yet (status
# files, not the builder's pid, which a long build's forks may recycle).
# Beside the builder one guest at most: the build keeps both cores busy and
# is the long path of a run from an empty cache.
building() {
	local n
	for n in ${builds[@]+"${builds[@]}"}; do
		[ -f "$BUILD/selftests/build-$n.status" ] || return 0
	done
	return 1
}
# The user-space build, beside the kernel builder (the EXIT trap above
# stops the builder if it fails).
if [ "$USERSPACE" = 1 ]; then
	make --no-print-directory -C "$TOP" userspace checkpatch ||
		{ echo "run_vm: the user-space build failed"; exit 1; }
	# make install into a staging tree, and a build against it: a few
	# seconds, on what was just built; reported with the DKMS test.
	install_log=$BUILD/selftests/check-install.log
	"$TOP/scripts/install-test.sh" >"$install_log" 2>&1
fi
# next_ready: the index in pending of the guest to start now, or nothing.
next_ready() {
	local i n
	for i in "${!pending[@]}"; do
		n=${pending[i]%@*}
		if [ "$("$MATRIX" get "$n" kind)" = stock ] ||
		   [ -f "$BUILD/selftests/build-$n.status" ]; then
			echo "$i"
			return
		fi
	done
}
# The DKMS build test needs only the stock kernels' headers, so it is
# ready from the start; it takes a slot like a guest once no ready guest
# waits for one.  From an empty cache that is beside the patched kernel's
# build after the stock passes, not beside the debug guests at the end:
# there, three CPU-bound jobs on two cores starved them (their boot took
# 64-68 s against 30-35 s without it, and their tests up to a third
# longer).
tick=0
dkms_pid= dkms_running=0 dkms_log=$BUILD/selftests/check-dkms.log
while [ ${#pending[@]} -gt 0 ] || [ ${#pids[@]} -gt 0 ]; do
	while [ ${#pending[@]} -gt 0 ] && [ $((${#pids[@]} + dkms_running)) -lt "$JOBS" ]; do
		! building || [ $((${#pids[@]} + dkms_running)) -eq 0 ] || break
		i=$(next_ready)
		[ -n "$i" ] || break
		g=${pending[i]}
		run_pass "$g" &
		pids[$g]=$!
		unset "pending[i]"
		pending=("${pending[@]}")
	done
	if [ -z "$dkms_pid" ] && [ ${#pids[@]} -lt "$JOBS" ] &&
	   { ! building || [ ${#pids[@]} -eq 0 ]; } && [ -z "$(next_ready)" ]; then
		# Its own process group, so that the EXIT trap stops its make too.
		set -m
		"$TOP/scripts/dkms-test.sh" </dev/null >"$dkms_log" 2>&1 &
		dkms_pid=$! dkms_running=1
		set +m
	fi
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
	for g in "${!pids[@]}"; do
		kill -0 "${pids[$g]}" 2>/dev/null && continue
		wait "${pids[$g]}"
		unset "pids[$g]"
		cat "$BUILD/selftests/check-$g.log"
	done
	if [ "$dkms_running" = 1 ] && ! kill -0 "$dkms_pid" 2>/dev/null; then
		wait "$dkms_pid"
		dkms_running=0
	fi
	if [ $((tick % 60)) = 0 ] && [ $((${#pids[@]} + ${#pending[@]})) -gt 0 ]; then
		progress "${!pids[@]}" ${pending[@]+"${pending[@]}"}
	fi
done
# One line per pass; a debug pass's guests added up.
for n in "${names[@]}"; do
	p=0 f=0 s=0 secs=0 kver= guests=0
	while read -r g; do
		guests=$((guests + 1))
		line=$(tail -n 1 "$BUILD/selftests/check-$g.log" 2>/dev/null)
		if [[ $line =~ ^[^\ ]+\ \(Linux\ ([^\)]*)\):\ ([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped(\ in\ ([0-9]+)s)? ]]; then
			kver=${BASH_REMATCH[1]}
			p=$((p + BASH_REMATCH[2])) f=$((f + BASH_REMATCH[3])) s=$((s + BASH_REMATCH[4]))
			[ -z "${BASH_REMATCH[6]}" ] || [ "${BASH_REMATCH[6]}" -le "$secs" ] || secs=${BASH_REMATCH[6]}
		elif [[ $line =~ :\ ([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped ]]; then
			p=$((p + BASH_REMATCH[1])) f=$((f + BASH_REMATCH[2])) s=$((s + BASH_REMATCH[3]))
		else
			f=$((f + 1))
			echo "$g: no summary (the guest did not finish)"
		fi
	done < <(guests_of "$n")
	total_passed=$((total_passed + p)) total_failed=$((total_failed + f)) total_skipped=$((total_skipped + s))
	line="$n (Linux ${kver:-$("$MATRIX" kver "$n" 2>/dev/null || echo '?')}): $p passed, $f failed, $s skipped in ${secs}s"
	[ "$guests" -eq 1 ] || line+=" ($guests guests)"
	lines+=("$line")
done

# A host-side test's summary line ("NAME: N passed, N failed") into the
# totals and the summary; a log without one counts as one failure.
tally() {
	local summary p f
	summary=$(grep -E "^$1: [0-9]+ passed, [0-9]+ failed\$" "$2" | tail -n 1)
	if [ -n "$summary" ]; then
		read -r _ p _ f _ <<<"$summary"
	else
		p=0 f=1
	fi
	total_passed=$((total_passed + p)) total_failed=$((total_failed + f))
	lines+=("$1: $p passed, $f failed")
}

# DKMS: the source tree DKMS installs builds for every stock kernel (started
# in the loop above when a slot was free, or now).
echo "=== DKMS build (log: $dkms_log)"
if [ -z "$dkms_pid" ]; then
	"$TOP/scripts/dkms-test.sh" >"$dkms_log" 2>&1
elif [ "$dkms_running" = 1 ]; then
	wait "$dkms_pid"
	dkms_running=0
fi
cat "$dkms_log"
tally dkms "$dkms_log"

# The install test (scripts/install-test.sh), run after the user-space build.
if [ "$USERSPACE" = 1 ]; then
	echo "=== make install (log: $install_log)"
	cat "$install_log"
	tally install "$install_log"
fi

echo "=== summary"
printf '%s\n' "${lines[@]}"
# What the passes tested against what the lock names, and what the archive
# has that the matrix does not: reported, never a failure.
"$MATRIX" lock --check
"$MATRIX" untested
echo "$total_passed passed, $total_failed failed, $total_skipped skipped"
[ "$total_failed" -eq 0 ]
