#!/bin/bash
# SPDX-License-Identifier: MIT
# Connection limits (issue 7): MaxClientsPerUser= closes a user's
# connections beyond it at once, root's are not counted; with the table
# full, root takes the place of another user's connection inactive longest,
# even one holding half a message or unread replies (issue 7: idle
# connections cannot lock root out); refusals of excluded peers (client_denied) are rate-limited in the log,
# with one line saying how many were left out.
. "$IT_LIB"
. "$(dirname "$0")/helpers.sh"

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root to run clients as nobody"; exit 77; }

# Start flood-clients as nobody in the background (coproc NB); waits until it is connected.
nobody_clients()
{
	coproc NB { exec setpriv --reuid=nobody --regid=nogroup --clear-groups "$FLOOD" --timeout 60 "$@"; }
	PIDS+=("$NB_PID")
	read -r -t 30 line <&"${NB[0]}" || fail "nobody's clients did not connect"
}

# How many of nobody's connections are open and closed: "open K closed J".
nobody_report()
{
	echo report >&"${NB[1]}"
	read -r -t 30 line <&"${NB[0]}" || fail "nobody's clients did not report"
	printf '%s\n' "$line"
}

# Let nobody's clients go.
nobody_stop()
{
	exec {NB[1]}>&-
	wait "$NB_PID" 2>/dev/null
}

mock_start
write_config "[Server]" "SocketMode=0666" "MaxClients=6" "MaxClientsPerUser=3"
daemon_start
wait_state valid 5

# nobody opens 5 connections: 3 are kept, 2 closed at once.
nobody_clients --clients 5 "$SOCK"
wait_until 5 '[ "$(status_field clients)" = 4 ]' || fail "clients: $(status_field clients), expected nobody's 3 and ours"
assert_eq "$(nobody_report)" "open 3 closed 2" "nobody's connections"
assert_eq "$(grep -c 'uid 65534 has MaxClientsPerUser=3 connections open' "$T/daemon.log")" 2 "log lines for the refusals"
ok "MaxClientsPerUser=3: nobody's 4th and 5th connections closed at once, with a log line each"

# Root is not limited: three watchers fill the table (6).
watchers=()
watch()
{
	local out=$T/w$1

	bg_start "$out" "$VLCALL" --timeout 60 --replies 9 "$SOCK" "$(vl_msg io.tvtokend.Broker.GetToken '' '"more":true')"
	watchers+=("$BG_PID")
	wait_until 5 '[ -s "$out" ]' || fail "root's watcher $1 was not served"
}
watch 1
watch 2
watch 3
ok "root's connections are not counted against MaxClientsPerUser="

# The table is full: root takes the place of nobody's longest-idle connection.
status=$(ctl --json status) || fail "root was not admitted to a full table"
assert_eq "$(jq -r .clients <<<"$status")" 6 "clients told to root in a full table"
assert_eq "$(nobody_report)" "open 2 closed 3" "nobody's connections after root came"
# Every time, as long as nobody has an idle connection: three more watchers of root's (the
# first takes the place tvtokenctl left, the others two more of nobody's).
watch 4
watch 5
watch 6
assert_eq "$(nobody_report)" "open 0 closed 5" "nobody's connections after three more of root's"
assert_eq "$(grep -c 'MaxClients=6 reached: closed the idle connection of pid [0-9]* uid 65534' "$T/daemon.log")" 3 \
	"log lines for the evictions"
ok "a full table: root took the place of nobody's idle connections, one at a time"

# Nothing idle of anyone else left: beyond MaxClients=, root's new connection is closed at once.
nobody_stop
vl --until-eof --timeout 5 "$(vl_msg org.varlink.service.GetInfo)" >"$T/extra" 2>/dev/null ||
	fail "a connection beyond MaxClients= was not closed"
[ ! -s "$T/extra" ] || fail "a connection beyond MaxClients= got a reply: $(cat "$T/extra")"
ok "beyond MaxClients= with only watchers: root's new connection closed at once"
kill "${watchers[@]}" 2>/dev/null
daemon_stop

# Issue 7: 50 connections of nobody's, each holding one byte of a message it never ends,
# fill MaxClients=50: root's status is still answered, in the place of one of them.
write_config "[Server]" "SocketMode=0666" "MaxClients=50"
: >"$T/daemon.log"
daemon_start
wait_state valid 5
nobody_clients --clients 50 --calls 1 --no-nul "$SOCK" "{"
assert_eq "$(nobody_report)" "open 50 closed 0" "nobody's connections holding half a message"
status=$(ctl --json status) || fail "root was refused by 50 connections holding half a message"
assert_eq "$(jq -r .clients <<<"$status")" 50 "clients told to root"
assert_eq "$(nobody_report)" "open 49 closed 1" "nobody's connections after root's status"
ok "50 connections holding \"{\": root's status answered, one of them closed to make room"
nobody_stop

daemon_stop

# Connections that pipeline calls and never read their replies (the daemon holds what their
# sockets do not take) do not lock root out either.
write_config "[Server]" "SocketMode=0666" "MaxClients=3"
daemon_start
wait_state valid 5
nobody_clients --clients 3 --calls 2000 "$SOCK" \
	"$(vl_msg org.varlink.service.GetInterfaceDescription '{"interface":"io.tvtokend.Broker"}')"
status=$(ctl --json status) || fail "root was refused by connections that do not read their replies"
assert_eq "$(jq -r .clients <<<"$status")" 3 "clients told to root"
assert_eq "$(nobody_report)" "open 2 closed 1" "nobody's connections after root's status"
ok "3 connections with unread replies: root's status answered, one of them closed to make room"
nobody_stop
daemon_stop

# client_denied: 50 refusals, 10 lines, then one summary.
write_config "[Server]" "SocketMode=0666" "AllowUsers=daemon"
: >"$T/daemon.log"
daemon_start
wait_state valid 5
nobody_clients --clients 50 --calls 1 "$SOCK" "$(vl_msg org.varlink.service.GetInfo)"
wait_until 10 '[ "$(nobody_report)" = "open 0 closed 50" ]' || fail "nobody's 50 connections were not all refused"
nobody_stop
assert_eq "$(grep -c 'client_denied: pid' "$T/daemon.log")" 10 "client_denied lines for 50 refusals"
daemon_stop
grep -q 'client_denied: suppressed 40 more messages like this' "$T/daemon.log" ||
	fail "no summary of the suppressed client_denied lines: $(grep client_denied "$T/daemon.log" | tail -2)"
ok "50 refused peers: 10 client_denied lines and one summary"

assert_clean_logs
ok "client limits"
