#!/bin/bash
# SPDX-License-Identifier: MIT
# Cluster mode as the README sets it up: etcd over TLS (server certificate:
# etcd's JSON gateway refuses client certificates once authentication is on),
# authentication on, and the brokers' etcd user allowed the election prefix
# alone. Election, following, reports and a hand-over all work inside it.
# Usage: test-cluster-secure.sh CLUSTER-NODE
. "$(dirname "$0")/lib.sh"
NODE=$1

etcd_start "$T/etcd" tls-server || fail "cannot start etcd with TLS"
etcdctl_all role add root >/dev/null || fail "role add root"
etcdctl_all user add "root:root-pw-$$" >/dev/null || fail "user add root"
etcdctl_all user grant-role root root >/dev/null || fail "grant root"
etcdctl_all role add tvtokend >/dev/null || fail "role add"
etcdctl_all role grant-permission tvtokend --prefix=true readwrite "$ELECTION/" >/dev/null ||
	fail "grant-permission"
etcdctl_all user add "tvtokend:etcd-pw-$$" >/dev/null || fail "user add"
etcdctl_all user grant-role tvtokend tvtokend >/dev/null || fail "grant-role"
etcdctl_all auth enable >/dev/null || fail "auth enable"
ETCD_ROOT_PASSWORD=root-pw-$$
(umask 077; printf 'etcd-pw-%s\n' "$$" >"$T/etcd-password")
NODE_CLUSTER_EXTRA="EtcdCAFile=$ETCD_PKI/ca.pem
EtcdUser=tvtokend
EtcdPasswordFile=$T/etcd-password"
ok "etcd over TLS, user tvtokend limited to $ELECTION/"

for i in 1 2 3; do
	node_start "$i" --bump-ms 300
done
wait_until 60 one_leader_among 1 2 3 || fail "no single leader with two followers"
OTHERS=()
for i in 1 2 3; do
	[ "$i" = "$LEADER" ] || OTHERS+=("$i")
done
wait_until 30 "grep -q ' FOLLOW 3 n$LEADER\$' '$T/node${OTHERS[0]}.log'" ||
	fail "n${OTHERS[0]} does not follow"
ok "n$LEADER leads, n${OTHERS[0]} and n${OTHERS[1]} follow"

F=${OTHERS[1]}
kill -USR1 "${NODE_PIDS[$F]}"
wait_until 20 'grep -q " REPORTED [0-9]* 0$" "$T/node$F.log"' || fail "n$F did not forward"
GEN=$(grep -a " REPORTED " "$T/node$F.log" | tail -n 1 | cut -d' ' -f3)
wait_until 20 "grep -q ' REPORT $GEN n$F\$' '$T/node$LEADER.log'" || fail "the report did not arrive"
ok "a report travels inside the prefix"

etcdctl_all get --prefix "$ELECTION/" >"$T/etcd-values" || fail "etcdctl get"
grep -aq -- "$MARKER" "$T/etcd-values" && fail "etcd holds the state in clear"
OLD=$LEADER
kill -TERM "${NODE_PIDS[$OLD]}"
wait_until 20 "grep -q ' STOPPED\$' '$T/node$OLD.log'" || fail "n$OLD did not stop"
NODE_PIDS[$OLD]=
wait_until 30 one_leader_among "${OTHERS[@]}" || fail "no hand-over"
ok "n$OLD stopped, n$LEADER took over"
grep -aiE "permission denied|authentication" "$T"/node?.log && fail "etcd refused a member"
ok "no call was refused"
