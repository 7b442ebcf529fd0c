#!/bin/bash
# SPDX-License-Identifier: MIT
# ReportRejected: the current generation reported by many clients at once
# brings exactly one renewal, whose token every reporter gets; an older
# generation gets the current token at once with no upstream request; a newer
# or negative generation, or an unknown member, is InvalidParameter.
. "$IT_LIB"
. "$(dirname "$0")/helpers.sh"

REPORTERS=6

mock_start
# The renewal takes 4 s: every report arrives while it is in flight.
mock_script "renew stall 4"
write_config "[Tradovate]" "RequestTimeoutSec=10s"
daemon_start
wait_state valid 5
gen1=$(ctl token) || fail "no first token"

for i in $(seq "$REPORTERS"); do
	bg_start "$T/report.$i" "$VLCALL" --timeout 15 "$SOCK" \
		"$(vl_msg io.tvtokend.Broker.ReportRejected '{"generation":1}')"
	reporters+=("$BG_PID")
done
# All reporters connected (and the GetStatus caller): their calls are held.
wait_until 3 '[ "$(status_field clients)" = $((REPORTERS + 1)) ]' ||
	fail "the reporters did not all connect: $(status_field clients) clients"
assert_eq "$(status_field state)" renewing "state while the reported token is renewed"
for p in "${reporters[@]}"; do
	running "$p" || fail "a ReportRejected returned before the renewal was done"
done
for p in "${reporters[@]}"; do
	wait_pid 15 "$p" || fail "a ReportRejected failed"
done
assert_eq "$(cat "$T"/report.? | jq -r .parameters.token.generation | sort -u)" 2 \
	"generation every reporter got"
new=$(cat "$T"/report.? | jq -r .parameters.token.accessToken | sort -u)
assert_eq "$(wc -l <<<"$new")" 1 "one token for every reporter"
[ "$new" != "$gen1" ] || fail "the reporters got the rejected token back"
assert_eq "$new" "$(ctl token)" "the reporters' token is the one served"
assert_eq "$(mock_requests)" "request ok 200
renew stall 200" "$REPORTERS concurrent reports: one renewal"
ok "$REPORTERS concurrent reports of the current generation: one renewal, the new token for all"

# An old generation: the current token at once, nothing sent upstream.
for g in 1 0; do
	r=$(vl "$(vl_msg io.tvtokend.Broker.ReportRejected "{\"generation\":$g}")") ||
		fail "ReportRejected($g) got no reply"
	assert_eq "$(jget "$r" .parameters.token.generation)" 2 "ReportRejected($g) answer"
	assert_eq "$(jget "$r" .parameters.token.accessToken)" "$new" "ReportRejected($g) token"
done
assert_eq "$(mock_count renew)" 1 "renewals after reports of old generations"
assert_eq "$(status_field renewals)" 1 "GetStatus renewals"
ok "old generations: the current token at once, no request"

# Newer than current, negative, a wrong type, missing, or an unknown member.
for params in '{"generation":3}' '{"generation":-1}' '{"generation":"2"}' '{"generation":2.0}' \
	'{}' '{"generation":2,"reason":"x"}'; do
	r=$(vl "$(vl_msg io.tvtokend.Broker.ReportRejected "$params")") || fail "no reply to $params"
	want=generation
	[ "$params" = '{"generation":2,"reason":"x"}' ] && want=reason
	assert_eq "$(jget "$r" .error)" org.varlink.service.InvalidParameter "ReportRejected $params"
	assert_eq "$(jget "$r" .parameters.parameter)" "$want" "parameter named for $params"
done
assert_eq "$(mock_count renew)" 1 "renewals after invalid reports"
assert_eq "$(status_field generation)" 2 "generation after invalid reports"
ok "invalid generations and members: InvalidParameter naming the parameter"

daemon_stop
assert_clean_logs
ok "ReportRejected"
