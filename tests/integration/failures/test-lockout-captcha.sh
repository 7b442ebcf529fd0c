#!/bin/bash
# SPDX-License-Identifier: MIT
# A captcha ticket locks the broker out for LockoutSec: a client waiting for
# a token gets NoToken when the lockout starts, nothing is sent during it,
# and the token request goes out when it ends.
. "$(dirname "$0")/helpers.sh"

mock_start
write_config "[Token]" "LockoutSec=3s" "RetryMinSec=1s" "RetryMaxSec=1s"
# The 503 lets a client wait (in backoff) before the captcha arrives.
mock_script "request 503" "request captcha"
daemon_start
wait_state backoff 5
watch_start w --wait --duration 10
watch_wait w 5
wait_requests 2 1
assert_eq "$(watch_line w 1)" "error io.tvtokend.Broker.NoToken locked_out" "waiting client at the captcha"
assert_between $(( $(watch_time w 1) - $(mock_time 2) )) 0 300 "waiting client told at the captcha (ms)"
assert_eq "$(status_field state)" locked_out "state"
retry=$(status_time_ms retryAt)
assert_between $(( retry - $(mock_time 2) )) 2000 3000 "retryAt after the captcha (ms)"
watch_start w2 --wait --duration 5
watch_wait w2 2
assert_eq "$(watch_line w2 1)" "error io.tvtokend.Broker.NoToken locked_out" "client that waits during the lockout"

wait_requests 3 6
wait_state valid 5
assert_seq "request 503 503" "request captcha 200" "request ok 200"
assert_between "$(mock_gap 2 3)" 3000 3400 "quiet time after the captcha (LockoutSec 3 s)"
assert_eq "$(get_token)" "token 1" "GetToken after the lockout"
assert_events request_failed locked_out acquired
assert_eq "$(status_field failedRequestsLeftThisHour)" 2 "failed requests left"
daemon_stop
assert_no_secrets "$T/daemon.log" "$T/mock.out"
assert_no_sanitizer_reports "$T/daemon.log" "$T/mock.out"
ok "a captcha locked the broker out for LockoutSec"
