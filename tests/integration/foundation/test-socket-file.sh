#!/bin/bash
# SPDX-License-Identifier: MIT
# The socket file: its parent directories are created 0755; a dead socket left
# by a crashed broker is replaced; a second broker on a live socket exits 1,
# sends nothing, and the first keeps serving; SIGTERM and SIGINT exit 0 and
# remove the file.
. "$IT_LIB"
. "$(dirname "$0")/helpers.sh"

# Start tvtokend on $CONF under UMASK (not waiting for it); sets DAEMON_PID.
daemon_spawn()
{
	(umask "$1"; exec "$TVTOKEND" --config "$CONF" --log=stderr) >>"$T/daemon.log" 2>&1 &
	DAEMON_PID=$!
	PIDS+=("$DAEMON_PID")
}

# Wait until the daemon serves the socket.
wait_serving()
{
	wait_until 5 '[ -S "$SOCK" ] && vl "$(vl_msg org.varlink.service.GetInfo)" >/dev/null 2>&1' ||
		fail "tvtokend did not start serving $SOCK"
}

# Send SIGNAL to the daemon and check that it exits 0 and removes the socket file.
stop_with()
{
	local rc=0

	kill -s "$1" "$DAEMON_PID"
	wait_pid 10 "$DAEMON_PID" || rc=$?
	assert_eq "$rc" 0 "exit status on SIG$1"
	[ ! -e "$SOCK" ] || fail "the socket file was left behind after SIG$1"
	ok "SIG$1: exit 0, socket file removed"
}

mock_start

# Parent directories that do not exist, under a umask that would hide them.
SOCK=$T/deep/er/io.tvtokend.Broker
write_config
daemon_spawn 077
wait_serving
assert_eq "$(stat -c %a "$T/deep") $(stat -c %a "$T/deep/er")" "755 755" "modes of the created directories"
assert_eq "$(stat -c %a "$SOCK")" 660 "mode of the socket file (SocketMode= default)"
wait_state valid 5
ok "missing parent directories created 0755"
stop_with TERM

# A broker killed outright leaves its socket file behind; the next one replaces it
# (binding would fail with EADDRINUSE on the old file).
daemon_spawn 022
wait_serving
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
[ -S "$SOCK" ] || fail "SIGKILL did not leave the socket file behind"
rc=0
vl "$(vl_msg org.varlink.service.GetInfo)" >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 3 "connecting to the dead socket"
rc=0
ctl token >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 3 "tvtokenctl exit status on a dead socket"
daemon_spawn 022
wait_serving
first=$DAEMON_PID
wait_state valid 5
tok=$(ctl token) || fail "the new broker does not serve a token"
ok "a dead socket file is replaced"

# A second broker while the first serves: exit 1 at once, nothing sent.
requests=$(mock_count request)
ino=$(stat -c %i "$SOCK")
rc=0
timeout 10 "$TVTOKEND" --config "$CONF" --log=stderr >"$T/second.out" 2>"$T/second.err" || rc=$?
assert_eq "$rc" 1 "exit status of a second broker on the same socket"
grep -qi 'another tvtokend' "$T/second.err" || fail "the second broker said [$(cat "$T/second.err")]"
assert_eq "$(stat -c %i "$SOCK")" "$ino" "the socket file after the second broker gave up"
assert_eq "$(ctl token)" "$tok" "the first broker's token after the second gave up"
running "$first" || fail "the first broker is gone"
sleep 0.5
assert_eq "$(mock_count request)" "$requests" "token requests sent by the second broker"
ok "a second broker exits 1; the first keeps serving"

stop_with INT

assert_clean_logs "$T/second.err"
ok "socket file"
