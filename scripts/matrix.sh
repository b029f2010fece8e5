#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The kernel matrix (kernel/matrix) and its lock (kernel/matrix.lock).
#
#   scripts/matrix.sh entries [KIND...]   entry names, in matrix order
#   scripts/matrix.sh name NAME|ALIAS     the entry an alias (stock, patched,
#                                         patched-debug) or a name means
#   scripts/matrix.sh get NAME COLUMN     kind, series, suite or tests
#   scripts/matrix.sh describe NAME       the kernel release and the Debian
#                                         package (and version) it comes from
#   scripts/matrix.sh kver NAME           the kernel release (uname -r)
#   scripts/matrix.sh kdir NAME           the directory external modules
#                                         build against (make -C KDIR M=...)
#   scripts/matrix.sh lock [--check]      write kernel/matrix.lock from the
#                                         sysroot's installed packages; with
#                                         --check, only say whether it would
#                                         change (exit 1 if so)
#   scripts/matrix.sh untested            report kernel series the archive
#                                         carries that no entry names
#
# Used by scripts/sysroot.sh (inside the sysroot, after apt-get update):
#
#   scripts/matrix.sh resolve PKG...      decide the exact versions to
#                                         install: print "SUITE PKG=VERSION"
#                                         (or "- PKG" when apt is to choose;
#                                         SUITE "-" for the named PKGs) per
#                                         line, for the named PKGs and every
#                                         matrix entry's kernel packages, and
#                                         record the entries' packages in
#                                         /var/lib/unified_io/matrix
#   scripts/matrix.sh stale               installed kernel packages no entry
#                                         needs (to purge)
#
# A locked version is used while the archive still has it; otherwise the
# newest upload of the same series in the entry's suite (for other packages:
# apt's candidate), with one line on stderr saying so.  Nothing floats to a
# new series: entries name their series, and "untested" reports the ones the
# archive gained.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MATRIX=$REPO/kernel/matrix
LOCK=$REPO/kernel/matrix.lock
# The sysroot's root: "" inside it.
ROOT=
if [ "${UNIFIED_IO_IN_SYSROOT:-0}" != 1 ]; then
	ROOT=$("$REPO/scripts/sysroot.sh" path)
fi
RESOLVED=$ROOT/var/lib/unified_io/matrix
ARCH=amd64

log() { printf '[matrix] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Matrix lines without comments: name kind series suite tests.
rows() {
	sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$MATRIX" |
		awk 'NF != 5 { printf "kernel/matrix: bad line: %s\n", $0 > "/dev/stderr"; exit 1 } { print }'
}

validate() {
	local name kind series suite tests
	local -A seen=()
	while read -r name kind series suite tests; do
		[[ $name =~ ^[a-z0-9][a-z0-9.-]*$ ]] || die "kernel/matrix: bad name '$name'"
		[ -z "${seen[$name]:-}" ] || die "kernel/matrix: '$name' twice"
		seen[$name]=1
		case $kind in stock|patched|debug) ;; *) die "kernel/matrix: $name: unknown kind '$kind'" ;; esac
		[[ $series =~ ^[0-9]+\.[0-9]+$ ]] || die "kernel/matrix: $name: bad series '$series'"
		case $name in stock|patched|patched-debug) die "kernel/matrix: '$name' is an alias" ;; esac
		case $tests in all|net|debug) ;; *) die "kernel/matrix: $name: unknown tests '$tests'" ;; esac
		: "$suite"
	done < <(rows)
}

entries() {
	local name kind rest
	while read -r name kind rest; do
		if [ $# -eq 0 ] || [[ " $* " == *" $kind "* ]]; then
			echo "$name"
		fi
		: "$rest"
	done < <(rows)
}

# The entry NAME (or alias) names; fails for an unknown one.
name() {
	local want=$1 kind
	case $want in
	stock)         kind=stock ;;
	patched)       kind=patched ;;
	patched-debug) kind=debug ;;
	*)             rows | awk -v n="$want" '$1 == n { found = 1; print n } END { exit !found }' ||
			die "no entry '$want' in kernel/matrix (entries: $(entries | xargs))"
		       return ;;
	esac
	local first all
	# Not "| head -n 1": under pipefail, entries' next echo after head
	# exits can die of SIGPIPE and fail the substitution (exit 141).
	all=$(entries "$kind")
	first=${all%%$'\n'*}
	[ -n "$first" ] || die "kernel/matrix has no $kind entry (for '$want')"
	echo "$first"
}

get() {
	local n col
	n=$(name "$1")
	case $2 in
	kind) col=2 ;; series) col=3 ;; suite) col=4 ;; tests) col=5 ;;
	*) die "no column '$2' (kind, series, suite, tests)" ;;
	esac
	rows | awk -v n="$n" -v c="$col" '$1 == n { print $c }'
}

# ---------------------------------------------------------------------------
# Resolution (inside the sysroot, with fresh apt lists)

# "VERSION SUITE" lines for PKG, from apt-cache madison.
madison() {
	apt-cache madison "$1" 2>/dev/null |
		awk -F'|' '{ gsub(/ /, "", $2); split($3, a, " "); sub(/\/.*/, "", a[2]); print $2, a[2] }'
}

# Whether PKG=VERSION can be installed.
available() {
	madison "$1" | awk -v v="$2" '$1 == v { found = 1 } END { exit !found }'
}

# The highest of VERSION lines on stdin (Debian ordering).
newest_version() {
	local best= v
	while read -r v; do
		if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$best"; then
			best=$v
		fi
	done
	echo "$best"
}

# The locked "PKG VERSION" lines of OWNER (an entry name or "sysroot").
locked() {
	[ -f "$LOCK" ] || return 0
	sed -e 's/#.*//' "$LOCK" | awk -v o="$1" '$1 == o && NF == 3 { print $2, $3 }'
}

# Newest "ABI VERSION" of Debian kernel image packages of SERIES in SUITE:
# linux-image-SERIES.P+debN-amd64 (not -cloud, -rt, -dbg or -unsigned).
newest_image() {
	local series=$1 suite=$2 pkg v best= bestabi=
	while read -r pkg; do
		v=$(madison "$pkg" | awk -v s="$suite" '$2 == s { print $1 }' | newest_version)
		[ -n "$v" ] || continue
		if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$best"; then
			best=$v bestabi=${pkg#linux-image-}
		fi
	done < <(apt-cache pkgnames "linux-image-$series." |
		grep -E "^linux-image-${series//./\\.}\.[0-9]+\+deb[0-9]+-$ARCH\$")
	[ -n "$best" ] && echo "$bestabi $best"
}

# resolve PKG...: see the header.  Writes $RESOLVED:
#   name kind series suite tests kver package version fallback
resolve() {
	local name kind series suite tests pkg ver abi note out=() lockv
	local tmp
	mkdir -p "$(dirname "$RESOLVED")"
	tmp=$(mktemp "$RESOLVED.XXXXXX")
	while read -r name kind series suite tests; do
		note=-
		case $kind in
		stock)
			lockv=$(locked "$name" | awk '$1 ~ /^linux-image-/')
			pkg=${lockv%% *} ver=${lockv#* }
			if [ -n "$lockv" ] && available "$pkg" "$ver" &&
			   available "linux-headers-${pkg#linux-image-}" "$ver"; then
				abi=${pkg#linux-image-}
			else
				read -r abi ver < <(newest_image "$series" "$suite") ||
					die "$name: no linux-image-$series.* for $ARCH in $suite"
				if [ -n "$lockv" ]; then
					note="locked:$pkg=${lockv#* }"
					log "$name: the locked ${lockv/ /=} is no longer in the archive; using linux-image-$abi=$ver, the newest $series in $suite"
				else
					note=unlocked
					log "$name: no lock entry; using linux-image-$abi=$ver, the newest $series in $suite"
				fi
			fi
			out+=("$suite linux-image-$abi=$ver" "$suite linux-headers-$abi=$ver")
			echo "$name $kind $series $suite $tests $abi linux-image-$abi $ver $note" >>"$tmp" ;;
		patched|debug)
			pkg=linux-source-$series
			lockv=$(locked "$name" | awk -v p="$pkg" '$1 == p { print $2 }')
			if [ -n "$lockv" ] && available "$pkg" "$lockv"; then
				ver=$lockv
			else
				ver=$(madison "$pkg" | awk -v s="$suite" '$2 == s { print $1 }' | newest_version)
				[ -n "$ver" ] || die "$name: no $pkg in $suite"
				if [ -n "$lockv" ]; then
					note="locked:$pkg=$lockv"
					log "$name: the locked $pkg=$lockv is no longer in the archive; using $ver, the newest in $suite"
				else
					note=unlocked
				fi
			fi
			out+=("$suite $pkg=$ver")
			echo "$name $kind $series $suite $tests - $pkg $ver $note" >>"$tmp" ;;
		esac
	done < <(rows)
	for pkg in "$@"; do
		lockv=$(locked sysroot | awk -v p="$pkg" '$1 == p { print $2 }')
		if [ -n "$lockv" ] && available "$pkg" "$lockv"; then
			out+=("- $pkg=$lockv")
		else
			[ -z "$lockv" ] || log "the locked $pkg=$lockv is no longer in the archive; apt chooses"
			out+=("- $pkg")
		fi
	done
	mv "$tmp" "$RESOLVED"
	printf '%s\n' "${out[@]}" | awk '!seen[$0]++'
}

# Installed kernel packages that no entry needs: old uploads, series that
# left the matrix, and the metapackages that follow the newest upload.
stale() {
	local want
	want=$(awk '{ print $7; if ($2 == "stock") print "linux-headers-" $6 }' "$RESOLVED")
	dpkg-query -W -f '${db:Status-Abbrev} ${Package}\n' \
		'linux-image-*' 'linux-headers-*' 'linux-source-*' 2>/dev/null |
		awk '$1 ~ /^.i/ { print $2 }' |
		grep -E '^linux-(image-[0-9].*-'"$ARCH"'|headers-[0-9].*-'"$ARCH"'|source-[0-9.]+|image-'"$ARCH"'|headers-'"$ARCH"')$' |
		grep -vxF -f <(printf '%s\n' "$want") || true
}

# ---------------------------------------------------------------------------
# Queries of the resolved matrix

resolved_row() { # NAME
	local n
	n=$(name "$1")
	[ -f "$RESOLVED" ] || die "the sysroot has no resolved matrix (scripts/sysroot.sh ensure)"
	awk -v n="$n" '$1 == n' "$RESOLVED" | grep . ||
		die "'$n' is not in the sysroot's resolved matrix (kernel/matrix changed: scripts/sysroot.sh ensure)"
}

kver() {
	local row kind
	row=$(resolved_row "$1")
	kind=$(awk '{ print $2 }' <<<"$row")
	case $kind in
	stock) awk '{ print $6 }' <<<"$row" ;;
	*)     "$REPO/scripts/kernel.sh" kver "$(name "$1")" ;;
	esac
}

kdir() {
	local row kind
	row=$(resolved_row "$1")
	kind=$(awk '{ print $2 }' <<<"$row")
	case $kind in
	stock) echo "/usr/lib/modules/$(awk '{ print $6 }' <<<"$row")/build" ;;
	*)     echo "$("$REPO/scripts/kernel.sh" path "$(name "$1")")/build" ;;
	esac
}

describe() {
	local row n kind pkg ver note k
	row=$(resolved_row "$1")
	read -r n kind _ _ _ _ pkg ver note <<<"$row"
	case $kind in
	stock)
		k=$(kver "$n")
		printf '%s: Linux %s (Debian %s %s)' "$n" "$k" "$pkg" "$ver" ;;
	*)
		k=$(kver "$n" 2>/dev/null) || k="(not built)"
		printf '%s: Linux %s (Debian %s %s + kernel/patches%s)' "$n" "$k" "$pkg" "$ver" \
			"$([ "$kind" = debug ] && echo ', debug.config')" ;;
	esac
	case $note in
	-)          echo ;;
	unlocked)   echo " [not in kernel/matrix.lock]" ;;
	locked:*)   echo " [lock names ${note#locked:}, gone from the archive]" ;;
	esac
}

# ---------------------------------------------------------------------------
# The lock and the archive

lock() {
	[ -f "$RESOLVED" ] || die "no resolved matrix in the sysroot"
	local tmp n kind abi pkg ver p check=${1:-}
	tmp=$(mktemp)
	{
		echo "# SPDX-License-Identifier: GPL-2.0"
		echo "#"
		echo "# The exact Debian packages of the last green make check, written by"
		echo "# scripts/matrix.sh lock.  scripts/sysroot.sh installs these versions"
		echo "# while the archive has them, else the newest upload of the same series"
		echo "# (saying so).  Columns: owner (a kernel/matrix entry, or sysroot for the"
		echo "# build tools), package, version."
		echo "#"
		while read -r n kind _ _ _ abi pkg _ _; do
			ver=$(dpkg-query --admindir="$ROOT/var/lib/dpkg" -W -f '${Version}' "$pkg")
			echo "$n $pkg $ver"
			[ "$kind" != stock ] ||
				echo "$n linux-headers-$abi $(dpkg-query --admindir="$ROOT/var/lib/dpkg" -W -f '${Version}' "linux-headers-$abi")"
		done <"$RESOLVED"
		for p in $("$REPO/scripts/sysroot.sh" packages); do
			ver=$(dpkg-query --admindir="$ROOT/var/lib/dpkg" -W -f '${Version}' "$p")
			echo "sysroot $p $ver"
		done
	} | awk '/^#/ { print; next } { printf "%-12s %-34s %s\n", $1, $2, $3 }' >"$tmp"
	if [ "$check" = --check ]; then
		if cmp -s "$tmp" "$LOCK"; then
			echo "lock: kernel/matrix.lock names exactly the packages tested"
			rm -f "$tmp"
			return 0
		fi
		echo "lock: the packages tested differ from kernel/matrix.lock (after a green run: scripts/matrix.sh lock):"
		diff "$LOCK" "$tmp" 2>/dev/null | grep '^[<>]' | sed 's/^/lock:   /' || true
		[ -f "$LOCK" ] || echo "lock:   (there is no kernel/matrix.lock)"
		rm -f "$tmp"
		return 1
	fi
	mv "$tmp" "$LOCK"
	chmod 644 "$LOCK"
	log "wrote kernel/matrix.lock"
}

# Series newer than every entry that the entries' suites carry: reported,
# never tested until kernel/matrix names them.  Reads the sysroot's apt lists
# (refreshed at most daily by scripts/sysroot.sh ensure).
untested() {
	local top suites s p series found=0
	top=$(rows | awk '{ print $3 }' | sort -V | tail -n 1)
	suites=$(rows | awk '{ print $4 }' | sort -u)
	while read -r p; do
		series=$(sed -E "s/^linux-image-([0-9]+\.[0-9]+)\..*/\1/" <<<"$p")
		[ "$(printf '%s\n%s\n' "$top" "$series" | sort -V | tail -n 1)" != "$top" ] || continue
		for s in $suites; do
			v=$(madison "$p" | awk -v s="$s" '$2 == s { print $1 }' | newest_version)
			[ -n "$v" ] || continue
			echo "untested: Debian $s carries Linux $series ($p $v); kernel/matrix stops at $top: add it and run make check"
			found=1
		done
	done < <(apt-cache pkgnames linux-image- | grep -E "^linux-image-[0-9]+\.[0-9]+\.[0-9]+\+deb[0-9]+-$ARCH\$" | sort -V)
	[ "$found" = 1 ] || echo "untested: none (no series newer than $top in $suites)"
}

# From the host, everything but the matrix file itself is in the sysroot.
inside() {
	if [ "${UNIFIED_IO_IN_SYSROOT:-0}" != 1 ]; then
		exec "$REPO/scripts/sysroot.sh" run "$REPO/scripts/matrix.sh" "$@"
	fi
}

validate
cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
entries)  entries "$@" ;;
name)     [ $# = 1 ] || die "usage: name NAME"; name "$1" ;;
get)      [ $# = 2 ] || die "usage: get NAME COLUMN"; get "$1" "$2" ;;
describe) [ $# = 1 ] || die "usage: describe NAME"; inside describe "$@"; describe "$1" ;;
kver)     [ $# = 1 ] || die "usage: kver NAME"; inside kver "$@"; kver "$1" ;;
kdir)     [ $# = 1 ] || die "usage: kdir NAME"; inside kdir "$@"; kdir "$1" ;;
lock)     inside lock "$@"; lock "$@" ;;
untested) inside untested; untested ;;
resolve)  inside resolve "$@"; resolve "$@" ;;
stale)    inside stale; stale ;;
*)        sed -n '4,30s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
esac
