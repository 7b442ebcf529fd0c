#!/bin/bash
# SPDX-License-Identifier: MIT
# Clock correction (CONTRACT §7): when the reply's Date is 2 s or more off the
# local clock, the token's remaining life is expirationTime - (Date + 1 s);
# below 2 s the local clock is trusted. Served expirationTime and nextRenewal
# follow, for token requests and renewals alike. A correction adds 15 min at
# most: a Date header 3500 s behind while expirationTime is right (issue 8)
# does not keep the token served for most of an hour past its real expiry.
. "$(dirname "$0")/helpers.sh"

# Milliseconds of life the served token has left, by its expirationTime.
life_left()
{
	local exp

	exp=$(ctl --json token | sed -n 's/.*"expirationTime":"\([^"]*\)".*/\1/p')
	[ -n "$exp" ] || fail "no token served"
	echo $(( $(rfc3339_ms "$exp") - $(now_ms) ))
}

# nextRenewal must be RenewBeforeSec (10 s) before the served expiry.
check_next_renewal()
{
	assert_eq $(( $(status_time_ms expirationTime) - $(status_time_ms nextRenewal) )) 10000 \
		"nextRenewal before expirationTime (ms), $1"
}

mock_start --lifetime 60 --date-offset 600
write_config "[Token]" "RenewBeforeSec=10s"
daemon_start
wait_state valid 5
# Server 10 min ahead: 60 s of life less the 1 s the Date header may be old,
# served in whole seconds.
assert_between "$(life_left)" 57000 60000 "life left, server 600 s ahead (ms)"
check_next_renewal "server 600 s ahead"

mock_config "date-offset 1.5"
ctl rejected >/dev/null || fail "ReportRejected failed"
assert_eq "$(status_field generation)" 2 "generation after the first renewal"
# Under 2 s off: the local clock is trusted; the server's expiry is 1.5 s late.
assert_between "$(life_left)" 60000 61500 "life left, server 1.5 s ahead (ms)"
check_next_renewal "server 1.5 s ahead"

mock_config "date-offset -600"
ctl rejected >/dev/null || fail "ReportRejected failed"
assert_eq "$(status_field generation)" 3 "generation after the second renewal"
assert_between "$(life_left)" 57000 60000 "life left, server 600 s behind (ms)"
check_next_renewal "server 600 s behind"

assert_seq "request ok 200" "renew ok 200" "renew ok 200"
assert_events acquired renewed renewed
daemon_stop

# Only the Date header lies, 3500 s behind: the token's real life is 60 s; 15 min are added, not 58.
mock_config "date-offset 0"
mock_config "date-header-offset -3500"
daemon_start
wait_state valid 5
assert_eq "$(mock_seq | tail -n 1)" "request ok 200" "the request of the second start"
assert_between "$(life_left)" 955000 961000 "life left, Date header 3500 s behind (ms)"
check_next_renewal "Date header 3500 s behind"
grep -q "Date header is 3500 s behind the local clock: the token's expiry is moved 15 min later, not more" \
	"$T/daemon.log" || fail "no warning about the capped correction"
daemon_stop
assert_no_secrets "$T/daemon.log" "$T/mock.out"
assert_no_sanitizer_reports "$T/daemon.log" "$T/mock.out"
ok "expiration corrected for a server clock 10 min off, not for 1.5 s, and by 15 min at most"
