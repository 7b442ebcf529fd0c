#!/bin/sh
# SPDX-License-Identifier: MIT
# The dynamic symbols libtvtoken.so defines must be exactly the functions
# tvtoken.h declares, each in the version node TVTOKEN_0, so that no export
# slips in (or out) unnoticed.
# Usage: check-symbols.sh NM LIBRARY HEADER CC [CC-ARGS...]
set -eu
nm=$1
lib=$2
header=$3
shift 3

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Declared functions: names followed by "(" once comments are gone.
"$@" -E -P -x c "$header" |
	grep -oE '\btvtoken_[a-z0-9_]+[[:space:]]*\(' |
	sed -E 's/[[:space:]]*\($//' | sort -u >"$tmp/declared"
if [ ! -s "$tmp/declared" ]; then
	echo "no function declarations found in $header" >&2
	exit 1
fi

"$nm" -D --defined-only --with-symbol-versions "$lib" >"$tmp/nm"
# Every defined symbol but the version node itself.
awk '$2 != "A" { print $3 }' "$tmp/nm" | sort >"$tmp/symbols"

status=0
if grep -v '@@TVTOKEN_0$' "$tmp/symbols" >"$tmp/unversioned"; then
	echo "exported outside TVTOKEN_0:" >&2
	cat "$tmp/unversioned" >&2
	status=1
fi
sed 's/@.*//' "$tmp/symbols" | sort -u >"$tmp/exported"
if ! diff -u "$tmp/declared" "$tmp/exported" >"$tmp/diff"; then
	echo "exports differ from $header (- declared only, + exported only):" >&2
	cat "$tmp/diff" >&2
	status=1
fi
if ! grep -q ' A TVTOKEN_0$' "$tmp/nm"; then
	echo "no version node TVTOKEN_0" >&2
	status=1
fi
[ "$status" -eq 0 ] && echo "$(wc -l <"$tmp/exported") exported symbols match $header"
exit "$status"
