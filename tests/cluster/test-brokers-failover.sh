#!/bin/bash
# SPDX-License-Identifier: MIT
# kill -9 of the leader among three brokers:
#   - another is leader within LeaseSec + 2 s;
#   - clients polling the survivors all along never see NoToken (the token
#     stays valid throughout);
#   - the mock sees no new token request: the new leader renews the same
#     session's token, and not before its renewal was due.
# Usage: test-brokers-failover.sh TVTOKEND TVTOKENCTL MOCK VARLINK-CALL TOKEN-POLL
. "$(dirname "$0")/brokers.sh"

# Tokens live 16 s and are renewed 6 s after they are issued.
mock_start --lifetime 16
three_brokers "[Token]" "RenewBeforeSec=10s"
L=$LEADER
read -r -a F <<<"$(others_than "$L")"
wait_until 30 '[ "$(mock_count renew)" -ge 1 ]' || fail "no renewal before the fail-over"
wait_until 10 same_token_among 1 2 3 || fail "the brokers disagree before the fail-over"
ok "b$L leads; every host serves generation ${SAME_TOKEN%% *}"

for i in "${F[@]}"; do
	poll_start "poll$i" --interval 50 --duration 20 "$T/b$i.sock"
done
sleep 1
last_renew=$(mock_times renew | tail -n 1)
T0=$(now_ms)
b_kill "$L"
wait_until $(( LEASE_SEC + 10 )) one_leader_among "${F[@]}" || fail "no leader among the survivors"
dt=$(( $(now_ms) - T0 ))
[ "$dt" -le $(( (LEASE_SEC + 2) * 1000 )) ] ||
	fail "b$LEADER leads $dt ms after the kill, more than LeaseSec + 2 s"
NEW=$LEADER
ok "b$NEW leads $dt ms after kill -9 of b$L (LeaseSec=${LEASE_SEC}s)"

# The new leader renews the same session's token, on schedule.
wait_until 30 "[ \"\$(mock_times renew | awk -v t=$T0 '\$1 > t' | wc -l)\" -ge 2 ]" ||
	fail "the new leader did not renew twice: $(mock_requests)"
assert_eq "$(mock_count request)" 1 "token requests"
mock_requests | awk '$1 == "renew" && $3 != 200 { bad = 1 } END { exit bad }' ||
	fail "a renewal was refused: $(mock_requests)"
first=$(mock_times renew | awk -v t="$T0" '$1 > t' | head -n 1)
[ $(( first - last_renew )) -ge 5000 ] ||
	fail "the first renewal after the fail-over came $(( first - last_renew )) ms after the previous one: before it was due"
ok "no new token request; the new leader's renewals are accepted, the first $(( first - last_renew )) ms after the previous one"

# The clients on the survivors never saw NoToken, nor a broker gone.
for p in "${BG_PIDS[@]}"; do
	timeout 40 tail --pid="$p" -f /dev/null
done
for i in "${F[@]}"; do
	[ -s "$T/poll$i.out" ] || fail "no replies recorded on b$i: $(cat "$T/poll$i.err")"
	n=$(wc -l <"$T/poll$i.out")
	bad=$(awk '$3 != "token"' "$T/poll$i.out" | head -n 3)
	[ -z "$bad" ] || fail "a client on b$i saw: $bad"
	# Generations never go back on a host.
	awk '$4 < g { exit 1 } { g = $4 }' "$T/poll$i.out" || fail "a generation went back on b$i"
	ok "b$i: $n GetToken replies during the fail-over, all tokens, generations never back"
done
wait_until 10 same_token_among "${F[@]}" || fail "the survivors disagree"
ok "the survivors serve the same token"
