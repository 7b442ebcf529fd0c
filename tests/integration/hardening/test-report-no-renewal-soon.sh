#!/bin/bash
# SPDX-License-Identifier: MIT
# A ReportRejected that waits for a renewal is answered as soon as the broker
# will not renew soon (issue 8, item 1): when the hourly ceiling fills during
# the retries, when Tradovate imposes a penalty, when the next retry would
# come after the token's expiry, when Tradovate cannot be reached and the
# next retry is more than RequestTimeoutSec= away (issue 8.1: not after an
# hour of backoff). It gets the token still held, unchanged;
# GetToken(wait) callers are not ended by a local ceiling (CONTRACT §7).
. "$(dirname "$0")/../failures/helpers.sh"

# tvtokenctl rejected GENERATION with a bound; prints "GENERATION MS" or fails.
report()
{
	local t0 out rc=0

	t0=$(now_ms)
	out=$(timeout 30 "$TVTOKENCTL" --socket "$SOCK" --json rejected "$1" 2>"$T/ctl.err") || rc=$?
	[ "$rc" -eq 0 ] || fail "tvtokenctl rejected $1 exited $rc (124: still waiting after 30 s): $(cat "$T/ctl.err")"
	echo "$(printf '%s\n' "$out" | sed -n 's/.*"generation":\([0-9]*\).*/\1/p') $(( $(now_ms) - t0 ))"
}

# 1. MaxRenewalsPerHour=3, five renewal 503s: the ceiling fills after three.
mock_start --lifetime 3600
write_config "[Token]" "MaxRenewalsPerHour=3" "RetryMinSec=200ms" "RetryMaxSec=400ms"
mock_script "renew 503" "renew 503" "renew 503" "renew 503" "renew 503"
daemon_start
wait_state valid 5
tok=$(ctl token)
read -r gen ms <<<"$(report 1)"
assert_eq "$gen" 1 "generation returned when the ceiling filled"
ok "the report waiting through three failed renewals was answered after $ms ms"
assert_eq "$(ctl token)" "$tok" "token still served"
assert_eq "$(status_field state)" rate_limited "state at the ceiling"
assert_eq "$(status_field renewalsLeftThisHour)" 0 "renewals left"
assert_seq "request ok 200" "renew 503 503" "renew 503 503" "renew 503 503"
# At the local ceiling a GetToken(wait) is served (there is a token): nothing ended by the ceiling.
assert_eq "$(get_token)" "token 1" "GetToken at the ceiling"
assert_events acquired renew_failed renew_failed renew_failed rate_limited
daemon_stop

# 2. A penalty on the renewal: the report gets the held token at once, not after p-time.
write_config "[Token]" "RetryMinSec=200ms" "RetryMaxSec=400ms"
mock_script "renew pticket 60"
daemon_start
wait_state valid 5
read -r gen ms <<<"$(report 1)"
assert_eq "$gen" 1 "generation returned under a renewal penalty"
assert_between "$ms" 0 10000 "report answered under a 60 s penalty (ms)"
assert_eq "$(status_field state)" penalty "state"
ok "the report waiting when a 60 s penalty came was answered after $ms ms"
daemon_stop

# 3. A 6 s token, retries 10 to 20 s apart: the retry would come after the expiry.
mock_config "lifetime 6"
write_config "[Token]" "RenewBeforeSec=1s" "RetryMinSec=20s" "RetryMaxSec=20s"
mock_script "renew 503"
daemon_start
wait_state valid 5
read -r gen ms <<<"$(report 1)"
assert_eq "$gen" 1 "generation returned when the retry lies past the expiry"
assert_eq "$(status_field state)" backoff "state"
ok "the report was answered after $ms ms, not at the token's expiry"
daemon_stop

# 4. Tradovate unreachable, the token good for an hour: the report is answered once the next
# retry lies beyond RequestTimeoutSec=2s (a few seconds of backoff), not at the expiry.
mock_config "lifetime 3600"
write_config
daemon_start
wait_state valid 5
kill "$MOCK_PID"
wait "$MOCK_PID" 2>/dev/null
read -r gen ms <<<"$(report 1)"
assert_eq "$gen" 1 "generation returned with Tradovate unreachable"
assert_between "$ms" 0 20000 "report answered with Tradovate unreachable (ms)"
assert_eq "$(status_field state)" backoff "state"
ok "with Tradovate unreachable the report was answered after $ms ms (RequestTimeoutSec=2s)"
daemon_stop

assert_no_secrets "$T/daemon.log" "$T/mock.out"
assert_no_sanitizer_reports "$T/daemon.log" "$T/mock.out"
ok "waiting reports are answered as soon as no renewal comes soon"
