#!/bin/bash
# SPDX-License-Identifier: MIT
# The password and API secret come from PasswordFile=/SecretFile= or, without
# them, from the systemd credentials tradovate-password / tradovate-sec in
# $CREDENTIALS_DIRECTORY; one trailing newline (\n or \r\n) is stripped and
# nothing else (the mock checks both secrets byte for byte).
. "$IT_LIB"
. "$(dirname "$0")/helpers.sh"

# Put PASSWORD and SECRET (with \n-style escapes) in the files FILE1 FILE2, mode 0600.
put_secrets()
{
	(umask 077; printf %b "$1" >"$3"; printf %b "$2" >"$4")
}

# Restart the daemon on $CONF, and wait for STATE.
restart()
{
	[ -z "$DAEMON_PID" ] || daemon_stop
	daemon_start
	wait_state "$1" 5
}

# The last request the mock saw, without its time.
last_request()
{
	mock_log | tail -n 1
}

mock_start
write_config "[Token]" "RetryMinSec=100ms"
for nl in '\n' '\r\n' ''; do
	put_secrets "demo-password$nl" "demo-secret$nl" "$T/password" "$T/secret"
	restart valid
	assert_eq "$(last_request)" "request ok 200" "token request with secrets ending in [$nl]"
	ok "secret files ending in [$nl]: accepted"
done

# Only one newline goes: with two, the password is wrong, and never retried.
put_secrets 'demo-password\n\n' 'demo-secret\n' "$T/password" "$T/secret"
restart credentials_rejected
assert_eq "$(last_request)" "request ok 200 reject=password" "token request with a password ending in two newlines"
sleep 1
assert_eq "$(mock_count request)" 4 "token requests after credentials_rejected (no retry)"
assert_eq "$(status_field state)" credentials_rejected "state a second later"
r=$(vl "$(vl_msg io.tvtokend.Broker.GetToken '{"wait":true}')") || fail "GetToken got no reply"
assert_eq "$(jget "$r" .error)" io.tvtokend.Broker.NoToken "GetToken wait:true once the credentials are rejected"
assert_eq "$(jget "$r" .parameters.state)" credentials_rejected "NoToken state"
ok "a second newline is part of the password: credentials_rejected, not retried"

# systemd credentials, when the config names no secret files.
mkdir -m 0700 "$T/creds"
put_secrets 'demo-password\n' 'demo-secret\n' "$T/creds/tradovate-password" "$T/creds/tradovate-sec"
sed -i '/^PasswordFile=/d; /^SecretFile=/d' "$CONF"
rc=0
(unset CREDENTIALS_DIRECTORY; "$TVTOKEND" --config "$CONF" --check-config >/dev/null 2>"$T/check.err") || rc=$?
assert_eq "$rc" 1 "--check-config without secret files or credentials"
export CREDENTIALS_DIRECTORY=$T/creds
"$TVTOKEND" --config "$CONF" --check-config >/dev/null || fail "--check-config with credentials failed"
restart valid
assert_eq "$(last_request)" "request ok 200" "token request with systemd credentials"
ok "systemd credentials: accepted"

put_secrets 'demo-password\n' 'wrong-secret\n' "$T/creds/tradovate-password" "$T/creds/tradovate-sec"
restart credentials_rejected
assert_eq "$(last_request)" "request ok 200 reject=sec" "token request with a wrong tradovate-sec"
ok "a wrong credential is sent as it is: credentials_rejected"
unset CREDENTIALS_DIRECTORY

daemon_stop
assert_eq "$(mock_count renew)" 0 "renewals"
assert_clean_logs "$T/check.err"
grep -q 'wrong-secret' "$T/daemon.log" && fail "the wrong secret appears in the log"
ok "secrets"
