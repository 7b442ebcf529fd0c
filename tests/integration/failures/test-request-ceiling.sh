#!/bin/bash
# SPDX-License-Identifier: MIT
# MaxFailedRequestsPerHour: connection failures are retried but not counted;
# failed token requests that reached the server are, and at the ceiling the
# broker stops (rate_limited, retryAt an hour after the first failure) and
# sends no third request.
. "$(dirname "$0")/helpers.sh"

mock_start
# A port nobody listens on: a mock that was started and stopped again.
"$MOCK" --port-file "$T/dead.port" >/dev/null 2>&1 &
dead=$!
PIDS+=("$dead")
wait_until 5 '[ -s "$T/dead.port" ]' || fail "the second mock did not start"
kill -TERM "$dead"
wait "$dead"
dead_url=http://127.0.0.1:$(cat "$T/dead.port")/v1
ceiling=("[Token]" "MaxFailedRequestsPerHour=2" "RetryMinSec=200ms" "RetryMaxSec=400ms")

write_config "${ceiling[@]}" "[Tradovate]" "BaseURL=$dead_url"
daemon_start
wait_until 10 '[ "$(status_field accessTokenRequests)" -ge 4 ]' ||
	fail "connection failures were not retried: $(ctl --json status)"
assert_eq "$(status_field state)" backoff "state after connection failures"
assert_eq "$(status_field failedRequestsLeftThisHour)" 2 "failed requests left after connection failures"
case $(status_field lastError) in
*onnect*) ;;
*) fail "lastError does not tell a connection failure: $(status_field lastError)" ;;
esac
assert_eq "$(mock_lines)" 0 "requests seen by the mock"
refused=$(daemon_events | grep -c request_failed)

write_config "${ceiling[@]}"
mock_script "request 503" "request 503"
kill -HUP "$DAEMON_PID"
wait_requests 2 5
wait_state rate_limited 5
assert_eq "$(status_field failedRequestsLeftThisHour)" 0 "failed requests left at the ceiling"
retry=$(status_time_ms retryAt)
assert_between $(( retry - $(mock_time 1) - 3600000 )) -1000 300 "retryAt: an hour after the first failed request (ms)"
assert_eq "$(get_token)" io.tvtokend.Broker.NoToken "GetToken at the ceiling"
# At a local ceiling a waiting client keeps waiting (NoToken is for a 429).
watch_start w --wait --duration 1
rc=0
timeout 5 tail --pid="$WATCH_PID_w" -f /dev/null
wait "$WATCH_PID_w" || rc=$?
assert_eq "$rc" 1 "waiting client at the local ceiling (1: still waiting after 1 s)"
assert_eq "$(cat "$T/w.out")" "" "replies to the waiting client"

# Ten retry periods: no third request.
sleep 3
assert_seq "request 503 503" "request 503 503"
assert_eq "$(status_field state)" rate_limited "state after waiting"
# (A connection failure may still come between counting them and the reload: count the 503s.)
assert_eq "$(grep -c '^tvtokend: warning: request_failed: .*HTTP 503' "$T/daemon.log")" 2 "request_failed events of the 503s"
assert_eq "$(status_field accessTokenRequests)" $(( $(status_field failures) )) "every attempt failed"
daemon_stop
assert_no_secrets "$T/daemon.log" "$T/mock.out"
assert_no_sanitizer_reports "$T/daemon.log" "$T/mock.out"
ok "$refused connection failures not counted; 2 failed requests reached the ceiling"
