#!/bin/sh
# SPDX-License-Identifier: MIT
# The daemon links libevent's core library only (loop, buffers,
# bufferevents), not the whole libevent with evhttp, evdns and evrpc;
# libtvtoken and tvtokenctl link no libevent at all. Checked on the
# DT_NEEDED entries of the built binaries.
#
# usage: test-linkage.sh READELF TVTOKEND LIBTVTOKEN TVTOKENCTL
set -eu

[ $# -eq 4 ] || { echo "usage: $0 READELF TVTOKEND LIBTVTOKEN TVTOKENCTL" >&2; exit 2; }
readelf=$1 daemon=$2 lib=$3 ctl=$4

# The shared libraries FILE needs, one per line.
needed()
{
	"$readelf" -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'
}

fail()
{
	echo "FAIL: $*" >&2
	exit 1
}

d=$(needed "$daemon")
[ -n "$d" ] || fail "readelf shows no NEEDED entries in $daemon"
echo "$d" | grep -q '^libevent_core-' || fail "tvtokend does not link libevent_core: $d"
if echo "$d" | grep -E '^libevent(_extra)?-[0-9]'; then
	fail "tvtokend links more of libevent than its core"
fi
for f in "$lib" "$ctl"; do
	if needed "$f" | grep '^libevent'; then
		fail "${f##*/} links libevent"
	fi
done
echo "ok: tvtokend links libevent_core only; the client side links no libevent"
