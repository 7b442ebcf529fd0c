#!/bin/bash
# SPDX-License-Identifier: MIT
# HTTPS to Tradovate: with CAFile= naming the CA that signed the server's
# certificate, tokens are acquired and renewed; without it, the TLS handshake
# fails: backoff, a lastError about the certificate, nothing reaches the
# server, and the failure does not count against MaxFailedRequestsPerHour.
. "$IT_LIB"
. "$(dirname "$0")/helpers.sh"

"$MAKE_CERT" "$T/pki" || fail "make-cert failed"
MOCK_URL_SCHEME=https
MOCK_CURL_OPTS="--cacert $T/pki/ca.pem"
mock_start --tls "$T/pki/server.pem" "$T/pki/server.key"
case $MOCK_URL in https://*) ;; *) fail "the mock's URL is not https: $MOCK_URL" ;; esac

write_config "[Tradovate]" "CAFile=$T/pki/ca.pem"
daemon_start
wait_state valid 5
ctl rejected >/dev/null || fail "the renewal over HTTPS failed"
assert_eq "$(status_field generation)" 2 "generation after a renewal over HTTPS"
assert_eq "$(mock_requests)" "request ok 200
renew ok 200" "requests over HTTPS"
daemon_stop
ok "CAFile=: token acquired and renewed over HTTPS"

# The system store does not know the throwaway CA.
write_config "[Token]" "RetryMinSec=10s" "RetryMaxSec=10s"
daemon_start
wait_state backoff 10
st=$(status_json)
assert_json "$st" '.lastError | test("certificate"; "i")' "lastError mentions the certificate"
assert_eq "$(jget "$st" .failedRequestsLeftThisHour)" 4 "failedRequestsLeftThisHour after a TLS failure"
assert_eq "$(jget "$st" .accessTokenRequests)" 1 "accessTokenRequests (the attempt)"
assert_eq "$(jget "$st" .failures)" 1 "failures (the attempt)"
assert_eq "$(jget "$st" .generation)" 0 "generation"
assert_utc_time "$(jget "$st" .retryAt)" "retryAt"
r=$(vl "$(vl_msg io.tvtokend.Broker.GetToken)") || fail "GetToken got no reply"
assert_eq "$(jget "$r" .error)" io.tvtokend.Broker.NoToken "GetToken after the TLS failure"
assert_eq "$(jget "$r" .parameters.state)" backoff "NoToken state"
assert_eq "$(mock_count request)" 1 "token requests that reached the server (the first daemon's only)"
daemon_stop
ok "no CAFile=: backoff, certificate error, nothing reached the server, not counted as failed"

assert_clean_logs
ok "HTTPS"
