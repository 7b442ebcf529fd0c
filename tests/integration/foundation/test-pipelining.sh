#!/bin/bash
# SPDX-License-Identifier: MIT
# Several calls sent in one write are answered one by one, in order: also
# behind a held GetToken wait, with a oneway call among them (no reply to it),
# and when the bytes arrive one at a time.
. "$IT_LIB"
. "$(dirname "$0")/helpers.sh"

# One line per reply: its error name, or the names of its parameters' members.
shapes()
{
	jq -r 'if has("error") then .error else (.parameters | keys | join(",")) end' "$1"
}

# The first token comes after 2 s.
mock_start
mock_script "request stall 2"
write_config "[Tradovate]" "RequestTimeoutSec=10s"
daemon_start

# A held GetToken wait, then GetStatus, in one write: the status comes second,
# after the token, and says valid.
printf '%s\0%s\0' "$(vl_msg io.tvtokend.Broker.GetToken '{"wait":true}')" \
	"$(vl_msg io.tvtokend.Broker.GetStatus)" >"$T/held.in"
vl --replies 2 - <"$T/held.in" >"$T/held" || fail "the pipelined calls behind a held one got no 2 replies"
assert_eq "$(shapes "$T/held" | head -n 1)" token "first reply: the awaited token"
assert_eq "$(sed -n 2p "$T/held" | jq -r .parameters.state)" valid "second reply: GetStatus after the token"
ok "calls behind a held GetToken are answered after it, in order"

# Five different calls in one write.
printf '%s\0%s\0%s\0%s\0%s\0' "$(vl_msg org.varlink.service.GetInfo)" \
	"$(vl_msg io.tvtokend.Broker.GetStatus)" \
	"$(vl_msg io.tvtokend.Broker.Nope)" \
	"$(vl_msg io.tvtokend.Broker.GetToken)" \
	"$(vl_msg org.varlink.service.GetInterfaceDescription '{"interface":"io.tvtokend.Broker"}')" >"$T/five.in"
vl --replies 5 - <"$T/five.in" >"$T/five" || fail "five pipelined calls did not get five replies"
assert_eq "$(shapes "$T/five")" "interfaces,product,url,vendor,version
$(ctl --json status | jq -r 'keys | join(",")')
org.varlink.service.MethodNotFound
token
description" "replies of five pipelined calls, in order"
ok "five calls in one write: five replies in order"

# A oneway call gets no reply; the calls around it do.
printf '%s\0%s\0%s\0' "$(vl_msg io.tvtokend.Broker.GetStatus '' '"oneway":true')" \
	"$(vl_msg org.varlink.service.GetInfo)" "$(vl_msg io.tvtokend.Broker.GetToken)" >"$T/oneway.in"
vl --replies 2 - <"$T/oneway.in" >"$T/oneway" || fail "the calls beside a oneway one got no 2 replies"
assert_eq "$(shapes "$T/oneway")" "interfaces,product,url,vendor,version
token" "replies around a oneway call"
ok "a oneway call is not answered"

# Byte by byte: the messages are put together before they are handled.
vl --split --replies 2 "$(vl_msg io.tvtokend.Broker.GetToken)" "$(vl_msg org.varlink.service.GetInfo)" \
	>"$T/split" || fail "calls sent byte by byte got no 2 replies"
assert_eq "$(shapes "$T/split")" "token
interfaces,product,url,vendor,version" "replies to calls sent byte by byte"
ok "calls sent one byte at a time"

assert_eq "$(mock_requests)" "request stall 200" "upstream requests"
daemon_stop
assert_clean_logs
ok "pipelining"
