#!/bin/bash
# SPDX-License-Identifier: MIT
# A renewal that fails transiently (503, malformed body, stall past
# RequestTimeoutSec, dropped connection) is retried with backoff in [d/2, d]
# while the token keeps being served, and no token request is sent.
. "$(dirname "$0")/helpers.sh"

mock_start --lifetime 30
write_config "[Tradovate]" "RequestTimeoutSec=1s" \
	"[Token]" "RenewBeforeSec=27s" "RetryMinSec=1s" "RetryMaxSec=2s"
mock_script "renew 503" "renew malformed" "renew stall 5" "renew close"
daemon_start
poll_start 30

wait_requests 2 10
wait_state backoff 5
[ -n "$(status_field retryAt)" ] || fail "retryAt is not set in backoff"
assert_eq "$(get_token)" "token 1" "GetToken while the renewal is retried"
wait_requests 6 20
wait_state valid 5
poll_wait_generation 2 5
poll_check
assert_eq "$(poll_count error)$(poll_count down)" 00 "GetToken failures while the renewal was retried"
assert_eq "$(poll_generations)" "1 2" "generations served"

assert_seq "request ok 200" "renew 503 503" "renew malformed 200" "renew stall 200" \
	"renew close -" "renew ok 200"
# n-th retry in [d/2, d], d = 1 s * 2^n capped at 2 s; 400 ms for scheduling.
assert_between "$(mock_gap 2 3)" 500 1400 "delay after the 503"
assert_between "$(mock_gap 3 4)" 1000 2400 "delay after the malformed reply"
# The stall costs RequestTimeoutSec (1 s) before the delay starts.
assert_between "$(mock_gap 4 5)" 1950 3400 "delay after the stall"
assert_between "$(mock_gap 5 6)" 1000 2400 "delay after the dropped connection"
assert_events acquired renew_failed renew_failed renew_failed renew_failed renewed
assert_eq "$(get_token)" "token 2" "GetToken after the renewal"
assert_eq "$(status_field renewals)" 5 "renewals sent"
assert_eq "$(status_field failures)" 4 "failures"
assert_eq "$(status_field accessTokenRequests)" 1 "token requests"
assert_eq "$(status_field retryAt)" "$(status_field nextRenewal)" "retryAt once renewed"
daemon_stop
assert_no_secrets "$T/daemon.log" "$T/mock.out"
assert_no_sanitizer_reports "$T/daemon.log" "$T/mock.out"
ok "transient renewal failures retried with backoff, token served throughout"
