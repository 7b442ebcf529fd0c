#!/bin/bash
# SPDX-License-Identifier: MIT
# The daemon logs each event under the MESSAGE_ID and PRIORITY that EVENTS
# (and so the shipped catalog) gives it, and logs no event EVENTS lacks:
# the output of event-ids, built from daemon/log.c, is EVENTS exactly.
#
# usage: test-catalog-ids.sh EVENTS EVENT_IDS_PROGRAM
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

[ $# -eq 2 ] || { echo "usage: $0 EVENTS EVENT_IDS_PROGRAM" >&2; exit 2; }
events=$1
program=$2
need timeout
make_tmp

awk '!/^#/ && NF { print $1, $2, $3 }' "$events" | sort >"$tmp/want"
[ -s "$tmp/want" ] || fail "no events in $events"
timeout 30 "$program" >"$tmp/out"
sort "$tmp/out" >"$tmp/got"
diff -u "$tmp/want" "$tmp/got" ||
	fail "daemon/log.c disagrees with ${events##*/} (- table, + daemon)"
echo "ok: the daemon's $(wc -l <"$tmp/got") events match ${events##*/}"
