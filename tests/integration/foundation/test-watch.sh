#!/bin/bash
# SPDX-License-Identifier: MIT
# A GetToken "more" stream, raw and through tvtokenctl watch, gets the current
# token and then every new one, each reply with continues:true, generations
# going up by one.
. "$IT_LIB"
. "$(dirname "$0")/helpers.sh"

# The first token is long-lived, so both watchers start on generation 1.
mock_start
write_config "[Token]" "RenewBeforeSec=2s"
daemon_start
wait_state valid 5

bg_start "$T/raw" "$VLCALL" --timeout 40 --replies 4 "$SOCK" \
	"$(vl_msg io.tvtokend.Broker.GetToken '' '"more":true')"
raw=$BG_PID
bg_start "$T/ctl" "$TVTOKENCTL" --socket "$SOCK" watch
watcher=$BG_PID
wait_until 5 '[ -s "$T/raw" ] && [ -s "$T/ctl" ]' || fail "the watchers got no first token"
assert_eq "$(status_field watchers)" 2 "GetStatus watchers with two open streams"
ok "two watchers on generation 1"

# From now on tokens live 4 s: the reported renewal brings generation 2, the
# two scheduled renewals after it 3 and 4; generation 4 lives 600 s.
mock_config "lifetime 4"
mock_script "renew ok" "renew ok" "renew lifetime 600"
ctl rejected >/dev/null || fail "tvtokenctl rejected failed"
wait_pid 40 "$raw" || fail "the raw stream did not get 4 replies: $(cat "$T/raw.err")"
wait_until 5 '[ "$(wc -l <"$T/ctl")" -ge 4 ]' || fail "tvtokenctl watch printed $(wc -l <"$T/ctl") lines, not 4"

assert_eq "$(jq -r '.parameters.token.generation' "$T/raw" | tr '\n' ' ')" "1 2 3 4 " "raw stream generations"
assert_eq "$(jq -r '.continues' "$T/raw" | sort -u)" true "every reply of the stream continues"
assert_eq "$(jq -r 'has("error")' "$T/raw" | sort -u)" false "no error in the stream"
ok "raw stream: current token, then every change, continues:true"

assert_eq "$(jq -r '.generation' "$T/ctl" | tr '\n' ' ')" "1 2 3 4 " "tvtokenctl watch generations"
assert_eq "$(jq -r 'keys | join(",")' "$T/ctl" | sort -u)" \
	"accessToken,expirationTime,generation,mdAccessToken,name,userId" "members of each watch line"
assert_eq "$(jq -r '.accessToken' "$T/ctl")" "$(jq -r '.parameters.token.accessToken' "$T/raw")" \
	"both watchers saw the same tokens"
assert_eq "$(jq -r '.accessToken' "$T/ctl" | sort -u | wc -l)" 4 "four distinct tokens"
running "$watcher" || fail "tvtokenctl watch ended while the broker runs"
ok "tvtokenctl watch: one JSON Token per line at every change"

assert_eq "$(mock_requests)" "request ok 200
renew ok 200
renew ok 200
renew lifetime 200" "upstream requests"
# One watcher is left: the raw one hung up.
wait_until 5 '[ "$(status_field watchers)" = 1 ]' || fail "watchers did not drop to 1"

# The token is lost (a refused renewal) and replaced: the stream ends with
# NoToken, so a plain watch exits 1; with --wait, watch waits for the next
# token and goes on.
bg_start "$T/ctlwait" "$TVTOKENCTL" --socket "$SOCK" --wait watch
waiter=$BG_PID
wait_until 5 '[ -s "$T/ctlwait" ]' || fail "tvtokenctl --wait watch printed nothing"
mock_script "renew errortext"
ctl rejected >/dev/null || fail "tvtokenctl rejected failed"
rc=0
wait_pid 10 "$watcher" || rc=$?
assert_eq "$rc" 1 "exit status of tvtokenctl watch when the token is lost"
wait_until 10 '[ "$(wc -l <"$T/ctlwait")" -ge 2 ]' || fail "tvtokenctl --wait watch did not print the next token"
assert_eq "$(jq -r '.generation' "$T/ctlwait" | tr '\n' ' ')" "4 5 " "tvtokenctl --wait watch generations"
running "$waiter" || fail "tvtokenctl --wait watch ended when the token was lost"
ok "a lost token ends a plain watch (exit 1); --wait watch goes on with the next token"
daemon_stop
rc=0
wait_pid 10 "$waiter" || rc=$?
assert_eq "$rc" 1 "exit status of tvtokenctl --wait watch when the broker stops"
assert_clean_logs
ok "watchers"
