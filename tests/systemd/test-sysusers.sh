#!/bin/bash
# SPDX-License-Identifier: MIT
# systemd-sysusers, run on an empty root with the shipped sysusers.d file,
# creates the group tvtoken and the system user tvtokend whose primary group
# it is, with no login shell.
#
# usage: test-sysusers.sh SYSUSERS_CONF
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

[ $# -eq 1 ] || { echo "usage: $0 SYSUSERS_CONF" >&2; exit 2; }
conf=$(realpath -- "$1")
need systemd-sysusers timeout
make_tmp
mkdir -p "$tmp/root/etc"

timeout 60 systemd-sysusers --root="$tmp/root" "$conf"

IFS=: read -r gname _ gid _ < <(grep '^tvtoken:' "$tmp/root/etc/group") ||
	fail "no group tvtoken in $(cat "$tmp/root/etc/group")"
IFS=: read -r uname _ uid ugid _ _ shell < <(grep '^tvtokend:' "$tmp/root/etc/passwd") ||
	fail "no user tvtokend in $(cat "$tmp/root/etc/passwd")"
[ "$gname" = tvtoken ] && [ "$uname" = tvtokend ] || fail "unexpected names $gname, $uname"
[ "$ugid" = "$gid" ] || fail "tvtokend's primary group is $ugid, not tvtoken ($gid)"
case $shell in
*/nologin | */false) ;;
*) fail "tvtokend has the login shell $shell" ;;
esac
echo "ok: group tvtoken ($gid), user tvtokend ($uid) in it, shell $shell"
