#!/bin/bash
# SPDX-License-Identifier: MIT
# Three cluster members against a real 3-member etcd: exactly one leader and
# the others follow its generations; a follower's ReportRejected reaches the
# leader through etcd; the value stored in etcd holds no plaintext; kill -9
# of the leader: another leads within LeaseSec + 2 s and carries the
# generation on.
# Usage: test-cluster.sh CLUSTER-NODE
. "$(dirname "$0")/lib.sh"
NODE=$1

etcd_start "$T/etcd" || fail "cannot start etcd"
for i in 1 2 3; do
	node_start "$i" --bump-ms 300
done
wait_until 60 one_leader_among 1 2 3 || fail "no single leader with two followers"
ok "n$LEADER leads, the others follow it"
OTHERS=()
for i in 1 2 3; do
	[ "$i" = "$LEADER" ] || OTHERS+=("$i")
done

# The followers adopt the generations the leader proclaims.
wait_until 30 'grep -q " PROCLAIM 5$" "$T/node$LEADER.log"' || fail "leader does not proclaim"
for i in "${OTHERS[@]}"; do
	wait_until 30 "grep -q ' FOLLOW 5 n$LEADER\$' '$T/node$i.log'" ||
		fail "n$i does not follow generation 5"
done
ok "both followers follow the leader's generations"

# What etcd holds (election and every other key of the test) is sealed.
etcdctl_all get --prefix "$ELECTION" >"$T/etcd-values" || fail "etcdctl get"
[ -s "$T/etcd-values" ] || fail "nothing stored under $ELECTION"
grep -a "$ELECTION/leader/" "$T/etcd-values" >/dev/null || fail "no candidate keys"
for secret in "$MARKER" "gen=" "$PASSWORD" "sec-0123456789abcdef"; do
	if grep -aq -- "$secret" "$T/etcd-values"; then
		fail "etcd holds \"$secret\" in clear"
	fi
done
ok "etcd holds no plaintext: $(grep -ac . "$T/etcd-values") lines, no marker"

# A follower's ReportRejected reaches the leader, whose new generation comes back.
F=${OTHERS[0]}
kill -USR1 "${NODE_PIDS[$F]}"
wait_until 20 'grep -q " REPORTED [0-9]* 0$" "$T/node$F.log"' || fail "n$F did not forward"
GEN=$(grep -a " REPORTED " "$T/node$F.log" | tail -n 1 | cut -d' ' -f3)
wait_until 20 "grep -q ' REPORT $GEN n$F\$' '$T/node$LEADER.log'" ||
	fail "leader never saw n$F's report of generation $GEN"
ok "n$F's report of generation $GEN reached n$LEADER"
etcdctl_all get --prefix "$ELECTION/reports/" >"$T/etcd-reports"
grep -aq "$ELECTION/reports/n$F" "$T/etcd-reports" || fail "no report key of n$F"
grep -aq -- "$MARKER" "$T/etcd-reports" && fail "report in clear"

# kill -9 of the leader: another leads within LeaseSec + 2 s, and goes on from
# the last generation it followed.
OLD=$LEADER
LAST=$(grep -aE " (PROCLAIM|RENEWED) " "$T/node$OLD.log" | tail -n 1 | cut -d' ' -f3)
T0=$(now_ms)
kill -KILL "${NODE_PIDS[$OLD]}"
NODE_PIDS[$OLD]=
wait_until 60 one_leader_among "${OTHERS[@]}" || fail "no new leader after kill -9"
T1=$(first_after "$LEADER" " ROLE leader " "$T0")
ELAPSED=$(( T1 - T0 ))
echo "new leader n$LEADER after ${ELAPSED} ms (LeaseSec ${LEASE_SEC}s)"
[ "$ELAPSED" -le $(( (LEASE_SEC + 2) * 1000 )) ] ||
	fail "n$LEADER led only ${ELAPSED} ms after the kill (bound $(( LEASE_SEC + 2 ))s)"
wait_until 20 'grep -q " PROCLAIM " <(awk -v t="$T1" "\$1 >= t" "$T/node$LEADER.log")' ||
	fail "the new leader proclaims nothing"
FIRST=$(awk -v t="$T1" '$1 >= t && / PROCLAIM / { print $3; exit }' "$T/node$LEADER.log")
[ "$FIRST" -gt "${LAST:-0}" ] || fail "new leader restarted at generation $FIRST (old one was at $LAST)"
[ "$FIRST" -le $(( LAST + 3 )) ] || fail "new leader jumped to $FIRST from $LAST"
ok "n$LEADER leads after ${ELAPSED} ms and goes on at generation $FIRST (old leader: $LAST)"

# A clean stop hands over at once (the lease is revoked).
STAYING=
for i in "${OTHERS[@]}"; do
	[ "$i" = "$LEADER" ] || STAYING=$i
done
T0=$(now_ms)
kill -TERM "${NODE_PIDS[$LEADER]}"
wait_until 20 "grep -q ' STOPPED\$' '$T/node$LEADER.log'" || fail "n$LEADER did not stop"
NODE_PIDS[$LEADER]=
wait_until 20 one_leader_among "$STAYING" || fail "n$STAYING does not lead after a clean stop"
T1=$(first_after "$STAYING" " ROLE leader " "$T0")
echo "after a clean stop, n$STAYING leads in $(( T1 - T0 )) ms"
[ $(( T1 - T0 )) -lt $(( LEASE_SEC * 1000 )) ] || fail "a clean stop waited for the lease to expire"
ok "a clean stop hands over before the lease would expire"
