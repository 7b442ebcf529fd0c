#!/bin/sh
# SPDX-License-Identifier: MIT
# Turn a Varlink interface description into a C header that defines it as
# one string literal, so that the installed .varlink file and the text
# GetInterfaceDescription returns have one source.
#
# usage: varlink-to-c.sh INPUT OUTPUT MACRO
set -eu

[ $# -eq 3 ] || { echo "usage: $0 INPUT OUTPUT MACRO" >&2; exit 2; }
in=$1 out=$2 macro=$3

case $macro in
''|[0-9]*|*[!A-Za-z0-9_]*) echo "$0: bad macro name \"$macro\"" >&2; exit 2 ;;
esac
# Printable ASCII only (and line ends), ending in a newline: nothing that
# needs more than \\ and \" to be a C string, nothing lost at the end.
if LC_ALL=C grep -n '[^ -~]' "$in" >&2; then
	echo "$0: $in: characters other than printable ASCII" >&2
	exit 1
fi
if [ -s "$in" ] && [ "$(tail -c 1 "$in" | od -An -c | tr -d ' ')" != '\n' ]; then
	echo "$0: $in does not end with a newline" >&2
	exit 1
fi

name=${in##*/}
guard=TVTOKEND_$(printf '%s' "$name" | tr 'a-z.-' 'A-Z__')_H
{
	printf '/* Generated from %s by varlink-to-c.sh: do not edit. */\n' "$name"
	printf '#ifndef %s\n#define %s\n\n#define %s \\\n' "$guard" "$guard" "$macro"
	# Escape backslashes, quotes and "??" (a trigraph in strict ISO C).
	LC_ALL=C sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/??/?\\?/g' \
		-e 's/^/\t"/' -e 's/$/\\n" \\/' "$in"
	printf '\t""\n\n#endif\n'
} >"$out.tmp"
mv -f "$out.tmp" "$out"
