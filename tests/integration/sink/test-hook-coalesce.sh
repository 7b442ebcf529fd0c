#!/bin/bash
# SPDX-License-Identifier: MIT
# At most one hook runs at a time: a storm of token changes while it runs
# queues one more run, with the newest token; once idle, every change runs
# the hook exactly once.
. "$(dirname "$0")/helpers.sh"

cat >"$T/slow.sh" <<'HOOK'
#!/bin/bash
g=$(sed -n 's/.*"generation":\([0-9]*\).*/\1/p')
[ "$g" = "$TVTOKEND_GENERATION" ] || echo "stdin $g, environment $TVTOKEND_GENERATION" >>"$1/mismatch"
if [ -e "$1/running" ]; then echo "overlap at $g" >>"$1/mismatch"; fi
touch "$1/running"
echo "$g" >>"$1/runs"
sleep "$2"
rm -f "$1/running"
echo "$g" >>"$1/done"
HOOK
chmod +x "$T/slow.sh"

mock_start
write_config "[Token]" "MaxRenewalsPerHour=15" "[Sink]" "ExecOnChange=$T/slow.sh $T 4"
daemon_start
wait_state valid 10
wait_until 10 '[ -s "$T/runs" ]' || fail "the hook did not run for the first token"
# Five changes while the first run sleeps.
for i in 1 2 3 4 5; do
	renew_now
done
assert_eq "$(status_field generation)" 6 "generation after the storm"
wait_until 20 '[ "$(grep -c . "$T/done" 2>/dev/null)" = 2 ]' || fail "the queued run did not happen"
sleep 1
assert_eq "$(tr '\n' ' ' <"$T/runs")" "1 6 " "generations the hook ran for"
ok "five changes during a run: one more run, with the newest token"

write_config "[Token]" "MaxRenewalsPerHour=15" "[Sink]" "ExecOnChange=$T/slow.sh $T 0"
reload
for i in 1 2 3; do
	renew_now
	g=$(status_field generation)
	wait_until 10 'grep -qx "$g" "$T/done" 2>/dev/null' || fail "the hook did not run for generation $g"
done
sleep 1
assert_eq "$(tr '\n' ' ' <"$T/runs")" "1 6 7 8 9 " "generations the hook ran for"
[ ! -e "$T/mismatch" ] || fail "$(cat "$T/mismatch")"
assert_eq "$(grep -c 'ExecOnChange\[[0-9]*\] for generation [0-9]* succeeded' "$T/daemon.log")" 5 "successful runs logged"
ok "one run per change when idle; never two at once"
assert_eq "$(ps --ppid "$DAEMON_PID" -o pid= | wc -l)" 0 "children of the daemon left"
daemon_stop
assert_clean_logs
