#!/bin/bash
# SPDX-License-Identifier: MIT
# Before the first token: GetToken answers NoToken at once (state requesting,
# no retryAt), and GetToken with wait:true is held until the token arrives.
. "$IT_LIB"
. "$(dirname "$0")/helpers.sh"

# The first token request takes 4 s; the broker waits up to 10 s for it.
mock_start
mock_script "request stall 4"
write_config "[Tradovate]" "RequestTimeoutSec=10s"
daemon_start

r=$(vl "$(vl_msg io.tvtokend.Broker.GetToken)") || fail "GetToken got no reply"
assert_eq "$(jget "$r" .error)" io.tvtokend.Broker.NoToken "GetToken before the first token"
assert_eq "$(jget "$r" .parameters.state)" requesting "NoToken state"
assert_eq "$(jget "$r" '.parameters.reason | type')" string "NoToken reason type"
[ -n "$(jget "$r" .parameters.reason)" ] || fail "NoToken with an empty reason"
assert_eq "$(jget "$r" .parameters.retryAt)" null "retryAt (absent or null) while no retry is scheduled"
r=$(vl "$(vl_msg io.tvtokend.Broker.GetToken '{"wait":false}')") || fail "GetToken got no reply"
assert_eq "$(jget "$r" .error)" io.tvtokend.Broker.NoToken "GetToken wait:false before the first token"
r=$(vl "$(vl_msg io.tvtokend.Broker.ReportRejected '{"generation":0}')") || fail "ReportRejected got no reply"
assert_eq "$(jget "$r" .error) $(jget "$r" .parameters.state)" "io.tvtokend.Broker.NoToken requesting" \
	"ReportRejected before the first token"
ok "without wait: NoToken (requesting) at once"

# Held while the request is in flight; answered when the token arrives.
bg_start "$T/waited" bash -c '"$VLCALL" --timeout 15 "$1" "$2"; rc=$?; date +%s%3N >"$3"; exit $rc' \
	_ "$SOCK" "$(vl_msg io.tvtokend.Broker.GetToken '{"wait":true}')" "$T/waited.at"
waiter=$BG_PID
# And a "more" stream opened before the first token, which it gets first.
bg_start "$T/stream" "$VLCALL" --timeout 15 --replies 1 "$SOCK" \
	"$(vl_msg io.tvtokend.Broker.GetToken '{"wait":true}' '"more":true')"
stream=$BG_PID
# Both held (with the GetStatus caller: 3 connections) while the request is in flight.
wait_until 3 '[ "$(status_field clients)" = 3 ]' || fail "the two waiting clients did not connect"
running "$waiter" || fail "GetToken wait:true returned before there was a token: $(cat "$T/waited")"
assert_eq "$(status_field state)" requesting "state while the waiter is held"
assert_eq "$(status_field watchers)" 1 "watchers: the stream waiting for its first token"
wait_pid 15 "$waiter" || fail "the waiting GetToken failed: $(cat "$T/waited.err")"
r=$(cat "$T/waited")
assert_eq "$(jget "$r" 'has("error")')" false "the waiting GetToken's reply is not an error"
assert_eq "$(jget "$r" .parameters.token.generation)" 1 "generation of the awaited token"
assert_eq "$(jget "$r" .parameters.token.accessToken)" "$(ctl token)" "the awaited token is the one served"
assert_eq "$(jget "$r" 'has("continues")')" false "a plain wait reply does not continue"
# The reply came only once the stalled request had been answered (4 s after it arrived).
sent=$(cut -d' ' -f1 "$T/mock.log" | head -n 1 | tr -d .)
[ $(( $(cat "$T/waited.at") - sent )) -ge 3900 ] ||
	fail "the waiting GetToken was answered $(( $(cat "$T/waited.at") - sent )) ms after the request, before the token"
wait_pid 15 "$stream" || fail "the stream got no first token: $(cat "$T/stream.err")"
assert_eq "$(jq -c "[.parameters.token.generation, .continues]" "$T/stream")" "[1,true]" \
	"the stream's first reply"
ok "wait:true held until the token arrived"

assert_eq "$(mock_requests)" "request stall 200" "upstream requests"
daemon_stop
assert_clean_logs
ok "waiting for the first token"
