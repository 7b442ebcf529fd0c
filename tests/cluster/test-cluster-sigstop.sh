#!/bin/bash
# SPDX-License-Identifier: MIT
# SIGSTOP of the leader past LeaseSec, then SIGCONT: another broker leads
# meanwhile; from the moment the old leader runs again cluster_may_send() is
# false (its probe, every 5 ms, never sees true again, and it proclaims
# nothing), and it ends up following the new leader.
# Usage: test-cluster-sigstop.sh CLUSTER-NODE
. "$(dirname "$0")/lib.sh"
NODE=$1

etcd_start "$T/etcd" || fail "cannot start etcd"
for i in 1 2 3; do
	node_start "$i" --bump-ms 300 --probe-ms 5 --gap-ms 1000
done
wait_until 60 one_leader_among 1 2 3 || fail "no single leader with two followers"
OLD=$LEADER
wait_until 30 "grep -q ' MAYSEND 1\$' '$T/node$OLD.log'" || fail "the leader may never send"
OTHERS=()
for i in 1 2 3; do
	[ "$i" = "$OLD" ] || OTHERS+=("$i")
done
ok "n$OLD leads"

STOP_S=$(( LEASE_SEC + 2 ))
kill -STOP "${NODE_PIDS[$OLD]}"
T0=$(now_ms)
wait_until $(( STOP_S + 30 )) one_leader_among "${OTHERS[@]}" || fail "nobody took over"
NEW=$LEADER
ok "n$NEW leads while n$OLD is stopped"
# Stay stopped for LeaseSec + 2 s in all.
while [ $(( $(now_ms) - T0 )) -lt $(( STOP_S * 1000 )) ]; do
	sleep 0.2
done
T1=$(now_ms)
kill -CONT "${NODE_PIDS[$OLD]}"

wait_until 30 "grep -q ' GAP ' '$T/node$OLD.log'" || fail "n$OLD never noticed its stop"
wait_until 30 '[ "$(node_role "$OLD")" = "follower n$NEW" ]' ||
	fail "n$OLD does not follow n$NEW after resuming (role: $(node_role "$OLD"))"
wait_until 30 one_leader_among 1 2 3 || fail "not one leader after n$OLD resumed"
[ "$LEADER" = "$NEW" ] || fail "leadership moved to n$LEADER"
# Let the old leader run a while more, then judge everything after its gap.
sleep 2
# The gap of the stop (a loaded machine may show shorter ones before it).
awk -v min=$(( (STOP_S - 1) * 1000 )) '/ GAP / && $3 >= min { gap = 1; next } gap' \
	"$T/node$OLD.log" >"$T/after-gap"
if grep -aE " MAYSEND 1$| PROCLAIM | RENEWED " "$T/after-gap"; then
	fail "n$OLD may send or proclaimed after resuming"
fi
GAP_MS=$(awk -v min=$(( (STOP_S - 1) * 1000 )) '/ GAP / && $3 >= min { print $3; exit }' \
	"$T/node$OLD.log")
[ -n "$GAP_MS" ] || fail "n$OLD saw no gap as long as its stop"
echo "n$OLD was stopped ${GAP_MS} ms (sent SIGCONT at $(( T1 - T0 )) ms)"
grep -a " ROLE " "$T/after-gap" | sed 's/^/  after the gap: /'
ok "n$OLD never may send after resuming, and follows n$NEW"
