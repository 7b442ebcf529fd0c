#!/bin/bash
# SPDX-License-Identifier: MIT
# Every unit, as meson configured it, passes "systemd-analyze verify" with
# no warning about it or the units it needs directly (templates as instance
# "demo"). The copies verified differ from the configured files in one thing
# only: ExecStart= names the daemon just built instead of the installed
# path, which must be the one meson configured.
#
# usage: test-units-verify.sh BUILT_DAEMON INSTALLED_DAEMON UNIT...
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

[ $# -ge 3 ] || { echo "usage: $0 BUILT_DAEMON INSTALLED_DAEMON UNIT..." >&2; exit 2; }
built=$1
installed=$2
shift 2
need systemd-analyze timeout
[ -x "$built" ] || fail "$built is not executable: build the daemon first"
built=$(realpath -- "$built")
make_tmp

for unit in "$@"; do
	name=${unit##*/}
	n=0
	while IFS= read -r line; do
		case $line in
		"ExecStart=$installed" | "ExecStart=$installed "*)
			line="ExecStart=$built${line#"ExecStart=$installed"}"
			n=$((n + 1))
			;;
		ExecStart=*)
			fail "$name: $line does not start the installed daemon $installed"
			;;
		esac
		printf '%s\n' "$line"
	done <"$unit" >"$tmp/$name"
	case $name in
	*.service)
		[ "$n" -eq 1 ] || fail "$name: $n ExecStart= lines run $installed, want 1"
		;;
	esac
done

mapfile -t targets < <(unit_targets "$tmp"/*)
rc=0
out=$(timeout 120 systemd-analyze verify --man=no --recursive-errors=one \
	"${targets[@]}" 2>&1) || rc=$?
[ -z "$out" ] || printf '%s\n' "$out"
[ "$rc" -eq 0 ] || fail "systemd-analyze verify exited with $rc"
if grep -q tvtokend <<<"$out"; then
	fail "systemd-analyze verify warned about our units"
fi
echo "ok: ${targets[*]##*/} verified"
