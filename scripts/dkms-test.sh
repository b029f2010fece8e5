#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The DKMS test of make check: the source tree "make dkms-install" would
# put in /usr/src (make dkms-tree) is added to a private DKMS tree and built
# with "dkms build" for every stock kernel of the kernel matrix, against
# that kernel's Debian headers, as a machine with that kernel installed
# would; then both modules must exist, be built for that kernel (vermagic),
# and depend on nothing the kernel lacks.  Nothing is written outside a
# temporary directory (dkms --dkmstree/--sourcetree, and a private mount of
# /var/lib/dkms, where dkms creates the key it signs modules with), so the
# sysroot stays as it is.
#
# Prints "ok N ..." / "not ok N ..." and last "dkms: N passed, N failed".
# Runs inside the sysroot; from the host it re-executes itself there.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ "${UNIFIED_IO_IN_SYSROOT:-0}" != 1 ]; then
	exec "$REPO/scripts/sysroot.sh" run "$REPO/scripts/dkms-test.sh" "$@"
fi
MATRIX=$REPO/scripts/matrix.sh

pass=0 fail=0 n=0
ok() { n=$((n + 1)) pass=$((pass + 1)); echo "ok $n $1"; }
not_ok() {
	n=$((n + 1)) fail=$((fail + 1))
	echo "not ok $n $1"
	[ -z "${2:-}" ] || [ ! -f "$2" ] || tail -n 30 "$2" | sed 's/^/#   | /'
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
command -v dkms >/dev/null || { not_ok "dkms is installed in the sysroot"; echo "dkms: $pass passed, $fail failed"; exit 1; }
echo "# $(dkms --version 2>&1 | head -n 1)"

# The tree make dkms-install installs, in a private /usr/src.
if make -s -C "$REPO" dkms-tree DESTDIR="$tmp/root" >"$tmp/tree.log" 2>&1 &&
   src=$(ls -d "$tmp"/root/usr/src/unified-io-* 2>/dev/null) && [ -f "$src/dkms.conf" ]; then
	ok "make dkms-tree: ${src#"$tmp/root"}"
else
	not_ok "make dkms-tree" "$tmp/tree.log"
	echo "dkms: $pass passed, $fail failed"
	exit 1
fi
ver=${src##*/unified-io-}
mkdir -p "$tmp/dkms" "$tmp/var-lib-dkms"
dk=(unshare --mount --propagation unchanged -- /bin/sh -c
	'mount --bind "$0" /var/lib/dkms && exec dkms "$@"' "$tmp/var-lib-dkms"
	--sourcetree "$tmp/root/usr/src" --dkmstree "$tmp/dkms")

if "${dk[@]}" add -m unified-io -v "$ver" >"$tmp/add.log" 2>&1; then
	ok "dkms add unified-io/$ver"
else
	not_ok "dkms add unified-io/$ver" "$tmp/add.log"
fi

for name in $("$MATRIX" entries stock); do
	kver=$("$MATRIX" kver "$name")
	log=$tmp/build-$kver.log
	if ! "${dk[@]}" build -m unified-io -v "$ver" -k "$kver" >"$log" 2>&1; then
		not_ok "dkms build for $name (Linux $kver)" "$log"
		for f in "$tmp"/dkms/unified-io/"$ver"/build/make.log; do
			[ -f "$f" ] && tail -n 30 "$f" | sed 's/^/#   make.log | /'
		done
		continue
	fi
	bad=
	for m in unified_io unio_nic; do
		ko=$(find "$tmp/dkms/unified-io/$ver/$kver" -name "$m.ko*" | head -n 1)
		if [ -z "$ko" ]; then
			bad+=" $m.ko missing;"
			continue
		fi
		case $ko in *.xz) xz -dkf "$ko"; ko=${ko%.xz} ;; *.zst) zstd -qdf "$ko"; ko=${ko%.zst} ;; esac
		vm=$(modinfo -F vermagic "$ko" | cut -d' ' -f1)
		[ "$vm" = "$kver" ] || bad+=" $m vermagic $vm;"
		for dep in $(modinfo -F depends "$ko" | tr , ' '); do
			find "/usr/lib/modules/$kver" -name "$dep.ko*" | grep -q . ||
				grep -q "/$dep.ko" "/usr/lib/modules/$kver/modules.builtin" ||
				bad+=" $m needs $dep;"
		done
	done
	if [ -z "$bad" ]; then
		ok "dkms build for $name (Linux $kver): unified_io.ko and unio_nic.ko, vermagic $kver"
	else
		echo "#$bad"
		not_ok "dkms build for $name (Linux $kver)" "$log"
	fi
done

echo "dkms: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
