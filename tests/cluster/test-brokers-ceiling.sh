#!/bin/bash
# SPDX-License-Identifier: MIT
# The hourly renewal ceiling travels with the leader's value: with
# MaxRenewalsPerHour=3, renewals forced through ReportRejected on the
# leader, a fail-over (kill -9), on the next leader, another fail-over, on
# the third: the mock sees exactly three renewals, and the fourth report
# (on a leader, and on a follower) is answered with the current token.
# Usage: test-brokers-ceiling.sh TVTOKEND TVTOKENCTL MOCK VARLINK-CALL TOKEN-POLL
. "$(dirname "$0")/brokers.sh"

mock_start --lifetime 3600
three_brokers "[Token]" "MaxRenewalsPerHour=3"

# ReportRejected of the current generation on broker $1: prints the generation answered.
report()
{
	local g r

	g=$(b_token "$1" | cut -d' ' -f1)
	r=$(VL_TIMEOUT=20 b_vl "$1" "{\"method\":\"io.tvtokend.Broker.ReportRejected\",\"parameters\":{\"generation\":$g}}") ||
		fail "ReportRejected on b$1 got no reply"
	jq -r '.parameters.token.generation' <<<"$r"
}

for round in 1 2 3; do
	L=$LEADER
	g=$(b_token "$L" | cut -d' ' -f1)
	got=$(report "$L")
	[ "$got" -gt "$g" ] || fail "round $round: the report on leader b$L was answered with generation $got"
	assert_eq "$(mock_count renew)" "$round" "renewals after round $round"
	wait_until 10 'same_token_among $(others_than x | tr " " "\n" | while read -r i; do [ -n "${B_PIDS[$i]:-}" ] && echo "$i"; done)' ||
		fail "round $round: the brokers disagree"
	ok "round $round: b$L renewed on report (generation $got)"
	[ "$round" = 3 ] && break
	b_kill "$L"
	read -r -a rest <<<"$(for i in 1 2 3; do [ -n "${B_PIDS[$i]:-}" ] && printf '%s ' "$i"; done)"
	wait_until $(( LEASE_SEC + 20 )) one_leader_among "${rest[@]}" || fail "no leader after killing b$L"
	# The killed broker comes back as a follower, from its state file.
	b_start "$L"
	wait_until 30 one_leader_among 1 2 3 || fail "b$L did not rejoin as a follower"
	ok "fail-over $round: b$LEADER leads, b$L back as a follower"
done

# The ceiling is reached: the fourth report gets the current token, on the leader and on a follower.
L=$LEADER
g=$(b_token "$L" | cut -d' ' -f1)
assert_eq "$(report "$L")" "$g" "the 4th report on the leader"
f=$(others_than "$L" | cut -d' ' -f1)
assert_eq "$(report "$f")" "$g" "the 4th report on follower b$f"
sleep 2
assert_eq "$(mock_count renew)" 3 "renewals in the hour (MaxRenewalsPerHour=3)"
assert_eq "$(mock_count request)" 1 "token requests"
assert_eq "$(b_field "$f" renewalsLeftThisHour)" 0 "renewalsLeftThisHour on follower b$f"
ok "no 4th renewal within the hour across two fail-overs; reports answered with generation $g"
