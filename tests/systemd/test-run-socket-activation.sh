#!/bin/bash
# SPDX-License-Identifier: MIT
# Socket activation (CONTRACT §6, §7 "socket activation takes exactly one
# fd"), through systemd-socket-activate, which execs the daemon in place on
# the first connection and passes the listening socket(s) as fd 3...:
#  - one AF_UNIX stream socket: the daemon serves on it (the connection that
#    woke it included), never creates Socket= from the config, exits 0 on
#    SIGTERM and leaves the socket file in place;
#  - two sockets, an AF_UNIX datagram socket, a TCP socket: exit 1
#    with a message saying why, before anything is sent to Tradovate.
. "$(dirname -- "${BASH_SOURCE[0]}")/run-lib.sh"
run_need systemd-socket-activate timeout

ACT=$T/act/io.tvtokend.Broker
mkdir -p "$T/act"

# Start the daemon under systemd-socket-activate with the given -l/--datagram
# options; waits until every socket listens. Sets ACT_PID (the daemon-to-be).
activate()
{
	local n=0 a

	for a; do
		[ "$a" = -l ] && n=$((n + 1))
	done
	: >"$T/daemon.log"
	systemd-socket-activate "$@" "$TVTOKEND" --config "$CONF" --log=stderr >>"$T/daemon.log" 2>&1 &
	ACT_PID=$!
	PIDS+=("$ACT_PID")
	wait_until 5 '[ "$(grep -c "^Listening on " "$T/daemon.log")" -eq "$n" ]' ||
		fail "systemd-socket-activate did not listen: $(cat "$T/daemon.log")"
}

# The daemon, woken by a connection, must refuse what it was given: exit 1 and say $1.
expect_refused()
{
	local why=$1 label=$2

	wait_exit "$ACT_PID" 10 || fail "$label: tvtokend did not exit"
	assert_eq "$REPLY" 1 "$label: exit status"
	grep -q "^tvtokend: .*$why" "$T/daemon.log" ||
		fail "$label: no message saying \"$why\": $(cat "$T/daemon.log")"
	grep -q "^Execing " "$T/daemon.log" || fail "$label: the daemon was never started"
	[ ! -e "$CFG_SOCK" ] || fail "$label: the daemon created Socket= $CFG_SOCK"
	assert_eq "$(mock_requests)" "request ok 200" "$label: requests sent to Tradovate (the first case's only)"
	ok "$label: exit 1, \"$why\""
}

mock_start
write_config
# Socket= names a path the daemon must not touch; ctl & co. talk to $ACT.
CFG_SOCK=$SOCK
SOCK=$ACT

# One AF_UNIX stream socket: served, Socket= ignored, kept at exit.
activate -l "$ACT"
grep -q "^Execing " "$T/daemon.log" && fail "systemd-socket-activate started the daemon before any connection"
# This connection wakes the daemon; it must be answered on the passed socket.
out=$(ctl --json status) || fail "tvtokenctl status on the activated socket failed"
case $out in *'"state":"'*) ;; *) fail "unexpected status reply: $out" ;; esac
grep -q "^Execing " "$T/daemon.log" || fail "the daemon was not started by systemd-socket-activate"
wait_state valid 10
tok=$(ctl token) || fail "tvtokenctl token on the activated socket failed"
case $tok in tok-*) ;; *) fail "unexpected token [$tok]" ;; esac
reply=$(vl '{"method":"io.tvtokend.Broker.GetToken","parameters":{}}') ||
	fail "GetToken over raw Varlink failed"
case $reply in *'"generation":1'*) ;; *) fail "unexpected GetToken reply: ${reply:0:40}..." ;; esac
[ ! -e "$CFG_SOCK" ] || fail "the daemon created Socket= $CFG_SOCK although systemd passed a socket"
[ ! -e "$T/run" ] || fail "the daemon created the directory of Socket="
assert_eq "$(mock_requests)" "request ok 200" "upstream requests"
ok "serves on the socket systemd passed; Socket= untouched"

kill -TERM "$ACT_PID"
wait_exit "$ACT_PID" 10 || fail "tvtokend did not stop on SIGTERM"
assert_eq "$REPLY" 0 "exit status after SIGTERM"
[ -S "$ACT" ] || fail "the daemon removed the socket file systemd created"
unix_connectable "$ACT" && fail "something still answers on $ACT after the daemon exited"
grep -E -q '^tvtokend: (error|warning): ' "$T/daemon.log" && fail "warnings or errors: $(cat "$T/daemon.log")"
assert_no_secrets "$T/daemon.log"
ok "exit 0 on SIGTERM, socket file left to systemd"

# Two sockets: exactly one is expected.
activate -l "$T/act/a.sock" -l "$T/act/b.sock"
unix_connectable "$T/act/a.sock"
expect_refused "systemd passed 2 sockets; exactly one is expected" "two sockets"

# A datagram socket, woken by a datagram.
activate --datagram -l "$T/act/dgram.sock"
"$NOTIFY_LISTENER" --send "$T/act/dgram.sock" "wake up" || fail "cannot send to the datagram socket"
expect_refused "not a listening AF_UNIX stream socket" "AF_UNIX datagram socket"

# A TCP socket on a free loopback port.
for try in 1 2 3 4 5 6 7 8 9 10; do
	port=$((20000 + RANDOM % 20000))
	: >"$T/daemon.log"
	systemd-socket-activate -l "127.0.0.1:$port" "$TVTOKEND" --config "$CONF" --log=stderr >>"$T/daemon.log" 2>&1 &
	ACT_PID=$!
	PIDS+=("$ACT_PID")
	wait_until 5 'grep -q "^Listening on " "$T/daemon.log" || ! kill -0 "$ACT_PID" 2>/dev/null' || fail "systemd-socket-activate hangs"
	grep -q "^Listening on " "$T/daemon.log" && break
	wait "$ACT_PID" 2>/dev/null
	ACT_PID=
done
[ -n "$ACT_PID" ] || fail "no free TCP port found: $(cat "$T/daemon.log")"
(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
expect_refused "not a listening AF_UNIX stream socket" "TCP socket"

# LISTEN_FDS=1 with no descriptor 3 at all: refused with a message, not silently.
rc=0
(exec 3>&-; LISTEN_FDS=1 LISTEN_PID=$BASHPID exec "$TVTOKEND" --config "$CONF" --log=stderr) \
	>"$T/nofd.log" 2>&1 || rc=$?
assert_eq "$rc" 1 "LISTEN_FDS=1 without the descriptor: exit status"
grep -q "^tvtokend: cannot take the socket systemd passed" "$T/nofd.log" ||
	fail "LISTEN_FDS=1 without the descriptor: no message: $(cat "$T/nofd.log")"
[ ! -e "$CFG_SOCK" ] || fail "LISTEN_FDS=1 without the descriptor: the daemon created Socket= $CFG_SOCK"
ok "LISTEN_FDS=1 without the descriptor: exit 1, with a message"
