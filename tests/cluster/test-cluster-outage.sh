#!/bin/bash
# SPDX-License-Identifier: MIT
# etcd failures under three cluster members. One etcd member killed (the one
# every member talks to, not etcd's raft leader): nothing changes. Every etcd
# member stopped (SIGSTOP: requests hang), then killed: every member reports
# candidate and the leader may no longer send. etcd back: one leader again.
# Usage: test-cluster-outage.sh CLUSTER-NODE
. "$(dirname "$0")/lib.sh"
NODE=$1

etcd_start "$T/etcd" || fail "cannot start etcd"
# The members talk to etcd member 0 first; make sure it is not raft leader.
RL=$(etcd_raft_leader) || fail "no raft leader"
if [ "$RL" = 0 ]; then
	etcdctl_at 0 move-leader "$(etcd_member_id 1)" >/dev/null ||
		fail "cannot move etcd's raft leader"
	wait_until 20 '[ "$(etcd_raft_leader)" != 0 ]' || fail "raft leader did not move"
fi
for i in 1 2 3; do
	node_start "$i" --bump-ms 300 --probe-ms 5
done
wait_until 60 one_leader_among 1 2 3 || fail "no single leader with two followers"
L=$LEADER
wait_until 30 "grep -q ' MAYSEND 1\$' '$T/node$L.log'" || fail "the leader may never send"
ok "n$L leads"

# One etcd member killed: nothing changes for LeaseSec * 3.
roles_before=$(grep -ac ' ROLE ' "$T/node1.log" "$T/node2.log" "$T/node3.log")
TK=$(now_ms)
etcd_kill 0
sleep $(( LEASE_SEC * 3 ))
roles_after=$(grep -ac ' ROLE ' "$T/node1.log" "$T/node2.log" "$T/node3.log")
[ "$roles_before" = "$roles_after" ] || fail "roles changed with one etcd member down"
awk -v t="$TK" '$1 >= t' "$T/node$L.log" | grep -a ' MAYSEND 0$' &&
	fail "the leader stopped sending with one etcd member down"
GEN=$(grep -a " PROCLAIM " "$T/node$L.log" | tail -n 1 | cut -d' ' -f3)
for i in 1 2 3; do
	[ "$i" = "$L" ] && continue
	wait_until 10 "grep -q ' FOLLOW $GEN n$L\$' '$T/node$i.log'" ||
		fail "n$i stopped following with one etcd member down"
done
ok "one etcd member down: same leader, still sending, still followed (generation $GEN)"

# Every etcd member stopped: requests hang. Everyone becomes candidate; the
# leader stops sending within LeaseSec/3 of its last keep-alive.
T0=$(now_ms)
etcd_stop 1
etcd_stop 2
all_candidates()
{
	local i

	for i in 1 2 3; do
		[ "$(node_role "$i")" = "candidate -" ] || return 1
	done
}
wait_until 30 all_candidates || fail "not every member is candidate with etcd stopped"
T1=$(first_after "$L" " MAYSEND 0$" "$T0")
[ -n "$T1" ] || fail "the leader still may send"
echo "etcd stopped: the leader stopped sending after $(( T1 - T0 )) ms (fence $(( LEASE_SEC * 1000 / 3 )) ms)"
[ $(( T1 - T0 )) -le $(( LEASE_SEC * 1000 )) ] || fail "the leader sent for too long without etcd"
sleep 1
awk -v t="$T1" '$1 > t' "$T/node$L.log" | grep -aE " MAYSEND 1$| PROCLAIM " &&
	fail "the leader sent while etcd was stopped"
ok "etcd stopped: every member is candidate, nothing may be sent"

# Killed instead of stopped: the same, and nothing changes for a while.
etcd_cont 1
etcd_cont 2
etcd_kill 1
etcd_kill 2
T2=$(now_ms)
sleep $(( LEASE_SEC * 2 ))
all_candidates || fail "a member left candidate with etcd down"
awk -v t="$T2" '$1 > t' "$T/node$L.log" | grep -aE " MAYSEND 1$| PROCLAIM " &&
	fail "the leader sent while etcd was down"
ok "etcd killed: every member stays candidate"

# etcd back: one leader again.
for i in 0 1 2; do
	etcd_restart "$i"
done
etcd_wait_healthy || fail "etcd does not come back"
wait_until 60 one_leader_among 1 2 3 || fail "no single leader once etcd is back"
ok "etcd back: n$LEADER leads again"
