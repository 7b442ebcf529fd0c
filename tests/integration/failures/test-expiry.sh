#!/bin/bash
# SPDX-License-Identifier: MIT
# Renewals that keep failing (503) until the token expires: no renewal is sent
# at or after expiry, the token is never served at or after its
# expirationTime, a "more" watcher gets NoToken at expiry, and a token request
# follows at expiry.
. "$(dirname "$0")/helpers.sh"

mock_start --lifetime 60
write_config "[Token]" "RenewBeforeSec=4s" "RetryMinSec=1s" "RetryMaxSec=1s"
mock_script "request lifetime 6" \
	"renew 503" "renew 503" "renew 503" "renew 503" "renew 503" "renew 503" \
	"renew 503" "renew 503" "renew 503" "renew 503" "renew 503" "renew 503" \
	"request stall 1"
daemon_start
poll_start 30
wait_state valid 5
watch_start w --replies 2 --duration 20
exp=$(rfc3339_ms "$(status_field expirationTime)")
assert_between $(( exp - $(now_ms) )) 4000 6000 "life left of the first token (ms)"

watch_wait w 15
wait_state valid 5
poll_wait_generation 2 5
poll_check

n=$(mock_lines)
k=$(( n - 2 ))
want=("request lifetime 200")
for ((i = 0; i < k; i++)); do
	want+=("renew 503 503")
done
want+=("request stall 200")
assert_seq "${want[@]}"
ok "renewals before expiry: $k"
# Renewals from exp - 4 s, every 0.5 to 1 s, while before expiry.
assert_between "$k" 4 8 "renewals sent before expiry"
for ((i = 2; i <= k + 1; i++)); do
	[ "$(mock_time "$i")" -lt "$exp" ] || fail "renewal $((i - 1)) was sent $(( $(mock_time "$i") - exp )) ms after expiry"
done
for ((i = 2; i <= k; i++)); do
	assert_between "$(mock_gap "$i" $((i + 1)))" 500 1400 "delay before renewal $i"
done
assert_between $(( $(mock_time "$n") - exp )) 0 300 "token request after expiry (ms)"
assert_eq "$(poll_phases)" "1 NoToken/requesting 2" "what GetToken served"
assert_eq "$(watch_line w 1)" "token 1" "watcher, first reply"
assert_eq "$(watch_line w 2)" "error io.tvtokend.Broker.NoToken requesting" "watcher, at expiry"
assert_between $(( $(watch_time w 2) - exp )) 0 300 "watcher told after expiry (ms)"
events=(acquired)
for ((i = 0; i < k; i++)); do
	events+=(renew_failed)
done
assert_events "${events[@]}" expired fallback acquired
assert_eq "$(status_field renewals)" "$k" "renewals"
assert_eq "$(status_field accessTokenRequests)" 2 "token requests"
assert_eq "$(status_field generation)" 2 "generation"
daemon_stop
assert_no_secrets "$T/daemon.log" "$T/mock.out"
assert_no_sanitizer_reports "$T/daemon.log" "$T/mock.out"
ok "the token expired unrenewed, was not served past expiry, and was replaced"
