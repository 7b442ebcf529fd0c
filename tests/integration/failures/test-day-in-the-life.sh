#!/bin/bash
# SPDX-License-Identifier: MIT
# A day in the life on a fast clock: 20 generations of 3-second tokens with
# every failure class of TRADOVATE.md injected, renewals until the hourly
# ceiling (15) is used up, then new tokens at each expiry. The exact upstream
# sequence is checked, and a client polling GetToken every 50 ms throughout
# is never served an expired token and sees every generation, in order.
. "$(dirname "$0")/helpers.sh"

mock_start --lifetime 3
write_config "[Tradovate]" "RequestTimeoutSec=600ms" \
	"[Token]" "RenewBeforeSec=1.5s" "RetryMinSec=300ms" "RetryMaxSec=300ms" \
	"LockoutSec=2s" "MaxRenewalsPerHour=15" "MaxFailedRequestsPerHour=5"

# Each renewal window is 1.5 s; every retry inside one fits with >= 0.5 s to spare.
mock_script \
	"request ok" \
	"renew ok" \
	"renew 503" "renew malformed" "renew close" "renew ok" \
	"renew stall 5" "renew ok" \
	"renew pticket 0.5" "renew ok" \
	"renew 429 1" "renew ok" \
	"renew 401" "request 503" "request ok" \
	"renew errortext" "request pticket 0.5" "request ok" \
	"renew 423" "request 429 1" "request ok" \
	"renew 503" "request captcha 1" "request ok" \
	"request errortext" "request ok"

expected=(
	"request ok 200"                # generation 1
	"renew ok 200"                  # 2: a plain renewal
	"renew 503 503"                 #    transient failures, retried in the window
	"renew malformed 200"
	"renew close -"
	"renew ok 200"                  # 3
	"renew stall 200"               #    past RequestTimeoutSec
	"renew ok 200"                  # 4
	"renew pticket 200"             #    penalty on the renewal
	"renew ok 200"                  # 5
	"renew 429 429"                 #    Retry-After: 1
	"renew ok 200"                  # 6
	"renew 401 401"                 #    refused: fallback at once
	"request 503 503"               #    transient failure of the request
	"request ok 200"                # 7
	"renew errortext 200"           #    refused: fallback at once
	"request pticket 200"           #    penalty on the request
	"request ok 200 pticket=1"      # 8
	"renew 423 423"                 #    lockout outlasting the token: expiry
	"request 429 429"               #    after the lockout; Retry-After: 1
	"request ok 200"                # 9
	"renew 503 503"                 #    the 15th renewal: the ceiling is full, expiry
	"request captcha 200"           #    lockout
	"request ok 200"                # 10
	"request errortext 200"         #    at expiry (ceiling); rejected until SIGHUP
	"request ok 200"                # 11
)
for g in 12 13 14 15 16 17 18 19 20 21; do
	expected+=("request ok 200")    # at each expiry: the ceiling allows no renewal
done

daemon_start
t0=$(now_ms)
poll_start 80
wait_state credentials_rejected 50
# From here on, 2-second tokens: the ceiling lets none be renewed.
mock_config "lifetime 2"
daemon_reload
wait_until 40 '[ "$(status_field generation)" -ge 20 ]' ||
	fail "generation 20 was not reached: $(ctl --json status)"
# The last token lives long: the checks below must not race a 22nd one on a loaded machine.
mock_config "lifetime 60"
wait_until 10 '[ "$(status_field generation)" -ge 21 ]' ||
	fail "generation 21 was not reached: $(ctl --json status)"
poll_wait_generation 21 5
poll_check
assert_eq "$(status_field accessTokenRequests)" "$(mock_count request)" "token requests: broker's count vs server's"
assert_eq "$(status_field renewals)" "$(mock_count renew)" "renewals: broker's count vs server's"
assert_eq "$(status_field renewalsLeftThisHour)" 0 "renewals left"
assert_eq "$(status_field failedRequestsLeftThisHour)" 1 "failed requests left"
daemon_stop

echo "--- the day, as the mock saw it (s since start, endpoint, outcome, status):"
awk -v t0="$t0" '{ $1 = sprintf("%7.3f", $1 - t0 / 1000); print }' "$T/mock.log"
echo "--- events: $(daemon_events | uniq -c | awk '{ printf "%s%s", sep, ($1 > 1 ? $2 "x" $1 : $2); sep = " " }')"
assert_seq "${expected[@]}"
assert_eq "$(poll_generations)" "$(seq -s ' ' 1 21)" "generations served, in order"
events=(
	acquired                                        # 1
	renewed                                         # 2
	renew_failed renew_failed renew_failed renewed  # 3
	renew_failed renewed                            # 4
	penalty renewed                                 # 5
	rate_limited renewed                            # 6
	renew_failed fallback request_failed acquired   # 7
	renew_failed fallback penalty acquired          # 8
	locked_out expired fallback rate_limited acquired       # 9
	renew_failed rate_limited expired fallback locked_out acquired  # 10: the ceiling is full
	expired fallback credentials_rejected acquired  # 11
)
for g in 12 13 14 15 16 17 18 19 20 21; do
	events+=(expired fallback acquired)
done
assert_events "${events[@]}"
assert_no_secrets "$T/daemon.log" "$T/mock.out"
assert_no_sanitizer_reports "$T/daemon.log" "$T/mock.out"
ok "20 token generations in $(( ($(now_ms) - t0) / 1000 )) s, every failure handled"
