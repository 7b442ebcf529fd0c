#!/bin/bash
# SPDX-License-Identifier: MIT
# The daemon makes itself undumpable before it reads a secret (issue 8,
# item 8): no core dump, no ptrace by other processes of its user. The kernel
# shows it in /proc: the files of a process that is not dumpable belong to
# root, whoever runs it. TVTOKEND_DUMPABLE=1 keeps it dumpable, for debugging.
# Runs the daemon as nobody (65534), so it needs root and setpriv (else 77).
. "$(dirname "$0")/../failures/helpers.sh"

[ "$(id -u)" -eq 0 ] || { echo "skip: needs root to run the daemon as another user"; exit 77; }
command -v setpriv >/dev/null || { echo "skip: no setpriv"; exit 77; }

# Start tvtokend as nobody with extra environment assignments; wait until it serves.
daemon_start_as_nobody()
{
	env "$@" setpriv --reuid=65534 --regid=65534 --clear-groups -- \
		"$TVTOKEND" --config "$CONF" --log=stderr >>"$T/daemon.log" 2>&1 &
	DAEMON_PID=$!
	PIDS+=("$DAEMON_PID")
	wait_until 5 '[ -S "$SOCK" ] && vl "{\"method\":\"org.varlink.service.GetInfo\"}" >/dev/null 2>&1' ||
		fail "tvtokend did not start serving $SOCK as nobody"
	assert_eq "$(awk '/^Uid:/ { print $2 }' "/proc/$DAEMON_PID/status")" 65534 "uid of the daemon"
}

mock_start
write_config
mkdir -p "$T/run"
chown 65534:65534 "$T/run" "$T/password" "$T/secret"
chmod 0644 "$CONF"

daemon_start_as_nobody
wait_state valid 5
assert_eq "$(stat -c %u "/proc/$DAEMON_PID/status")" 0 "owner of /proc/PID/status (0: not dumpable)"
daemon_stop
ok "not dumpable"

daemon_start_as_nobody TVTOKEND_DUMPABLE=1
wait_state valid 5
assert_eq "$(stat -c %u "/proc/$DAEMON_PID/status")" 65534 "owner of /proc/PID/status with TVTOKEND_DUMPABLE=1"
daemon_stop
ok "dumpable with TVTOKEND_DUMPABLE=1"

assert_no_secrets "$T/daemon.log" "$T/mock.out"
assert_no_sanitizer_reports "$T/daemon.log" "$T/mock.out"
ok "core dumps are off unless asked for"
