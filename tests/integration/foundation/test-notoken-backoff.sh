#!/bin/bash
# SPDX-License-Identifier: MIT
# After a failed token request: NoToken says backoff and when the retry is
# (retryAt, the same as GetStatus says), and a waiting GetToken gets the token
# the retry brings.
. "$IT_LIB"
. "$(dirname "$0")/helpers.sh"

mock_start
mock_script "request 503"
write_config "[Token]" "RetryMinSec=4s" "RetryMaxSec=4s"
daemon_start
wait_state backoff 10

r=$(vl "$(vl_msg io.tvtokend.Broker.GetToken)") || fail "GetToken got no reply"
st=$(status_json)
assert_eq "$(jget "$r" .error)" io.tvtokend.Broker.NoToken "GetToken during backoff"
assert_eq "$(jget "$r" .parameters.state)" backoff "NoToken state"
[ -n "$(jget "$r" .parameters.reason)" ] || fail "NoToken with an empty reason"
retry=$(jget "$r" .parameters.retryAt)
assert_utc_time "$retry" "NoToken retryAt"
assert_eq "$retry" "$(jget "$st" .retryAt)" "NoToken retryAt = GetStatus retryAt"
ok "NoToken (backoff) with retryAt"

bg_start "$T/waited" "$VLCALL" --timeout 15 "$SOCK" "$(vl_msg io.tvtokend.Broker.GetToken '{"wait":true}')"
wait_pid 15 "$BG_PID" || fail "the waiting GetToken failed: $(cat "$T/waited.err")"
r=$(cat "$T/waited")
assert_eq "$(jget "$r" .parameters.token.generation)" 1 "the awaited token"
assert_eq "$(mock_requests)" "request 503 503
request ok 200" "upstream requests"
# The retry went out no earlier than retryAt said (retryAt is given to the second).
second=$(sed -n 2p "$T/mock.log" | cut -d' ' -f1 | tr -d .)
[ "$second" -ge "$(iso_ms "$retry")" ] || fail "the retry went out before retryAt $retry"
ok "the retry's token answered the waiting GetToken"

daemon_stop
assert_clean_logs
ok "NoToken during backoff"
