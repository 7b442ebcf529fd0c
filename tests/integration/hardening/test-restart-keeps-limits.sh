#!/bin/bash
# SPDX-License-Identifier: MIT
# Every limit survives kill -9 (issue 8, items 2 and 7): the state file keeps
# the rolling windows behind MaxRenewalsPerHour and MaxFailedRequestsPerHour,
# Tradovate's waits (429, p-ticket with its ticket); rejected credentials are
# tried once more, as a reload would, their failed request still counted.
# Over repeated kill -9 restarts the mock never sees more renewals, or more
# failed token requests, in the hour than the ceilings allow; and no temp
# file of a killed write survives the next start.
. "$(dirname "$0")/../failures/helpers.sh"

state=$T/state/token.json
mkdir -p "$T/state"

# kill -9 the daemon and reap it.
daemon_kill()
{
	kill -KILL "$DAEMON_PID" 2>/dev/null
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_PID=
}

# N kill -9 restarts, each after a random 200 to 1200 ms.
restarts()
{
	local i

	for i in $(seq "$1"); do
		sleep "0.$(( RANDOM % 10 + 2 ))"
		[ "$(( RANDOM % 5 ))" -ne 0 ] || sleep 0.5
		daemon_kill
		daemon_start
	done
}

# How many lines of the mock log match the extended regexp.
mock_matching()
{
	mock_seq | grep -c -E "$1"
}

# 1. Renewals: 4 s tokens renewed 1 s after they arrive, MaxRenewalsPerHour=3.
mock_start --lifetime 4
write_config "[Token]" "StateFile=$state" "RenewBeforeSec=3s" "MaxRenewalsPerHour=3" \
	"RetryMinSec=200ms" "RetryMaxSec=400ms"
daemon_start
restarts 15
# Let it settle (renewals every second until the ceiling is full), then count.
wait_until 15 '[ "$(status_field renewalsLeftThisHour)" = 0 ]' ||
	fail "renewalsLeftThisHour after the restarts: $(status_field renewalsLeftThisHour), not 0"
sleep 1
n=$(mock_count renew)
assert_eq "$n" 3 "renewals the mock saw over 15 kill -9 restarts (MaxRenewalsPerHour=3)"
grep -q "restored the hourly counts from $state" "$T/daemon.log" || fail "restoring the counts was not logged"
daemon_stop
ok "15 kill -9 restarts: $n renewals reached the mock ($(mock_count request) token requests)"

# 2. Failed token requests: every request gets a 503, MaxFailedRequestsPerHour=2.
rm -f "$state"
: >"$T/mock.log"
lines=()
for i in $(seq 40); do
	lines+=("request 503")
done
mock_script "${lines[@]}"
write_config "[Token]" "StateFile=$state" "MaxFailedRequestsPerHour=2" "RetryMinSec=100ms" "RetryMaxSec=200ms"
daemon_start
restarts 10
wait_state rate_limited 10
sleep 1
n=$(mock_matching '^request 503 503')
assert_eq "$n" 2 "failed token requests the mock saw over 10 kill -9 restarts"
assert_eq "$(status_field failedRequestsLeftThisHour)" 0 "failed requests left"
assert_eq "$(status_field state)" rate_limited "state"
daemon_stop
ok "10 kill -9 restarts: 2 failed token requests reached the mock"
curl -sf --max-time 5 -X POST "${MOCK_URL%/v1}/_mock/reset" >/dev/null || fail "cannot reset the mock"

# 3. A 429 with Retry-After: an hour: no request after a restart.
rm -f "$state"
: >"$T/mock.log"
mock_script "request 429 3600"
write_config "[Token]" "StateFile=$state" "RetryMinSec=100ms" "RetryMaxSec=200ms"
daemon_start
wait_state rate_limited 5
daemon_kill
daemon_start
assert_eq "$(status_field state)" rate_limited "state after a restart inside a 429"
grep -q "restored from $state: rate_limited until" "$T/daemon.log" || fail "the restored hold was not logged"
sleep 1
assert_seq "request 429 429"
daemon_stop
ok "a 429's Retry-After outlives kill -9"

# 4. A penalty: the restarted broker waits out p-time and resends the ticket.
rm -f "$state"
: >"$T/mock.log"
mock_script "request pticket 2"
daemon_start
wait_state penalty 5
daemon_kill
daemon_start
assert_eq "$(status_field state)" penalty "state after a restart inside a penalty"
wait_state valid 10
assert_seq "request pticket 200" "request ok 200 pticket=1"
daemon_stop
ok "a p-ticket and its p-time outlive kill -9"

# 5. Rejected credentials: a restart, like a reload, tries them once more (the
# operator may have fixed them); the rejected requests still count in the hour.
rm -f "$state"
: >"$T/mock.log"
mock_script "request errortext" "request errortext"
daemon_start
wait_state credentials_rejected 5
daemon_kill
daemon_start
wait_state credentials_rejected 5
sleep 1
assert_seq "request errortext 200" "request errortext 200"
assert_eq "$(status_field failedRequestsLeftThisHour)" 2 "failed requests left after two rejections across a restart"
kill -HUP "$DAEMON_PID"
wait_state valid 5
assert_seq "request errortext 200" "request errortext 200" "request ok 200"
daemon_stop
ok "a restart tries rejected credentials once more; the rejections count across it"

# 6. Temp files of a killed write (a token inside) are removed at start; nothing else is.
ls "$state".?????? >/dev/null 2>&1 && echo "note: a kill hit a write: $(ls "$state".??????)"
(umask 077; printf '{"version":2,"accessToken":"tok-9-0123456789abcdef"' >"$state.Zq9xY3")
(umask 077; printf 'keep' >"$state.bak")
daemon_start
[ ! -e "$state.Zq9xY3" ] || fail "the stale temp file survived the start"
[ -e "$state.bak" ] || fail "a file that is no temp file was removed"
ls "$state".?????? >/dev/null 2>&1 && fail "temp files left: $(ls "$state".??????)"
grep -q "removed [0-9]* temp files\{0,1\} a killed write left beside $state" "$T/daemon.log" ||
	fail "the removal was not logged"
daemon_stop

ok "temp files of killed writes are removed at start"

# 7. A state file that cannot be written: said once, not at every request, and when it works again.
: >"$T/daemon.log"
mock_config "lifetime 3600"
write_config "[Token]" "StateFile=$T/later/token.json"
daemon_start
wait_state valid 5
ctl rejected >/dev/null || fail "tvtokenctl rejected failed"
ctl rejected >/dev/null || fail "tvtokenctl rejected failed"
assert_eq "$(grep -c "cannot write state file $T/later/token.json" "$T/daemon.log")" 1 "warnings about the state file"
mkdir "$T/later"
ctl rejected >/dev/null || fail "tvtokenctl rejected failed"
wait_until 5 'grep -q "state file $T/later/token.json written again" "$T/daemon.log"' || fail "the recovery was not logged"
[ -s "$T/later/token.json" ] || fail "no state file after the directory appeared"
daemon_stop
ok "an unwritable state file is reported once"

assert_no_secrets "$T/daemon.log" "$T/mock.out"
assert_no_sanitizer_reports "$T/daemon.log" "$T/mock.out"
ok "limits, holds and rejections survived every kill -9; no temp file with a token stayed behind"
