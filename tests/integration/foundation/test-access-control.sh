#!/bin/bash
# SPDX-License-Identifier: MIT
# AllowUsers=/AllowGroups=: an excluded peer gets PermissionDenied to its first
# call and is disconnected (tvtokenctl exits 4); a listed user (by name or
# uid) or a member of a listed group is served; root always is. A socket
# file the peer may not open makes tvtokenctl exit 4 too.
. "$IT_LIB"
. "$(dirname "$0")/helpers.sh"

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root to run clients as nobody"; exit 77; }

# (Re)start the daemon with these [Server] lines.
restart()
{
	[ -z "$DAEMON_PID" ] || daemon_stop
	write_config "[Server]" "$@"
	daemon_start
	wait_state valid 5
}

# nobody is refused: PermissionDenied once, connection closed, tvtokenctl exits 4.
expect_denied()
{
	local rc

	printf '%s\0%s\0' "$(vl_msg io.tvtokend.Broker.GetToken)" "$(vl_msg org.varlink.service.GetInfo)" |
		as_nobody "$VLCALL" --until-eof --timeout 5 "$SOCK" - >"$T/denied" 2>"$T/denied.err" ||
		fail "$1: nobody's connection was not closed: $(cat "$T/denied.err")"
	assert_eq "$(jq -r .error "$T/denied")" org.varlink.service.PermissionDenied "$1: the one reply to nobody"
	assert_eq "$(wc -l <"$T/denied")" 1 "$1: replies to nobody's two calls"
	rc=0
	as_nobody "$TVTOKENCTL" --socket "$SOCK" token >"$T/ctl.out" 2>"$T/ctl.err" || rc=$?
	assert_eq "$rc" 4 "$1: tvtokenctl token exit status as nobody"
	[ ! -s "$T/ctl.out" ] || fail "$1: tvtokenctl printed something: $(cat "$T/ctl.out")"
	grep -qi 'permission denied' "$T/ctl.err" || fail "$1: tvtokenctl's message: $(cat "$T/ctl.err")"
	rc=0
	as_nobody "$TVTOKENCTL" --socket "$SOCK" --json status >/dev/null 2>&1 || rc=$?
	assert_eq "$rc" 4 "$1: tvtokenctl status exit status as nobody"
	ok "$1: nobody denied"
}

# nobody is served.
expect_allowed()
{
	local tok

	tok=$(as_nobody "$TVTOKENCTL" --socket "$SOCK" token 2>"$T/ctl.err") ||
		fail "$1: nobody was not served: $(cat "$T/ctl.err")"
	assert_eq "$tok" "$(ctl token)" "$1: the token nobody got"
	ok "$1: nobody served"
}

# root is served whatever the lists say.
expect_root_allowed()
{
	ctl token >/dev/null || fail "$1: root was not served"
	ok "$1: root served"
}

mock_start
restart "SocketMode=0666" "AllowUsers=daemon"
expect_denied "AllowUsers=daemon"
expect_root_allowed "AllowUsers=daemon"
grep -q 'client_denied.* uid 65534 ' "$T/daemon.log" || fail "no client_denied line for uid 65534 in the log"
ok "the refusal is logged"

restart "SocketMode=0666" "AllowUsers=daemon nobody"
expect_allowed "AllowUsers=daemon nobody"
restart "SocketMode=0666" "AllowUsers=65534"
expect_allowed "AllowUsers=65534"

restart "SocketMode=0666" "AllowGroups=daemon"
expect_denied "AllowGroups=daemon"
expect_root_allowed "AllowGroups=daemon"
restart "SocketMode=0666" "AllowGroups=nogroup"
expect_allowed "AllowGroups=nogroup"
restart "SocketMode=0666" "AllowUsers=daemon" "AllowGroups=nogroup"
expect_allowed "AllowUsers=daemon, AllowGroups=nogroup"

# No lists, but a socket file only root and its group may open.
restart "SocketMode=0660"
assert_eq "$(stat -c %a "$SOCK")" 660 "socket file mode"
rc=0
as_nobody "$TVTOKENCTL" --socket "$SOCK" token >/dev/null 2>"$T/ctl.err" || rc=$?
assert_eq "$rc" 4 "tvtokenctl exit status on a socket nobody may not open"
rc=0
as_nobody "$VLCALL" --timeout 5 "$SOCK" "$(vl_msg org.varlink.service.GetInfo)" >/dev/null 2>"$T/vl.err" || rc=$?
assert_eq "$rc" 3 "varlink-call as nobody on a 0660 socket"
grep -q 'Permission denied' "$T/vl.err" || fail "connect did not fail with EACCES: $(cat "$T/vl.err")"
expect_root_allowed "SocketMode=0660"
ok "a socket file nobody may not open: exit 4"

daemon_stop
assert_eq "$(mock_requests | sort | uniq -c | sed 's/^ *//')" "7 request ok 200" "upstream requests: one token request per start"
assert_clean_logs "$T/denied" "$T/ctl.err"
ok "access control"
