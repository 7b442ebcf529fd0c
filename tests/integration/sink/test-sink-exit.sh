#!/bin/bash
# SPDX-License-Identifier: MIT
# At a clean exit the token file is removed, with or without a StateFile=:
# nothing would remove it when its token expires once the daemon is gone
# (after systemctl stop it would outlive its token). A restart that restores
# the token from the state file writes the file again, without a new token
# request. A start with no valid token to restore removes a file left from
# before (by a daemon that was killed).
. "$(dirname "$0")/helpers.sh"

f=$T/token
mock_start

# Without a state file: removed at exit.
write_config "[Sink]" "File=$f"
daemon_start
wait_state valid 10
wait_file_token "$f" 10
daemon_stop
[ ! -e "$f" ] || fail "the token file outlived a daemon without StateFile="
grep -q "removed the token file $f at exit" "$T/daemon.log" || fail "the removal at exit was not logged"
ok "no StateFile=: removed at exit"

# With a state file: removed at exit too, and written again by the restart that restores the token.
write_config "[Token]" "StateFile=$T/state.json" "[Sink]" "File=$f"
daemon_start
wait_state valid 10
wait_file_token "$f" 10
tok=$(ctl token)
requests=$(mock_count request)
daemon_stop
[ ! -e "$f" ] || fail "the token file outlived a daemon with StateFile="
daemon_start
wait_state valid 10
wait_file_token "$f" 10
assert_eq "$(ctl token)" "$tok" "token after the restart"
assert_eq "$(mock_count request)" "$requests" "token requests sent by the restart"
ok "StateFile=: removed at exit, written again by the restart from the restored token"

# A file left by a daemon that was killed, with nothing valid to restore: removed at start.
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
[ -e "$f" ] || fail "kill -9 removed the token file"
rm -f "$T/state.json"
mock_script "request stall 5"
write_config "[Tradovate]" "RequestTimeoutSec=20s" "[Token]" "StateFile=$T/state.json" "[Sink]" "File=$f"
daemon_start
wait_until 3 '[ ! -e "$f" ]' || fail "a start without a token left the old token file in place"
assert_eq "$(status_field state)" requesting "state while the file is gone"
wait_file_token "$f" 15
ok "a start without a token removed the old file; the new token rewrote it"
daemon_stop
assert_clean_logs
