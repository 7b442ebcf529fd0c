#!/bin/bash
# SPDX-License-Identifier: MIT
# A 401 on the token request means bad credentials: credentials_rejected, a
# waiting client gets NoToken at once, nothing more is sent until a reload,
# which makes the broker try once more.
. "$(dirname "$0")/helpers.sh"

mock_start
write_config "[Token]" "RetryMinSec=1s" "RetryMaxSec=1s"
# The 503 lets a client wait (in backoff) before the 401 arrives.
mock_script "request 503" "request 401"
daemon_start
wait_state backoff 5
watch_start w --wait --duration 10
watch_wait w 5
wait_requests 2 1
assert_eq "$(watch_line w 1)" "error io.tvtokend.Broker.NoToken credentials_rejected" "waiting client at the 401"
assert_between $(( $(watch_time w 1) - $(mock_time 2) )) 0 300 "waiting client told at the 401 (ms)"
assert_eq "$(status_field state)" credentials_rejected "state"

# Three retry periods: nothing is sent.
sleep 3
assert_seq "request 503 503" "request 401 401"
assert_eq "$(get_token)" io.tvtokend.Broker.NoToken "GetToken"
rc=0
ctl token >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 1 "tvtokenctl token exit status"

kill -HUP "$DAEMON_PID"
wait_state valid 5
assert_seq "request 503 503" "request 401 401" "request ok 200"
assert_eq "$(get_token)" "token 1" "GetToken after the reload"
assert_events request_failed credentials_rejected acquired
daemon_stop
assert_no_secrets "$T/daemon.log" "$T/mock.out"
assert_no_sanitizer_reports "$T/daemon.log" "$T/mock.out"
ok "a 401 on the token request stopped the broker until the reload"
