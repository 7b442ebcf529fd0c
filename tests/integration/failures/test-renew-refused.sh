#!/bin/bash
# SPDX-License-Identifier: MIT
# A refused renewal (401, or 200 with errorText) stops the token being served
# at once and is followed at once by a token request ("fallback"); the new
# token's generation is one more; "more" watchers get NoToken.
. "$(dirname "$0")/helpers.sh"

mock_start --lifetime 30
write_config "[Token]" "RenewBeforeSec=27s" "RetryMinSec=1s"
# Stalled token requests make the time without a token observable.
mock_script "request ok" "renew 401" "request stall 1" "renew errortext" "request stall 1"
daemon_start
wait_state valid 5
poll_start 30
watch_start w1 --replies 2 --duration 20

wait_requests 3 10
assert_eq "$(get_token)" "io.tvtokend.Broker.NoToken" "GetToken while the fallback request is under way"
watch_wait w1 5
wait_state valid 5
watch_start w2 --replies 2 --duration 20
wait_requests 5 10
watch_wait w2 5
wait_state valid 5
poll_wait_generation 3 5
poll_check

assert_seq "request ok 200" "renew 401 401" "request stall 200" \
	"renew errortext 200" "request stall 200"
assert_between "$(mock_gap 2 3)" 0 300 "delay of the fallback after the 401"
assert_between "$(mock_gap 4 5)" 0 300 "delay of the fallback after the errorText"
assert_eq "$(poll_phases)" "1 NoToken/requesting 2 NoToken/requesting 3" "what GetToken served"
assert_eq "$(watch_line w1 1)" "token 1" "watcher 1, first reply"
assert_eq "$(watch_line w1 2)" "error io.tvtokend.Broker.NoToken requesting" "watcher 1, at the 401"
assert_between $(( $(watch_time w1 2) - $(mock_time 2) )) 0 300 "watcher 1 told after the 401 (ms)"
assert_eq "$(watch_line w2 1)" "token 2" "watcher 2, first reply"
assert_eq "$(watch_line w2 2)" "error io.tvtokend.Broker.NoToken requesting" "watcher 2, at the errorText"
assert_between $(( $(watch_time w2 2) - $(mock_time 4) )) 0 300 "watcher 2 told after the errorText (ms)"
assert_events acquired renew_failed fallback acquired renew_failed fallback acquired
assert_eq "$(status_field generation)" 3 "generation"
assert_eq "$(status_field accessTokenRequests)" 3 "token requests"
assert_eq "$(status_field failedRequestsLeftThisHour)" 4 "failed requests left (refused renewals do not count)"
daemon_stop
assert_no_secrets "$T/daemon.log" "$T/mock.out"
assert_no_sanitizer_reports "$T/daemon.log" "$T/mock.out"
ok "refused renewals dropped the token and fell back to a token request at once"
