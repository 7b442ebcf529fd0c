#!/bin/bash
# SPDX-License-Identifier: MIT
# Three real brokers on a real 3-member etcd and the mock Tradovate:
#   - exactly one leader, two followers naming it (GetStatus role, leader);
#   - all three serve the same token and generation, through their own sockets;
#   - the mock sees one token request, then renewals only (three of them),
#     and every host follows each renewal (its generation, its state file);
#   - every host keeps its token file and runs its ExecOnChange= hook;
#   - STATUS-like status text and the journal events say who leads;
#   - the value in etcd holds no token, password or secret in clear;
#   - a follower's ReportRejected is answered with the next generation,
#     renewed by the leader;
#   - SIGTERM of the leader: another leads at once (no lease to wait out),
#     and the stopped one exited 0.
# Usage: test-brokers.sh TVTOKEND TVTOKENCTL MOCK VARLINK-CALL TOKEN-POLL
. "$(dirname "$0")/brokers.sh"

# Tokens live 8 s: renewed at half-life, every 4 s.
B_NOTIFY=1
mock_start --lifetime 8
# The token file and the change hook on every host.
cat >"$T/hook" <<EOS
#!/bin/sh
# One line per run: the generation the broker passed.
echo "\$TVTOKEND_GENERATION" >>"\$0.runs.\$1"
EOS
chmod 755 "$T/hook"
three_brokers "[Sink]" "File=$T/b@I@.token" "ExecOnChange=$T/hook @I@"
L=$LEADER
read -r -a F <<<"$(others_than "$L")"
ok "b$L leads; b${F[0]} and b${F[1]} follow it"

assert_eq "$(b_field "$L" leader)" "b$L" "the leader's leader"
for i in 1 2 3; do
	assert_eq "$(b_field "$i" state)" "$(b_field "$L" state)" "b$i's state word is the leader's"
done
gen0=${SAME_TOKEN%% *}
ok "all three serve generation $gen0, the same token"

# Renewals only, followed everywhere.
wait_until 40 '[ "$(mock_count renew)" -ge 3 ]' || fail "fewer than three renewals: $(mock_requests)"
assert_eq "$(mock_count request)" 1 "token requests"
mock_requests | awk '$1 == "renew" && $3 != 200 { bad = 1 } END { exit bad }' ||
	fail "a renewal failed: $(mock_requests)"
wait_until 10 same_token_among 1 2 3 || fail "the brokers disagree after the renewals"
gen1=${SAME_TOKEN%% *}
[ "$gen1" -ge $((gen0 + 3)) ] || fail "generation $gen1 after three renewals of $gen0"
ok "one token request, then $(mock_count renew) renewals; every host serves generation $gen1"

# Every host writes its state file (a restarted follower serves at once).
for i in 1 2 3; do
	wait_until 10 "jq -e '.generation >= $gen1' '$T/b$i.state' >/dev/null 2>&1" ||
		fail "b$i's state file does not hold generation $gen1"
done
ok "every host's state file holds the followed generation"

# The token file and the hook on every host, followers included.
for i in 1 2 3; do
	wait_until 10 "[ \"\$(cat '$T/b$i.token' 2>/dev/null)\" = \"\$(b_ctl $i token)\" ]" ||
		fail "b$i's token file does not hold the token it serves"
	wait_until 10 "awk -v g=$gen1 '\$1 >= g { f = 1 } END { exit !f }' '$T/hook.runs.$i' 2>/dev/null" ||
		fail "b$i's ExecOnChange= did not run for generation $gen1: $(cat "$T/hook.runs.$i" 2>/dev/null)"
done
ok "every host's token file holds its token, and its ExecOnChange= ran for generation $gen1 or later"

# The journal events (on stderr here), and the status text.
grep -q "leader_elected: b$L leads the cluster" "$T/b$L.log" || fail "no leader_elected on b$L"
for i in "${F[@]}"; do
	grep -q "following: b$i follows b$L" "$T/b$i.log" || fail "no following event on b$i"
done
b_ctl "${F[0]}" status | grep -q "follower of b$L" || fail "tvtokenctl status does not say b${F[0]} follows b$L: $(b_ctl "${F[0]}" status)"
b_ctl "$L" status | grep -qi "leader" || fail "tvtokenctl status on the leader: $(b_ctl "$L" status)"
# STATUS= starts with the state word and ends with the role.
last_status()
{
	grep -o 'STATUS=[^	]*' "$T/b$1.notify.log" 2>/dev/null | tail -n 1
}
wait_until 10 '[[ "$(last_status "$L")" == "STATUS=valid: "*"; leader" ]]' ||
	fail "b$L's STATUS=: $(last_status "$L")"
wait_until 10 '[[ "$(last_status "${F[0]}")" == "STATUS=valid: "*"; follower of b$L" ]]' ||
	fail "b${F[0]}'s STATUS=: $(last_status "${F[0]}")"
ok "leader_elected and following logged; tvtokenctl status and STATUS= name the role and the leader"

# Nothing in etcd in clear: no token, no password, no secret.
etcdctl_all get --prefix "$ELECTION" >"$T/etcd-dump" || fail "etcdctl get failed"
[ -s "$T/etcd-dump" ] || fail "nothing under $ELECTION in etcd"
grep -a "$ELECTION/leader" "$T/etcd-dump" >/dev/null || fail "no leader key in etcd: $(head -c 300 "$T/etcd-dump")"
for needle in tok- md- demo-password demo-secret sec accessToken; do
	if grep -aq -- "$needle" "$T/etcd-dump"; then
		fail "etcd holds \"$needle\" in clear"
	fi
done
ok "the values in etcd hold no token, password or secret in clear"

# A follower's ReportRejected: answered with the next generation, renewed by the leader.
wait_until 10 same_token_among 1 2 3 || fail "the brokers disagree before the report"
g=${SAME_TOKEN%% *}
renews=$(mock_count renew)
r=$(VL_TIMEOUT=15 b_vl "${F[0]}" "{\"method\":\"io.tvtokend.Broker.ReportRejected\",\"parameters\":{\"generation\":$g}}") ||
	fail "ReportRejected on b${F[0]} got no reply"
got=$(jq -r '.parameters.token.generation' <<<"$r")
[ "$got" -gt "$g" ] || fail "ReportRejected($g) on a follower answered generation $got: $r"
[ "$(mock_count renew)" -gt "$renews" ] || fail "no renewal for the report"
assert_eq "$(mock_count request)" 1 "token requests after the report"
ok "a follower's ReportRejected($g) was answered with generation $got, renewed by b$L"

# SIGHUP: a reload that leaves [Cluster] alone applies; one that changes it is refused.
f=${F[1]}
printf '[Server]\nMaxClients=100\n' >>"$T/b$f.conf"
kill -HUP "${B_PIDS[$f]}"
wait_until 10 "grep -q 'reloading' '$T/b$f.log'" || fail "b$f did not reload"
sleep 1
grep -q "reload refused" "$T/b$f.log" && fail "b$f refused a reload outside [Cluster]"
sed -i "s/^LeaseSec=.*/LeaseSec=$(( LEASE_SEC + 1 ))s/" "$T/b$f.conf"
kill -HUP "${B_PIDS[$f]}"
wait_until 10 "grep -q 'reload refused, keeping the old configuration: the \[Cluster\] settings changed' '$T/b$f.log'" ||
	fail "b$f did not refuse a reload that changes [Cluster]"
wait_until 10 one_leader_among 1 2 3 || fail "the roles changed after the reloads"
[ -n "$(b_token "$f")" ] || fail "b$f serves no token after the reloads"
ok "SIGHUP on b$f: MaxClients= applied, a new LeaseSec= refused until a restart; b$f still follows"

# SIGTERM of the leader: it hands over, and exits 0.
T0=$(now_ms)
b_stop "$L" 10
wait_until 20 one_leader_among "${F[@]}" || fail "nobody leads after b$L stopped"
dt=$(( $(now_ms) - T0 ))
[ "$dt" -lt $(( LEASE_SEC * 1000 )) ] ||
	echo "note: hand-over took $dt ms (loaded machine?)" >&2
grep -q "leadership_lost\|stopping on signal" "$T/b$L.log" || fail "b$L did not log its stop"
wait_until 10 same_token_among "${F[@]}" || fail "the survivors disagree"
assert_eq "$(mock_count request)" 1 "token requests after the hand-over"
ok "SIGTERM: b$L exited 0, b$LEADER leads ($dt ms later), no new token request"
