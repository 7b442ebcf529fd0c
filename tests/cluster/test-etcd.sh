#!/bin/bash
# SPDX-License-Identifier: MIT
# The etcd client against a real 3-member etcd: every call, streams, fail-over
# with one member killed, a user restricted to a prefix, and TLS with client
# certificates in a cluster of its own.
# Usage: test-etcd.sh TEST-ETCD-PROGRAM
. "$(dirname "$0")/lib.sh"

PROG=$1

etcd_start "$T/plain" || fail "cannot start etcd"
export ETCD_ENDPOINTS ETCD_DEAD ETCD_PREFIX
ETCD_DEAD=$(dead_url)
ETCD_PREFIX="tvtokend-test/$$/"
"$PROG" plain || fail "plain calls"
ok "every call against a healthy cluster"

etcd_kill 0
# What is tested is the client's fail-over, not how long etcd takes to elect
# a new raft leader when member 0 was it.
etcd_wait_healthy 1 2 || fail "etcd does not recover from losing member 0"
"$PROG" degraded || fail "calls with member 0 killed"
ok "calls with the first endpoint's member killed"

# A user whose role covers one prefix only; root administers.
etcdctl_at 1 2 role add root >/dev/null || fail "cannot add role root"
etcdctl_at 1 2 user add "root:root-pw-$$" >/dev/null || fail "cannot add root"
etcdctl_at 1 2 user grant-role root root >/dev/null || fail "cannot make root root"
etcdctl_at 1 2 role add tvtokend >/dev/null || fail "role add"
etcdctl_at 1 2 role grant-permission tvtokend --prefix=true readwrite "$ETCD_PREFIX" >/dev/null ||
	fail "grant-permission"
etcdctl_at 1 2 user add "tv:tv-pw-$$" >/dev/null || fail "user add"
etcdctl_at 1 2 user grant-role tv tvtokend >/dev/null || fail "grant-role"
etcdctl_at 1 2 auth enable >/dev/null || fail "auth enable"
ETCD_ROOT_PASSWORD=root-pw-$$
export ETCD_USER=tv ETCD_PASSWORD=tv-pw-$$
# Setting a user's password (even to the same one) invalidates its tokens.
export ETCD_BUMP_AUTH="echo $ETCD_PASSWORD | ETCDCTL_API=3 timeout 20 etcdctl \
--endpoints=${ETCD_URLS[1]} --user=root:$ETCD_ROOT_PASSWORD user passwd tv --interactive=false \
>/dev/null"
"$PROG" auth || fail "calls as a user restricted to $ETCD_PREFIX"
ok "authentication, permissions, token renewal"
unset ETCD_USER ETCD_PASSWORD ETCD_BUMP_AUTH
etcd_cleanup
ETCD_ROOT_PASSWORD=

etcd_start "$T/tls" tls || fail "cannot start etcd with TLS"
export ETCD_CA=$ETCD_PKI/ca.pem ETCD_CERT=$ETCD_PKI/client.pem ETCD_KEY=$ETCD_PKI/client-key.pem
"$PROG" tls || fail "calls over TLS"
ok "TLS with client certificates"
