#!/bin/bash
# SPDX-License-Identifier: MIT
# Cluster mode as the README sets it up, with three real brokers: etcd over
# TLS (server certificate), authentication on, set up by the README's own
# etcdctl commands (its etcd-auth-setup block, with this test's paths): the
# brokers' etcd user may touch the election prefix alone. Checked: the user
# can do nothing outside the prefix; --check-config reads the [Cluster] keys
# and the etcd password file and sends nothing; one leader, one token on
# every host, a follower's report renewed by the leader, a hand-over on
# SIGTERM; nothing readable in etcd.
# Usage: test-brokers-secure.sh TVTOKEND TVTOKENCTL MOCK VARLINK-CALL TOKEN-POLL README
. "$(dirname "$0")/brokers.sh"
README=$6

mock_start --lifetime 3600
etcd_start "$T/etcd" tls-server || fail "cannot start etcd with TLS"

# The README's block, with this test's endpoints, CA, password files and account (Name=demo).
(umask 077; printf 'root-pw-%s\n' "$$" >"$T/root-pw"; printf 'etcd-pw-%s\n' "$$" >"$T/etcd-password")
sed -n '/<!-- etcd-auth-setup:begin -->/,/<!-- etcd-auth-setup:end -->/p' "$README" |
	sed '1,2d;$d' | sed '$d' >"$T/readme-setup.sh"
grep -q 'etcdctl auth enable' "$T/readme-setup.sh" || fail "no etcd setup block in the README"
endpoints=$(echo "$ETCD_ENDPOINTS" | tr ' ' ',')
sed -e "s|ETCDCTL_ENDPOINTS=[^ ]*|ETCDCTL_ENDPOINTS=$endpoints|" \
	-e "s|/etc/etcd/ca.pem|$ETCD_PKI/ca.pem|" \
	-e "s|/root/etcd-root-password|$T/root-pw|" \
	-e "s|/etc/tvtokend/credentials/etcd-password|$T/etcd-password|" \
	-e "s|jdoe|demo|g" "$T/readme-setup.sh" >"$T/setup.sh"
timeout 120 bash -e "$T/setup.sh" >"$T/setup.out" 2>&1 || fail "the README's etcd setup failed: $(cat "$T/setup.out")"
ETCD_ROOT_PASSWORD=root-pw-$$
ok "the README's etcdctl commands set up user tvtokend-demo on tvtokend/demo/"

# The user may do nothing outside its prefix.
user=(etcdctl --endpoints="$endpoints" --cacert="$ETCD_PKI/ca.pem" --user="tvtokend-demo:etcd-pw-$$")
timeout 20 "${user[@]}" put tvtokend/demo/probe x >/dev/null 2>&1 || fail "the user cannot write its prefix"
if timeout 20 "${user[@]}" put tvtokend/other/probe x >/dev/null 2>&1 ||
	timeout 20 "${user[@]}" get --prefix tvtokend/ >/dev/null 2>&1; then
	fail "the user reaches beyond tvtokend/demo/"
fi
timeout 20 "${user[@]}" del tvtokend/demo/probe >/dev/null 2>&1
ok "the user is refused outside tvtokend/demo/"

# Default Election= (tvtokend/<Name>), the etcd user, the CA.
ELECTION=
for i in 1 2 3; do
	b_config "$i" "EtcdCAFile=$ETCD_PKI/ca.pem" "EtcdUser=tvtokend-demo" "EtcdPasswordFile=$T/etcd-password"
done

# --check-config: the [Cluster] keys and the password file, nothing sent.
"$TVTOKEND" --check-config --config "$T/b1.conf" >"$T/check.out" 2>&1 ||
	fail "--check-config refused a good cluster config: $(cat "$T/check.out")"
sed 's|^EtcdPasswordFile=.*|EtcdPasswordFile=/nonexistent/etcd-password|' "$T/b1.conf" >"$T/bad.conf"
if "$TVTOKEND" --check-config --config "$T/bad.conf" >"$T/check-bad.out" 2>&1; then
	fail "--check-config accepted a missing etcd password file"
fi
grep -q "EtcdPasswordFile" "$T/check-bad.out" || fail "--check-config did not name EtcdPasswordFile=: $(cat "$T/check-bad.out")"
sed 's|^LeaseSec=.*|LeaseSec=1s|' "$T/b1.conf" >"$T/bad2.conf"
"$TVTOKEND" --check-config --config "$T/bad2.conf" >"$T/check-bad2.out" 2>&1 &&
	fail "--check-config accepted LeaseSec=1s"
grep -q "LeaseSec" "$T/check-bad2.out" || fail "--check-config did not name LeaseSec=: $(cat "$T/check-bad2.out")"
[ ! -s "$T/mock.log" ] || fail "--check-config sent something: $(cat "$T/mock.log")"
grep -q etcd-pw "$T"/check*.out && fail "--check-config printed the etcd password"
ok "--check-config checks [Cluster] and the etcd password file, sends nothing"

for i in 1 2 3; do
	b_start "$i"
done
wait_until 60 one_leader_among 1 2 3 || fail "no single leader with two followers"
wait_until 30 same_token_among 1 2 3 || fail "the three brokers do not serve the same token"
L=$LEADER
read -r -a F <<<"$(others_than "$L")"
ok "b$L leads inside tvtokend/demo/, every host serves generation ${SAME_TOKEN%% *}"

g=${SAME_TOKEN%% *}
r=$(VL_TIMEOUT=20 b_vl "${F[0]}" "{\"method\":\"io.tvtokend.Broker.ReportRejected\",\"parameters\":{\"generation\":$g}}") ||
	fail "ReportRejected on b${F[0]} got no reply"
[ "$(jq -r .parameters.token.generation <<<"$r")" -gt "$g" ] || fail "the report was not renewed: $r"
assert_eq "$(mock_count renew)" 1 "renewals"
ok "a follower's report travels inside the prefix and is renewed"

etcdctl_all get --prefix tvtokend/demo/ >"$T/etcd-values" || fail "etcdctl get"
[ -s "$T/etcd-values" ] || fail "nothing under tvtokend/demo/"
for needle in tok- md- demo-password demo-secret etcd-pw; do
	grep -aq -- "$needle" "$T/etcd-values" && fail "etcd holds \"$needle\" in clear"
done
ok "nothing readable in etcd"

b_stop "$L" 10
wait_until 30 one_leader_among "${F[@]}" || fail "no hand-over"
wait_until 10 same_token_among "${F[@]}" || fail "the survivors disagree"
assert_eq "$(mock_count request)" 1 "token requests"
grep -aiE "permission denied|authentication failed" "$T"/b?.log && fail "etcd refused a broker"
ok "b$L stopped, b$LEADER took over, no call was refused"
