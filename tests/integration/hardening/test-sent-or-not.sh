#!/bin/bash
# SPDX-License-Identifier: MIT
# The ceilings count what reached Tradovate (issue 8, items 3 and 11):
# renewals that never left (the server is down) are retried with backoff but
# leave MaxRenewalsPerHour untouched, while GetStatus counts every attempt;
# a token request answered with garbage that is not HTTP (HTTP/0.9 to curl)
# reached the server and counts against MaxFailedRequestsPerHour.
. "$(dirname "$0")/../failures/helpers.sh"

# 1. Renewals while the server is down.
mock_start --lifetime 60
write_config "[Token]" "RenewBeforeSec=58s" "MaxRenewalsPerHour=2" "RetryMinSec=200ms" "RetryMaxSec=400ms"
daemon_start
wait_state valid 5
port=$MOCK_PORT
kill -TERM "$MOCK_PID"
wait "$MOCK_PID"
wait_until 15 '[ "$(status_field renewals)" -ge 6 ]' ||
	fail "renewals were not retried while the server was down: $(ctl --json status)"
# (Read between attempts: one in flight is counted until it turns out never to have left.)
wait_until 5 '[ "$(status_field state)" = backoff ]' || fail "state while the server is down: $(status_field state)"
wait_until 5 '[ "$(status_field renewalsLeftThisHour)" = 2 ]' ||
	fail "renewals left after renewals that never left: $(status_field renewalsLeftThisHour), not 2"
case $(status_field lastError) in
*"connect failed"*) ;;
*) fail "lastError does not say the renewal never left: $(status_field lastError)" ;;
esac
tries=$(status_field renewals)
# The server comes back (the same port), knowing none of the old tokens: it renews any.
printf 'renew token\n' >"$T/back.script"
mock_start --port "$port" --lifetime 3600 --script "$T/back.script"
wait_until 10 '[ "$(status_field generation)" = 2 ]' || fail "no renewal once the server was back"
assert_eq "$(status_field renewalsLeftThisHour)" 1 "renewals left after the one that arrived"
assert_eq "$(mock_count renew)" 1 "renewals the server saw"
daemon_stop
ok "$tries renewal attempts while the server was down; the one that arrived is the one counted"

# 2. Garbage instead of HTTP to token requests.
: >"$T/mock.log"
: >"$T/daemon.log"
mock_script "request garbage" "request garbage" "request garbage"
write_config "[Token]" "MaxFailedRequestsPerHour=2" "RetryMinSec=200ms" "RetryMaxSec=400ms"
daemon_start
wait_state rate_limited 10
assert_eq "$(status_field failedRequestsLeftThisHour)" 0 "failed requests left after two garbage replies"
case $(status_field lastError) in
*"request failed: "*"HTTP/0.9"*) ;;
*) fail "lastError: $(status_field lastError)" ;;
esac
sleep 2
assert_seq "request garbage -" "request garbage -"
assert_events request_failed request_failed rate_limited
grep -q '^tvtokend: warning: rate_limited: the local hourly ceiling is full (MaxFailedRequestsPerHour=2 reached)' \
	"$T/daemon.log" || fail "the ceiling's rate_limited event does not name it"
daemon_stop

assert_no_secrets "$T/daemon.log" "$T/mock.out"
assert_no_sanitizer_reports "$T/daemon.log" "$T/mock.out"
ok "garbage replies reached the server and counted; renewals that never left did not"
