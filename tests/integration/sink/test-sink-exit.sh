#!/bin/bash
# At a clean exit the token file is removed, unless a StateFile= lets the
# next start restore the token: then it is kept, and a reader polling it
# through a restart never finds it missing; the restarted broker rewrites it
# without a new token request. A start with no valid token to restore
# removes a file left from before.
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

# With a state file: kept through a restart that restores the token.
write_config "[Token]" "StateFile=$T/state.json" "[Sink]" "File=$f"
daemon_start
wait_state valid 10
wait_file_token "$f" 10
tok=$(ctl token)
requests=$(mock_count request)
reader_start "$f"
daemon_stop
[ -e "$f" ] || fail "the token file was removed at exit despite StateFile="
daemon_start
wait_state valid 10
wait_file_token "$f" 10
assert_eq "$(ctl token)" "$tok" "token after the restart"
assert_eq "$(mock_count request)" "$requests" "token requests sent by the restart"
reader_stop
ok "StateFile=: kept through a restart, never missing for a reader ($(cat "$T/reader.reads") reads)"

# A start with nothing valid to restore removes the old file at once.
daemon_stop
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
