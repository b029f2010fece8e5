#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The install test of make check: "make install" into a staging DESTDIR
# in the build directory, with Debian's layout (PREFIX=/usr,
# LIBDIR=/usr/lib/<multiarch>) so that the overrides are tested too, then:
#
#   - the installed files are exactly the expected ones: the library with
#     its soname links, the headers, both .pc files, the BPF objects,
#     skeletons and header, the four tools, and every man page of the
#     tree; nothing else (no test or benchmark binary);
#   - the library's SONAME is its link's name; libbpf opens each BPF
#     object and finds its documented XDP program and settings, and the
#     skeleton declares it; each tool finds every library it needs here;
#   - pkg-config, pointed at the install (PKG_CONFIG_LIBDIR,
#     PKG_CONFIG_SYSROOT_DIR), gives its flags for libunifiedio and
#     unified_io_progs;
#   - the example of unified_io_progs(7), taken from the page, builds
#     against the install alone (its dependency file names no header of
#     the source tree), and the binary's NEEDED libunifiedio.so.1 resolves
#     through its RUNPATH to the installed library; so do examples/, built
#     through examples/Makefile's PKG_CONFIG_LIBDIR, PKG_CONFIG_SYSROOT_DIR
#     and OUT, when the tree has it;
#   - unified_io_progs(7) names every program, setting and map of
#     bpf/{crc32c,filter,redact,stats}.bpf.c;
#   - make uninstall leaves no file behind;
#   - inside the sysroot, an install without DESTDIR is refused
#     (scripts/install-guard.sh) and writes nothing; so is a relative
#     DESTDIR, anywhere.
#
# (ktap.sh's counters are pass, fail and n: no other use of those names.)
# Needs the user-space build (make lib tools bpf syscount copycount; make
# check has just run make userspace), which make install only brings up
# to date.  Prints "ok N ..." / "not ok N ..." and last
# "install: N passed, N failed"; exit status 1 on any failure.  Runs inside
# the sysroot; from the host it re-executes itself there.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ "${UNIFIED_IO_IN_SYSROOT:-0}" != 1 ]; then
	exec "$REPO/scripts/sysroot.sh" run "$REPO/scripts/install-test.sh" "$@"
fi
BUILD=${BUILD:-$REPO/build}

# Under $BUILD: the repository is the one tree of the host the sysroot
# sees at its own path, and install-guard.sh refuses the sysroot's.
T=$BUILD/install-test
D=$T/root
PREFIX=/usr
LIBDIR=/usr/lib/$(gcc -print-multiarch)
INCLUDEDIR=$PREFIX/include
MANDIR=$PREFIX/share/man
SBINDIR=$PREFIX/sbin
BPFDIR=$LIBDIR/bpf/unified_io
VERSION=$(sed -n 's/^VERSION_\(MAJOR\|MINOR\|PATCH\) := //p' \
	"$REPO/lib/libunifiedio/Makefile" | paste -sd.)
SONAME=libunifiedio.so.${VERSION%%.*}
PROGS=(crc32c filter redact stats)
TOOLS=(unified-io unio-netstream syscount copycount)
DIRS=(PREFIX="$PREFIX" LIBDIR="$LIBDIR")

. "$REPO/selftests/ktap.sh"
ktap_init install "$T/diag"
rm -rf "$T"
mkdir -p "$T"

# diag FILE: the file as the next failure's diagnostics.
diag() { cp "$1" "$T/diag"; }

if make -s -C "$REPO" install DESTDIR="$D" "${DIRS[@]}" >"$T/install.log" 2>&1; then
	ok "make install DESTDIR=${D#"$REPO/"} ${DIRS[*]}"
else
	diag "$T/install.log"
	not_ok "make install DESTDIR=${D#"$REPO/"} ${DIRS[*]}"
	summary
	exit 1
fi

# The expected list, from the tree: every man page it has.
{
	echo "$LIBDIR/libunifiedio.so.$VERSION"
	echo "$LIBDIR/$SONAME"
	echo "$LIBDIR/libunifiedio.so"
	echo "$LIBDIR/libunifiedio.a"
	echo "$LIBDIR/pkgconfig/libunifiedio.pc"
	echo "$LIBDIR/pkgconfig/unified_io_progs.pc"
	echo "$INCLUDEDIR/unifiedio.h"
	echo "$INCLUDEDIR/linux/unified_io.h"
	echo "$INCLUDEDIR/unified_io/unified_io_progs.h"
	for p in "${PROGS[@]}"; do
		echo "$INCLUDEDIR/unified_io/$p.skel.h"
		echo "$BPFDIR/$p.bpf.o"
	done
	for t in "${TOOLS[@]}"; do
		echo "$SBINDIR/$t"
	done
	(cd "$REPO" && find . \( -path ./build -o -path ./.git \) -prune -o \
		-name '*.[1-8]' -type f -print) | while read -r m; do
		echo "$MANDIR/man${m##*.}/${m##*/}"
	done
} | sort >"$T/expected"
(cd "$D" && find . -type f -o -type l) | sed 's|^\.||' | sort >"$T/installed"
if diff -u "$T/expected" "$T/installed" >"$T/list.diff"; then
	ok "installed files: exactly the $(wc -l <"$T/expected") expected"
else
	diag "$T/list.diff"
	not_ok "installed files: as expected (- missing, + unexpected)"
fi

l=$D$LIBDIR
soname=$(readelf -dW "$l/libunifiedio.so.$VERSION" 2>/dev/null |
	sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [ "$soname" = "$SONAME" ] && [ "$(readlink "$l/$SONAME")" = "libunifiedio.so.$VERSION" ] &&
   [ "$(readlink "$l/libunifiedio.so")" = "$SONAME" ] && [ -f "$l/libunifiedio.so.$VERSION" ]; then
	ok "libunifiedio.so -> $SONAME -> libunifiedio.so.$VERSION (SONAME $soname)"
else
	not_ok "library links" "SONAME '$soname'" \
		"$SONAME -> '$(readlink "$l/$SONAME")'" \
		"libunifiedio.so -> '$(readlink "$l/libunifiedio.so")'"
fi

# The objects as a loader sees them: libbpf opens each (no privilege
# needed before the load) and finds its documented program, of type XDP in
# SEC("xdp"), and, where it has settings, the .rodata map they go in.
cat >"$T/objcheck.c" <<'EOF'
#include <stdio.h>
#include <bpf/libbpf.h>

/* objcheck OBJ PROG: "SECTION TYPE RODATA-BYTES" of PROG in OBJ. */
int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *p;
	struct bpf_map *m;
	size_t sz = 0;

	if (argc != 3)
		return 2;
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj)
		return 1;
	p = bpf_object__find_program_by_name(obj, argv[2]);
	m = bpf_object__find_map_by_name(obj, ".rodata");
	if (m)
		bpf_map__initial_value(m, &sz);
	if (p)
		printf("%s %s %zu\n", bpf_program__section_name(p),
		       bpf_program__type(p) == BPF_PROG_TYPE_XDP ? "xdp" : "other", sz);
	bpf_object__close(obj);
	return !p;
}
EOF
# shellcheck disable=SC2046 # pkg-config's flags are words
cc -O2 -Wall -Werror -o "$T/objcheck" "$T/objcheck.c" $(pkg-config --cflags --libs libbpf) \
	>"$T/objcheck.log" 2>&1
for p in "${PROGS[@]}"; do
	o=$D$BPFDIR/$p.bpf.o
	got=$("$T/objcheck" "$o" "unio_$p" 2>>"$T/objcheck.log")
	read -r sec type rodata <<<"$got"
	if readelf -hW "$o" 2>/dev/null | grep 'Machine:.*Linux BPF' >/dev/null &&
	   [ "$sec" = xdp ] && [ "$type" = xdp ] &&
	   { [ "$p" = stats ] || [ "${rodata:-0}" -gt 0 ]; } &&
	   grep "struct bpf_program \*unio_$p;" "$D$INCLUDEDIR/unified_io/$p.skel.h" >/dev/null; then
		ok "$p.bpf.o: program unio_$p, XDP, SEC(\"$sec\"), .rodata $rodata bytes; $p.skel.h"
	else
		diag "$T/objcheck.log"
		not_ok "$p.bpf.o: program unio_$p, XDP, SEC(\"xdp\"), settings; $p.skel.h" \
			"libbpf: '${got:-cannot open it}'"
	fi
done

for t in "${TOOLS[@]}"; do
	if ldd "$D$SBINDIR/$t" >"$T/ldd.log" 2>&1 && ! grep -q 'not found' "$T/ldd.log"; then
		ok "$t: every library it needs is found"
	else
		diag "$T/ldd.log"
		not_ok "$t: every library it needs is found"
	fi
done

# pkg-config on the install, as a cross build would: the install's .pc
# files first, then the system's (liburing, libnvme, libbpf).
sys_pc_path=$(pkg-config --variable pc_path pkg-config)
export PKG_CONFIG_SYSROOT_DIR=$D
export PKG_CONFIG_LIBDIR=$D$LIBDIR/pkgconfig:$sys_pc_path
# has FLAGS WORD...: every WORD is one of FLAGS.
has() {
	local w flags=" $1 "
	shift
	for w in "$@"; do
		[[ $flags == *" $w "* ]] || return 1
	done
}
f=$(pkg-config --cflags --libs libunifiedio 2>&1)
v=$(pkg-config --modversion libunifiedio 2>&1)
if has "$f" "-I$D$INCLUDEDIR" "-L$D$LIBDIR" -lunifiedio && [ "$v" = "$VERSION" ]; then
	ok "pkg-config libunifiedio $v: $f"
else
	not_ok "pkg-config libunifiedio" "version '$v' (want $VERSION)" "flags '$f'"
fi
f=$(pkg-config --cflags --libs unified_io_progs 2>&1)
b=$(pkg-config --variable=bpfdir unified_io_progs 2>&1)
if has "$f" "-I$D$INCLUDEDIR/unified_io" "-I$D$INCLUDEDIR" -lunifiedio -lbpf &&
   [ "$b" = "$D$BPFDIR" ] && [ -f "$b/crc32c.bpf.o" ]; then
	ok "pkg-config unified_io_progs: $f; bpfdir ${b#"$D"}"
else
	not_ok "pkg-config unified_io_progs" "flags '$f'" "bpfdir '$b' (want $D$BPFDIR)"
fi

# resolves BIN: its NEEDED libunifiedio resolves to the install's copy.
# (No "| grep -q" in this script: with pipefail, the writer it leaves
# behind dies of SIGPIPE and fails the pipeline.)
resolves() {
	readelf -dW "$1" | grep "(NEEDED).*\[$SONAME\]" >/dev/null &&
		ldd "$1" | grep "^[[:space:]]*$SONAME => $D$LIBDIR/$SONAME " >/dev/null
}

# The page's example, as a user copies it: the first .EX block after
# "EXAMPLES", with the roff escapes it uses (\e, \-) undone.
sed -n '/^\.SH EXAMPLES/,$p' "$D$MANDIR/man7/unified_io_progs.7" |
	sed -n '/^\.EX/,/^\.EE/{/^\.E[XE]/d;p}' | awk '/^}$/ { print; exit } { print }' |
	sed -e 's/\\e/\\/g' -e 's/\\-/-/g' >"$T/crc32c-stamp.c"
# -MD: the headers the compiler read, to show none came from the tree.
# shellcheck disable=SC2046 # pkg-config's flags are words
if (cd "$T" && cc -O2 -Wall -Wextra -Werror -MD -o crc32c-stamp crc32c-stamp.c \
		$(pkg-config --cflags --libs unified_io_progs) -Wl,-rpath,"$D$LIBDIR") \
		>"$T/cc.log" 2>&1; then
	ok "unified_io_progs(7)'s example builds against the install"
else
	diag "$T/cc.log"
	not_ok "unified_io_progs(7)'s example builds against the install"
fi
# The files of the dependency file, one a line.
deps() { sed 's/[ \\]\+/\n/g' "$T/crc32c-stamp.d" 2>/dev/null; }
from_tree=$(deps | grep "^$REPO/\(lib\|bpf\|include\|build/bpf\)/")
if [ -s "$T/crc32c-stamp.d" ] && [ -z "$from_tree" ]; then
	ok "its headers: none from the source tree ($(deps | grep -c "^$D/") from the install)"
else
	not_ok "its headers: none from the source tree" "${from_tree:-no dependency file}"
fi
if [ -x "$T/crc32c-stamp" ] && resolves "$T/crc32c-stamp" &&
   readelf -dW "$T/crc32c-stamp" | grep "(RUNPATH).*\[$D$LIBDIR\]" >/dev/null; then
	ok "its NEEDED $SONAME resolves through its RUNPATH to the install"
else
	{ readelf -dW "$T/crc32c-stamp"; ldd "$T/crc32c-stamp"; } >"$T/ldd.log" 2>&1
	diag "$T/ldd.log"
	not_ok "its NEEDED $SONAME resolves through its RUNPATH to the install"
fi

# examples/, through its Makefile's contract, once the tree has it.
if [ -f "$REPO/examples/Makefile" ]; then
	if make -s -C "$REPO/examples" PKG_CONFIG_LIBDIR="$PKG_CONFIG_LIBDIR" \
			PKG_CONFIG_SYSROOT_DIR="$D" OUT="$T/examples" >"$T/examples.log" 2>&1; then
		ok "examples/ builds against the install (OUT=${T#"$REPO/"}/examples)"
	else
		diag "$T/examples.log"
		not_ok "examples/ builds against the install"
	fi
	nx=0 bad=()
	for x in "$T"/examples/*; do
		[ -f "$x" ] && [ -x "$x" ] || continue
		# The raw ioctls: it links no library.
		[ "${x##*/}" = region_basic ] && continue
		nx=$((nx + 1))
		# Built against the install, run with it: no RUNPATH into the tree.
		LD_LIBRARY_PATH=$D$LIBDIR resolves "$x" &&
			! readelf -dW "$x" | grep "R.*PATH.*$BUILD" >/dev/null || bad+=("${x##*/}")
	done
	if [ "$nx" -gt 0 ] && [ ${#bad[@]} -eq 0 ]; then
		ok "examples/: all $nx link $SONAME from the install"
	else
		not_ok "examples/: every one links $SONAME from the install" \
			"$nx built; not from the install: ${bad[*]:-none}"
	fi
fi
unset PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_LIBDIR

# The page against the programs: every SEC("xdp") function, const
# volatile setting and map.
missing=() words=0
for p in "${PROGS[@]}"; do
	src=$REPO/bpf/$p.bpf.c
	for w in $(sed -n 's/^int \([a-z0-9_]*\)(struct xdp_md.*/\1/p' "$src") \
		 $(sed -n 's/^const volatile [a-z0-9_ ]* \([a-z0-9_]*\)\( =.*\)\{0,1\};$/\1/p' "$src") \
		 $(sed -n 's/^} \([a-z0-9_]*\) SEC("\.maps");$/\1/p' "$src"); do
		words=$((words + 1))
		grep -q "\\b$w\\b" "$REPO/bpf/unified_io_progs.7" || missing+=("$p: $w")
	done
done
# 4 programs, 11 settings, 2 maps when this was written: a parse that
# finds fewer is broken.
if [ ${#missing[@]} -eq 0 ] && [ "$words" -ge 17 ]; then
	ok "unified_io_progs(7) names the $words programs, settings and maps of bpf/"
else
	not_ok "unified_io_progs(7) names every setting, program and map of bpf/" "missing: ${missing[*]}"
fi

if make -s -C "$REPO" uninstall DESTDIR="$D" "${DIRS[@]}" >"$T/uninstall.log" 2>&1 &&
   (cd "$D" && find . -type f -o -type l) >"$T/left" && [ ! -s "$T/left" ]; then
	ok "make uninstall removes every file"
else
	cat "$T/uninstall.log" "$T/left" >"$T/diag" 2>/dev/null
	not_ok "make uninstall removes every file"
fi

# The guard: with the sysroot's own tree as the target nothing is written.
# The prefix is one nothing else uses, removed if the guard let it through.
if [ -e /.unified_io_stamp ]; then
	p=/usr/local/unified-io-install-test
	if ! make -s -C "$REPO/lib/libunifiedio" install-built PREFIX="$p" >"$T/guard.log" 2>&1 &&
	   grep -q 'refusing to write' "$T/guard.log" && [ ! -e "$p" ]; then
		ok "install into the sysroot's tree refused: $(head -n 1 "$T/guard.log")"
	else
		rm -rf "$p"
		diag "$T/guard.log"
		not_ok "install into the sysroot's tree refused"
	fi
fi

# A relative DESTDIR would land in each directory make runs in.
if ! make -s -C "$REPO/lib/libunifiedio" install-built DESTDIR=install-test-rel \
		>"$T/rel.log" 2>&1 && grep 'not an absolute path' "$T/rel.log" >/dev/null &&
   [ ! -e "$REPO/lib/libunifiedio/install-test-rel" ]; then
	ok "relative DESTDIR refused: $(head -n 1 "$T/rel.log")"
else
	rm -rf "$REPO/lib/libunifiedio/install-test-rel"
	diag "$T/rel.log"
	not_ok "relative DESTDIR refused"
fi

summary
[ "$fail" -eq 0 ]
