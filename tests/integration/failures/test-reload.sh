#!/bin/bash
# SPDX-License-Identifier: MIT
# SIGHUP: the token is kept when the account is unchanged; dropped and
# requested anew when Name or BaseURL changes (watchers get NoToken); a config
# that no longer loads keeps the old one; a lockout survives a reload.
. "$(dirname "$0")/helpers.sh"

mock_start --lifetime 60
base=("[Token]" "LockoutSec=4s")
write_config "${base[@]}"
daemon_start
wait_state valid 5
tok1=$(ctl token)
exp=$(status_time_ms expirationTime)
assert_eq "$(status_field renewalsLeftThisHour)" 12 "renewals left at start (default ceiling)"
watch_start w1 --replies 2 --duration 30

# 1. Same account, new settings: token kept, nothing sent, settings applied.
write_config "${base[@]}" "MaxRenewalsPerHour=5"
daemon_reload
assert_eq "$(status_field renewalsLeftThisHour)" 5 "renewals left after the reload"
assert_eq "$(ctl token)" "$tok1" "token after a reload of the same account"
assert_eq "$(status_field state)" valid "state after the reload"

# 2. A config that no longer loads: the old one stays, and says why.
write_config "${base[@]}" "MaxRenewalsPerHour=3" "Bogus=1"
daemon_reload
wait_until 5 'grep -q "reload failed, keeping the old configuration: .*Bogus" "$T/daemon.log"' ||
	fail "the failed reload was not logged"
assert_eq "$(status_field renewalsLeftThisHour)" 5 "renewals left after a failed reload"
assert_eq "$(ctl token)" "$tok1" "token after a failed reload"
assert_eq "$(cut -d' ' -f3- "$T/w1.out")" "token 1 $(( exp * 1000 ))" "watcher through same-account reloads"
assert_seq "request ok 200"

# 3. Name changed: the token is dropped at once (watcher told) and a request sent.
write_config "${base[@]}" "MaxRenewalsPerHour=5" "[Tradovate]" "Name=other"
daemon_reload
watch_wait w1 5
assert_eq "$(watch_line w1 2 | cut -d' ' -f1-2)" "error io.tvtokend.Broker.NoToken" "watcher at the Name change"
wait_requests 2 5
wait_state credentials_rejected 5
assert_eq "$(get_token)" io.tvtokend.Broker.NoToken "GetToken for the other name"
write_config "${base[@]}" "MaxRenewalsPerHour=5"
daemon_reload
wait_state valid 5
assert_eq "$(status_field generation)" 2 "generation after the Name came back"
assert_seq "request ok 200" "request ok 200 reject=name" "request ok 200"

# 4. BaseURL changed: dropped, requested from the new server.
"$MOCK" --port-file "$T/b.port" --log "$T/b.log" --lifetime 60 >"$T/b.out" 2>&1 &
PIDS+=($!)
wait_until 5 '[ -s "$T/b.port" ]' || fail "the second mock did not start"
url_b=http://127.0.0.1:$(cat "$T/b.port")/v1
watch_start w2 --replies 2 --duration 30
wait_until 5 '[ -s "$T/w2.out" ]' || fail "watcher 2 got no token"
write_config "${base[@]}" "MaxRenewalsPerHour=5" "[Tradovate]" "BaseURL=$url_b"
daemon_reload
watch_wait w2 5
assert_eq "$(watch_line w2 1 | cut -d' ' -f1-2)" "token 2" "watcher 2 before the BaseURL change"
assert_eq "$(watch_line w2 2 | cut -d' ' -f1-2)" "error io.tvtokend.Broker.NoToken" "watcher 2 at the BaseURL change"
wait_state valid 5
assert_eq "$(status_field generation)" 3 "generation from the new server"
assert_eq "$(cut -d' ' -f2- "$T/b.log")" "request ok 200" "requests seen by the new server"
assert_seq "request ok 200" "request ok 200 reject=name" "request ok 200"

# 5. A lockout (423 on a renewal) survives a reload of the same account.
curl -sf --max-time 5 --data-binary "renew 423" "${url_b%/v1}/_mock/script" >/dev/null ||
	fail "cannot script the second mock"
assert_eq "$(ctl --json rejected | sed -n 's/.*"generation":\([0-9]*\).*/\1/p')" 3 "ReportRejected answered in the lockout"
wait_state locked_out 5
retry=$(status_field retryAt)
write_config "${base[@]}" "MaxRenewalsPerHour=4" "[Tradovate]" "BaseURL=$url_b"
daemon_reload
assert_eq "$(status_field state)" locked_out "state after reloading in the lockout"
assert_eq "$(status_field retryAt)" "$retry" "retryAt after reloading in the lockout"
assert_eq "$(get_token)" "token 3" "GetToken in the lockout"
wait_until 8 '[ "$(wc -l <"$T/b.log")" -ge 3 ]' || fail "no renewal after the lockout"
wait_state valid 5
assert_eq "$(cut -d' ' -f2- "$T/b.log")" "request ok 200
renew 423 423
renew ok 200" "requests seen by the new server"
t423=$(sed -n 2p "$T/b.log" | awk '{ printf "%.0f", $1 * 1000 }')
tok=$(sed -n 3p "$T/b.log" | awk '{ printf "%.0f", $1 * 1000 }')
assert_between $(( tok - t423 )) 4000 4400 "quiet time after the 423 across the reload (LockoutSec 4 s)"
assert_eq "$(status_field generation)" 4 "generation after the lockout"
assert_eq "$(grep -c '^tvtokend: reloading ' "$T/daemon.log")" 6 "reloads"
assert_events acquired credentials_rejected acquired acquired locked_out renewed
daemon_stop
assert_no_secrets "$T/daemon.log" "$T/mock.out" "$T/b.out"
assert_no_sanitizer_reports "$T/daemon.log" "$T/mock.out" "$T/b.out"
ok "reloads kept or dropped the token by account, kept a bad config out and the lockout in"
