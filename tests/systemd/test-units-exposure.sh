#!/bin/bash
# SPDX-License-Identifier: MIT
# "systemd-analyze security --offline=true" rates every service unit at most
# MAX (e.g. 1.0), templates as instance "demo". Prints the figures.
#
# usage: test-units-exposure.sh MAX UNIT...
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

[ $# -ge 2 ] || { echo "usage: $0 MAX UNIT..." >&2; exit 2; }
[[ $1 =~ ^([0-9]+)\.([0-9])$ ]] || fail "MAX must look like 1.0, not $1"
max=$((10#${BASH_REMATCH[1]} * 10 + 10#${BASH_REMATCH[2]}))
shift
need systemd-analyze timeout

n=0
while IFS= read -r target; do
	case $target in
	*.service) ;;
	*) continue ;;
	esac
	name=${target##*/}
	rc=0
	out=$(timeout 120 systemd-analyze security --offline=true \
		--threshold="$max" "$target" 2>&1) || rc=$?
	re='Overall exposure level for ([^:]+): ([0-9]+)\.([0-9])'
	if ! [[ $out =~ $re ]]; then
		printf '%s\n' "$out"
		fail "$name: no overall exposure level in the output"
	fi
	[ "${BASH_REMATCH[1]}" = "$name" ] || fail "rated ${BASH_REMATCH[1]}, not $name"
	got=$((10#${BASH_REMATCH[2]} * 10 + 10#${BASH_REMATCH[3]}))
	echo "$name: exposure ${BASH_REMATCH[2]}.${BASH_REMATCH[3]} (at most $((max / 10)).$((max % 10)))"
	if [ "$got" -gt "$max" ]; then
		printf '%s\n' "$out"
		fail "$name: exposure ${BASH_REMATCH[2]}.${BASH_REMATCH[3]} is above the limit"
	fi
	[ "$rc" -eq 0 ] || fail "$name: systemd-analyze security exited with $rc"
	n=$((n + 1))
done < <(unit_targets "$@")
[ "$n" -gt 0 ] || fail "no service unit given"
