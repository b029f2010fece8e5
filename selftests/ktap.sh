# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# selftests/ktap.sh - KTAP output and counters for the shell tests
# (tools/nic/test.sh, tools/nic/pairs.sh, and through bpf/test-lib.sh the
# BPF loaders' tests), sourced by them:
#
#   . "$REPO/selftests/ktap.sh"
#   ktap_init NAME [DIAG [PREFIX]]
#
# ktap_init zeroes the counters pass, fail and n.  Then:
#   ok NAME                   "ok N NAME"
#   not_ok NAME [LINE...]     "not ok N NAME", the LINEs as "#   "
#                             diagnostics, then the first 30 lines of the
#                             file DIAG (if set), each after "#   PREFIX"
#                             (default "| "); DIAG is emptied for the next
#   skip_all MSG              "# SKIP: MSG", summary, exit 4 (kselftest SKIP)
#   summary                   "NAME: N passed, N failed"
#
# and, for polling loops:
#   ksleep SECONDS            sleep without starting a process

ktap_init() {
	KTAP_NAME=$1 KTAP_DIAG=${2:-} KTAP_PREFIX=${3:-"| "}
	pass=0 fail=0 n=0
}

summary() { echo "$KTAP_NAME: $pass passed, $fail failed"; }

skip_all() {
	echo "# SKIP: $*"
	summary
	exit 4
}

ok() {
	n=$((n + 1)) pass=$((pass + 1))
	echo "ok $n $1"
}

not_ok() {
	local line
	n=$((n + 1)) fail=$((fail + 1))
	echo "not ok $n $1"
	shift
	for line in "$@"; do echo "#   $line"; done
	if [ -n "$KTAP_DIAG" ] && [ -s "$KTAP_DIAG" ]; then
		head -n 30 "$KTAP_DIAG" | sed "s/^/#   $KTAP_PREFIX/"
		: >"$KTAP_DIAG"
	fi
}

# Under TCG every program started costs the guest about a tenth of a CPU
# second (measured with 7.3: /bin/sleep 0, 100 ms; ip link show, 113 ms), as
# much as the tenth of a second a polling loop waits, and several guests
# share two cores.  The read builtin with a timeout on a pipe nobody writes
# to waits in the shell itself.  The pipe is made at the first call;
# subshells inherit it.
ksleep() {
	[ -n "${KSLEEP_FD:-}" ] || exec {KSLEEP_FD}<> <(:)
	read -r -t "$1" -u "$KSLEEP_FD" _ || :
}
