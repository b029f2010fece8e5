#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR MIT)
#
# check-man.sh SRCDIR SHLIB: fail unless
#  - every symbol in libunifiedio.map has man/<symbol>.3,
#  - every static inline unio_* function in unifiedio.h has man/<name>.3,
#  - the UNIO_API functions of unifiedio.h are exactly the symbols of the map,
#  - SHLIB exports exactly the symbols of the map, each at the version of
#    the map node that lists it (LIBUNIFIEDIO_1.0, LIBUNIFIEDIO_1.1, ...).
set -eu

src=$1
lib=$2
map=$src/libunifiedio.map
hdr=$src/include/unifiedio.h
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
err=0

sed -n 's/^[[:space:]]*\(unio_[a-z0-9_]*\);$/\1/p' "$map" | sort >"$tmp/map"
# "UNIO_API type name(" possibly with the name on the next line.
awk '/^UNIO_API/ { s = $0; while (s !~ /\(/ && (getline l) > 0) s = s " " l;
		   sub(/\(.*/, "", s); n = split(s, w, /[ *]+/); print w[n] }' \
	"$hdr" | sort >"$tmp/api"
sed -n 's/^static inline [^(]*[ *]\(unio_[a-z0-9_]*\)(.*/\1/p' "$hdr" |
	sort >"$tmp/inline"
nm -D --defined-only "$lib" | awk '$3 ~ /^unio_/ { sub(/@.*/, "", $3); print $3 }' |
	sort >"$tmp/so"

if ! cmp -s "$tmp/map" "$tmp/api"; then
	echo "check-man: UNIO_API functions and $map differ:" >&2
	diff "$tmp/api" "$tmp/map" >&2 || true
	err=1
fi
if ! cmp -s "$tmp/map" "$tmp/so"; then
	echo "check-man: symbols exported by $lib and $map differ:" >&2
	diff "$tmp/map" "$tmp/so" >&2 || true
	err=1
fi
# "symbol@@NODE" for every symbol of the map, from the node enclosing it.
awk '/^LIBUNIFIEDIO_[0-9.]+ *\{/ { node = $1 }
     /^[[:space:]]*unio_[a-z0-9_]*;$/ { s = $1; sub(/;$/, "", s); print s "@@" node }' \
	"$map" | sort >"$tmp/map-ver"
nm -D --defined-only "$lib" | awk '$3 ~ /^unio_/ { print $3 }' | sort >"$tmp/so-ver"
if ! cmp -s "$tmp/map-ver" "$tmp/so-ver"; then
	echo "check-man: symbol versions of $lib differ from $map:" >&2
	diff "$tmp/map-ver" "$tmp/so-ver" >&2 || true
	err=1
fi
for f in $(cat "$tmp/map" "$tmp/inline"); do
	if [ ! -f "$src/man/$f.3" ]; then
		echo "check-man: no man page man/$f.3" >&2
		err=1
	fi
done
[ -f "$src/man/libunifiedio.7" ] || { echo "check-man: no man/libunifiedio.7" >&2; err=1; }
exit $err
