#!/bin/bash
# SPDX-License-Identifier: MIT
# A slow upstream is reported (Tradovate's conformance limits: a token request
# answered in < 2 s, a renewal in < 1 s): one "slow upstream" warning per
# request over its limit, naming the kind of request and its duration, and
# none for requests within it. The mock holds back (stall) the replies, all
# well inside RequestTimeoutSec=10s:
#   token request 2.5 s   -> warning "token request took N ms", N >= 2500
#   renewal       1.5 s   -> warning "renewal took N ms", N >= 1500
#   renewal       401     -> fallback
#   token request 1 s     -> no warning
#   renewal       0.3 s   -> no warning
. "$(dirname -- "${BASH_SOURCE[0]}")/run-lib.sh"
run_need timeout

# "N" of the one warning line about the given request kind.
slow_ms()
{
	sed -n "s/^tvtokend: warning: slow upstream: the $1 took \\([0-9]*\\) ms (Tradovate's limit is $2)\$/\\1/p" "$T/daemon.log"
}

mock_start --lifetime 8
mock_script "request stall 2.5" "renew stall 1.5" "renew 401" "request stall 1" "renew stall 0.3"
write_config "[Tradovate]" "RequestTimeoutSec=10s" "[Token]" "RenewBeforeSec=6s"
daemon_start
wait_until 40 '[ "$(status_field generation)" = 4 ]' ||
	fail "the scripted sequence did not reach generation 4 (at $(status_field generation))"
daemon_stop

assert_eq "$(mock_requests)" "$(printf '%s\n' "request stall 200" "renew stall 200" "renew 401 401" \
	"request stall 200" "renew stall 200")" "upstream requests"

assert_eq "$(grep -c 'slow upstream' "$T/daemon.log")" 2 "slow upstream warnings"

n=$(slow_ms "token request" "2 s")
[ -n "$n" ] || fail "no warning naming the slow token request and its duration"
[ "$n" -ge 2500 ] && [ "$n" -lt 12000 ] || fail "the token request stalled 2.5 s, the warning says $n ms"
grep -q "acquired a new token (generation 1), expires .*; request took $n ms\$" "$T/daemon.log" ||
	fail "the acquired entry does not give the same $n ms"
ok "token request of 2.5 s: warning, $n ms"

n=$(slow_ms "renewal" "1 s")
[ -n "$n" ] || fail "no warning naming the slow renewal and its duration"
[ "$n" -ge 1500 ] && [ "$n" -lt 11000 ] || fail "the renewal stalled 1.5 s, the warning says $n ms"
grep -q "renewed the token (generation 2), expires .*; renewal took $n ms\$" "$T/daemon.log" ||
	fail "the renewed entry does not give the same $n ms"
ok "renewal of 1.5 s: warning, $n ms"

# The warning comes with the reply, before the entry about its outcome.
assert_eq "$(grep -E 'slow upstream|acquired|renewed' "$T/daemon.log" | cut -d: -f2- | cut -c1-30 | head -n 4)" \
	"$(printf '%s\n' " warning: slow upstream: the t" " acquired: acquired a new toke" \
		" warning: slow upstream: the r" " renewed: renewed the token (g")" "order of the entries"
grep -q "acquired a new token (generation 3), expires .*; request took 1[0-9][0-9][0-9] ms\$" "$T/daemon.log" ||
	fail "the second token request (1 s, within the limit) is not logged with its duration"
ok "token request of 1 s and renewal of 0.3 s: no warning"
assert_no_secrets "$T/daemon.log"
