#!/bin/bash
# SPDX-License-Identifier: MIT
# A 429 puts the broker in rate_limited: the next request waits Retry-After
# (seconds or an HTTP date), or LockoutSec without it; a client waiting for a
# token gets NoToken at the 429; every 429 counts as a failed request.
. "$(dirname "$0")/helpers.sh"

mock_start
write_config "[Token]" "LockoutSec=3s" "RetryMinSec=1s" "RetryMaxSec=1s" "MaxFailedRequestsPerHour=5"
when=$(( $(date +%s) + 4 ))
http_date=$(LC_ALL=C date -u -d "@$when" '+%a, %d %b %Y %H:%M:%S GMT')
# The 503 lets a client wait (in backoff) before the first 429 arrives.
mock_script "request 503" "request 429 $http_date" "request 429 2" "request 429"
daemon_start
wait_state backoff 5
watch_start w --wait --duration 10
watch_wait w 5
wait_requests 2 1
assert_eq "$(watch_line w 1)" "error io.tvtokend.Broker.NoToken rate_limited" "waiting client at the 429"
assert_between $(( $(watch_time w 1) - $(mock_time 2) )) 0 300 "waiting client told at the 429 (ms)"
assert_eq "$(status_field state)" rate_limited "state after the 429"
[ -n "$(status_field retryAt)" ] || fail "retryAt is not set after a 429"

wait_requests 4 10
assert_eq "$(status_field state)" rate_limited "state after the second 429"
wait_requests 5 6
wait_state valid 5
assert_seq "request 503 503" "request 429 429" "request 429 429" "request 429 429" "request ok 200"
# An HTTP date is read on the server's clock (its Date header, whole seconds).
assert_between $(( $(mock_time 3) - when * 1000 )) 0 1400 "request after Retry-After: HTTP date (ms after it)"
assert_between "$(mock_gap 3 4)" 2000 2400 "wait after Retry-After: 2"
assert_between "$(mock_gap 4 5)" 3000 3400 "wait after a 429 without Retry-After (LockoutSec 3 s)"
assert_eq "$(get_token)" "token 1" "GetToken after the rate limit"
assert_events request_failed rate_limited rate_limited rate_limited acquired
assert_eq "$(status_field failedRequestsLeftThisHour)" 1 "failed requests left (429s count)"
daemon_stop
assert_no_secrets "$T/daemon.log" "$T/mock.out"
assert_no_sanitizer_reports "$T/daemon.log" "$T/mock.out"
ok "429s waited out per Retry-After or LockoutSec"
