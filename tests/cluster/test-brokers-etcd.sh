#!/bin/bash
# SPDX-License-Identifier: MIT
# etcd failures under three brokers:
#   - one etcd member killed: nothing changes (same leader, same followers,
#     renewals go on and are followed);
#   - every etcd member stopped: every broker keeps serving its token until
#     it expires and says NoToken only then; nothing reaches the mock once the
#     leader's last keep-alive is LeaseSec/3 old;
#   - etcd back: a leader again, and every host serves a token again.
# Usage: test-brokers-etcd.sh TVTOKEND TVTOKENCTL MOCK VARLINK-CALL TOKEN-POLL
. "$(dirname "$0")/brokers.sh"

# Tokens live 20 s and are renewed 8 s after they are issued.
mock_start --lifetime 20
three_brokers "[Token]" "RenewBeforeSec=12s"
L=$LEADER
ok "b$L leads"

# One member down: the one every broker talks to first (member 0). It is made
# a raft follower first: killing etcd's raft leader stalls every write for
# etcd's own election (about a second), which a LeaseSec of 3 s cannot ride
# out (README: LeaseSec and etcd's election timeout).
victim=0
if [ "$(etcd_raft_leader)" = 0 ]; then
	etcdctl_all move-leader "$(etcd_member_id 1)" >/dev/null ||
		fail "cannot move etcd's raft leadership off member 0"
	wait_until 10 '[ "$(etcd_raft_leader)" != 0 ]' || fail "member 0 is still etcd's raft leader"
fi
etcd_kill "$victim"
K0=$(now_ms)
renews=$(mock_count renew)
wait_until 30 "[ \"\$(mock_count renew)\" -ge $(( renews + 2 )) ]" ||
	fail "renewals stopped with one etcd member down: $(mock_requests)"
one_leader_among 1 2 3 || fail "the roles changed with one etcd member down"
assert_eq "$LEADER" "$L" "the leader with one etcd member down"
wait_until 10 same_token_among 1 2 3 || fail "the brokers disagree with one etcd member down"
assert_eq "$(mock_count request)" 1 "token requests"
for i in 1 2 3; do
	if grep -q "leadership_lost\|is candidate" <(sed -n '/leader_elected\|following/,$p' "$T/b$i.log" | tail -n +2); then
		fail "b$i changed its role with one etcd member down"
	fi
done
ok "etcd member $victim killed: b$L still leads, $(( $(mock_count renew) - renews )) renewals followed by all, in $(( $(now_ms) - K0 )) ms"

# Every member stopped (they hang: the harder case than refusing).
etcd_restart "$victim"
etcd_wait_healthy || fail "etcd member $victim did not come back"
wait_until 20 same_token_among 1 2 3 || fail "the brokers disagree before the outage"
# Right after a renewal, so that the token has most of its life left.
r=$(mock_count renew)
wait_until 30 "[ \"\$(mock_count renew)\" -gt $r ]" || fail "no renewal before the outage"
wait_until 10 same_token_among 1 2 3 || fail "the brokers disagree before the outage"
exp=$(b_ctl 1 --json token | jq -r .expirationTime)
exp_ms=$(( $(date -d "$exp" +%s) * 1000 ))
for i in 0 1 2; do
	etcd_stop "$i"
done
TSTOP=$(now_ms)
lines=$(wc -l <"$T/mock.log")
for i in 1 2 3; do
	poll_start "poll$i" --interval 100 --duration $(( (exp_ms - TSTOP) / 1000 + 4 )) "$T/b$i.sock"
done
for p in "${BG_PIDS[@]}"; do
	timeout 60 tail --pid="$p" -f /dev/null
done
for i in 1 2 3; do
	# Every reply before expiry is a token; after it, NoToken (never a token past expiry).
	# A call sent before expiry may be answered with the token and read just after it:
	# only a token for a call sent at or after expiry is served past it.
	awk -v e="$exp_ms" '
		{ sent = int($1 / 1000); recv = int($2 / 1000) }
		$3 == "token" && sent >= e { print "token after expiry: " $0; bad = 1 }
		$3 != "token" && int($1 / 1000) < e - 1000 { print "no token before expiry: " $0; bad = 1 }
		$3 == "token" { last = recv }
		END { if (last < e - 2000) { print "last token at " last ", expiry " e; bad = 1 }; exit bad }
	' "$T/poll$i.out" || fail "b$i did not serve its token until expiry"
	grep -q ' error ' "$T/poll$i.out" || fail "b$i still served a token after expiry"
done
late=$( (mock_times renew; mock_times request) | awk -v t=$(( TSTOP + LEASE_SEC * 1000 / 3 + 1000 )) '$1 > t' | wc -l)
assert_eq "$late" 0 "requests the mock saw after etcd stopped (beyond LeaseSec/3 + 1 s)"
ok "all etcd stopped: every broker served the token until its expiry, then NoToken; $(( $(wc -l <"$T/mock.log") - lines )) requests after the stop, none late"

# etcd back: a leader again; the token expired, so one new token request, followed by all.
for i in 0 1 2; do
	etcd_cont "$i"
done
wait_until 60 one_leader_among 1 2 3 || fail "no leader once etcd is back"
wait_until 30 same_token_among 1 2 3 || fail "no common token once etcd is back"
assert_eq "$(mock_count request)" 2 "token requests (the first, and one after the expiry)"
ok "etcd back: b$LEADER leads, every host serves generation ${SAME_TOKEN%% *}"
