#!/bin/bash
# SPDX-License-Identifier: MIT
# The whole cluster restarted, every state file lost (StateFile= lives on
# /run, a tmpfs, by default): the first broker elected reads the last state
# a leader proclaimed from etcd (E/state, written with every proclaim in a
# transaction guarded by the leadership) before it acts, so every host serves
# the same token and generation as before and no new token request is sent.
# Usage: test-brokers-restart.sh TVTOKEND TVTOKENCTL MOCK VARLINK-CALL TOKEN-POLL
. "$(dirname "$0")/brokers.sh"

mock_start --lifetime 3600
three_brokers
L=$LEADER
g=$(b_token "$L" | cut -d' ' -f1)
r=$(VL_TIMEOUT=20 b_vl "$L" "{\"method\":\"io.tvtokend.Broker.ReportRejected\",\"parameters\":{\"generation\":$g}}") ||
	fail "ReportRejected on b$L got no reply"
wait_until 10 same_token_among 1 2 3 || fail "the brokers disagree after the renewal"
before=$SAME_TOKEN
assert_eq "$(mock_count renew)" 1 "renewals"
ok "b$L leads; every host serves ${before%% *}"

etcdctl_all get "$ELECTION/state" >"$T/state-key" || fail "etcdctl get"
[ -s "$T/state-key" ] || fail "no $ELECTION/state in etcd"
for needle in tok- md- demo-password demo-secret; do
	grep -aq -- "$needle" "$T/state-key" && fail "$ELECTION/state holds \"$needle\" in clear"
done
ok "$ELECTION/state is in etcd, sealed"

for i in 1 2 3; do
	b_kill "$i"
	rm -f "$T/b$i.state" "$T/b$i.sock"
done
# The killed brokers' leases run out; then the cluster comes back with nothing on disk.
sleep $(( LEASE_SEC + 1 ))
for i in 1 2 3; do
	b_start "$i"
done
wait_until 60 one_leader_among 1 2 3 || fail "no single leader after the restart"
wait_until 30 same_token_among 1 2 3 || fail "the brokers do not serve one token after the restart"
assert_eq "$SAME_TOKEN" "$before" "the token and generation after the restart"
assert_eq "$(mock_count request)" 1 "token requests (none after the restart)"
grep -q "continues from the state" "$T/b$LEADER.log" || fail "b$LEADER did not read the durable state"
ok "after a restart of the whole cluster without state files, b$LEADER continues: ${SAME_TOKEN%% *}, no new token request"

# And the session goes on: the next renewal is of that same token.
g=${SAME_TOKEN%% *}
r=$(VL_TIMEOUT=20 b_vl "$LEADER" "{\"method\":\"io.tvtokend.Broker.ReportRejected\",\"parameters\":{\"generation\":$g}}") ||
	fail "ReportRejected got no reply"
[ "$(jq -r .parameters.token.generation <<<"$r")" -eq $(( g + 1 )) ] || fail "no renewal: $r"
mock_requests | tail -n 1 | grep -q '^renew ok 200$' || fail "the renewal was refused: $(mock_requests)"
ok "the restarted leader renewed the same session's token (generation $(( g + 1 )))"
