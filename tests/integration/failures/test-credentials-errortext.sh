#!/bin/bash
# SPDX-License-Identifier: MIT
# Bad credentials (200 with errorText on the token request): the broker stops
# (credentials_rejected) and sends nothing more however long it waits; waiting
# clients get NoToken; each SIGHUP makes it try exactly once more, and after
# the secret file is fixed, the token request succeeds.
. "$(dirname "$0")/helpers.sh"

mock_start
write_config "[Token]" "RetryMinSec=500ms" "RetryMaxSec=500ms"
(umask 077; printf 'wrong-api-secret\n' >"$T/secret")
# The stall lets a client wait before the rejection arrives.
mock_script "request stall 1"
daemon_start
watch_start w --wait --duration 10
wait_requests 1 5
watch_wait w 5
assert_eq "$(watch_line w 1)" "error io.tvtokend.Broker.NoToken credentials_rejected" "waiting client at the rejection"
assert_between $(( $(watch_time w 1) - $(mock_time 1) )) 1000 1400 "waiting client told when the rejection came (ms)"
assert_eq "$(status_field state)" credentials_rejected "state"
case $(status_field lastError) in
*"Incorrect username or password"*) ;;
*) fail "lastError does not say why: $(status_field lastError)" ;;
esac
assert_eq "$(status_field retryAt)" null "retryAt when not retrying"

# Six retry periods: nothing is sent.
sleep 3
assert_seq "request stall 200 reject=sec"
assert_eq "$(status_field state)" credentials_rejected "state after waiting"
t0=$(now_ms)
rc=0
out=$(ctl --wait=10 token 2>"$T/ctl.err") || rc=$?
assert_eq "$rc" 1 "tvtokenctl --wait token exit status"
assert_eq "$out" "" "tvtokenctl output"
assert_between $(( $(now_ms) - t0 )) 0 1000 "tvtokenctl --wait answered at once (ms)"
assert_eq "$(get_token)" io.tvtokend.Broker.NoToken "GetToken"

# A reload with the same wrong secret: exactly one more try.
kill -HUP "$DAEMON_PID"
wait_requests 2 5
wait_state credentials_rejected 5
sleep 2
assert_seq "request stall 200 reject=sec" "request ok 200 reject=sec"

# The secret fixed, a reload: the token request succeeds.
write_secrets
kill -HUP "$DAEMON_PID"
wait_state valid 5
assert_seq "request stall 200 reject=sec" "request ok 200 reject=sec" "request ok 200"
assert_eq "$(get_token)" "token 1" "GetToken after the fix"
assert_events credentials_rejected credentials_rejected acquired
assert_eq "$(status_field accessTokenRequests)" 3 "token requests"
assert_eq "$(status_field failures)" 2 "failures"
assert_eq "$(status_field failedRequestsLeftThisHour)" 2 "failed requests left"
daemon_stop
assert_no_secrets "$T/daemon.log" "$T/mock.out"
assert_no_sanitizer_reports "$T/daemon.log" "$T/mock.out"
! grep -n 'wrong-api-secret' "$T/daemon.log" "$T/mock.out" "$T/ctl.err" || fail "the wrong secret was logged"
ok "rejected credentials stopped the broker until each reload"
