#!/bin/bash
# SPDX-License-Identifier: MIT
# org.varlink.service: GetInfo lists both interfaces, GetInterfaceDescription
# returns the io.tvtokend.Broker text of CONTRACT §4 and the service's own;
# unknown interfaces and methods get InterfaceNotFound / MethodNotFound.
. "$IT_LIB"
. "$(dirname "$0")/helpers.sh"

# Fail unless the call's reply is the error NAME with parameter KEY = VALUE.
expect_error()
{
	local r

	r=$(vl "$1") || fail "no reply to $1"
	assert_eq "$(jget "$r" .error)" "$2" "error for $1"
	assert_eq "$(jget "$r" ".parameters.$3")" "$4" "$3 of the error for $1"
}

mock_start
write_config
daemon_start

r=$(vl "$(vl_msg org.varlink.service.GetInfo)") || fail "GetInfo got no reply"
assert_eq "$(jget "$r" '.parameters.interfaces | join(" ")')" "org.varlink.service io.tvtokend.Broker" "interfaces"
assert_json "$r" '.parameters | [.vendor, .product, .version, .url] | all(type == "string")' "GetInfo strings"
assert_eq "$(jget "$r" .parameters.version)" "$("$TVTOKEND" --version | cut -d' ' -f2)" "GetInfo version"
r=$(vl '{"method":"org.varlink.service.GetInfo"}') || fail "GetInfo without parameters got no reply"
assert_eq "$(jget "$r" '.parameters.interfaces | length')" 2 "GetInfo without a parameters member"
ok "GetInfo"

# CONTRACT §4: the interface text, comments included.
want_broker=$(cat <<'IDL'
# One shared Tradovate access token for every local process.
interface io.tvtokend.Broker

type Token (
  accessToken: string,
  mdAccessToken: ?string,
  # RFC 3339 UTC on this host's clock (corrected for the server's clock when the reply had a Date header)
  expirationTime: string,
  userId: ?int,
  name: ?string,
  # +1 every time the token held by the broker changes
  generation: int
)

# The current token. With wait=true and no valid token, the reply is held until there is one,
# or until the broker stops trying (credentials rejected, lockout), which ends it with NoToken.
# With "more": the current token, then one reply per change, until the client hangs up.
method GetToken(wait: ?bool) -> (token: Token)

# The caller saw the token of this generation refused by Tradovate. If it is still current,
# the broker renews it now (once per generation however many callers report it, within the
# hourly ceiling) and replies with the new token; if it is older, replies at once with the current one.
method ReportRejected(generation: int) -> (token: Token)

# For people and monitoring; never contains a token or a secret.
method GetStatus() -> (
  state: string,
  generation: int,
  expirationTime: ?string,
  nextRenewal: ?string,
  retryAt: ?string,
  lastError: ?string,
  accessTokenRequests: int,
  renewals: int,
  failures: int,
  renewalsLeftThisHour: int,
  failedRequestsLeftThisHour: int,
  clients: int,
  watchers: int,
  version: string,
  # standalone (no [Cluster]), or in a cluster: leader, follower or candidate
  role: string,
  # Member= of the broker that leads the cluster; null when unknown, and when standalone
  leader: ?string
)

# There is no valid token now. retryAt: when the broker will next try, if it will.
error NoToken (state: string, reason: string, retryAt: ?string)
IDL
)
r=$(vl "$(vl_msg org.varlink.service.GetInterfaceDescription '{"interface":"io.tvtokend.Broker"}')") ||
	fail "GetInterfaceDescription got no reply"
assert_eq "$(jget "$r" .parameters.description)" "$want_broker" "io.tvtokend.Broker description"
assert_json "$r" '.parameters.description | endswith("retryAt: ?string)\n")' "description's end"
ok "GetInterfaceDescription io.tvtokend.Broker: the text of CONTRACT §4 with §8's role and leader"

r=$(vl "$(vl_msg org.varlink.service.GetInterfaceDescription '{"interface":"org.varlink.service"}')") ||
	fail "GetInterfaceDescription got no reply"
desc=$(jget "$r" .parameters.description)
grep -qx 'interface org.varlink.service' <<<"$desc" || fail "no interface line in [$desc]"
grep -q '^method GetInterfaceDescription(' <<<"$desc" || fail "no GetInterfaceDescription in [$desc]"
ok "GetInterfaceDescription org.varlink.service"

expect_error "$(vl_msg org.varlink.service.GetInterfaceDescription '{"interface":"io.example.Nope"}')" \
	org.varlink.service.InterfaceNotFound interface io.example.Nope
expect_error "$(vl_msg org.varlink.service.GetInterfaceDescription)" \
	org.varlink.service.InvalidParameter parameter interface
expect_error "$(vl_msg io.tvtokend.Broker.Nope)" org.varlink.service.MethodNotFound method io.tvtokend.Broker.Nope
expect_error "$(vl_msg org.varlink.service.Nope)" org.varlink.service.MethodNotFound method org.varlink.service.Nope
expect_error "$(vl_msg io.example.Nope.GetToken)" org.varlink.service.InterfaceNotFound interface io.example.Nope
expect_error "$(vl_msg io.tvtokend.GetToken)" org.varlink.service.InterfaceNotFound interface io.tvtokend
expect_error "$(vl_msg io.tvtokend.Broker.GetStatus '{"verbose":true}')" \
	org.varlink.service.InvalidParameter parameter verbose
ok "unknown interfaces, methods and parameters"

# All of that on one connection, which stays usable after each error.
r=$(vl "$(vl_msg io.tvtokend.Broker.Nope)" "$(vl_msg io.example.Nope.X)" "$(vl_msg org.varlink.service.GetInfo)") ||
	fail "errors closed the connection"
assert_eq "$(jq -r '.error // "reply"' <<<"$r" | tr '\n' ' ')" \
	"org.varlink.service.MethodNotFound org.varlink.service.InterfaceNotFound reply " "replies on one connection"
ok "errors leave the connection open"

assert_eq "$(mock_requests)" "request ok 200" "upstream requests"
daemon_stop
assert_clean_logs
ok "introspection"
