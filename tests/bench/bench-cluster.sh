#!/bin/bash
# SPDX-License-Identifier: MIT
# bench-cluster: how long a token renewed by a cluster's leader takes to be
# served on a follower (issue 10's target: under 50 ms on loopback).
#
# Starts a real 3-member etcd (tests/cluster/etcd.sh), the mock Tradovate and
# two real brokers (LeaseSec=3s), a GetToken "more" watcher (token-poll) on
# each, then forces ROUNDS renewals on the leader with ReportRejected. For
# each generation, the delay is the follower's watcher receiving it minus
# the leader's watcher receiving it (both in microseconds, same clock):
# leader's proclaim to etcd, etcd's watch, the follower's decrypt, adopt,
# state file write and fan-out. Prints every delay and min/p50/p90/max.
# A benchmark, not a test: `meson test --benchmark --suite bench`.
#
# Usage: bench-cluster.sh TVTOKEND TVTOKENCTL MOCK VARLINK-CALL TOKEN-POLL [ROUNDS]
. "$(dirname "$0")/../cluster/brokers.sh"
ROUNDS=${6:-${BENCH_ROUNDS:-14}}

mock_start --lifetime 3600
etcd_start "$T/etcd" || fail "cannot start etcd"
# Every round is a renewal: the hourly ceiling is raised to its maximum, and
# ROUNDS is kept within it (MaxRenewalsPerHour= is at most 15).
[ "$ROUNDS" -le 14 ] || ROUNDS=14
for i in 1 2; do
	b_config "$i" "[Token]" "MaxRenewalsPerHour=15"
	b_start "$i"
done
wait_until 60 one_leader_among 1 2 || fail "no leader"
L=$LEADER
F=$(( 3 - L ))
wait_until 30 same_token_among 1 2 || fail "no common token"
for i in 1 2; do
	poll_start "watch$i" --more --replies $(( ROUNDS + 1 )) --duration $(( ROUNDS * 2 + 60 )) "$T/b$i.sock"
done
wait_until 10 '[ -s "$T/watch1.out" ] && [ -s "$T/watch2.out" ]' || fail "the watchers got no token"

for r in $(seq 1 "$ROUNDS"); do
	g=$(b_token "$L" | cut -d' ' -f1)
	VL_TIMEOUT=10 b_vl "$L" "{\"method\":\"io.tvtokend.Broker.ReportRejected\",\"parameters\":{\"generation\":$g}}" \
		>/dev/null || fail "ReportRejected failed"
	wait_until 10 "[ \"\$(awk '\$4 > $g' '$T/watch$F.out' | wc -l)\" -ge 1 ]" ||
		fail "the follower never served generation $(( g + 1 ))"
	sleep 0.05
done
awk 'NR == FNR && $3 == "token" { t[$4] = $2; next }
     $3 == "token" && ($4 in t) && FNR > 1 { printf "%d %.3f\n", $4, ($2 - t[$4]) / 1000 }' \
	"$T/watch$L.out" "$T/watch$F.out" >"$T/delays"
n=$(wc -l <"$T/delays")
[ "$n" -ge 1 ] || fail "no delay measured"
echo "leader b$L, follower b$F, LeaseSec=${LEASE_SEC}s, $n renewals"
echo "generation  follower - leader (ms)"
awk '{ printf "%10d  %8.3f\n", $1, $2 }' "$T/delays"
sort -n -k2 "$T/delays" | awk '{ d[NR] = $2 } END {
	printf "delay from the leader serving a renewed token to the follower serving it, %d renewals:\n", NR
	printf "  min %.1f ms  p50 %.1f ms  p90 %.1f ms  max %.1f ms  (target: under 50 ms)\n",
		d[1], d[int((NR + 1) / 2)], d[int(NR * 0.9 + 0.5) ? int(NR * 0.9 + 0.5) : 1], d[NR] }'
