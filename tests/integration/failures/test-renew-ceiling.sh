#!/bin/bash
# SPDX-License-Identifier: MIT
# MaxRenewalsPerHour under ReportRejected storms: one renewal per reported
# generation however many clients report it, exactly MaxRenewalsPerHour
# renewals in all; at the ceiling ReportRejected answers at once with the
# current token, unchanged, and one rate_limited event says the ceiling is full.
. "$(dirname "$0")/helpers.sh"

# Ten clients report GENERATION at once; prints the generations they got back.
storm()
{
	local i pids=()

	for i in 1 2 3 4 5 6 7 8 9 10; do
		vl "{\"method\":\"io.tvtokend.Broker.ReportRejected\",\"parameters\":{\"generation\":$1}}" \
			>"$T/storm.$1.$i" 2>&1 &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i" || fail "a ReportRejected call failed: $(cat "$T"/storm."$1".*)"
	done
	sed -n 's/.*"generation":\([0-9]*\).*/\1/p' "$T"/storm."$1".* | sort | uniq -c | awk '{ print $1 "x" $2 }'
}

mock_start --lifetime 60
write_config "[Token]" "MaxRenewalsPerHour=2" "RenewBeforeSec=10s"
# The first renewal stalls, so the whole storm arrives while it is in flight.
mock_script "renew stall 1"
daemon_start
wait_state valid 5
assert_eq "$(status_field renewalsLeftThisHour)" 2 "renewals left at start"

assert_eq "$(storm 1)" "10x2" "generations returned to ten reports of generation 1"
assert_seq "request ok 200" "renew stall 200"
assert_eq "$(storm 2)" "10x3" "generations returned to ten reports of generation 2"
assert_seq "request ok 200" "renew stall 200" "renew ok 200"
assert_eq "$(status_field renewalsLeftThisHour)" 0 "renewals left at the ceiling"

t0=$(now_ms)
assert_eq "$(storm 3)" "10x3" "generations returned to ten reports at the ceiling"
assert_between $(( $(now_ms) - t0 )) 0 1500 "ten reports at the ceiling answered at once (ms)"
assert_eq "$(storm 1)" "10x3" "generations returned to ten reports of an old generation"
assert_seq "request ok 200" "renew stall 200" "renew ok 200"
assert_eq "$(ctl --json rejected | sed -n 's/.*"generation":\([0-9]*\).*/\1/p')" 3 "tvtokenctl rejected at the ceiling"
for g in 4 -1; do
	r=$(vl "{\"method\":\"io.tvtokend.Broker.ReportRejected\",\"parameters\":{\"generation\":$g}}")
	case $r in
	*'"error":"org.varlink.service.InvalidParameter"'*'"parameter":"generation"'*) ;;
	*) fail "ReportRejected($g) answered $r" ;;
	esac
done
assert_eq "$(get_token)" "token 3" "GetToken"
assert_eq "$(status_field renewals)" 2 "renewals"
assert_eq "$(status_field renewalsLeftThisHour)" 0 "renewals left"
grep -q 'ceiling (MaxRenewalsPerHour=2) is reached' "$T/daemon.log" || fail "the ceiling was not logged"
# The full ceiling blocks the next renewal: one rate_limited event for the episode, however many reports.
grep -q '^tvtokend: warning: rate_limited: the local hourly ceiling is full (MaxRenewalsPerHour=2 reached)' \
	"$T/daemon.log" || fail "the ceiling's rate_limited event does not name it"
assert_events acquired renewed renewed rate_limited
daemon_stop
assert_no_secrets "$T/daemon.log" "$T/mock.out"
assert_no_sanitizer_reports "$T/daemon.log" "$T/mock.out"
ok "two renewals for 40 reports; the ceiling answered with the current token"
