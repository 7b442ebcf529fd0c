#!/bin/bash
# SPDX-License-Identifier: MIT
# A connection dropped without a reply, after the request reached the server,
# is a transient failure like any other: retried after backoff, counted (a
# failed token request), and never resent behind the broker's back on a
# reused connection -- the server sees exactly the attempts the broker counts.
. "$(dirname "$0")/helpers.sh"

mock_start --lifetime 600
write_config "[Token]" "RenewBeforeSec=58s" "RetryMinSec=1s" "RetryMaxSec=1s"
# Each drop follows a reply on a kept-alive connection.
mock_script "request 503" "request close" "request lifetime 60" \
	"renew 503" "renew close" "renew ok"
daemon_start
wait_requests 6 15
wait_state valid 5
assert_seq "request 503 503" "request close -" "request lifetime 200" \
	"renew 503 503" "renew close -" "renew ok 200"
assert_between "$(mock_gap 2 3)" 500 1400 "delay after the dropped token request"
assert_between "$(mock_gap 5 6)" 500 1400 "delay after the dropped renewal"
assert_eq "$(status_field accessTokenRequests)" "$(mock_count request)" "token requests: broker's count vs server's"
assert_eq "$(status_field renewals)" "$(mock_count renew)" "renewals: broker's count vs server's"
assert_eq "$(status_field failures)" 4 "failures"
assert_eq "$(status_field failedRequestsLeftThisHour)" 2 "failed requests left (a drop after sending counts)"
assert_events request_failed request_failed acquired renew_failed renew_failed renewed
daemon_stop
assert_no_secrets "$T/daemon.log" "$T/mock.out"
assert_no_sanitizer_reports "$T/daemon.log" "$T/mock.out"
ok "dropped connections were retried with backoff and counted, never resent silently"
