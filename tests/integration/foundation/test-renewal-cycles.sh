#!/bin/bash
# SPDX-License-Identifier: MIT
# A held token is renewed again and again before it expires, never replaced by
# a new token request: one request, then renewals, each +1 generation and a
# new token, each sent RenewBeforeSec before the previous token's expiry.
. "$IT_LIB"
. "$(dirname "$0")/helpers.sh"

# Tokens live 4 s and are renewed 2 s before expiry: a renewal every 2 s.
# The fourth renewal issues a long-lived token, so the sequence then stops.
mock_start --lifetime 4
mock_script "renew ok" "renew ok" "renew ok" "renew lifetime 600"
write_config "[Token]" "RenewBeforeSec=2s"
daemon_start

# Every token the broker serves, from one "more" stream (current + 4 changes).
bg_start "$T/stream" "$VLCALL" --timeout 30 --replies 5 "$SOCK" \
	"$(vl_msg io.tvtokend.Broker.GetToken '{"wait":true}' '"more":true')"
stream=$BG_PID
wait_pid 30 "$stream" || fail "the stream did not see 5 tokens: $(cat "$T/stream.err")"

st=$(status_json)
assert_eq "$(jget "$st" .state)" valid "state after the renewals"
assert_eq "$(jget "$st" .generation)" 5 "generation after 4 renewals"
assert_eq "$(jget "$st" .accessTokenRequests)" 1 "token requests"
assert_eq "$(jget "$st" .renewals)" 4 "renewals counted"
assert_eq "$(jget "$st" .failures)" 0 "failures"
assert_eq "$(mock_requests)" "request ok 200
renew ok 200
renew ok 200
renew ok 200
renew lifetime 200" "upstream sequence: one token request, then only renewals"
ok "one token request, then 4 renewals and nothing else"

# Generations 1..5 in order, every token different from the one before.
assert_eq "$(jq -r '.parameters.token.generation' "$T/stream" | tr '\n' ' ')" "1 2 3 4 5 " \
	"generations, +1 per renewal"
assert_eq "$(jq -r '.parameters.token.accessToken' "$T/stream" | sort -u | wc -l)" 5 \
	"distinct access tokens"
ok "each renewal installed a new token, generation +1"

# Each renewal went out RenewBeforeSec (2 s) before the expirationTime of the
# token it renews: not earlier, and (scheduled renewals have no jitter) well
# before that token expired.
mapfile -t sent < <(cut -d" " -f1 "$T/mock.log" | tr -d .)
mapfile -t expiry < <(jq -r .parameters.token.expirationTime "$T/stream")
for i in 1 2 3 4; do
	late=$(( sent[i] - ($(iso_ms "${expiry[i - 1]}") - 2000) ))
	[ "$late" -ge 0 ] || fail "renewal $i went out $(( -late )) ms before it was due"
	[ "$late" -lt 1500 ] || fail "renewal $i went out $late ms after it was due"
done
ok "renewals sent RenewBeforeSec before expiry"

# The long-lived token is next renewed 2 s before its expiry.
exp=$(iso_ms "$(jget "$st" .expirationTime)")
next=$(iso_ms "$(jget "$st" .nextRenewal)")
assert_eq "$(( (exp - next + 500) / 1000 ))" 2 "nextRenewal is RenewBeforeSec before expirationTime"

daemon_stop
assert_clean_logs
ok "renewal cycles"
