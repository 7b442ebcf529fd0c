#!/bin/bash
# SPDX-License-Identifier: MIT
# GetStatus: every member of CONTRACT §4 with its JSON type, counters that
# match what the mock saw, clients counting the caller, watchers counting
# open "more" streams, the daemon's version, and never a token.
. "$IT_LIB"
. "$(dirname "$0")/helpers.sh"

# CONTRACT §4, and §8's role and leader (issue 10).
MEMBERS="accessTokenRequests clients expirationTime failedRequestsLeftThisHour failures generation lastError leader nextRenewal renewals renewalsLeftThisHour retryAt role state version watchers"

# The members and their JSON types (a ?type may be null).
check_types()
{
	local st=$1

	assert_eq "$(jget "$st" 'keys_unsorted | sort | join(" ")')" "$MEMBERS" "GetStatus members"
	assert_json "$st" '(.state | type) == "string" and (.version | type) == "string" and
		(.role | type) == "string"' "string members"
	assert_json "$st" '[.generation, .accessTokenRequests, .renewals, .failures,
		.renewalsLeftThisHour, .failedRequestsLeftThisHour, .clients, .watchers] |
		all(type == "number" and . == floor and . >= 0)' "integer members"
	assert_json "$st" '[.expirationTime, .nextRenewal, .retryAt, .lastError, .leader] |
		all(type == "string" or type == "null")' "optional string members"
}

mock_start
mock_script "request 503"
write_config "[Token]" "RetryMinSec=3s" "RetryMaxSec=3s"
# Replied times are UTC whatever TZ says: the daemon runs 5:30 ahead of UTC.
TZ=IST-5:30 daemon_start
wait_state backoff 10

st=$(status_json)
check_types "$st"
assert_eq "$(jget "$st" .state)" backoff "state"
assert_eq "$(jget "$st" .generation)" 0 "generation before the first token"
assert_eq "$(jget "$st" .expirationTime)" null "expirationTime without a token"
assert_eq "$(jget "$st" .nextRenewal)" null "nextRenewal without a token"
assert_utc_time "$(jget "$st" .retryAt)" "retryAt in backoff"
assert_json "$st" '.lastError | test("503")' "lastError names the HTTP status"
assert_eq "$(jget "$st" .accessTokenRequests)" 1 "accessTokenRequests"
assert_eq "$(jget "$st" .failures)" 1 "failures"
assert_eq "$(jget "$st" .failedRequestsLeftThisHour)" 3 "failedRequestsLeftThisHour (4 - 1)"
assert_eq "$(jget "$st" .renewalsLeftThisHour)" 12 "renewalsLeftThisHour"
ok "in backoff after a 503: types and values"

wait_state valid 10
ctl rejected >/dev/null || fail "tvtokenctl rejected failed"
st=$(status_json)
check_types "$st"
assert_eq "$(jget "$st" .state)" valid "state"
assert_eq "$(jget "$st" .generation)" 2 "generation after a token and a renewal"
assert_eq "$(jget "$st" .expirationTime)" "$(ctl --json token | jq -r .expirationTime)" \
	"expirationTime is the served token's"
assert_utc_time "$(jget "$st" .nextRenewal)" "nextRenewal"
# The mock issued the token for 5400 s: its expiry in UTC is about now + 5400 s.
skew=$(( $(iso_ms "$(jget "$st" .expirationTime)") - $(date +%s%3N) - 5400000 ))
[ "${skew#-}" -lt 10000 ] || fail "expirationTime is $skew ms off now + 5400 s (TZ=IST-5:30 applied?)"
# The routine renewal is the next attempt (CONTRACT §7: retryAt whenever one is scheduled).
assert_eq "$(jget "$st" .retryAt)" "$(jget "$st" .nextRenewal)" "retryAt while valid"
assert_eq "$(mock_requests)" "request 503 503
request ok 200
renew ok 200" "upstream requests"
assert_eq "$(jget "$st" .accessTokenRequests)" "$(mock_count request)" "accessTokenRequests = requests seen"
assert_eq "$(jget "$st" .renewals)" "$(mock_count renew)" "renewals = renewals seen"
assert_eq "$(jget "$st" .failures)" "$(mock_requests | awk '$3 != 200' | wc -l)" "failures = failed requests seen"
assert_eq "$(jget "$st" .renewalsLeftThisHour)" 11 "renewalsLeftThisHour (12 - 1)"
assert_eq "$(jget "$st" .failedRequestsLeftThisHour)" 3 "failedRequestsLeftThisHour"
assert_eq "$(jget "$st" .version)" "$("$TVTOKEND" --version | cut -d' ' -f2)" "version"
assert_eq "$(jget "$st" .role)" standalone "role without [Cluster]"
assert_eq "$(jget "$st" .leader)" null "leader without [Cluster]"
ok "valid: counters match the mock log"

# The caller alone, then with an idle connection and a stream open.
assert_eq "$(jget "$st" .clients)" 1 "clients: the caller"
assert_eq "$(jget "$st" .watchers)" 0 "watchers"
bg_start "$T/idle" "$VLCALL" --until-eof --timeout 30 "$SOCK"
idle=$BG_PID
bg_start "$T/stream" "$VLCALL" --timeout 30 --replies 2 "$SOCK" \
	"$(vl_msg io.tvtokend.Broker.GetToken '' '"more":true')"
stream=$BG_PID
wait_until 5 '[ -s "$T/stream" ]' || fail "the stream got no token"
wait_until 5 '[ "$(status_field clients)" = 3 ]' || fail "clients with two more connections: $(status_field clients)"
assert_eq "$(status_field watchers)" 1 "watchers with a stream open"
kill "$idle" "$stream"
wait_until 5 '[ "$(status_field clients)" = 1 ]' || fail "clients after both hung up: $(status_field clients)"
assert_eq "$(status_field watchers)" 0 "watchers after the stream hung up"
ok "clients and watchers follow the connections"

for tok in $(ctl --json token | jq -r '.accessToken, .mdAccessToken'); do
	grep -qF "$tok" <<<"$(status_json)" && fail "GetStatus contains a token"
done
daemon_stop
assert_clean_logs
ok "GetStatus"
