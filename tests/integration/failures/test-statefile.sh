#!/bin/bash
# SPDX-License-Identifier: MIT
# StateFile across restarts: a valid saved token is served at once with its
# generation and no token request; inside the renewal window it is renewed at
# once; an expired one leads to a token request, the generation continuing; a
# corrupt file or another account's file is logged and ignored. Mode 0600.
. "$(dirname "$0")/helpers.sh"

state=$T/state/token.json
mkdir -p "$T/state"

# Config with the state file; extra lines as arguments.
config()
{
	write_config "[Token]" "StateFile=$state" "$@"
}

token_field()
{
	ctl --json token | sed -n "s/.*\"$1\":\\(\"[^\"]*\"\\|[0-9]*\\).*/\\1/p" | tr -d '"'
}

mock_start --lifetime 30
config "RenewBeforeSec=5s"
daemon_start
wait_state valid 5
tok1=$(ctl token)
assert_eq "$(stat -c %a "$state")" 600 "state file mode"
daemon_stop

# 1. Restart with the valid saved token: served at once, same generation, nothing sent.
daemon_start
assert_eq "$(ctl token)" "$tok1" "token served after the restart"
assert_eq "$(token_field generation)" 1 "generation after the restart"
assert_eq "$(status_field state)" valid "state after the restart"
grep -q "restored the token (generation 1)" "$T/daemon.log" || fail "the restore was not logged"
sleep 1
assert_seq "request ok 200"
daemon_stop

# 2. Restart inside the renewal window: a renewal at once, not a request.
config "RenewBeforeSec=40s"
t0=$(now_ms)
daemon_start
wait_requests 2 5
assert_between $(( $(mock_time 2) - t0 )) 0 1500 "renewal after the restart (ms)"
wait_state valid 5
assert_eq "$(token_field generation)" 2 "generation after the renewal"
[ "$(ctl token)" != "$tok1" ] || fail "the renewed token is the old one"
assert_seq "request ok 200" "renew ok 200"
daemon_stop
assert_eq "$(stat -c %a "$state")" 600 "state file mode after a renewal"

# 3. An expired saved token: a token request, the generation continuing.
config "RenewBeforeSec=5s"
past=$(( $(date +%s) - 1 ))000000
sed -i -E "s/(\"expirationUsec\": *)[0-9]+/\1$past/" "$state"
grep -q "\"expirationUsec\": *$past" "$state" || fail "cannot edit the state file"
daemon_start
wait_state valid 5
assert_eq "$(token_field generation)" 3 "generation after an expired saved token"
assert_seq "request ok 200" "renew ok 200" "request ok 200"
daemon_stop

# 4. A corrupt file: logged, ignored, a token request; the generation is lost with it.
(umask 077; printf '{"version":1,"baseURL":' >"$state")
daemon_start
wait_state valid 5
grep -q "state file $state is corrupt; ignoring it" "$T/daemon.log" || fail "the corrupt file was not logged"
assert_eq "$(token_field generation)" 1 "generation after a corrupt state file"
assert_seq "request ok 200" "renew ok 200" "request ok 200" "request ok 200"
assert_eq "$(stat -c %a "$state")" 600 "state file mode after rewriting a corrupt one"
daemon_stop

# 5. Another account (Name changed): the saved token is neither served nor
# renewed, but what Tradovate counts per IP stays, as a reload would keep it:
# the generation goes on, the failed request of the other account counts.
gen=1   # where step 4 ended
config "RenewBeforeSec=5s" "[Tradovate]" "Name=other"
daemon_start
wait_state credentials_rejected 5
grep -q "state file $state belongs to another account: keeping its hourly counts, Tradovate's holds and the generation, not its token" "$T/daemon.log" ||
	fail "the other account's file was not logged"
assert_eq "$(get_token)" io.tvtokend.Broker.NoToken "GetToken for another account"
assert_seq "request ok 200" "renew ok 200" "request ok 200" "request ok 200" "request ok 200 reject=name"
assert_events acquired renewed acquired acquired credentials_rejected
assert_eq "$(status_field generation)" "$gen" "generation kept across a restart to another account"
daemon_stop
# Back to the first account, after another failed request: the generation goes on, and the
# rejected request still counts in the hour.
config "RenewBeforeSec=5s"
daemon_start
wait_state valid 5
assert_eq "$(token_field generation)" "$((gen + 1))" "generation after switching back"
assert_eq "$(status_field failedRequestsLeftThisHour)" 3 "failed requests left after the other account's rejection"
daemon_stop
assert_no_secrets "$T/daemon.log" "$T/mock.out"
assert_no_sanitizer_reports "$T/daemon.log" "$T/mock.out"
ok "the state file carried the token and generation across restarts"
