#!/bin/bash
# SPDX-License-Identifier: MIT
# A hook leaves nothing running: when a run ends, what is left in its
# process group gets SIGKILL (a child that calls setsid() escapes, as
# documented). A daemon started with SIGCHLD ignored (a parent may leave it
# so across exec) resets it: a failed hook is logged as failed, never as
# succeeded.
. "$(dirname "$0")/helpers.sh"

# Whether process PID runs (a zombie does not).
alive()
{
	[ -d "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# Succeeds at once, leaving a sleeper behind in its process group.
cat >"$T/leave.sh" <<'HOOK'
#!/bin/sh
sleep 300 >/dev/null 2>&1 &
echo "$$ $!" >"$1/leave.pid"
exit 0
HOOK
# Fails with status 3.
cat >"$T/fail.sh" <<'HOOK'
#!/bin/sh
echo $$ >"$1/fail.pid"
exit 3
HOOK
chmod +x "$T/leave.sh" "$T/fail.sh"

mock_start
write_config "[Token]" "MaxRenewalsPerHour=15" "[Sink]" "ExecOnChange=$T/leave.sh $T"
daemon_start
wait_state valid 10
wait_until 10 '[ -s "$T/leave.pid" ]' || fail "the hook did not run"
read -r pid child <"$T/leave.pid"
wait_until 10 'grep -q "ExecOnChange\[$pid\] for generation 1 succeeded" "$T/daemon.log"' ||
	fail "the hook's success was not logged"
wait_until 10 '! alive "$child"' || fail "the process the hook left in its group survived the run"
ok "a run that ended: the process it left in its group was killed"
daemon_stop

# SIGCHLD ignored by whoever started the daemon.
printf '#!/bin/sh\nexec env --ignore-signal=CHLD "%s" "$@"\n' "$TVTOKEND" >"$T/tvtokend-sigchld-ignored"
chmod +x "$T/tvtokend-sigchld-ignored"
TVTOKEND=$T/tvtokend-sigchld-ignored
write_config "[Token]" "MaxRenewalsPerHour=15" "[Sink]" "ExecOnChange=$T/fail.sh $T"
daemon_start
ignored=$((16#$(awk '$1 == "SigIgn:" { print $2 }' "/proc/$DAEMON_PID/status")))
[ $((ignored & (1 << 16))) -eq 0 ] || fail "SIGCHLD (17) is still ignored: mask $ignored"
wait_state valid 10
wait_until 10 '[ -s "$T/fail.pid" ]' || fail "the failing hook did not run"
pid=$(cat "$T/fail.pid")
wait_until 10 'grep -q "ExecOnChange\[$pid\] for generation 1 " "$T/daemon.log"' || fail "the end of the hook was not logged"
grep -q "ExecOnChange\[$pid\] for generation 1 failed with exit status 3" "$T/daemon.log" ||
	fail "the failed hook was logged as: $(grep "ExecOnChange\[$pid\] for generation 1 " "$T/daemon.log")"
ok "a daemon started with SIGCHLD ignored logs a hook that exits 3 as failed"
daemon_stop
assert_clean_logs
