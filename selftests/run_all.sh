#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Run every unified_io selftest binary in $BUILD/selftests (normally in the
# QEMU guest, through selftests/run_vm.sh), streaming their output.
#
# First tools/nic/pairs.sh: the test NIC's pair life cycle under a
# watchdog.  If it bails out (exit 2: a command hung in the kernel, most
# likely with RTNL held) the guest's run ends there, counted, instead of
# every later test timing out behind the same lock (with
# UNIFIED_IO_CLAIM_DIR, the other guests of the pass go on).
#
# Each binary is a kselftest-harness program; its "# Totals:" line gives its
# counts. A binary that crashed, timed out or printed no totals is counted
# from its TAP "ok"/"not ok" lines plus one failure for the binary itself.
# Then every executable tools/*/test.sh runs, and examples/test.sh; each
# ends with a line "NAME: N passed, N failed" (and ", N skipped" where a
# script counts its skips). After each binary or script a line
# "RESULT <name> <passed> <failed> <skipped>" is printed; the very last line is
#
#	N passed, N failed, N skipped
#
# Exit status 0 only if nothing failed.
#
# Environment: BUILD (default <repo>/build), KSFT_TIMEOUT (seconds per
# binary; default from selftests/unified_io/settings), UNIFIED_IO_SUITE:
#   unset, "" or "all"	every binary and script (tests that need
#			UNIFIED_IO_FEAT_NET_PROVIDER SKIP on a kernel without it)
#   "net"		the network tests only, and what needs the patched
#			kernel: the net_* binaries, send, zcrx (io_uring's own
#			provider, on the kernel whose page pool core the patch
#			changes) and tools/nic/test.sh, tools/net/test.sh
#   "debug"		for the debug kernel (KASAN, lockdep, kmemleak, fault
#			injection): the region core (abi, mmap, ring,
#			buffers), hostile input, lifetimes, the network tests,
#			the io_uring commands (uring_cmd),
#			the fail-nth error-path sweep, the test NIC's pairs;
#			then a kmemleak scan, which must find nothing
# UNIFIED_IO_CLAIM_DIR: a directory (on a share every guest sees) through
# which several guests booted on the same kernel share one pass: before
# running a binary or script a guest creates DIR/<its name> and skips it if
# another guest did so first (mkdir is atomic on the host), so each runs
# once, in whichever guest is free; each guest still runs tools/nic/pairs.sh
# first if no other claimed it, and its own kmemleak scan last.
set -uo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
DIR=$BUILD/selftests
SETTINGS=$TOP/selftests/unified_io/settings

timeout_s=${KSFT_TIMEOUT:-}
if [ -z "$timeout_s" ] && [ -f "$SETTINGS" ]; then
	timeout_s=$(sed -n 's/^timeout=\([0-9][0-9]*\)$/\1/p' "$SETTINGS")
fi
timeout_s=${timeout_s:-900}

SUITE=${UNIFIED_IO_SUITE:-all}
case $SUITE in
all|net|debug) ;;
*)	echo "run_all: unknown UNIFIED_IO_SUITE '$SUITE' (all, net, debug)"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1 ;;
esac

# Whether the suite runs binary or script $1 (its name).
in_suite() {
	case $SUITE in
	all)	return 0 ;;
	net)	case $1 in
		net_*|send|zcrx|tools/nic/test.sh|tools/nic/pairs.sh|tools/net/test.sh) return 0 ;;
		esac ;;
	debug)	case $1 in
		abi|mmap|ring|buffers|hostile|lifetime|net_*|send|uring_cmd|fail_nth|tools/nic/pairs.sh|examples/test.sh) return 0 ;;
		esac ;;
	esac
	return 1
}

# Every executable under $DIR in the suite; net_lifetime and lifetime run
# last (net_lifetime unloads and reloads the modules; lifetime tries to
# unload the module, which must fail, but if it did not the device would be
# gone).
#
# Guests sharing a pass (UNIFIED_IO_CLAIM_DIR) take the binaries in another
# order: the longest first, so that neither is left with a long one at the
# end while the other has finished (longest-first list scheduling).  The
# order is what the debug kernel measured (cold run of 788ccba: net_lifetime
# 265 s, net_zc 170, net_recv 113, net_bind 102, net_refill 91; the rest
# under 30 s each); with net_lifetime last, one guest ran 114 s after the
# other was done.  net_lifetime may run first there: it waits for earlier
# page pools to go, unloads the modules and loads them again, and leaves
# them loaded; lifetime stays last.  net_armed came later: 469 s on the
# debug kernel in one vCPU (h-kst14, 19 tests), so it goes first.
HEAVY=(net_armed net_lifetime net_zc net_recv net_bind net_refill)
mapfile -t bins < <(find "$DIR" -type f -perm -u+x ! -name '*.sh' 2>/dev/null | sort)
first=() last=(net_lifetime lifetime)
[ -z "${UNIFIED_IO_CLAIM_DIR:-}" ] || first=("${HEAVY[@]}") last=(lifetime)
ordered=()
for f in ${first[@]+"${first[@]}"}; do
	for b in "${bins[@]}"; do
		[ "${b##*/}" = "$f" ] && in_suite "$f" && ordered+=("$b")
	done
done
for b in "${bins[@]}"; do
	in_suite "${b##*/}" || continue
	case " ${first[*]} ${last[*]} " in *" ${b##*/} "*) ;; *) ordered+=("$b") ;; esac
done
for l in "${last[@]}"; do
	for b in "${bins[@]}"; do
		[ "${b##*/}" = "$l" ] && in_suite "$l" && ordered+=("$b")
	done
done
echo "run_all: suite $SUITE, ${#ordered[@]} binaries"

passed=0 failed=0 skipped=0
if [ ${#ordered[@]} -eq 0 ]; then
	echo "run_all: no test binaries in $DIR (run make first)"
	failed=1
fi
if [ ! -e /dev/unified_io_region ]; then
	echo "run_all: warning: /dev/unified_io_region is absent; tests will skip"
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Where a pass's time goes: after each test result line and each binary or
# script, the wall-clock seconds it took and the guest CPU seconds spent
# meanwhile (every vCPU's user, nice, system, interrupt and steal time from
# /proc/stat; idle and I/O wait are waiting).  Under TCG the guest's CPU
# time is what it costs the host; wall time alone mixes that with timers,
# sleeps and the peer.
HZ=$(getconf CLK_TCK 2>/dev/null) || HZ=100
# cpu_now: sets $cpu to the busy ticks so far (no subshell: a fork per
# test line would itself cost CPU under TCG).
cpu_now() {
	local _c user nice system idle iowait irq softirq steal
	read -r _c user nice system idle iowait irq softirq steal _c </proc/stat
	cpu=$((user + nice + system + irq + softirq + steal))
}
# took_start: sets $t0 and $c0 to now (wall time in microseconds, busy
# ticks).
took_start() {
	t0=${EPOCHREALTIME/[.,]/}
	cpu_now
	c0=$cpu
}
# took_since: sets $took to "W.Ws, cpu C.Cs", the time since $t0/$c0, and
# $t0/$c0 to now.
took_since() {
	local w c t=$t0 b=$c0
	took_start
	w=$(( (t0 - t) / 100000 )) c=$(( (c0 - b) * 10 / HZ ))
	printf -v took '%d.%ds, cpu %d.%ds' $((w / 10)) $((w % 10)) $((c / 10)) $((c % 10))
}
# timed: standard input to standard output, with "# time: W.Ws, cpu C.Cs"
# after each TAP result line ("ok N ..." or "not ok N ...").
timed() {
	local line t0 c0 took cpu
	took_start
	while IFS= read -r line || [ -n "$line" ]; do
		printf '%s\n' "$line"
		case $line in
		"ok "[0-9]*|"not ok "[0-9]*)
			took_since
			printf '# time: %s\n' "$took" ;;
		esac
	done
}

echo "run_all: kernel $(uname -r)${UNIFIED_IO_KERNEL:+ ($UNIFIED_IO_KERNEL)}"

# claim NAME: whether this guest runs NAME (see UNIFIED_IO_CLAIM_DIR).
CLAIM_DIR=${UNIFIED_IO_CLAIM_DIR:-}
# A claim that cannot be made (the directory missing, read-only, full) runs
# NAME here: twice is better than nowhere.
claim() {
	local d=$CLAIM_DIR/${1//\//_}
	[ -n "$CLAIM_DIR" ] || return 0
	mkdir "$d" 2>/dev/null && return 0
	if [ ! -d "$d" ]; then
		echo "=== $1: cannot claim it in $CLAIM_DIR; running it here"
		return 0
	fi
	echo "=== $1: run by another guest"
	return 1
}
[ -z "$CLAIM_DIR" ] || echo "run_all: sharing the pass through $CLAIM_DIR"

# run_script NAME: a test script ending with "NAME: N passed, N failed"
# or "NAME: N passed, N failed, N skipped"; sets $status.
run_script() {
	local name=$1 line p f s t0 c0 cpu took
	echo "=== $name"
	took_start
	timeout -k 10 "$timeout_s" "$TOP/$name" 2>&1 | timed | tee "$log"
	status=${PIPESTATUS[0]}
	took_since
	line=$(sed -n 's/^[A-Za-z0-9_-]*: \([0-9]*\) passed, \([0-9]*\) failed\(, \([0-9]*\) skipped\)\{0,1\}.*/\1 \2 \4/p' \
		"$log" | tail -n 1)
	if [ -n "$line" ]; then
		read -r p f s <<<"$line"
		s=${s:-0}
		[ "$status" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	else
		p=0 f=1 s=0
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	echo "=== $name: $p passed, $f failed, $s skipped in $took (exit status $status)"
	echo "RESULT $name $p $f $s"
}

if in_suite tools/nic/pairs.sh && claim tools/nic/pairs.sh; then
	run_script tools/nic/pairs.sh
	if [ "$status" -eq 2 ]; then
		echo "run_all: tools/nic/pairs.sh bailed out (the kernel did not return); this guest's run ends here"
		echo "$passed passed, $failed failed, $skipped skipped"
		exit 1
	fi
fi

for bin in "${ordered[@]}"; do
	name=${bin#"$DIR"/}
	claim "$name" || continue
	echo "=== $name"
	took_start
	(cd /tmp && timeout -k 10 "$timeout_s" "$bin") 2>&1 | timed | tee "$log"
	status=${PIPESTATUS[0]}
	took_since

	totals=$(sed -n 's/^# Totals: pass:\([0-9]*\) fail:\([0-9]*\) xfail:\([0-9]*\) xpass:\([0-9]*\) skip:\([0-9]*\) error:\([0-9]*\).*/\1 \2 \3 \4 \5 \6/p' "$log" | tail -n 1)
	note=
	if [ -n "$totals" ]; then
		read -r t_pass t_fail t_xfail t_xpass t_skip t_error <<<"$totals"
		p=$((t_pass + t_xfail + t_xpass)) f=$((t_fail + t_error)) s=$t_skip
		if [ "$status" -ne 0 ] && [ "$status" -ne 4 ] && [ "$f" -eq 0 ]; then
			f=1 note="exit status $status with no failure reported"
		fi
	else
		# Crashed or hung: count what it reported, and fail the binary.
		p=$(grep -cE '^ok [0-9]+' "$log" | tr -d ' ')
		s=$(grep -cE '^ok [0-9]+ .*# SKIP' "$log" | tr -d ' ')
		f=$(grep -cE '^not ok [0-9]+' "$log" | tr -d ' ')
		p=$((p - s)) f=$((f + 1))
		case $status in
		124|137) note="timed out after ${timeout_s}s" ;;
		*) note="no totals (exit status $status)" ;;
		esac
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	echo "=== $name: $p passed, $f failed, $s skipped in $took${note:+ ($note)}"
	echo "RESULT $name $p $f $s"
done

# Test scripts of the tools and the examples' (see run_script).
for script in "$TOP"/tools/*/test.sh "$TOP"/examples/test.sh; do
	[ -x "$script" ] || continue
	name=${script#"$TOP"/}
	in_suite "$name" && claim "$name" || continue
	run_script "$name"
done

# The debug kernel's leak detector: scans after everything ran.  A scan
# reports an object unreferenced and unchanged since the scan before and
# older than five seconds, so: a pause for the deferred frees (network
# namespace cleanup, page-pool release retries, RCU callbacks) to happen
# first, a scan that takes the objects' checksums, and one that reports.
# What it finds is printed to the kernel log, which tools/vm/run scans for
# "kmemleak: N new suspected memory leaks", and counted here.
if [ "$SUITE" = debug ]; then
	echo "=== kmemleak"
	kl=/sys/kernel/debug/kmemleak
	leaks=1
	if [ -w "$kl" ]; then
		sleep 5; echo scan >"$kl"; sleep 6; echo scan >"$kl"
		leaks=$(grep -c '^unreferenced object' "$kl")
		if [ "$leaks" -eq 0 ]; then
			echo "ok kmemleak: no unreferenced object"
			passed=$((passed + 1))
		else
			head -n 60 "$kl"
			echo "not ok kmemleak: $leaks unreferenced objects"
			failed=$((failed + 1))
		fi
	else
		echo "not ok kmemleak: $kl is missing (is this the debug kernel?)"
		failed=$((failed + 1))
	fi
	echo "RESULT kmemleak $((leaks == 0 ? 1 : 0)) $((leaks == 0 ? 0 : 1)) 0"
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
