#!/bin/bash
# SPDX-License-Identifier: MIT
# A message that is not JSON, JSON that is not an object, or more than
# 65,536 bytes before its NUL closes that connection without a reply, while a
# client connected all along is still served; 65,536 bytes are still fine.
# Beyond MaxClients, a new connection is closed at once.
. "$IT_LIB"
. "$(dirname "$0")/helpers.sh"

# Send stdin as it is; pass when the daemon closes the connection without a word.
expect_closed()
{
	local what=$1

	vl --until-eof --timeout 5 - >"$T/hostile.out" 2>"$T/hostile.err" ||
		fail "$what: the connection was not closed ($(cat "$T/hostile.err"))"
	[ ! -s "$T/hostile.out" ] || fail "$what: got a reply: $(head -c 300 "$T/hostile.out")"
}

# A GetInfo call padded with blanks to exactly N bytes, then its NUL.
padded_call()
{
	local call='{"method":"org.varlink.service.GetInfo"}'

	printf '%s' "$call"
	head -c $(( $1 - ${#call} )) /dev/zero | tr '\0' ' '
	printf '\0'
}

mock_start
write_config "[Server]" "MaxClients=2"
daemon_start
wait_state valid 5

# The bystander: a stream open the whole time, fed a new token after each attack.
bg_start "$T/bystander" "$VLCALL" --timeout 60 --replies 100 "$SOCK" \
	"$(vl_msg io.tvtokend.Broker.GetToken '' '"more":true')"
bystander=$BG_PID
wait_until 5 '[ "$(wc -l <"$T/bystander")" -ge 1 ]' || fail "the bystander got no token"
n=1

# Each attack closes only its own connection; the bystander then gets the next token.
attack()
{
	expect_closed "$1"
	ctl rejected >/dev/null || fail "$1: tvtokenctl rejected failed afterwards"
	n=$((n + 1))
	wait_until 5 '[ "$(wc -l <"$T/bystander")" -ge $n ]' || fail "$1: the bystander was not served afterwards"
	running "$bystander" || fail "$1: the bystander's connection was closed"
	ok "$1: closed without a reply; the other client still served"
}

attack "not JSON" < <(printf 'hello, broker\0')
attack "a JSON array" < <(printf '[{"method":"org.varlink.service.GetInfo"}]\0')
attack "a JSON string" < <(printf '"org.varlink.service.GetInfo"\0')
attack "70,000 bytes without a NUL" < <(head -c 70000 /dev/zero | tr '\0' x)
attack "a 65,537-byte call" < <(padded_call 65537)

# Exactly 65,536 bytes before the NUL is still a message.
padded_call 65536 | vl --replies 1 - >"$T/limit" || fail "a 65,536-byte call got no reply"
assert_eq "$(jq -r '.parameters.interfaces | length' "$T/limit")" 2 "reply to a 65,536-byte call"
ok "a 65,536-byte call is answered"

running "$bystander" || fail "the bystander's connection was closed"
kill "$bystander"
assert_eq "$(jq -r .parameters.token.generation "$T/bystander" | tr '\n' ' ')" "1 2 3 4 5 6 " \
	"the bystander's tokens"
ok "the bystander saw every token"

# MaxClients=2: two connections held open, the third is closed at once.
wait_until 5 '[ "$(status_field clients)" = 1 ]' || fail "connections left over: $(status_field clients)"
bg_start "$T/c1" "$VLCALL" --timeout 30 --replies 2 "$SOCK" "$(vl_msg io.tvtokend.Broker.GetToken '' '"more":true')"
c1=$BG_PID
bg_start "$T/c2" "$VLCALL" --timeout 30 --replies 2 "$SOCK" "$(vl_msg io.tvtokend.Broker.GetToken '' '"more":true')"
wait_until 5 '[ -s "$T/c1" ] && [ -s "$T/c2" ]' || fail "two clients were not both served"
start=$(date +%s%3N)
vl --until-eof --timeout 5 "$(vl_msg org.varlink.service.GetInfo)" >"$T/c3" 2>/dev/null ||
	fail "the third connection was not closed"
[ ! -s "$T/c3" ] || fail "the third connection got a reply: $(cat "$T/c3")"
[ $(( $(date +%s%3N) - start )) -lt 2000 ] || fail "the third connection was not closed at once"
ctl status >/dev/null 2>&1 && fail "tvtokenctl was served beyond MaxClients"
ok "MaxClients=2: the third connection closed at once"
kill "$c1"
wait_until 5 'ctl status >/dev/null 2>&1' || fail "no connection served after one of two went away"
ok "a slot freed is taken again"

assert_eq "$(mock_count request)" 1 "token requests"
daemon_stop
assert_clean_logs
ok "hostile input"
