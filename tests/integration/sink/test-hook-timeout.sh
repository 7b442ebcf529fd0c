#!/bin/bash
# SPDX-License-Identifier: MIT
# A hook that runs past ExecOnChangeTimeoutSec= gets SIGTERM; one that
# ignores it gets SIGKILL 5 s later, with whatever it started in its process
# group; so does what a hook started when the hook itself ends on the
# SIGTERM; each step is logged; nothing is left behind, no zombie either,
# and the broker went on serving all along.
. "$(dirname "$0")/helpers.sh"

# Hung, but ends on SIGTERM.
cat >"$T/hang.sh" <<'HOOK'
#!/bin/bash
echo $$ >"$1/hang.pid"
exec sleep 300
HOOK
# Hung, ignores SIGTERM, and has a child in its process group.
cat >"$T/stubborn.sh" <<'HOOK'
#!/bin/bash
trap '' TERM
sleep 300 &
echo "$$ $!" >"$1/stubborn.pid"
while :; do sleep 1; done
HOOK
# Hung, ends on SIGTERM, but leaves a child that ignores it.
cat >"$T/leaves.sh" <<'HOOK'
#!/bin/bash
(trap '' TERM; exec sleep 300) &
echo "$$ $!" >"$1/leaves.pid"
exec sleep 300
HOOK
chmod +x "$T/hang.sh" "$T/stubborn.sh" "$T/leaves.sh"

mock_start
write_config "[Token]" "MaxRenewalsPerHour=15" "[Sink]" "ExecOnChange=$T/hang.sh $T" "ExecOnChangeTimeoutSec=1s"
daemon_start
wait_state valid 10
wait_until 10 '[ -s "$T/hang.pid" ]' || fail "the hook did not start"
pid=$(cat "$T/hang.pid")
wait_until 15 'grep -q "ExecOnChange\[$pid\] for generation 1 was killed by signal 15 (Terminated) after [0-9]* ms, at its time-out" "$T/daemon.log"' ||
	fail "the hung hook was not ended at its time-out"
grep -q "ExecOnChange\[$pid\] is still running after 1000 ms (ExecOnChangeTimeoutSec=): sending SIGTERM" "$T/daemon.log" ||
	fail "the SIGTERM was not logged"
wait_until 10 '[ ! -d "/proc/$pid" ]' || fail "the hung hook is still there"
ok "a hung hook: SIGTERM at ExecOnChangeTimeoutSec=, logged"

write_config "[Token]" "MaxRenewalsPerHour=15" "[Sink]" "ExecOnChange=$T/stubborn.sh $T" "ExecOnChangeTimeoutSec=1s"
reload
renew_now
wait_until 10 '[ -s "$T/stubborn.pid" ]' || fail "the stubborn hook did not start"
read -r pid child <"$T/stubborn.pid"
wait_state valid 5
ctl token >/dev/null || fail "no token served while the hook hangs"
wait_until 20 'grep -q "ExecOnChange\[$pid\] for generation 2 was killed by signal 9 (Killed) after [0-9]* ms, at its time-out" "$T/daemon.log"' ||
	fail "the stubborn hook was not killed"
grep -q "ExecOnChange\[$pid\] did not stop within 5 s of SIGTERM: sending SIGKILL" "$T/daemon.log" ||
	fail "the SIGKILL was not logged"
wait_until 5 '[ ! -d "/proc/$child" ]' || fail "the hook's child survived the SIGKILL of its process group"
ok "a hook that ignores SIGTERM: SIGKILL 5 s later, its process group with it"

write_config "[Token]" "MaxRenewalsPerHour=15" "[Sink]" "ExecOnChange=$T/leaves.sh $T" "ExecOnChangeTimeoutSec=1s"
reload
renew_now
wait_until 10 '[ -s "$T/leaves.pid" ]' || fail "the hook that leaves a child did not start"
read -r pid child <"$T/leaves.pid"
wait_until 15 'grep -q "ExecOnChange\[$pid\] for generation 3 was killed by signal 15 (Terminated) after [0-9]* ms, at its time-out" "$T/daemon.log"' ||
	fail "the hook was not ended at its time-out"
[ -d "/proc/$child" ] || fail "the child that ignores SIGTERM did not get its grace period"
wait_until 15 '[ ! -d "/proc/$child" ]' || fail "the child that ignores SIGTERM survived its hook's time-out"
ok "a hook that ends on SIGTERM: the child it left, which ignores SIGTERM, got SIGKILL 5 s later"

assert_eq "$(ps --ppid "$DAEMON_PID" -o pid= | wc -l)" 0 "children of the daemon left (zombies included)"
daemon_stop
assert_clean_logs
