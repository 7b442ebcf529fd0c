#!/bin/bash
# SPDX-License-Identifier: MIT
# A token is acquired at start and served to tvtokenctl; one request, no more.
. "$IT_LIB"

mock_start
write_config
daemon_start
wait_state valid 5
tok=$(ctl token) || fail "tvtokenctl token failed"
case $tok in tok-*) ;; *) fail "unexpected token [$tok]" ;; esac
assert_eq "$(ctl --json token | grep -c '"generation":1')" 1 "generation of the first token"
assert_eq "$(mock_requests)" "request ok 200" "upstream requests"
daemon_stop
[ ! -e "$SOCK" ] || fail "the socket file was left behind"
assert_no_secrets "$T/daemon.log" "$T/mock.out"
ok "acquired and served"
